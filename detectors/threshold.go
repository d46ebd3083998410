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
// sorted holds the training scores in increasing order, or the knots of
// their distribution (score_distribution.go).
func thresholdFor(sorted []float64, contamination float64) float64 {
	return quantileSorted(sorted, 1-contamination)
}

// Quantile returns the q-quantile of v (0 <= q <= 1) with linear
// interpolation; NaN for empty v.
func Quantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return quantileSorted(s, q)
}

// quantileSorted is Quantile of s, already sorted in increasing order.
func quantileSorted(s []float64, q float64) float64 {
	if len(s) == 0 {
		return math.NaN()
	}
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}
