package e2eoneclass

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"gorgonia.org/gorgonia"
)

func TestOCANOptions(t *testing.T) {
	CheckOptionCases(t, "ocan", []OptionCase{
		{Opts: Opts("latent", "4", "hidden", "32,16", "ent_weight", "0", "pretrain_epochs", "1"), Want: nil},
		{Opts: Opts("latent", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("ent_weight", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("ent_weight", "nan"), Want: detectors.ErrBadOption},
		{Opts: Opts("pretrain_epochs", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("alpha", "0.5"), Want: detectors.ErrUnknownOption},
		{Opts: Opts("w_con", "1"), Want: detectors.ErrUnknownOption},
	})
}

// TestOCANAccuracy: defaults on held-out thyroid rows (seeds 0-2;
// measured 0.973, 0.816 and 0.636, mean 0.808: the last epoch's
// discriminator varies with the seed). The floor catches a discriminator
// trained the wrong way round or a score of the wrong sign (mean about
// 0.19), and a generator left unbounded (it then settles on the data and
// the score comes out inverted: AUC-ROC about 0.3).
func TestOCANAccuracy(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	sum := 0.0
	for _, seed := range []string{"0", "1", "2"} {
		sum += SplitAUC(t, "ocan", tb, Opts("seed", seed), false)
	}
	if mean := sum / 3; mean < 0.7 {
		t.Errorf("thyroid: mean AUC-ROC %.4f over seeds 0-2 < %.2f", mean, 0.7)
	}
}

// TestOCANModel: the trained model keeps the discriminator only (no
// generator, box or density model).
func TestOCANModel(t *testing.T) {
	m := FitSynthetic(t, "ocan", Synthetic(500, 4, 2), Opts("epochs", "1", "pretrain_epochs", "1"))
	n := 0
	for _, tn := range m.Weights().Tensors {
		if !strings.HasPrefix(tn.Name, ocanD) {
			t.Errorf("state keeps %s; want the discriminator's tensors only", tn.Name)
		}
		n++
	}
	if n != 6 { // three layers, each a weight and a bias
		t.Errorf("state has %d tensors, want the discriminator's 6", n)
	}
}

// TestOCANBox: Prepare sets the generator's box to the rows' bounding box
// scaled by 2 about its centre. Bugs caught: the half-width taken as the
// whole width or not scaled, the centre off, a column mixed up.
func TestOCANBox(t *testing.T) {
	x := arrowio.Matrix{Rows: 3, Cols: 2, Data: []float64{
		0, -1,
		4, 5,
		1, 2,
	}}
	o := NormalizedOptions(t, "ocan", nil)
	st, err := ocan{}.Init(2, o, rand.New(rand.NewPCG(1, 2)))
	if err == nil {
		err = ocan{}.Prepare(st, x, o)
	}
	if err != nil {
		t.Fatal(err)
	}
	c, h := st.Get(ocanBoxCentre).Data, st.Get(ocanBoxHalf).Data
	if want := []float64{2, 2}; c[0] != want[0] || c[1] != want[1] {
		t.Errorf("centre %v, want %v", c, want)
	}
	if want := []float64{4, 6}; h[0] != want[0] || h[1] != want[1] {
		t.Errorf("half-widths %v, want %v", h, want)
	}
}

// evalNode runs a graph built by f over a rows × cols input and returns
// the value of the node f returns.
func evalNode(t *testing.T, rows, cols int, data []float64, f func(x *gorgonia.Node) (*gorgonia.Node, error)) float64 {
	t.Helper()
	g := gorgonia.NewGraph()
	out, err := f(detectors.MatrixNode(g, "x", rows, cols, data))
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	return out.Value().Data().(float64)
}

// TestOCANPullAway: the pull-away term against its definition, the mean
// over ordered pairs i ≠ j of the squared cosine similarity. Rows 1 and 2
// are parallel (cos² 1), row 3 is orthogonal to both (0), so the mean
// over the 6 ordered pairs is 2/6; the scale of a row does not matter.
// Bugs caught: the diagonal left in (8/6), the wrong normalization, cos
// instead of cos².
func TestOCANPullAway(t *testing.T) {
	h := []float64{
		1, 1, 0,
		3, 3, 0,
		0, 0, 2,
	}
	got := evalNode(t, 3, 3, h, func(x *gorgonia.Node) (*gorgonia.Node, error) { return pullAway(x, 3) })
	if want := 2.0 / 6; math.Abs(got-want) > 1e-9 {
		t.Errorf("pull-away %v, want %v", got, want)
	}
	// Two rows at 60°: cos² = 1/4 for each of the 2 ordered pairs.
	h = []float64{1, 0, 0.5, math.Sqrt(3) / 2}
	got = evalNode(t, 2, 2, h, func(x *gorgonia.Node) (*gorgonia.Node, error) { return pullAway(x, 2) })
	if want := 0.25; math.Abs(got-want) > 1e-9 {
		t.Errorf("pull-away at 60°: %v, want %v", got, want)
	}
}

// TestOCANLowDensity: the low-density term keeps only the rows whose
// density σ(t) is above the midpoint of the batch's range, and averages
// their log σ(t) over all rows. Logits 2, 1, −3: σ = 0.881, 0.731,
// 0.047, midpoint 0.464, so rows 1 and 2 count. Bugs caught: no mask (row
// 3's log σ(−3) = −3.05 added), the mask reversed, the log of the other
// class, dividing by the rows kept.
func TestOCANLowDensity(t *testing.T) {
	got := evalNode(t, 3, 1, []float64{2, 1, -3}, lowDensity)
	logSig := func(v float64) float64 { return -math.Log1p(math.Exp(-v)) }
	if want := (logSig(2) + logSig(1)) / 3; math.Abs(got-want) > 1e-12 {
		t.Errorf("low-density term %v, want %v", got, want)
	}
}

// TestOCANCollapse: a learning rate 10000 times the default makes the
// generator's ReLUs die and it draws every row alike. Fit fails with
// ErrCollapsed and returns no model. Bugs caught: the check left out, or
// comparing the wrong way (then every default fit fails).
func TestOCANCollapse(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	mem := CheckedMem(t)
	bs := tb.NullBatches(mem, 5000)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), "ocan", Opts("lr", "10", "epochs", "1", "pretrain_epochs", "1"), detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if !errors.Is(err, detectors.ErrCollapsed) || m != nil || !strings.Contains(err.Error(), "ocan: the generator draws every row alike") {
		t.Fatalf("Fit with lr 10: model %t, error %v; want ErrCollapsed and no model", m != nil, err)
	}
}
