package detectors

import (
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
)

// This test of goad (detectors/selfsupervised) lives in the core: it
// runs the training template's shard (train.go) on goad's graph.

// TestGOADLossGradients compares the training program's gradients (the
// fused distance and loss ops, through the network) with central
// differences of its loss, for every trainable value. Margin 3 and
// lambda 1 keep the triplet term active for most transformed rows. The
// bugs it catches: a wrong factor or sign in either op's gradient, the
// triplet gradient sent to another centre than the nearest other one, a
// softmax gradient without the target's −1.
func TestGOADLossGradients(t *testing.T) {
	goad, _, err := lookup("goad")
	if err != nil {
		t.Fatal(err)
	}
	const rows, dims = 6, 3
	o, err := normalizeOptions("goad", goad, opts("transforms", "4", "trans_dim", "3", "hidden", "5,4", "margin", "3", "lambda", "1"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, rows*dims)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	st, err := goad.Init(dims, o, newRand(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := goad.(Preparer).Prepare(st, arrowio.Matrix{Rows: rows, Cols: dims, Data: x}, o); err != nil {
		t.Fatal(err)
	}
	// Move the centres off the data's mean so that the triplet term has
	// rows on both sides of its hinge.
	for i, c := 0, st.Get("goad.c").Data; i < len(c); i++ {
		c[i] += 0.5 * rng.NormFloat64()
	}
	sh, err := newShard(goad, st, 0, rows, rows, dims, o)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{0, 1, 2, 3, 4, 5}
	sh.fill(x, dims, idx, nil, rng)
	checked := checkShardGradients(t, sh, st, "goad")
	if checked < 50 {
		t.Fatalf("checked %d values", checked)
	}
}
