package detectors

import "testing"

func TestVAEOptions(t *testing.T) {
	checkOptionCases(t, "vae", []optionCase{
		{opts("latent", "2", "beta", "0.5", "hidden", "32"), nil},
		{opts("beta", "0"), nil},
		{opts("latent", "0"), ErrBadOption},
		{opts("beta", "-1"), ErrBadOption},
		{opts("dropout", "0.2"), ErrUnknownOption},
	})
}

func TestVAEAccuracy(t *testing.T) {
	if auc, _ := splitModelAUC(t, "vae", readTable(t, "thyroid"), opts("epochs", "20"), false); auc < 0.94 { // measured 0.965 (untrained network 0.9444)
		t.Errorf("thyroid AUC %.4f < 0.94", auc)
	}
}
