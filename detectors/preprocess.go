package detectors

import (
	"math"
)

// scaler is the one preprocessing step shared by all detectors: z-score
// standardisation with the training mean and standard deviation.
//
//   - Missing values (NaN, from NULL) and ±Inf are replaced by the training
//     mean, i.e. they standardize to exactly 0.
//   - Means and standard deviations are computed over the finite training
//     values of each column (population standard deviation, like
//     scikit-learn's StandardScaler).
//   - A column that is constant, or has fewer than two finite values, gets
//     std 1 so it standardizes to finite values (0 on the training data)
//     instead of NaN or Inf. A column with no finite value gets mean 0.
type scaler struct {
	mean, std []float64
}

// fitScaler computes the per-column statistics of a row-major matrix.
func fitScaler(x []float64, rows, cols int) scaler {
	s := scaler{mean: make([]float64, cols), std: make([]float64, cols)}
	for j := 0; j < cols; j++ {
		// Welford's update: stable, cannot overflow for finite input, and
		// deterministic (fixed row order).
		var mean, m2 float64
		n := 0
		for i := 0; i < rows; i++ {
			v := x[i*cols+j]
			if math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			n++
			d := v - mean
			mean += d / float64(n)
			m2 += d * (v - mean)
		}
		std := 1.0
		if n >= 2 {
			std = math.Sqrt(m2 / float64(n))
		}
		if std == 0 || math.IsNaN(std) || math.IsInf(std, 0) {
			std = 1
		}
		s.mean[j], s.std[j] = mean, std
	}
	return s
}

// transformRow standardizes row in place. The arithmetic for an element
// depends only on its value and column, never on other rows.
func (s scaler) transformRow(row []float64) {
	mean, std := s.mean[:len(row)], s.std[:len(row)]
	for j, v := range row {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			row[j] = 0
			continue
		}
		row[j] = (v - mean[j]) / std[j]
	}
}

// transform standardizes a row-major matrix in place.
func (s scaler) transform(x []float64) {
	d := len(s.mean)
	for i := 0; i+d <= len(x); i += d {
		s.transformRow(x[i : i+d])
	}
}
