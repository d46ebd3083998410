package selfsupervised

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"math"
	"testing"
)

func TestGOADOptions(t *testing.T) {
	CheckOptionCases(t, "goad", []OptionCase{
		{Opts: Opts("transforms", "16", "trans_dim", "8", "hidden", "16,8"), Want: nil},
		{Opts: Opts("margin", "0", "lambda", "0", "eps", "1e-6"), Want: nil},
		{Opts: Opts("transforms", "1"), Want: detectors.ErrBadOption}, // nothing to classify
		{Opts: Opts("transforms", "4097"), Want: detectors.ErrBadOption},
		{Opts: Opts("trans_dim", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("margin", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda", "-0.1"), Want: detectors.ErrBadOption},
		{Opts: Opts("eps", "-1e-9"), Want: detectors.ErrBadOption},
		{Opts: Opts("eps", "x"), Want: detectors.ErrBadOption},
		{Opts: Opts("hidden", ""), Want: detectors.ErrBadOption},
		{Opts: Opts("transforms", "4096", "trans_dim", "4096"), Want: detectors.ErrTooLarge},
		{Opts: Opts("rep_dim", "8"), Want: detectors.ErrUnknownOption}, // rdp's
		{Opts: Opts("nu", "0.1"), Want: detectors.ErrUnknownOption},    // deep_svdd's
	})
	if u, err := detectors.UsesLabels("goad"); err != nil || u != detectors.LabelsNone {
		t.Errorf("UsesLabels(goad) = %v, %v", u, err)
	}
}

// goadTestOpts is a small GOAD for quick tests.
func goadTestOpts(kv ...string) map[string]string {
	o := Opts("transforms", "8", "trans_dim", "6", "hidden", "12,5", "seed", "4", "epochs", "2")
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i]] = kv[i+1]
	}
	return o
}

// goadDirectFeatures computes f(W_m x) for every m with plain loops over
// the model's tensors: x·W, then each layer, LeakyReLU(0.2) between.
func goadDirectFeatures(st *detectors.State, s goadShape, x []float64) [][]float64 {
	w := st.Get("goad.w")
	z := make([][]float64, s.m)
	for m := range z {
		h := make([]float64, s.r)
		for j := range h {
			for i, v := range x {
				h[j] += v * w.At(i, m*s.r+j)
			}
		}
		for l, width := range s.hidden {
			wl := st.Get("f" + string(rune('0'+l)) + ".w0")
			out := make([]float64, width)
			for j := range out {
				for i, v := range h {
					out[j] += v * wl.At(i, j)
				}
				if l+1 < len(s.hidden) && out[j] < 0 {
					out[j] *= 0.2
				}
			}
			h = out
		}
		z[m] = h
	}
	return z
}

// TestGOADCentres: after Fit, the stored centre c_m is the mean of the
// trained network's f(W_m x) over the standardized training rows. The
// bug it catches: centres left from the initial network (Finish not
// recomputing them), or a wrong mean (a chunk counted twice or skipped:
// the rows span several chunks).
func TestGOADCentres(t *testing.T) {
	tb := Synthetic(2500, 4, 5) // 3 chunks of goadCentreChunk rows
	m := FitSynthetic(t, "goad", tb, goadTestOpts())
	s := goadShapeOf(tb.Cols, detectors.Options(m.Options))
	z := append([]float64(nil), tb.X...)
	m.Standardize(z)
	want := make([]float64, s.m*s.k)
	for i := 0; i < tb.Rows; i++ {
		for mm, f := range goadDirectFeatures(m.Weights(), s, z[i*tb.Cols:(i+1)*tb.Cols]) {
			for j, v := range f {
				want[mm*s.k+j] += v / float64(tb.Rows)
			}
		}
	}
	got := m.Weights().Get("goad.c").Data
	for j := range want {
		if math.Abs(got[j]-want[j]) > 1e-9*math.Max(1, math.Abs(want[j])) {
			t.Fatalf("centre value %d is %v, the mean feature is %v", j, got[j], want[j])
		}
	}
}

// TestGOADScoreDefinition checks ScoreRow against the paper's score
// computed directly: −Σ_m log((e^{−D[m,m]} + ε) / (Σ_j e^{−D[m,j]} +
// M·ε)), D[m,j] = ‖f(W_m x) − c_j‖², with and without ε. The bugs it
// catches: a wrong target class (another centre than c_m), a sign, ε
// left out or added once instead of M times, a wrong log-sum-exp.
func TestGOADScoreDefinition(t *testing.T) {
	tb := Synthetic(800, 3, 6)
	for _, eps := range []string{"0", "0.001"} {
		m := FitSynthetic(t, "goad", tb, goadTestOpts("eps", eps))
		s := goadShapeOf(tb.Cols, detectors.Options(m.Options))
		e := detectors.Options(m.Options).Float("eps")
		c := m.Weights().Get("goad.c")
		for _, i := range []int{0, 17, 400, 799} {
			row := tb.X[i*tb.Cols : (i+1)*tb.Cols]
			got, err := m.ScoreRow(row)
			if err != nil {
				t.Fatal(err)
			}
			x := append([]float64(nil), row...)
			m.Standardize(x)
			want := 0.0
			for mm, f := range goadDirectFeatures(m.Weights(), s, x) {
				neg := make([]float64, s.m)
				for j := range neg {
					for q, v := range f {
						d := v - c.At(j, q)
						neg[j] -= d * d
					}
				}
				top := math.Inf(-1)
				for _, v := range neg {
					top = max(top, v)
				}
				sum := 0.0
				for _, v := range neg {
					sum += math.Exp(v - top)
				}
				// log(Σ e^{−D} + Mε) − log(e^{−D[m,m]} + ε), scaled by e^{top}.
				den := top + math.Log(sum+float64(s.m)*e*math.Exp(-top))
				num := neg[mm] + math.Log1p(e*math.Exp(-neg[mm]))
				want += den - num
			}
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Errorf("eps %s row %d: score %v, the paper's formula gives %v", eps, i, got, want)
			}
		}
	}
}

// TestGOADTransformationsFixed: training changes the network but not the
// random transformations, which come from the seed alone.
func TestGOADTransformationsFixed(t *testing.T) {
	tb := Synthetic(600, 4, 9)
	m1 := FitSynthetic(t, "goad", tb, goadTestOpts("epochs", "1"))
	m2 := FitSynthetic(t, "goad", tb, goadTestOpts("epochs", "3"))
	if i, ok := SameBits(m1.Weights().Get("goad.w").Data, m2.Weights().Get("goad.w").Data); !ok {
		t.Fatalf("transformations differ at %d after more epochs", i)
	}
	if _, ok := SameBits(m1.Weights().Get("f0.w0").Data, m2.Weights().Get("f0.w0").Data); ok {
		t.Fatal("the network did not change with more epochs")
	}
	m3 := FitSynthetic(t, "goad", tb, goadTestOpts("epochs", "1", "seed", "5"))
	if _, ok := SameBits(m1.Weights().Get("goad.w").Data, m3.Weights().Get("goad.w").Data); ok {
		t.Fatal("another seed drew the same transformations")
	}
}

// TestAccuracyGOAD: default options on thyroid.
func TestAccuracyGOAD(t *testing.T) {
	auc := SplitAUC(t, "goad", ReadTable(t, "thyroid"), Opts(), false)
	t.Logf("thyroid goad AUC %.4f", auc)
	if auc < 0.80 {
		t.Errorf("thyroid: AUC %.4f < 0.80", auc)
	}
}
