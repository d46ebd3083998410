package gans

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// alad is Adversarially Learned Anomaly Detection (Zenati, Romain, Foo,
// Lecouat and Chandrasekhar, "Adversarially Learned Anomaly Detection",
// IEEE ICDM 2018; reference code houssamzenati/Adversarially-Learned-
// Anomaly-Detection, its KDD99 networks alad/kdd_utilities.py and
// training loop alad/run.py), survey §5.1.2: a bidirectional GAN (BiGAN,
// Donahue et al. 2017; ALI, Dumoulin et al. 2017) whose generator G maps
// codes z to rows and whose encoder E maps rows to codes, trained against
// a discriminator D_xz of (row, code) pairs, (x, E(x)) being real and
// (G(z), z) fake; with two more discriminators for cycle consistency
// (ALICE, Li et al. 2017): D_xx tells (x, x) from (x, G(E(x))) and D_zz
// tells (z, z) from (z, E(G(z))). A row is anomalous when D_xx's features
// tell it from its reconstruction.
//
// Networks, MLPs over standardized rows, as the reference code's KDD99
// ones with hidden '64,128' and latent 32 (w below is the last hidden
// width, 128; leaky ReLUs have slope 0.2):
//
//   - E: d → 64 (leaky ReLU) → latent (linear), hidden[0] wide;
//   - G: latent → 64 → 128 (ReLU) → d (linear), the hidden widths;
//   - D_xz: x → w (leaky ReLU) and z → w (leaky ReLU, dropout 0.5),
//     concatenated, → w (leaky ReLU, dropout 0.5): its features f_xz,
//     then a linear logit;
//   - D_xx: (x, x') concatenated → w (leaky ReLU, dropout 0.2): its
//     features f_xx, then a linear logit;
//   - D_zz: (z, z') concatenated → latent (leaky ReLU, dropout 0.2), then
//     a linear logit (the reference's 32 units are its latent width, and
//     its arrhythmia network's 64 too).
//
// Training is the template's adversarial game (adversary.go), with the
// reference code's Adam (lr 1e-5, β₁ 0.5, β₂ 0.999) and batch size 50.
// On each mini-batch, with fresh codes z ~ N(0, I) and dropout masks at
// every step, the discriminators, then G and E, take one step:
//
//   - the discriminators minimize, per row, BCE(D_xz(x, E(x)), 1) +
//     BCE(D_xz(G(z), z), 0) + BCE(D_xx(x, x), 1) + BCE(D_xx(x, G(E(x))), 0)
//   - BCE(D_zz(z, z), 1) + BCE(D_zz(z, E(G(z))), 0) (binary cross-
//     entropy on the logits). The reference code steps each with its own
//     Adam; their tensors are disjoint, so one Adam over the sum is the
//     same update;
//   - G and E minimize BCE(D_xz(G(z), z), 1) + BCE(D_xz(x, E(x)), 0) +
//     BCE(D_xx(x, G(E(x))), 1) + BCE(D_zz(z, E(G(z))), 1). The reference
//     gives G and E separate losses that differ by a term the other does
//     not depend on, so one sum has the same gradients; its terms
//     BCE(D_xx(x, x), 0) and BCE(D_zz(z, z), 0) are constants of this step
//     (no G or E in them) and are left out of the loss.
//
// Score: the paper's best, feature matching on D_xx,
// ‖f_xx(x, x) − f_xx(x, G(E(x)))‖₁, without dropout (the reference code's
// score_fm with degree 1).
//
// Option cycle = false is the simpler case the paper starts from and
// compares with, the BiGAN of Donahue et al. and Zenati et al.'s earlier
// EGBAD ("Efficient GAN-Based Anomaly Detection", 2018): no D_xx, no
// D_zz, so only the D_xz terms above are trained, and the score is
// feature matching on D_xz's features, ‖f_xz(x, E(x)) −
// f_xz(G(E(x)), E(x))‖₁, EGBAD's discriminator-based score (its weight α
// = 1: EGBAD mixes in 0.9 of the L1 reconstruction error).
//
// Stabilisation: the paper's is the cycle consistency itself (D_xx, D_zz),
// DCGAN's leaky ReLUs and β₁ 0.5, dropout in the discriminators and a
// small learning rate. The paper adds spectral normalization (Miyato et
// al. 2018) to the discriminators for its image data; the reference
// code's tabular networks take the flag but never apply it, so there is
// none here.
//
// Deviations from the reference code, for tabular rows in this engine:
//   - No batch normalization in D_xz's row branch: with it a row's loss
//     would depend on the other rows of its mini-batch, which the
//     template shards. Weights start as the nn.MLP's (He uniform before a
//     ReLU-family activation, Glorot otherwise) where the reference uses
//     Glorot throughout.
//   - Scores use the trained weights, not an exponential moving average
//     of them (decay 0.999 in the reference): an average of the last
//     thousand steps starts from the initial weights and stays near them
//     for the few hundred steps a small table gets.
//   - The discriminators and then G and E step on the same mini-batch
//     (the reference draws G and E's rows from a second shuffle).
//   - Epochs: the reference code takes them from its command line
//     (default 0); 15 is the default here (GANomaly's), which keeps the
//     largest shipped table (smtp, 66,609 training rows, 20,000 steps of
//     both players) within the 90 s budget on 2 cores.
//   - Collapse: after training, a generator whose reconstructions
//     G(E(x)) of the training rows are all alike (total variance below
//     1e-6 of the rows' own) has collapsed, and detectors.Fit fails with
//     detectors.ErrCollapsed.
//
// The model keeps E, G and the features of the discriminator the score
// uses (D_xx's, or D_xz's with cycle = false); the rest is dropped after
// training.
type alad struct{}

func init() { detectors.Register("alad", alad{}) }

// detectors.Tensor prefixes of the networks. The discriminators' player
// trains those beginning with aladD, G and E's player the others.
const (
	aladE     = "e."     // encoder E
	aladG     = "g."     // generator G
	aladD     = "d"      // every discriminator:
	aladDXZ   = "dxz."   // D_xz:
	aladDXZx  = "dxz.x." // its row branch
	aladDXZz  = "dxz.z." // its code branch
	aladDXZf  = "dxz.f." // its joint layer, the features f_xz
	aladDXZo  = "dxz.o." // its logit
	aladDXX   = "dxx."   // D_xx:
	aladDXXf  = "dxx.f." // the features f_xx
	aladDXXo  = "dxx.o." // its logit
	aladDZZ   = "dzz."   // D_zz:
	aladDZZf  = "dzz.f." // its hidden layer
	aladDZZo  = "dzz.o." // its logit
	aladDrop  = 0.5      // dropout of D_xz's code branch and joint layer
	aladDrop2 = 0.2      // dropout of D_xx's and D_zz's hidden layers
)

// aladCollapse is the share of the training rows' total variance below
// which the reconstructions' total variance means a collapse.
const aladCollapse = 1e-6

func (alad) Options() []detectors.Option {
	return []detectors.Option{
		detectors.WithDefault("epochs", "15"),
		detectors.WithDefault("batch_size", "50"),
		detectors.WithDefault("lr", "1e-05"),
		detectors.WithDefault("hidden", "64,128"),
		detectors.IntOption("latent", "32", "width of the codes z", 1, detectors.MaxLayerWidth),
		detectors.FloatOption("beta1", "0.5", "Adam's β₁ of both players", func(v float64) bool { return v >= 0 && v < 1 }, "in [0, 1)"),
		detectors.BoolOption("cycle", "true", "train the cycle-consistency discriminators D_xx and D_zz and score on D_xx's features (false: a plain BiGAN scored on D_xz's features)"),
	}
}

// aladNets are the MLPs; the cycle ones are zero values without cycle.
type aladNets struct {
	e, g                   nn.MLP
	dxzX, dxzZ, dxzF, dxzO nn.MLP
	dxxF, dxxO, dzzF, dzzO nn.MLP
	d, latent, w           int
	cycle                  bool
}

func (alad) nets(d int, o detectors.Options) aladNets {
	hidden, latent := o.Ints("hidden"), o.Int("latent")
	w := hidden[len(hidden)-1]
	layer := func(prefix string, in, out int, act nn.Activation) nn.MLP {
		return nn.MLP{Prefix: prefix, Sizes: []int{in, out}, Bias: true, Output: act}
	}
	n := aladNets{
		e:      nn.MLP{Prefix: aladE, Sizes: []int{d, hidden[0], latent}, Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.Identity},
		g:      nn.MLP{Prefix: aladG, Sizes: append(append([]int{latent}, hidden...), d), Bias: true, Hidden: nn.ReLU, Output: nn.Identity},
		dxzX:   layer(aladDXZx, d, w, nn.DCGANLeakyReLU),
		dxzZ:   layer(aladDXZz, latent, w, nn.DCGANLeakyReLU),
		dxzF:   layer(aladDXZf, 2*w, w, nn.DCGANLeakyReLU),
		dxzO:   layer(aladDXZo, w, 1, nn.Identity),
		d:      d,
		latent: latent,
		w:      w,
		cycle:  o.Bool("cycle"),
	}
	if n.cycle {
		n.dxxF = layer(aladDXXf, 2*d, w, nn.DCGANLeakyReLU)
		n.dxxO = layer(aladDXXo, w, 1, nn.Identity)
		n.dzzF = layer(aladDZZf, 2*latent, latent, nn.DCGANLeakyReLU)
		n.dzzO = layer(aladDZZo, latent, 1, nn.Identity)
	}
	return n
}

func (n aladNets) all() []nn.MLP {
	m := []nn.MLP{n.e, n.g, n.dxzX, n.dxzZ, n.dxzF, n.dxzO}
	if n.cycle {
		m = append(m, n.dxxF, n.dxxO, n.dzzF, n.dzzO)
	}
	return m
}

// Footprint implements Algorithm: the networks, and per row the values of
// the two players' graphs (E and G twice each, D_xz, D_xx and D_zz twice
// each with their inputs and dropout masks) and the score's.
func (a alad) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.nets(s.Dims, o)
	var f detectors.Footprint
	for _, m := range n.all() {
		f = f.Plus(m.Footprint())
	}
	gen := n.e.Footprint().RowValues + n.g.Footprint().RowValues
	disc := int64(8*n.w + 2)
	if n.cycle {
		disc += int64(2*(2*n.d+2*n.w) + 2*(4*n.latent) + 4)
	}
	f.RowValues = 3*(2*gen+disc) + 4*int64(s.Dims+n.latent) + 8
	return f
}

func (a alad) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	for _, m := range a.nets(d, o).all() {
		m.Init(st, rng)
	}
	return st, nil
}

// Players implements Adversary: the discriminators, then G and E.
func (a alad) Players(d int, o detectors.Options) []detectors.Player {
	lr, beta1 := o.Float("lr"), o.Float("beta1")
	return []detectors.Player{
		{Name: "discriminators", Trains: []string{aladD}, Graph: a.discriminatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2},
		{Name: "generator and encoder", Trains: []string{aladG, aladE}, Graph: a.generatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2},
	}
}

// aladGraph builds the networks' pieces in one graph, recording the first
// error.
type aladGraph struct {
	b *detectors.Graph
	n aladNets
	m nn.Must
}

func (g *aladGraph) net(m nn.MLP, x *gorgonia.Node) *gorgonia.Node {
	if g.m.Err != nil {
		return nil
	}
	return g.m.N(m.Graph(g.b, x))
}

func (g *aladGraph) concat(a, b *gorgonia.Node) *gorgonia.Node {
	if g.m.Err != nil {
		return nil
	}
	return g.m.N(gorgonia.Concat(1, a, b))
}

// dropout applies dropout p to the rows × cols node h when training.
func (g *aladGraph) dropout(h *gorgonia.Node, cols int, p float64, train bool) *gorgonia.Node {
	if !train || g.m.Err != nil {
		return h
	}
	return g.m.N(nn.DropoutGraph(g.b, h, cols, p))
}

// xzFeatures is f_xz(x, z).
func (g *aladGraph) xzFeatures(x, z *gorgonia.Node, train bool) *gorgonia.Node {
	n := g.n
	hz := g.dropout(g.net(n.dxzZ, z), n.w, aladDrop, train)
	f := g.net(n.dxzF, g.concat(g.net(n.dxzX, x), hz))
	return g.dropout(f, n.w, aladDrop, train)
}

// xxFeatures is f_xx(x, x2).
func (g *aladGraph) xxFeatures(x, x2 *gorgonia.Node, train bool) *gorgonia.Node {
	return g.dropout(g.net(g.n.dxxF, g.concat(x, x2)), g.n.w, aladDrop2, train)
}

// bce is the per-row binary cross-entropy of the logit of features f by
// the output layer out against real (1) or fake (0).
func (g *aladGraph) bce(out nn.MLP, f *gorgonia.Node, real bool) *gorgonia.Node {
	l := g.net(out, f)
	if g.m.Err != nil {
		return nil
	}
	return g.m.N(nn.Chain(g.m.N(nn.BCELogits(l, real)), nn.Sum1))
}

func (g *aladGraph) xz(x, z *gorgonia.Node, real bool) *gorgonia.Node {
	return g.bce(g.n.dxzO, g.xzFeatures(x, z, true), real)
}

func (g *aladGraph) xx(x, x2 *gorgonia.Node, real bool) *gorgonia.Node {
	return g.bce(g.n.dxxO, g.xxFeatures(x, x2, true), real)
}

func (g *aladGraph) zz(z, z2 *gorgonia.Node, real bool) *gorgonia.Node {
	f := g.dropout(g.net(g.n.dzzF, g.concat(z, z2)), g.n.latent, aladDrop2, true)
	return g.bce(g.n.dzzO, f, real)
}

// sum adds the per-row terms.
func (g *aladGraph) sum(terms ...*gorgonia.Node) *gorgonia.Node {
	s := terms[0]
	for _, t := range terms[1:] {
		if g.m.Err != nil {
			return nil
		}
		s = g.m.N(gorgonia.Add(s, t))
	}
	return s
}

// game builds what both players' graphs share: the codes z, E(x), G(z)
// and, with cycle, G(E(x)) and E(G(z)).
func (a alad) game(b *detectors.Graph) (g *aladGraph, z, ex, gz, rx, rz *gorgonia.Node) {
	g = &aladGraph{b: b, n: a.nets(b.Dims, b.Opts)}
	z = b.Normal(g.n.latent)
	ex, gz = g.net(g.n.e, b.X), g.net(g.n.g, z)
	if g.n.cycle {
		rx, rz = g.net(g.n.g, ex), g.net(g.n.e, gz)
	}
	return g, z, ex, gz, rx, rz
}

// discriminatorGraph is the discriminators' objective (see the type's
// comment).
func (a alad) discriminatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	g, z, ex, gz, rx, rz := a.game(b)
	loss := g.sum(g.xz(b.X, ex, true), g.xz(gz, z, false))
	if g.n.cycle {
		loss = g.sum(loss, g.xx(b.X, b.X, true), g.xx(b.X, rx, false), g.zz(z, z, true), g.zz(z, rz, false))
	}
	return detectors.Objective{RowLoss: loss}, g.m.Err
}

// generatorGraph is G and E's objective (see the type's comment).
func (a alad) generatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	g, z, ex, gz, rx, rz := a.game(b)
	loss := g.sum(g.xz(gz, z, true), g.xz(b.X, ex, false))
	if g.n.cycle {
		loss = g.sum(loss, g.xx(b.X, rx, true), g.zz(z, rz, true))
	}
	return detectors.Objective{RowLoss: loss}, g.m.Err
}

// Graph implements Algorithm. It is not trained (the players are): it is
// the score, which is also what early stopping watches (the reference
// code's early stopping watches the mean score of held-out rows).
func (a alad) Graph(b *detectors.Graph) (detectors.Objective, error) {
	g := &aladGraph{b: b, n: a.nets(b.Dims, b.Opts)}
	ex := g.net(g.n.e, b.X)
	rx := g.net(g.n.g, ex)
	var f1, f2 *gorgonia.Node
	if g.n.cycle {
		f1, f2 = g.xxFeatures(b.X, b.X, false), g.xxFeatures(b.X, rx, false)
	} else {
		f1, f2 = g.xzFeatures(b.X, ex, false), g.xzFeatures(rx, ex, false)
	}
	if g.m.Err != nil {
		return detectors.Objective{}, g.m.Err
	}
	score := g.m.N(nn.Chain(g.m.N(gorgonia.Sub(f1, f2)), gorgonia.Abs, nn.Sum1))
	return detectors.Objective{RowLoss: score, Scores: score}, g.m.Err
}

// Finish implements Finisher: it fails with detectors.ErrCollapsed if G
// reconstructs every training row alike (see the type's comment), and
// drops the tensors scoring does not use.
func (a alad) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	n := a.nets(x.Cols, o)
	e, err := n.e.Kernel(st)
	if err != nil {
		return err
	}
	g, err := n.g.Kernel(st)
	if err != nil {
		return err
	}
	s1, s2 := make([]float64, e.ScratchLen()), make([]float64, g.ScratchLen())
	rows, recon := detectors.NewSpread(x.Cols), detectors.NewSpread(x.Cols)
	for i := 0; i < x.Rows; i++ {
		row := x.Data[i*x.Cols : (i+1)*x.Cols]
		rows.Add(row)
		recon.Add(g.Forward(e.Forward(row, s1), s2))
	}
	if v, vr := rows.Total(), recon.Total(); v > 0 && !(vr > aladCollapse*v) {
		return fmt.Errorf("%w: alad: the generator reconstructs every training row alike (variance %.3g of the rows' %.3g); try a smaller lr, or another seed", detectors.ErrCollapsed, vr, v)
	}
	keep := []string{aladE, aladG, aladDXXf}
	if !n.cycle {
		keep = []string{aladE, aladG, aladDXZx, aladDXZz, aladDXZf}
	}
	st.Tensors = slices.DeleteFunc(st.Tensors, func(t *detectors.Tensor) bool {
		return !slices.ContainsFunc(keep, func(p string) bool { return strings.HasPrefix(t.Name, p) })
	})
	return nil
}

func (a alad) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := a.nets(d, o)
	sc := &aladScorer{d: d, latent: n.latent, w: n.w, cycle: n.cycle}
	nets := []*nn.MLPKernel{nil, nil, nil, nil, nil}
	mlps := []nn.MLP{n.e, n.g, n.dxxF, n.dxzX, n.dxzZ}
	if !n.cycle {
		mlps[2] = n.dxzF
	}
	for i, m := range mlps {
		if !n.cycle || i < 3 {
			k, err := m.Kernel(st)
			if err != nil {
				return nil, err
			}
			nets[i] = k
		}
	}
	sc.e, sc.g, sc.f, sc.fx, sc.fz = nets[0], nets[1], nets[2], nets[3], nets[4]
	return sc, nil
}

// aladScorer scores a row by feature matching: on D_xx's features with
// cycle (fx and fz nil), on D_xz's (f its joint layer) without.
type aladScorer struct {
	e, g, f, fx, fz *nn.MLPKernel
	d, latent, w    int
	cycle           bool
}

// ScratchLen: E's, G's and the feature layer's scratch, a copy of the
// reconstruction, the concatenated input and the first features.
func (s *aladScorer) ScratchLen() int {
	n := s.e.ScratchLen() + s.g.ScratchLen() + s.f.ScratchLen() + s.d + 2*max(s.d, s.w) + s.w
	if !s.cycle {
		n += s.fx.ScratchLen() + s.fz.ScratchLen() + s.latent
	}
	return n
}

func (s *aladScorer) ScoreRows(x, dst, scratch []float64) {
	take := func(n int) []float64 { v := scratch[:n:n]; scratch = scratch[n:]; return v }
	se, sg, sf := take(s.e.ScratchLen()), take(s.g.ScratchLen()), take(s.f.ScratchLen())
	rx, in, f1 := take(s.d), take(2*max(s.d, s.w)), take(s.w)
	var sx, sz, z []float64
	if !s.cycle {
		sx, sz, z = take(s.fx.ScratchLen()), take(s.fz.ScratchLen()), take(s.latent)
	}
	for i := range dst {
		row := x[i*s.d : (i+1)*s.d]
		ex := s.e.Forward(row, se)
		copy(rx, s.g.Forward(ex, sg))
		if s.cycle {
			copy(in, row)
			copy(in[s.d:], row)
			copy(f1, s.f.Forward(in[:2*s.d], sf))
			copy(in[s.d:], rx)
			dst[i] = l1(f1, s.f.Forward(in[:2*s.d], sf))
			continue
		}
		copy(z, ex)
		copy(in[s.w:], s.fz.Forward(z, sz))
		copy(in, s.fx.Forward(row, sx))
		copy(f1, s.f.Forward(in[:2*s.w], sf))
		copy(in, s.fx.Forward(rx, sx))
		dst[i] = l1(f1, s.f.Forward(in[:2*s.w], sf))
	}
}

// l1 is ‖a − b‖₁, summed in index order.
func l1(a, b []float64) float64 {
	s := 0.0
	for j, v := range a {
		s += math.Abs(v - b[j])
	}
	return s
}
