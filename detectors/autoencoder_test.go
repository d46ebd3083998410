package detectors

import "testing"

func TestAutoencoderOptions(t *testing.T) {
	checkOptionCases(t, "autoencoder", []optionCase{
		{opts("noise", "0.1", "sparsity", "0.01", "dropout", "0.5", "hidden", "32,8"), nil},
		{opts("dropout", "0"), nil},
		{opts("dropout", "1"), ErrBadOption},
		{opts("dropout", "-0.1"), ErrBadOption},
		{opts("noise", "-1"), ErrBadOption},
		{opts("sparsity", "-0.5"), ErrBadOption},
		{opts("sparsity", "x"), ErrBadOption},
		{opts("code", "8"), ErrUnknownOption},
	})
	d, err := OptionDefaults("autoencoder")
	if err != nil {
		t.Fatal(err)
	}
	if d["dropout"] != "0.2" || d["epochs"] != "10" || d["hidden"] != "64,32" {
		t.Fatalf("defaults %v", d)
	}
}

func TestAutoencoderAccuracy(t *testing.T) {
	// Measured: thyroid 0.9378 with the defaults (untrained network 0.9089).
	if auc, _ := splitModelAUC(t, "autoencoder", readTable(t, "thyroid"), nil, false); auc < 0.91 {
		t.Errorf("thyroid AUC %.4f < 0.91", auc)
	}
}

// TestAutoencoderVariants trains the denoising and sparse variants without
// dropout, so the graph is deterministic when its normal inputs are not
// filled, and checks the plain-Go scores against it.
func TestAutoencoderVariants(t *testing.T) {
	tb := synthetic(2000, 5, 9)
	for _, o := range []map[string]string{
		opts("epochs", "3", "dropout", "0", "noise", "0.3"),
		opts("epochs", "3", "dropout", "0", "sparsity", "0.1", "hidden", "16,4"),
	} {
		m := fitSynthetic(t, "autoencoder", tb, o)
		checkGraphScores(t, m, tb)
	}
}
