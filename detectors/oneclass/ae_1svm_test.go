package oneclass

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAE1SVMOptions(t *testing.T) {
	CheckOptionCases(t, "ae_1svm", []OptionCase{
		{Opts: nil, Want: nil},
		{Opts: Opts("nu", "1", "gamma", "0.5", "rff_dim", "1", "alpha", "0"), Want: nil},
		{Opts: Opts("gamma", "AUTO"), Want: nil},
		{Opts: Opts("nu", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("nu", "1.5"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "wide"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "inf"), Want: detectors.ErrBadOption},
		{Opts: Opts("rff_dim", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("alpha", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("sigma", "1"), Want: detectors.ErrUnknownOption},
	})
}

// TestAE1SVMFeatureMap checks the random Fourier features: Ω has the
// variance 2·gamma of the RBF kernel's spectral density, and the
// feature map approximates exp(−gamma·‖z−z'‖²).
func TestAE1SVMFeatureMap(t *testing.T) {
	o := NormalizedOptions(t, "ae_1svm", Opts("hidden", "8,4", "gamma", "0.3", "rff_dim", "4000"))
	st, err := ae1svm{}.Init(5, o, rand.New(rand.NewPCG(1, 0x9e3779b97f4a7c15))) // Fit's generator for seed 1
	if err != nil {
		t.Fatal(err)
	}
	omega := st.Get("rff.omega")
	var ss float64
	for _, v := range omega.Data {
		ss += v * v
	}
	if v := ss / float64(len(omega.Data)); math.Abs(v-0.6) > 0.03 {
		t.Errorf("variance of Ω is %.4f, want 0.6", v)
	}
	z1, z2 := []float64{0.1, -0.5, 0.3, 1}, []float64{0.4, 0, -0.2, 0.8}
	r := omega.Cols
	var k float64
	for j := 0; j < r; j++ {
		var p1, p2 float64
		for i := range z1 {
			p1 += z1[i] * omega.At(i, j)
			p2 += z2[i] * omega.At(i, j)
		}
		k += math.Cos(p1)*math.Cos(p2) + math.Sin(p1)*math.Sin(p2)
	}
	k /= float64(r)
	var d2 float64
	for i := range z1 {
		d2 += (z1[i] - z2[i]) * (z1[i] - z2[i])
	}
	if want := math.Exp(-0.3 * d2); math.Abs(k-want) > 0.05 {
		t.Errorf("kernel approximation %.4f, want %.4f", k, want)
	}
}

// TestAE1SVMAccuracy is a quick smoke test on thyroid.
func TestAE1SVMAccuracy(t *testing.T) {
	auc := SplitAUC(t, "ae_1svm", ReadTable(t, "thyroid"), Opts("epochs", "8", "rff_dim", "64"), false)
	if auc < 0.93 { // measured 0.9599 (untrained network 0.2133)
		t.Errorf("thyroid AUC %.4f < 0.93", auc)
	}
}
