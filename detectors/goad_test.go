package detectors

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
)

func TestGOADOptions(t *testing.T) {
	checkOptionCases(t, "goad", []optionCase{
		{opts("transforms", "16", "trans_dim", "8", "hidden", "16,8"), nil},
		{opts("margin", "0", "lambda", "0", "eps", "1e-6"), nil},
		{opts("transforms", "1"), ErrBadOption}, // nothing to classify
		{opts("transforms", "4097"), ErrBadOption},
		{opts("trans_dim", "0"), ErrBadOption},
		{opts("margin", "-1"), ErrBadOption},
		{opts("lambda", "-0.1"), ErrBadOption},
		{opts("eps", "-1e-9"), ErrBadOption},
		{opts("eps", "x"), ErrBadOption},
		{opts("hidden", ""), ErrBadOption},
		{opts("transforms", "4096", "trans_dim", "4096"), ErrTooLarge},
		{opts("rep_dim", "8"), ErrUnknownOption}, // rdp's
		{opts("nu", "0.1"), ErrUnknownOption},    // deep_svdd's
	})
	if u, err := UsesLabels("goad"); err != nil || u != LabelsNone {
		t.Errorf("UsesLabels(goad) = %v, %v", u, err)
	}
}

// goadTestOpts is a small GOAD for quick tests.
func goadTestOpts(kv ...string) map[string]string {
	o := opts("transforms", "8", "trans_dim", "6", "hidden", "12,5", "seed", "4", "epochs", "2")
	for i := 0; i+1 < len(kv); i += 2 {
		o[kv[i]] = kv[i+1]
	}
	return o
}

// goadDirectFeatures computes f(W_m x) for every m with plain loops over
// the model's tensors: x·W, then each layer, LeakyReLU(0.2) between.
func goadDirectFeatures(st *State, s goadShape, x []float64) [][]float64 {
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
	tb := synthetic(2500, 4, 5) // 3 chunks of goadCentreChunk rows
	m := fitSynthetic(t, "goad", tb, goadTestOpts())
	s := goadShapeOf(tb.cols, m.opts)
	z := append([]float64(nil), tb.x...)
	m.scale.transform(z)
	want := make([]float64, s.m*s.k)
	for i := 0; i < tb.rows; i++ {
		for mm, f := range goadDirectFeatures(m.state, s, z[i*tb.cols:(i+1)*tb.cols]) {
			for j, v := range f {
				want[mm*s.k+j] += v / float64(tb.rows)
			}
		}
	}
	got := m.state.Get("goad.c").Data
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
	tb := synthetic(800, 3, 6)
	for _, eps := range []string{"0", "0.001"} {
		m := fitSynthetic(t, "goad", tb, goadTestOpts("eps", eps))
		s := goadShapeOf(tb.cols, m.opts)
		e := m.opts.Float("eps")
		c := m.state.Get("goad.c")
		for _, i := range []int{0, 17, 400, 799} {
			row := tb.x[i*tb.cols : (i+1)*tb.cols]
			got, err := m.ScoreRow(row)
			if err != nil {
				t.Fatal(err)
			}
			x := append([]float64(nil), row...)
			m.scale.transform(x)
			want := 0.0
			for mm, f := range goadDirectFeatures(m.state, s, x) {
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
	tb := synthetic(600, 4, 9)
	m1 := fitSynthetic(t, "goad", tb, goadTestOpts("epochs", "1"))
	m2 := fitSynthetic(t, "goad", tb, goadTestOpts("epochs", "3"))
	if i, ok := sameBits(m1.state.Get("goad.w").Data, m2.state.Get("goad.w").Data); !ok {
		t.Fatalf("transformations differ at %d after more epochs", i)
	}
	if _, ok := sameBits(m1.state.Get("f0.w0").Data, m2.state.Get("f0.w0").Data); ok {
		t.Fatal("the network did not change with more epochs")
	}
	m3 := fitSynthetic(t, "goad", tb, goadTestOpts("epochs", "1", "seed", "5"))
	if _, ok := sameBits(m1.state.Get("goad.w").Data, m3.state.Get("goad.w").Data); ok {
		t.Fatal("another seed drew the same transformations")
	}
}

// TestGOADLossGradients compares the training program's gradients (the
// fused distance and loss ops, through the network) with central
// differences of its loss, for every trainable value. Margin 3 and
// lambda 1 keep the triplet term active for most transformed rows. The
// bugs it catches: a wrong factor or sign in either op's gradient, the
// triplet gradient sent to another centre than the nearest other one, a
// softmax gradient without the target's −1.
func TestGOADLossGradients(t *testing.T) {
	const rows, dims = 6, 3
	o, err := normalizeOptions("goad", goad{}, opts("transforms", "4", "trans_dim", "3", "hidden", "5,4", "margin", "3", "lambda", "1"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x := make([]float64, rows*dims)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	st, err := goad{}.Init(dims, o, newRand(2))
	if err != nil {
		t.Fatal(err)
	}
	if err := (goad{}).Prepare(st, arrowio.Matrix{Rows: rows, Cols: dims, Data: x}, o); err != nil {
		t.Fatal(err)
	}
	// Move the centres off the data's mean so that the triplet term has
	// rows on both sides of its hinge.
	for i, c := 0, st.Get("goad.c").Data; i < len(c); i++ {
		c[i] += 0.5 * rng.NormFloat64()
	}
	sh, err := newShard(goad{}, st, 0, rows, rows, dims, o)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{0, 1, 2, 3, 4, 5}
	sh.fill(x, dims, idx, nil, rng)
	loss := func() float64 {
		if err := sh.prog.run(); err != nil {
			t.Fatal(err)
		}
		return sh.prog.scalar(sh.loss)
	}
	loss()
	checked := 0
	for p, n := range sh.params {
		tn := st.Get(n.Name())
		grad := append([]float64(nil), sh.prog.value(sh.grads[p])...)
		for i := range tn.Data {
			const h = 1e-6
			v := tn.Data[i]
			tn.Data[i] = v + h
			up := loss()
			tn.Data[i] = v - h
			dn := loss()
			tn.Data[i] = v
			num := (up - dn) / (2 * h)
			if math.Abs(num-grad[i]) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: gradient %v, central difference %v", tn.Name, i, grad[i], num)
			}
			checked++
		}
	}
	if checked < 50 {
		t.Fatalf("checked %d values", checked)
	}
}

// TestAccuracyGOAD: default options on thyroid.
func TestAccuracyGOAD(t *testing.T) {
	auc := splitAUC(t, "goad", readTable(t, "thyroid"), opts(), false)
	t.Logf("thyroid goad AUC %.4f", auc)
	if auc < 0.80 {
		t.Errorf("thyroid: AUC %.4f < 0.80", auc)
	}
}
