package ranking

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"testing"
)

func TestSDOROptions(t *testing.T) {
	CheckOptionCases(t, "sdor", []OptionCase{
		{Opts: Opts("iterations", "1", "anomaly_share", "0.05", "normal_share", "0.5"), Want: nil},
		{Opts: Opts("anomaly_share", "0.1", "normal_share", "0.9"), Want: nil}, // "the rest"
		{Opts: Opts("anomaly_target", "8", "normal_target", "-1"), Want: nil},
		{Opts: Opts("iterations", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("anomaly_share", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("anomaly_share", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("normal_share", "-0.2"), Want: detectors.ErrBadOption},
		{Opts: Opts("anomaly_share", "0.4", "normal_share", "0.7"), Want: detectors.ErrBadOption}, // overlapping sets
		{Opts: Opts("anomaly_target", "0"), Want: detectors.ErrBadOption},                         // equal to normal_target
		{Opts: Opts("anomaly_target", "1", "normal_target", "2"), Want: detectors.ErrBadOption},   // ranks anomalies last
		{Opts: Opts("anomaly_target", "inf"), Want: detectors.ErrBadOption},
		{Opts: Opts("anomaly_target", "1e300", "normal_target", "-1e300"), Want: detectors.ErrBadOption}, // c1 − c2 overflows
		{Opts: Opts("steps", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("ensemble_size", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("margin", "1"), Want: detectors.ErrUnknownOption}, // repen's
		{Opts: Opts("eta", "1"), Want: detectors.ErrUnknownOption},    // deep_sad's
	})
	if u, err := detectors.UsesLabels("sdor"); err != nil || u != detectors.LabelsNone {
		t.Errorf("UsesLabels(sdor) = %v, %v", u, err)
	}
}

// TestSDORPseudoCounts: the shares of the rows, rounded, never empty (but
// for one row), never overlapping. The bugs it catches: truncating
// instead of rounding, sets that overlap when the shares round up
// together, an empty pseudo-anomaly set on small data.
func TestSDORPseudoCounts(t *testing.T) {
	for _, c := range []struct {
		n        int
		a, nrm   float64
		wantA, w int
	}{
		{1000, 0.1, 0.2, 100, 200},
		{2640, 0.1, 0.2, 264, 528},
		{15, 0.1, 0.2, 2, 3}, // 1.5 and 3 round to 2 and 3
		{4, 0.1, 0.2, 1, 1},  // 0.4 and 0.8: at least one each
		{3, 0.5, 0.5, 2, 1},  // 1.5 and 1.5 round up together: at most n
		{10, 0.1, 0.9, 1, 9}, // the rest
		{2, 0.1, 0.2, 1, 1},  // two rows: one of each
		{1, 0.1, 0.2, 1, 0},  // one row: an anomaly only
		{100, 0.01, 0.01, 1, 1},
	} {
		a, n := pseudoCounts(c.n, c.a, c.nrm)
		if a != c.wantA || n != c.w {
			t.Errorf("pseudoCounts(%d, %v, %v) = %d, %d; want %d, %d", c.n, c.a, c.nrm, a, n, c.wantA, c.w)
		}
	}
}

// TestAccuracySDOR: defaults on cardio (held-out 30 %). An untrained or
// inverted network ranks cardio's anomalies at chance or worse (0.25-0.5,
// TestTrainingMatters).
func TestAccuracySDOR(t *testing.T) {
	auc := SplitAUC(t, "sdor", ReadTable(t, "cardio"), nil, false)
	if auc < 0.80 { // measured 0.8756
		t.Errorf("cardio: AUC %.4f < 0.80", auc)
	}
}
