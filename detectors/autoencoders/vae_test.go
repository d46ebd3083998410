package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"testing"
)

func TestVAEOptions(t *testing.T) {
	CheckOptionCases(t, "vae", []OptionCase{
		{Opts: Opts("latent", "2", "beta", "0.5", "hidden", "32"), Want: nil},
		{Opts: Opts("beta", "0"), Want: nil},
		{Opts: Opts("latent", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("beta", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("dropout", "0.2"), Want: detectors.ErrUnknownOption},
	})
}

func TestVAEAccuracy(t *testing.T) {
	if auc, _ := SplitModelAUC(t, "vae", ReadTable(t, "thyroid"), Opts("epochs", "20"), false); auc < 0.94 { // measured 0.965 (untrained network 0.9444)
		t.Errorf("thyroid AUC %.4f < 0.94", auc)
	}
}
