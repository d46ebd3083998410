package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"testing"
)

func TestAutoencoderOptions(t *testing.T) {
	CheckOptionCases(t, "autoencoder", []OptionCase{
		{Opts("noise", "0.1", "sparsity", "0.01", "dropout", "0.5", "hidden", "32,8"), nil},
		{Opts("dropout", "0"), nil},
		{Opts("dropout", "1"), detectors.ErrBadOption},
		{Opts("dropout", "-0.1"), detectors.ErrBadOption},
		{Opts("noise", "-1"), detectors.ErrBadOption},
		{Opts("sparsity", "-0.5"), detectors.ErrBadOption},
		{Opts("sparsity", "x"), detectors.ErrBadOption},
		{Opts("code", "8"), detectors.ErrUnknownOption},
	})
	d, err := detectors.OptionDefaults("autoencoder")
	if err != nil {
		t.Fatal(err)
	}
	if d["dropout"] != "0.2" || d["epochs"] != "10" || d["hidden"] != "64,32" {
		t.Fatalf("defaults %v", d)
	}
}

func TestAutoencoderAccuracy(t *testing.T) {
	// Measured: thyroid 0.9378 with the defaults (untrained network 0.9089).
	if auc, _ := SplitModelAUC(t, "autoencoder", ReadTable(t, "thyroid"), nil, false); auc < 0.91 {
		t.Errorf("thyroid AUC %.4f < 0.91", auc)
	}
}

// TestAutoencoderVariants trains the denoising and sparse variants without
// dropout, so the graph is deterministic when its normal inputs are not
// filled, and checks the plain-Go scores against it.
func TestAutoencoderVariants(t *testing.T) {
	tb := Synthetic(2000, 5, 9)
	for _, o := range []map[string]string{
		Opts("epochs", "3", "dropout", "0", "noise", "0.3"),
		Opts("epochs", "3", "dropout", "0", "sparsity", "0.1", "hidden", "16,4"),
	} {
		m := FitSynthetic(t, "autoencoder", tb, o)
		checkGraphScores(t, m, tb)
	}
}
