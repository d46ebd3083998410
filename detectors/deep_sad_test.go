package detectors

import (
	"errors"
	"math"
	"testing"
)

func TestDeepSADOptions(t *testing.T) {
	for _, tc := range []struct {
		opts map[string]string
		want error
	}{
		{opts("eta", "0.5"), nil},
		{opts("eta", "10", "pretrain_epochs", "3"), nil},
		{opts("eta", "0"), ErrBadOption},
		{opts("eta", "-1"), ErrBadOption},
		{opts("eta", "x"), ErrBadOption},
		{opts("pretrain_epochs", "-1"), ErrBadOption},
		{opts("nu", "0.1"), ErrUnknownOption},
		{opts("objective", "soft-boundary"), ErrUnknownOption},
	} {
		err := ValidateOptions("deep_sad", tc.opts)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ValidateOptions(deep_sad, %v) = %v, want %v", tc.opts, err, tc.want)
		}
	}
}

// TestDeepSADLabels: labelled anomalies end up farther from c than
// without their labels, and labelled normals closer.
func TestDeepSADLabels(t *testing.T) {
	tb := synthetic(2000, 4, 12)
	o := opts("epochs", "10", "hidden", "16,8", "lr", "0.001")
	labels := weakLabels(tb)
	m := fitSynthetic(t, "deep_sad", tb, o)
	s := rowScores(t, m, tb)
	var anomalies, normals float64
	var na, nn int
	for i, l := range labels {
		switch {
		case l == 1:
			anomalies += s[i]
			na++
		case l == 0:
			normals += s[i]
			nn++
		}
	}
	if na == 0 || nn == 0 || anomalies/float64(na) < 10*normals/float64(nn) {
		t.Fatalf("labelled anomalies score %.3g on average, labelled normals %.3g", anomalies/float64(na), normals/float64(nn))
	}
	for i := range s {
		if math.IsNaN(s[i]) {
			t.Fatal("NaN score")
		}
	}
}

func TestAccuracyDeepSAD(t *testing.T) {
	for _, tc := range []struct {
		name  string
		floor float64
	}{{"thyroid", 0.93}, {"cardio", 0.83}} { // measured 0.9739, 0.8667
		auc := splitAUC(t, "deep_sad", readTable(t, tc.name), nil, true)
		t.Logf("%s deep_sad AUC %.4f (10%% of training anomalies labelled)", tc.name, auc)
		if auc < tc.floor {
			t.Errorf("%s: AUC %.4f < %.2f", tc.name, auc, tc.floor)
		}
	}
}
