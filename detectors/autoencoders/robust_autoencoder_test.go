package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"math"
	"testing"
)

func TestRobustAutoencoderOptions(t *testing.T) {
	CheckOptionCases(t, "robust_autoencoder", []OptionCase{
		{Opts: Opts("lambda", "0.5", "norm", "L1", "outer_iterations", "3"), Want: nil},
		{Opts: Opts("lambda", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda", "-2"), Want: detectors.ErrBadOption},
		{Opts: Opts("norm", "l2"), Want: detectors.ErrBadOption},
		{Opts: Opts("outer_iterations", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("noise", "0.1"), Want: detectors.ErrUnknownOption},
	})
}

func TestShrink(t *testing.T) {
	r := []float64{3, -0.5, 2, -4}
	shrinkElements(r, 1)
	for i, want := range []float64{2, 0, 1, -3} {
		if r[i] != want {
			t.Fatalf("l1 shrink: %v", r)
		}
	}
	// Rows (3, 4) of norm 5 and (0.3, 0.4) of norm 0.5, tau 2.5.
	r = []float64{3, 4, 0.3, 0.4}
	shrinkRows(r, 2, 2.5)
	for i, want := range []float64{1.5, 2, 0, 0} {
		if math.Abs(r[i]-want) > 1e-15 {
			t.Fatalf("l21 shrink: %v", r)
		}
	}
}

func TestRobustAutoencoderAccuracy(t *testing.T) {
	for _, tc := range []struct {
		norm  string
		floor float64
	}{{"l21", 0.91}, {"l1", 0.94}} { // measured 0.9314, 0.9613 (untrained network 0.9089 both)
		if auc, _ := SplitModelAUC(t, "robust_autoencoder", ReadTable(t, "thyroid"), Opts("epochs", "20", "norm", tc.norm), false); auc < tc.floor {
			t.Errorf("thyroid %s AUC %.4f < %.2f", tc.norm, auc, tc.floor)
		}
	}
}
