package detectors

import (
	"math"
	"slices"
)

// thresholdFor is the one thresholding rule shared by all detectors: the
// (1-contamination) quantile of the training scores, with linear
// interpolation between order statistics (numpy's default, as PyOD uses).
// A row is an anomaly if its score is strictly greater than the threshold,
// so about a contamination fraction of the training rows are flagged.
// scores is not modified.
func thresholdFor(scores []float64, contamination float64) float64 {
	return quantile(scores, 1-contamination)
}

// quantile returns the q-quantile of v (0 <= q <= 1) with linear
// interpolation; NaN for empty v.
func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
