package detectors

import (
	"math"
)

// scaler is the one preprocessing step shared by all detectors: z-score
// standardisation with the training mean and standard deviation.
//
//   - Missing values (NaN, from NULL) are replaced by the training mean,
//     i.e. they standardize to exactly 0.
//   - Extreme values, ±Inf and finite values whose standardized magnitude
//     is maxStandardized or more (or overflows to ±Inf), are also written
//     as 0, so that a network never computes on them, but transformRow
//     reports them: the model then scores the row MaxScore (model.go).
//     In training they are imputed like NULL; they cannot be learnt from.
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

// maxStandardized is the standardized magnitude from which a feature value
// is extreme: 2^500 (about 3e150) standard deviations from the training
// mean. The square of such a value is within a factor of 2^24 of
// overflowing float64, so a network's arithmetic on it overflows or
// saturates and says nothing about the row; no value of ordinary data
// comes near it.
const maxStandardized = 0x1p500

// transformRow standardizes row in place and reports whether it holds an
// extreme value (see scaler), each of which it writes as 0. The arithmetic
// for an element depends only on its value and column, never on other
// rows.
func (s scaler) transformRow(row []float64) (extreme bool) {
	mean, std := s.mean[:len(row)], s.std[:len(row)]
	for j, v := range row {
		z := (v - mean[j]) / std[j]
		switch {
		case math.IsNaN(v):
			z = 0
		case !(math.Abs(z) < maxStandardized): // also NaN z, from a damaged mean or std
			z, extreme = 0, true
		}
		row[j] = z
	}
	return extreme
}

// transform standardizes a row-major matrix in place (as training does:
// extreme values are imputed, not reported).
func (s scaler) transform(x []float64) {
	d := len(s.mean)
	for i := 0; i+d <= len(x); i += d {
		s.transformRow(x[i : i+d])
	}
}
