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
	acc := make([]colStats, cols)
	for j := range acc {
		for i := 0; i < rows; i++ {
			acc[j].add(x[i*cols+j])
		}
	}
	return scalerOf(acc)
}

// colStats accumulates the statistics of one column, a value at a time,
// with Welford's update: stable, cannot overflow for finite input, and
// deterministic. fitScaler and Sampler (sampler.go) both use it, so the
// same values added in the same order give bit-identical statistics
// whether a matrix is fitted at once or a stream of batches as it goes.
type colStats struct {
	n        int64
	mean, m2 float64
}

// add adds one value; NaN (missing) and ±Inf are skipped.
func (c *colStats) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	c.n++
	d := v - c.mean
	c.mean += d / float64(c.n)
	c.m2 += d * (v - c.mean)
}

// scalerOf returns the scaler of the columns acc (see scaler for the
// rules on constant and empty columns).
func scalerOf(acc []colStats) scaler {
	s := scaler{mean: make([]float64, len(acc)), std: make([]float64, len(acc))}
	for j, c := range acc {
		std := 1.0
		if c.n >= 2 {
			std = math.Sqrt(c.m2 / float64(c.n))
		}
		if std == 0 || math.IsNaN(std) || math.IsInf(std, 0) {
			std = 1
		}
		s.mean[j], s.std[j] = c.mean, std
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
