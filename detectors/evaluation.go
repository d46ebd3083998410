package detectors

import (
	"fmt"
	"math"
	"sort"
)

// Evaluation measures scores against known labels (1 = anomaly, 0 =
// normal): how well the scores rank the anomalies first, and how well a
// threshold flags them (a row is flagged when its score is above the
// threshold, as Model.IsAnomaly flags it).
type Evaluation struct {
	// Rows is the number of labelled rows, Anomalies of them labelled 1.
	Rows, Anomalies int
	// AUCROC is AUC (metrics.go): scikit-learn's roc_auc_score, tied
	// scores counting one half.
	AUCROC float64
	// AUCPR is AveragePrecision (average_precision.go): scikit-learn's
	// average_precision_score, tied scores entering together.
	AUCPR float64
	// PrecisionAtN is the share of anomalies among the n = Anomalies
	// highest-scoring rows. When the n-th score is tied with rows beyond
	// the n-th, the rows of that score count in proportion: t of its k
	// rows are among the n, and they hold t/k of its anomalies (the
	// expected value over every order of the tied rows).
	PrecisionAtN float64
	// Flagged is the number of rows scoring above the threshold.
	Flagged int
	// RecallAtThreshold, PrecisionAtThreshold and F1AtThreshold are the
	// recall, precision and F1 of the flagged rows. PrecisionAtThreshold
	// is NaN when no row is flagged (it would be 0/0).
	RecallAtThreshold, PrecisionAtThreshold, F1AtThreshold float64
	// BestF1 is the largest F1 of flagging the rows scoring at least s,
	// over every score s of the rows; BestF1Threshold is a threshold that
	// flags exactly those rows (score > BestF1Threshold): the midpoint
	// between s and the next lower score, or, when s is the lowest score,
	// the largest DOUBLE below it. Among thresholds of equal F1 the
	// highest wins (fewest rows flagged).
	BestF1, BestF1Threshold float64
}

// Evaluate returns the Evaluation of scores against labels with the given
// threshold. Rows whose label is NaN (unlabelled) are left out. It is an
// error if the lengths differ, a label is not 0, 1 or NaN (wrapping
// ErrBadLabel), a labelled row's score is NaN, or the labelled rows are
// not of both classes (ErrOneClass). Neither slice is modified.
func Evaluate(labels, scores []float64, threshold float64) (Evaluation, error) {
	var ev Evaluation
	idx, pos, err := labelledRows("Evaluate", labels, scores)
	if err != nil {
		return ev, err
	}
	if pos == 0 || pos == len(idx) {
		return ev, fmt.Errorf("%w: %d rows labelled 1, %d labelled 0", ErrOneClass, pos, len(idx)-pos)
	}
	ev.Rows, ev.Anomalies = len(idx), pos
	if ev.AUCROC, err = AUC(labels, scores); err != nil {
		return ev, err
	}
	if ev.AUCPR, err = AveragePrecision(labels, scores); err != nil {
		return ev, err
	}

	tp := 0
	for _, i := range idx {
		if scores[i] > threshold {
			ev.Flagged++
			if labels[i] == 1 {
				tp++
			}
		}
	}
	p := float64(pos)
	ev.RecallAtThreshold = float64(tp) / p
	ev.PrecisionAtThreshold = math.NaN()
	if ev.Flagged > 0 {
		ev.PrecisionAtThreshold = float64(tp) / float64(ev.Flagged)
	}
	ev.F1AtThreshold = 2 * float64(tp) / (float64(ev.Flagged) + p)

	// Walk the groups of equal scores from the highest down.
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	ev.BestF1 = -1
	tp, seen := 0, 0
	best := 0 // index in idx of the first row below the best group
	for i := 0; i < len(idx); {
		j, a := i, 0
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] == 1 {
				a++
			}
			j++
		}
		k := j - i
		if seen < pos && pos <= seen+k {
			t := pos - seen // rows of this group among the top n
			ev.PrecisionAtN = (float64(tp) + float64(a)*float64(t)/float64(k)) / p
		}
		tp += a
		seen += k
		if f1 := 2 * float64(tp) / (float64(seen) + p); f1 > ev.BestF1 {
			ev.BestF1, best = f1, j
		}
		i = j
	}
	s := scores[idx[best-1]] // the lowest score flagged
	if best < len(idx) {
		ev.BestF1Threshold = between(scores[idx[best]], s)
	} else {
		ev.BestF1Threshold = math.Nextafter(s, math.Inf(-1))
	}
	return ev, nil
}

// between returns a value t with lo <= t < hi, for lo < hi: their
// midpoint, unless rounding puts it at hi (adjacent values), then lo.
func between(lo, hi float64) float64 {
	if m := lo/2 + hi/2; m >= lo && m < hi {
		return m
	}
	return lo
}
