package detectors

import (
	"math"
	"testing"
)

func TestRDPOptions(t *testing.T) {
	checkOptionCases(t, "rdp", []optionCase{
		{opts("rep_dim", "16", "refs", "8"), nil},
		{opts("hidden", "32"), nil},
		{opts("rep_dim", "0"), ErrBadOption},
		{opts("refs", "0"), ErrBadOption},
		{opts("refs", "x"), ErrBadOption},
		{opts("hidden", "1,0"), ErrBadOption},
		{opts("margin", "1"), ErrUnknownOption},
	})
	if u, err := UsesLabels("rdp"); err != nil || u != LabelsNone {
		t.Errorf("UsesLabels(rdp) = %v, %v", u, err)
	}
}

// TestRDPRandomProjectionFixed: training changes φ but not the random
// projection η, and the stored reference representations are normalized.
func TestRDPRandomProjectionFixed(t *testing.T) {
	tb := synthetic(600, 4, 9)
	o := opts("epochs", "2", "seed", "5", "refs", "16")
	m1 := fitSynthetic(t, "rdp", tb, o)
	m2 := fitSynthetic(t, "rdp", tb, opts("epochs", "4", "seed", "5", "refs", "16"))
	e1, e2 := m1.state.Get("eta.w").Data, m2.state.Get("eta.w").Data
	if i, ok := sameBits(e1, e2); !ok {
		t.Fatalf("η differs at %d after more epochs", i)
	}
	if _, ok := sameBits(m1.state.Get("phi.w0").Data, m2.state.Get("phi.w0").Data); ok {
		t.Fatal("φ did not change with more epochs")
	}
	ref := m1.state.Get("ref.phi")
	for r := 0; r < ref.Cols; r++ {
		sum := 0.0
		for j := 0; j < ref.Rows; j++ {
			sum += math.Abs(ref.At(j, r))
		}
		if math.Abs(sum-1) > 1e-9 {
			t.Fatalf("reference %d has L1 norm %v", r, sum)
		}
	}
}

func TestAccuracyRDP(t *testing.T) {
	auc := splitAUC(t, "rdp", readTable(t, "thyroid"), opts("epochs", "10"), false)
	t.Logf("thyroid rdp AUC %.4f", auc)
	if auc < 0.90 { // measured 0.9237 (untrained network 0.9285)
		t.Errorf("thyroid: AUC %.4f < 0.90", auc)
	}
}
