package detectors

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// overflowScorer wraps a trained Scorer and makes it return what an
// overflowing network returns for marked rows, whose standardized values
// no row of ordinary data reaches: NaN where feature 0 is above 1000,
// +Inf where feature 1 is, -Inf where feature 2 is.
type overflowScorer struct{ Scorer }

func (s overflowScorer) ScoreRows(x, dst, scratch []float64) {
	s.Scorer.ScoreRows(x, dst, scratch)
	d := len(x) / len(dst)
	for i := range dst {
		switch z := x[i*d : (i+1)*d]; {
		case z[0] > 1000:
			dst[i] = math.NaN()
		case z[1] > 1000:
			dst[i] = math.Inf(1)
		case z[2] > 1000:
			dst[i] = math.Inf(-1)
		}
	}
}

// TestOverflowingScoresAreMax: a row whose computed score is NaN or ±Inf,
// with every feature finite and below the extreme cut-off, scores MaxScore
// and is an anomaly, alone and at any position of a batch, and the other
// rows keep their scores. No registered algorithm overflows below the
// cut-off on the conformance data (checkExtremeRows), so a Scorer is made
// to.
//
// Bug caught: the NaN or the ±Inf test dropped from Model.scoreRaw (a NaN
// score then fails every comparison, so is_anomaly is 0), or the rule
// applied to the wrong row of a block.
func TestOverflowingScoresAreMax(t *testing.T) {
	tb := synthetic(400, 3, 9)
	m := fitSynthetic(t, "deep_svdd", tb, opts("epochs", "1"))
	want := rowScores(t, m, tb)
	m.scorer = overflowScorer{m.scorer}
	mark := func(i, j int) {
		tb.X[i*tb.Cols+j] = m.scale.mean[j] + 2000*m.scale.std[j]
	}
	marked := map[int]bool{}
	for k, i := range []int{0, 1, 255, 256, 257, 399} {
		mark(i, k%3)
		marked[i] = true
	}
	check := func(path string, got []float64) {
		t.Helper()
		for i, s := range got {
			w := want[i]
			if marked[i] {
				w = MaxScore
			}
			if math.Float64bits(s) != math.Float64bits(w) {
				t.Fatalf("%s: row %d (%v) scores %v, want %v", path, i, tb.X[i*tb.Cols:(i+1)*tb.Cols], s, w)
			}
			if marked[i] && !m.IsAnomaly(s) {
				t.Fatalf("%s: row %d scores %v, not an anomaly (threshold %v)", path, i, s, m.Threshold)
			}
		}
	}
	check("ScoreRow", rowScores(t, m, tb))
	recs := tb.NullBatches(checkedMem(t), tb.Rows)
	defer releaseAll(recs)
	got, err := m.ScoreBatch(recs[0], tb.Features(), nil)
	if err != nil {
		t.Fatal(err)
	}
	check("ScoreBatch", got)
	got, err = m.ScoreMatrix(mat.NewDense(tb.Rows, tb.Cols, slices.Clone(tb.X)), nil)
	if err != nil {
		t.Fatal(err)
	}
	check("ScoreMatrix", got)
}
