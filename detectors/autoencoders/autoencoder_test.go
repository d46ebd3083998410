package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"testing"
)

func TestAutoencoderOptions(t *testing.T) {
	CheckOptionCases(t, "autoencoder", []OptionCase{
		{Opts: Opts("noise", "0.1", "sparsity", "0.01", "dropout", "0.5", "hidden", "32,8"), Want: nil},
		{Opts: Opts("dropout", "0"), Want: nil},
		{Opts: Opts("dropout", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("dropout", "-0.1"), Want: detectors.ErrBadOption},
		{Opts: Opts("noise", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("sparsity", "-0.5"), Want: detectors.ErrBadOption},
		{Opts: Opts("sparsity", "x"), Want: detectors.ErrBadOption},
		{Opts: Opts("code", "8"), Want: detectors.ErrUnknownOption},
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
