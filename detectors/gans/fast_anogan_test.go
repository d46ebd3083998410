package gans

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"gorgonia.org/gorgonia"
)

func TestFastAnoGANOptions(t *testing.T) {
	CheckOptionCases(t, "fast_anogan", []OptionCase{
		{Opts: Opts("latent", "4", "hidden", "32", "encoder_epochs", "2", "n_critic", "1", "gp", "0", "kappa", "0"), Want: nil},
		{Opts: Opts("latent", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("encoder_epochs", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("n_critic", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("gp", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("kappa", "inf"), Want: detectors.ErrBadOption},
		{Opts: Opts("search_steps", "10"), Want: detectors.ErrUnknownOption},
		{Opts: Opts("beta1", "0.5"), Want: detectors.ErrUnknownOption},
	})
}

// TestCriticInputGradient: the gradient penalty's ∇D(x̃), built in the
// critic's graph as D's backward pass, agrees with central finite
// differences of D's value computed by the plain-Go kernels, row by row.
// Bugs caught: a transposed weight the wrong way, the leaky slope applied
// on the active side, a layer left out of the backward pass, the output
// weights not broadcast to every row.
func TestCriticInputGradient(t *testing.T) {
	const d, rows = 4, 6
	o := NormalizedOptions(t, "fast_anogan", Opts("hidden", "7,5", "latent", "3"))
	n := newGAN(d, o)
	st := &detectors.State{}
	rng := rand.New(rand.NewPCG(7, 8))
	n.init(st, rng)
	for _, tn := range st.Tensors {
		for i := range tn.Data {
			tn.Data[i] += 0.1 * rng.NormFloat64()
		}
	}
	b := detectors.NewGraph(st, rows, d, o)
	for i := range b.Input() {
		b.Input()[i] = rng.NormFloat64()
	}
	grad, err := n.criticInputGrad(b, b.X)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(b.G.SubgraphRoots(grad))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := grad.Value().Data().([]float64)
	f, err := n.dFeat.Kernel(st)
	if err != nil {
		t.Fatal(err)
	}
	c, err := n.dOut.Kernel(st)
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := make([]float64, f.ScratchLen()), make([]float64, c.ScratchLen())
	value := func(x []float64) float64 { return c.Forward(f.Forward(x, s1), s2)[0] }
	for r := range rows {
		x := b.Input()[r*d : (r+1)*d]
		for j := range d {
			const h = 1e-6
			xp, xm := slices.Clone(x), slices.Clone(x)
			xp[j] += h
			xm[j] -= h
			fd := (value(xp) - value(xm)) / (2 * h)
			if g := got[r*d+j]; math.Abs(fd-g) > 1e-5*(1+math.Abs(fd)) {
				t.Fatalf("row %d: dD/dx%d = %v in the graph, %v by finite differences", r, j, g, fd)
			}
		}
	}
}

// TestFastAnoGANAccuracy: defaults on held-out thyroid and cardio rows,
// seed 0. Measured: thyroid 0.961, cardio 0.913. The floors catch
// defaults that no longer train (a penalty with the wrong sign, an
// encoder that does not learn to invert G).
func TestFastAnoGANAccuracy(t *testing.T) {
	for _, c := range []struct {
		data  string
		floor float64
	}{{"thyroid", 0.92}, {"cardio", 0.87}} {
		if auc := SplitAUC(t, "fast_anogan", ReadTable(t, c.data), Opts("seed", "0"), false); auc < c.floor {
			t.Errorf("%s: AUC-ROC %.4f < %.2f", c.data, auc, c.floor)
		}
	}
}

// TestFastAnoGANEncoderOnly: the encoder's phase trains E only: G and
// D's features are those the GAN phase left. Checked on the players the
// phase uses. Bug caught: a prefix that lets the izi_f loss move G or f
// (the score would then measure a generator fitted to each row).
func TestFastAnoGANEncoderOnly(t *testing.T) {
	ps := fastAnoganEncoder{}.Players(3, nil)
	if len(ps) != 1 || !slices.Equal(ps[0].Trains, []string{fastAnoganE}) {
		t.Fatalf("encoder phase players %+v", ps)
	}
	gp := fastAnoganGAN{}.Players(3, NormalizedOptions(t, "fast_anogan", nil))
	if len(gp) != 2 || gp[0].Name != "critic" || gp[1].Every != 5 || gp[0].Beta1 != 0 || gp[0].Beta2 != 0.9 {
		t.Fatalf("GAN phase players %+v", gp)
	}
}

// TestFastAnoGANModel: the model keeps E, G and f and drops the
// critic's output layer; a fit whose critic's loss overflows (lr 1e100;
// WGAN-GP survives lr 1e8 on thyroid) fails with ErrDiverged and returns
// no model.
func TestFastAnoGANModel(t *testing.T) {
	m := FitSynthetic(t, "fast_anogan", Synthetic(300, 4, 2), Opts("epochs", "1", "encoder_epochs", "1"))
	var prefixes []string
	for _, tn := range m.Weights().Tensors {
		p := tn.Name[:strings.LastIndexByte(tn.Name, '.')+1]
		if !slices.Contains(prefixes, p) {
			prefixes = append(prefixes, p)
		}
	}
	if want := []string{ganG, ganDFeat, fastAnoganE}; !slices.Equal(prefixes, want) {
		t.Errorf("state tensors %v, want those of %v", prefixes, want)
	}
	tb := ReadTable(t, "thyroid")
	mem := CheckedMem(t)
	bs := tb.NullBatches(mem, 5000)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), "fast_anogan", Opts("lr", "1e100", "epochs", "1", "encoder_epochs", "1"), detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if m != nil || !errors.Is(err, detectors.ErrDiverged) || !strings.Contains(err.Error(), "critic") {
		t.Fatalf("Fit with lr 1e100: model %t, error %v; want the critic's ErrDiverged and no model", m != nil, err)
	}
}
