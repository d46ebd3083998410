package detectors

import (
	"fmt"
	"math"
	"slices"
	"sort"
)

// The training-score distribution: what a model keeps of its training
// rows' scores so that its threshold can be moved (WithContamination,
// WithThreshold) without retraining, and a score read as a percentile
// (Percentile).
//
// A model keeps at most MaxDistributionPoints sorted values, the knots of
// the training scores' quantile function:
//
//   - with at most MaxDistributionPoints training rows, every training
//     score (sorted), so thresholds and percentiles are exact;
//   - with more, the quantiles at 0, 1/1000, 2/1000, …, 1 of the training
//     scores (linear interpolation between order statistics, as
//     thresholdFor), 8 KB per model whatever the number of rows.
//
// Between knots, the quantile function is taken to be linear: knot k of
// K+1 knots is the k/K quantile. A threshold for a contamination c is the
// (1-c) quantile of the knots (thresholdFor), which with all scores
// kept is exactly the one Fit sets, and with a summary equals it at the
// grid points (c a multiple of 1/1000) up to rounding and between them
// differs by less than the distance between two neighbouring knots.
//
// A model saved before the distribution existed has none (Model.HasScoreDistribution):
// it cannot be recomputed without the training rows, so Percentile and
// WithContamination fail with ErrNoScoreDistribution; WithThreshold works.

// MaxDistributionPoints is the largest number of training scores a model
// keeps to describe their distribution (see above).
const MaxDistributionPoints = 1001

// fitThreshold returns the threshold for contamination c of the training
// scores (thresholdFor) and their distribution; scores is not modified.
func fitThreshold(scores []float64, c float64) (threshold float64, dist []float64) {
	s := slices.Clone(scores)
	slices.Sort(s)
	return thresholdFor(s, c), summarizeSorted(s)
}

// summarizeSorted returns the knots of the sorted scores s: s itself when
// it has at most MaxDistributionPoints values, else its quantiles at k/K,
// K = MaxDistributionPoints-1. The knots are non-decreasing (rounding in
// the interpolation cannot make a knot smaller than the one before).
func summarizeSorted(s []float64) []float64 {
	if len(s) <= MaxDistributionPoints {
		return s
	}
	k := MaxDistributionPoints - 1
	out := make([]float64, MaxDistributionPoints)
	for i := range out {
		out[i] = quantileSorted(s, float64(i)/float64(k))
		if i > 0 && out[i] < out[i-1] {
			out[i] = out[i-1]
		}
	}
	return out
}

// checkDistribution reports whether dist, from a file, is a distribution
// Fit could have made: at most MaxDistributionPoints finite values in
// non-decreasing order (empty for a model saved before distributions).
func checkDistribution(dist []float64) error {
	if len(dist) > MaxDistributionPoints {
		return fmt.Errorf("%w: %d score distribution points, at most %d", ErrBadModel, len(dist), MaxDistributionPoints)
	}
	for i, v := range dist {
		if math.IsNaN(v) || math.IsInf(v, 0) || (i > 0 && v < dist[i-1]) {
			return fmt.Errorf("%w: score distribution point %d is %v", ErrBadModel, i, v)
		}
	}
	return nil
}

// percentileOf returns where score s falls in the non-empty knots d, in
// [0, 1], non-decreasing in s:
//
//   - below the first knot 0, above the last 1;
//   - between two knots k-1 and k, (k-1 + t)/K, t the linear
//     interpolation of s between them (the inverse of the piecewise-linear
//     quantile function);
//   - equal to knots a…b (ties: equal training scores), the midpoint
//     (a+b)/(2K) of the range those knots span: half the tied rows count
//     as below (mid-rank). A single knot (one training row) gives 0.5.
//
// With all training scores kept, a training row that is the i-th lowest
// of n (no ties) gets i/(n-1): 0 for the lowest, 1 for the highest.
func percentileOf(d []float64, s float64) float64 {
	n := len(d)
	a := sort.SearchFloat64s(d, s) // first knot >= s; n for NaN
	b := a + sort.Search(n-a, func(i int) bool { return d[a+i] > s })
	switch {
	case b > a: // d[a..b-1] == s
		if n == 1 {
			return 0.5
		}
		return float64(a+b-1) / float64(2*(n-1))
	case a == 0:
		return 0
	case a == n:
		return 1
	}
	lo, hi := d[a-1], d[a] // lo < s < hi
	t := (s - lo) / (hi - lo)
	if math.IsInf(hi-lo, 0) { // the gap overflows: halve everything
		t = (s/2 - lo/2) / (hi/2 - lo/2)
	}
	t = min(max(t, 0), 1)
	return (float64(a-1) + t) / float64(n-1)
}

// HasScoreDistribution reports whether the model holds its training-score
// distribution (every model trained by this version; not one saved before
// it existed).
func (m *Model) HasScoreDistribution() bool { return len(m.dist) > 0 }

// Percentile returns the fraction of the training rows that score below
// score, in [0, 1], from the stored training-score distribution
// (percentileOf: interpolated between knots, ties counted half, 1 above
// every training score, so for MaxScore): it is non-decreasing in score.
// A model without a distribution gives ErrNoScoreDistribution.
func (m *Model) Percentile(score float64) (float64, error) {
	if len(m.dist) == 0 {
		return 0, fmt.Errorf("%w: the %s detector was saved before training-score distributions were kept", ErrNoScoreDistribution, m.Algorithm)
	}
	return percentileOf(m.dist, score), nil
}

// MaxContamination is the largest contamination WithContamination takes:
// half the training rows.
const MaxContamination = 0.5

// WithContamination returns a copy of m whose threshold is the
// (1-c) quantile of its training-score distribution, so that about a
// fraction c of the training rows score above it, and whose
// Contamination is c; m is unchanged and the copy scores identically.
// c must be in (0, MaxContamination] (else ErrBadOption), and m must hold
// its distribution (else ErrNoScoreDistribution). With at most
// MaxDistributionPoints training rows, the threshold is exactly the one
// Fit sets for that contamination.
func (m *Model) WithContamination(c float64) (*Model, error) {
	if !(c > 0 && c <= MaxContamination) {
		return nil, fmt.Errorf("%w: contamination %v must be in (0, %v]", ErrBadOption, c, MaxContamination)
	}
	if len(m.dist) == 0 {
		return nil, fmt.Errorf("%w: the %s detector was saved before training-score distributions were kept", ErrNoScoreDistribution, m.Algorithm)
	}
	n := m.derive()
	n.Threshold = min(thresholdFor(m.dist, c), belowMaxScore)
	n.Contamination = c
	return n, nil
}

// WithThreshold returns a copy of m with threshold t and Contamination 0
// (set explicitly); m is unchanged and the copy scores identically. t
// must be finite and below MaxScore (ErrBadOption), so that a row scoring
// MaxScore stays an anomaly.
func (m *Model) WithThreshold(t float64) (*Model, error) {
	if math.IsNaN(t) || math.IsInf(t, 0) || t >= MaxScore {
		return nil, fmt.Errorf("%w: threshold %v must be a finite number below %v", ErrBadOption, t, MaxScore)
	}
	n := m.derive()
	n.Threshold = t
	n.Contamination = 0
	return n, nil
}

// derive returns a new model equal to m: the same descriptive fields,
// and the same (immutable, shared) algorithm, options, preprocessing,
// state, scorer and distribution, with pools of its own. Every field of
// Model but the pools is copied (TestDeriveCopiesEveryField).
func (m *Model) derive() *Model {
	n := &Model{
		Algorithm:      m.Algorithm,
		Options:        m.Options,
		Features:       m.Features,
		TrainingRows:   m.TrainingRows,
		RowsRead:       m.RowsRead,
		TrainSeconds:   m.TrainSeconds,
		Source:         m.Source,
		CreatedAt:      m.CreatedAt,
		Threshold:      m.Threshold,
		Contamination:  m.Contamination,
		Recipe:         m.Recipe,
		TrainLoss:      m.TrainLoss,
		ValidationLoss: m.ValidationLoss,
		FormatVersion:  m.FormatVersion,
		TrainingLog:    m.TrainingLog,
		alg:            m.alg,
		opts:           m.opts,
		enc:            m.enc,
		scale:          m.scale,
		state:          m.state,
		scorer:         m.scorer,
		dist:           m.dist,
	}
	// The pools' New functions capture the scorer and feature count,
	// never m itself.
	n.pool.New, n.rowPool.New = m.pool.New, m.rowPool.New
	return n
}
