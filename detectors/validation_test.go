package detectors

import (
	"math"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
)

func TestSplitValidationStratified(t *testing.T) {
	const rows, dims = 1000, 2
	x := make([]float64, rows*dims)
	labels := make([]float64, rows)
	for i := range labels {
		x[i*dims] = float64(i)
		switch {
		case i%100 == 0:
			labels[i] = 1 // 10 labelled anomalies
		case i%3 == 0:
			labels[i] = 0
		default:
			labels[i] = math.NaN()
		}
	}
	count := func(l []float64) (one, zero, null int) {
		for _, v := range l {
			switch {
			case math.IsNaN(v):
				null++
			case v == 1:
				one++
			default:
				zero++
			}
		}
		return
	}
	tx, trows, tl, h := splitValidation(x, rows, dims, labels, 0.2, 7)
	if h == nil || trows+h.rows != rows || len(tx) != trows*dims || len(tl) != trows || len(h.labels) != h.rows {
		t.Fatalf("split sizes: train %d, held out %v", trows, h)
	}
	o1, o0, on := count(labels)
	h1, h0, hn := count(h.labels)
	if h1 != int(0.2*float64(o1)) || h0 != int(0.2*float64(o0)) || hn != int(0.2*float64(on)) {
		t.Fatalf("held out %d/%d/%d of %d/%d/%d", h1, h0, hn, o1, o0, on)
	}
	// Every row is in exactly one part, with its label.
	seen := map[float64]bool{}
	for i := 0; i < trows; i++ {
		seen[tx[i*dims]] = true
	}
	for i := 0; i < h.rows; i++ {
		if seen[h.x[i*dims]] {
			t.Fatalf("row %v in both parts", h.x[i*dims])
		}
		seen[h.x[i*dims]] = true
		id := int(h.x[i*dims])
		if math.Float64bits(h.labels[i]) != math.Float64bits(labels[id]) {
			t.Fatalf("row %d has label %v, want %v", id, h.labels[i], labels[id])
		}
	}
	if len(seen) != rows {
		t.Fatalf("%d distinct rows, want %d", len(seen), rows)
	}
	// One labelled anomaly stays in training; no labels work too.
	one := make([]float64, rows)
	one[5] = 1
	_, _, tl, _ = splitValidation(x, rows, dims, one, 0.49, 1)
	if c, _, _ := count(tl); c != 1 {
		t.Fatalf("training part has %d labelled anomalies, want 1", c)
	}
	if _, r, l, h := splitValidation(x, rows, dims, nil, 0.1, 1); l != nil || h == nil || h.rows != 100 || r != 900 {
		t.Fatalf("without labels: %d training rows, labels %v", r, l)
	}
	if _, r, _, h := splitValidation(x, 3, dims, nil, 0.2, 1); h != nil || r != 3 {
		t.Fatal("a split of no rows must turn validation off")
	}
}

// drifting is deep_svdd whose center moves away after every epoch, so the
// held-out loss grows from the first epoch on and early stopping must
// stop after patience epochs and restore the first epoch's state.
type drifting struct {
	deepSVDD
	epochs *[]int
	c1     *[]float64
}

func (a drifting) EndEpoch(st *State, _ arrowio.Matrix, _ []float64, epoch, _ int, _ Options) error {
	*a.epochs = append(*a.epochs, epoch)
	c := st.Get("c").Data
	if epoch == 1 {
		*a.c1 = append([]float64(nil), c...)
	}
	for i := range c {
		c[i] += 10
	}
	return nil
}

func TestEarlyStopping(t *testing.T) {
	tb := synthetic(500, 3, 5)
	var epochs []int
	var c1 []float64
	alg := drifting{epochs: &epochs, c1: &c1}
	st := trainState(t, alg, tb, opts("epochs", "20", "validation", "0.2", "patience", "3", "hidden", "8,4"), nil)
	if len(epochs) != 4 {
		t.Fatalf("ran epochs %v, want 1..4 (best 1, patience 3)", epochs)
	}
	// The restored state is the one after epoch 1's EndEpoch.
	for i, v := range st.Get("c").Data {
		if v != c1[i]+10 {
			t.Fatalf("c[%d] = %v, want the first epoch's %v", i, v, c1[i]+10)
		}
	}
	epochs = nil
	trainState(t, alg, tb, opts("epochs", "6", "hidden", "8,4"), nil)
	if len(epochs) != 6 {
		t.Fatalf("without validation ran epochs %v, want 6", epochs)
	}
}

func TestValidationIsSeeded(t *testing.T) {
	tb := synthetic(2000, 4, 6)
	o := opts("epochs", "4", "seed", "9", "hidden", "8,4", "validation", "0.25", "patience", "1")
	a := rowScores(t, fitSynthetic(t, "deep_svdd", tb, o), tb)
	b := rowScores(t, fitSynthetic(t, "deep_svdd", tb, o), tb)
	if i, ok := sameBits(a, b); !ok {
		t.Fatalf("same seed with validation differs at row %d", i)
	}
	o["validation"] = "0"
	c := rowScores(t, fitSynthetic(t, "deep_svdd", tb, o), tb)
	if _, ok := sameBits(a, c); ok {
		t.Fatal("validation had no effect")
	}
}
