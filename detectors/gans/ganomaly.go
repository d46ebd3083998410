package gans

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// ganomaly is GANomaly (Akcay, Atapour-Abarghouei and Breckon, "GANomaly:
// Semi-Supervised Anomaly Detection via Adversarial Training", ACCV 2018;
// reference code samet-akcay/ganomaly), survey §5.1.2: a generator that
// encodes, decodes and encodes again, trained adversarially against a
// discriminator on the training rows; a row is anomalous when the code of
// its reconstruction is far from its own code.
//
// Networks, MLPs over standardized rows (the paper's are DCGAN
// convolution stacks over images), with hidden '64,32' and latent 16:
//
//   - the generator: encoder G_E (d → 64 → 32 → 16), decoder G_D (16 → 32
//     → 64 → d) and encoder E (d → 64 → 32 → 16, G_E's shape, its own
//     weights), so z = G_E(x), x̂ = G_D(z), ẑ = E(x̂);
//   - the discriminator D: d → 64 → 32, its features f(x) (the paper's
//     penultimate layer), then a linear logit; D(x) = σ(logit).
//
// As in the paper, the encoders and D use leaky nn.ReLU of slope 0.2 and
// the decoder nn.ReLU, and z, ẑ and the logit are linear. The decoder's
// output is linear too, where the paper's is tanh: standardized rows are
// not confined to [−1, 1].
//
// Training is the template's adversarial game (adversary.go). On each
// mini-batch the discriminator, then the generator, takes one Adam step,
// with the paper's lr 0.0002, β₁ 0.5 and β₂ 0.999:
//
//   - D minimizes ½·(BCE(D(x), 1) + BCE(D(x̂), 0)), the binary
//     cross-entropy of the real rows against their reconstructions (for
//     it x̂ is a constant);
//   - the generator minimizes w_adv·L_adv + w_con·L_con + w_enc·L_enc,
//     each the mean over a row's values and over the mini-batch: the
//     adversarial loss L_adv = (f(x) − f(x̂))², feature matching on D's
//     penultimate layer, the contextual loss L_con = |x − x̂| and the
//     encoding loss L_enc = (z − ẑ)², with the paper's weights 1, 50
//     and 1;
//   - the paper's stabilisation: D's weights are drawn again whenever its
//     loss falls below 1e-5 (the reference code's reinit_d), besides
//     DCGAN's leaky nn.ReLU, β₁ 0.5 and small learning rate.
//
// Score: the row's encoding loss, the mean over the latent units of
// (G_E(x) − E(G_D(G_E(x))))², as the reference code computes it (the
// paper writes ‖·‖₂ for L_enc in its equation 4 and ‖·‖₁ for the score
// in its equation 6). The paper then rescales the scores of each test
// set to [0, 1] by their minimum and maximum; that would make a row's
// score depend on the rows scored with it, so scores are not rescaled
// (the threshold and anomaly_percentile put them on a common scale).
//
// Deviations from the paper, for tabular rows:
//   - MLPs instead of convolutions, sized by the hidden and latent
//     options (the paper's latent width is 100 for 32×32×3 images), and
//     no batch normalization (DCGAN's; without it a row's code does not
//     depend on the other rows of its mini-batch, so the objectives are
//     sums over rows that the template shards, and scoring needs no
//     stored statistics). Weights start as the nn.MLP's (He or Glorot
//     uniform) instead of DCGAN's N(0, 0.02), which relies on batch
//     normalization to restore the activations' scale.
//   - The discriminator steps before the generator, which then plays
//     against the updated discriminator, as in Goodfellow et al.'s
//     algorithm; the reference code computes both steps from the state
//     before either.
//   - Collapse: after training, a generator whose reconstructions of the
//     training rows are all alike (their total variance below 1e-6 of
//     the rows' own) has collapsed, and detectors.Fit fails with detectors.ErrCollapsed
//     rather than keep a detector that cannot tell the rows apart.
//
// Epochs 15 and batch size 64 are the reference code's defaults (niter,
// batchsize). The model keeps the generator's three networks; the
// discriminator, which scoring does not use, is dropped after training.
type ganomaly struct{}

func init() { detectors.Register("ganomaly", ganomaly{}) }

// detectors.Tensor prefixes of the networks; the generator's player trains the
// three of the generator, the discriminator's the two of D.
const (
	ganomalyGE    = "ge."  // encoder G_E
	ganomalyGD    = "gd."  // decoder G_D
	ganomalyE     = "ee."  // encoder E of the reconstruction
	ganomalyD     = "d."   // discriminator:
	ganomalyDFeat = "d.f." // its features
	ganomalyDOut  = "d.c." // its logit
)

// ganomalyReinitBelow is the discriminator loss below which D is
// reinitialized (reference code: 1e-5).
const ganomalyReinitBelow = 1e-5

// ganomalyCollapse is the share of the training rows' total variance
// below which the reconstructions' total variance means a collapse.
const ganomalyCollapse = 1e-6

func (ganomaly) Options() []detectors.Option {
	weight := func(name, def, usage string) detectors.Option {
		return detectors.FloatOption(name, def, usage, func(v float64) bool { return v >= 0 }, ">= 0")
	}
	return []detectors.Option{
		detectors.WithDefault("epochs", "15"),
		detectors.WithDefault("batch_size", "64"),
		detectors.WithDefault("lr", "0.0002"),
		detectors.IntOption("latent", "16", "width of the codes z and ẑ", 1, detectors.MaxLayerWidth),
		detectors.FloatOption("beta1", "0.5", "Adam's β₁ of both players", func(v float64) bool { return v >= 0 && v < 1 }, "in [0, 1)"),
		weight("w_adv", "1", "weight of the adversarial (feature-matching) loss"),
		weight("w_con", "50", "weight of the contextual (L1 reconstruction) loss"),
		weight("w_enc", "1", "weight of the encoding loss"),
	}
}

// ganomalyNets are the five MLPs.
type ganomalyNets struct {
	ge, gd, e, dFeat, dOut nn.MLP
	latent                 int
}

func (ganomaly) nets(d int, o detectors.Options) ganomalyNets {
	hidden, latent := o.Ints("hidden"), o.Int("latent")
	enc := append(append([]int{d}, hidden...), latent)
	dec := slices.Clone(enc)
	slices.Reverse(dec)
	return ganomalyNets{
		ge:     nn.MLP{Prefix: ganomalyGE, Sizes: enc, Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.Identity},
		gd:     nn.MLP{Prefix: ganomalyGD, Sizes: dec, Bias: true, Hidden: nn.ReLU, Output: nn.Identity},
		e:      nn.MLP{Prefix: ganomalyE, Sizes: enc, Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.Identity},
		dFeat:  nn.MLP{Prefix: ganomalyDFeat, Sizes: append([]int{d}, hidden...), Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.DCGANLeakyReLU},
		dOut:   nn.MLP{Prefix: ganomalyDOut, Sizes: []int{hidden[len(hidden)-1], 1}, Bias: true, Output: nn.Identity},
		latent: latent,
	}
}

func (n ganomalyNets) all() []nn.MLP { return []nn.MLP{n.ge, n.gd, n.e, n.dFeat, n.dOut} }

// detectors.Footprint implements Algorithm: the five networks, and per row the
// values of the two players' graphs (each runs the generator and D twice)
// and the monitored objective's.
func (a ganomaly) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.nets(s.Dims, o)
	var f detectors.Footprint
	for _, m := range n.all() {
		f = f.Plus(m.Footprint())
	}
	gen := n.ge.Footprint().RowValues + n.gd.Footprint().RowValues
	disc := n.dFeat.Footprint().RowValues + 1
	f.RowValues = 3*(gen+n.e.Footprint().RowValues) + 4*disc + 6*int64(s.Dims+n.latent) + 8
	return f
}

func (a ganomaly) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	for _, m := range a.nets(d, o).all() {
		m.Init(st, rng)
	}
	return st, nil
}

// Players implements Adversary: the discriminator, then the generator.
func (a ganomaly) Players(d int, o detectors.Options) []detectors.Player {
	n := a.nets(d, o)
	lr, beta1 := o.Float("lr"), o.Float("beta1")
	return []detectors.Player{
		{
			Name: "discriminator", Trains: []string{ganomalyD},
			Graph: a.discriminatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2,
			After: func(st *detectors.State, loss float64, rng *rand.Rand) error {
				if loss < ganomalyReinitBelow {
					n.dFeat.Reinit(st, rng)
					n.dOut.Reinit(st, rng)
				}
				return nil
			},
		},
		{
			Name: "generator", Trains: []string{ganomalyGE, ganomalyGD, ganomalyE},
			Graph: a.generatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2,
		},
	}
}

// generate builds z = G_E(x), x̂ = G_D(z) and, if full, ẑ = E(x̂).
func (n ganomalyNets) generate(b *detectors.Graph, full bool) (z, xh, zh *gorgonia.Node, err error) {
	var m nn.Must
	z = m.N(n.ge.Graph(b, b.X))
	if m.Err != nil {
		return nil, nil, nil, m.Err
	}
	xh = m.N(n.gd.Graph(b, z))
	if full && m.Err == nil {
		zh = m.N(n.e.Graph(b, xh))
	}
	return z, xh, zh, m.Err
}

// meanOver1 is the per-row mean over columns of f(a − b), f squaring or
// taking the absolute value.
func meanOver1(a, b *gorgonia.Node, f func(*gorgonia.Node) (*gorgonia.Node, error)) (*gorgonia.Node, error) {
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	return nn.Chain(diff, f, func(v *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Mean(v, 1) })
}

// discriminatorGraph is D's objective for one mini-batch: per row,
// ½·(softplus(−logit(x)) + softplus(logit(x̂))).
func (a ganomaly) discriminatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	_, xh, _, err := n.generate(b, false)
	if err != nil {
		return detectors.Objective{}, err
	}
	var m nn.Must
	logit := func(x *gorgonia.Node) *gorgonia.Node {
		f := m.N(n.dFeat.Graph(b, x))
		if m.Err != nil {
			return nil
		}
		return m.N(n.dOut.Graph(b, f))
	}
	lReal, lFake := logit(b.X), logit(xh)
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	real := m.N(nn.BCELogits(lReal, true)) // gan_common.go
	fake := m.N(nn.BCELogits(lFake, false))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	loss := m.N(nn.Chain(m.N(gorgonia.Add(real, fake)), nn.Sum1, nn.MulC(0.5)))
	return detectors.Objective{RowLoss: loss}, m.Err
}

// generatorGraph is the generator's objective for one mini-batch: per
// row, w_adv·L_adv + w_con·L_con + w_enc·L_enc (terms of weight 0 left
// out).
func (a ganomaly) generatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	z, xh, zh, err := n.generate(b, true)
	if err != nil {
		return detectors.Objective{}, err
	}
	var m nn.Must
	var loss *gorgonia.Node
	add := func(w float64, term func() *gorgonia.Node) {
		if w == 0 || m.Err != nil {
			return
		}
		t := m.N(nn.Chain(term(), nn.MulC(w)))
		if loss == nil {
			loss = t
		} else if t != nil {
			loss = m.N(gorgonia.Add(loss, t))
		}
	}
	add(b.Opts.Float("w_adv"), func() *gorgonia.Node {
		fReal := m.N(n.dFeat.Graph(b, b.X))
		fFake := m.N(n.dFeat.Graph(b, xh))
		if m.Err != nil {
			return nil
		}
		return m.N(meanOver1(fReal, fFake, gorgonia.Square))
	})
	add(b.Opts.Float("w_con"), func() *gorgonia.Node { return m.N(meanOver1(b.X, xh, gorgonia.Abs)) })
	add(b.Opts.Float("w_enc"), func() *gorgonia.Node { return m.N(meanOver1(z, zh, gorgonia.Square)) })
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	if loss == nil { // every weight 0: nothing to learn, but a valid objective
		loss = m.N(nn.Chain(m.N(meanOver1(z, zh, gorgonia.Square)), nn.MulC(0)))
	}
	return detectors.Objective{RowLoss: loss}, m.Err
}

// detectors.Graph implements Algorithm. It is not trained (the players are): it is
// the objective early stopping watches, the generator's loss without its
// adversarial term, w_con·L_con + w_enc·L_enc, which does not depend on
// the discriminator; its Scores are L_enc, the score.
func (a ganomaly) Graph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	z, xh, zh, err := n.generate(b, true)
	if err != nil {
		return detectors.Objective{}, err
	}
	var m nn.Must
	enc := m.N(meanOver1(z, zh, gorgonia.Square))
	con := m.N(meanOver1(b.X, xh, gorgonia.Abs))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	wEnc := m.N(nn.Chain(enc, nn.MulC(b.Opts.Float("w_enc"))))
	loss := m.N(gorgonia.Add(m.N(nn.Chain(con, nn.MulC(b.Opts.Float("w_con")))), wEnc))
	return detectors.Objective{RowLoss: loss, Scores: enc}, m.Err
}

// Finish implements Finisher: it fails with detectors.ErrCollapsed if the
// generator's reconstructions of the training rows x are all alike (see
// the type's comment), and drops the discriminator from the state.
func (a ganomaly) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	n := a.nets(x.Cols, o)
	ge, err := n.ge.Kernel(st)
	if err != nil {
		return err
	}
	gd, err := n.gd.Kernel(st)
	if err != nil {
		return err
	}
	s1, s2 := make([]float64, ge.ScratchLen()), make([]float64, gd.ScratchLen())
	rows, recon := detectors.NewSpread(x.Cols), detectors.NewSpread(x.Cols)
	for i := 0; i < x.Rows; i++ {
		row := x.Data[i*x.Cols : (i+1)*x.Cols]
		rows.Add(row)
		recon.Add(gd.Forward(ge.Forward(row, s1), s2))
	}
	if v, vr := rows.Total(), recon.Total(); v > 0 && vr <= ganomalyCollapse*v {
		return fmt.Errorf("%w: ganomaly: the generator reconstructs every training row alike (variance %.3g of the rows' %.3g); try a smaller lr or weight_decay, or another seed", detectors.ErrCollapsed, vr, v)
	}
	// Scoring does not use the discriminator.
	st.Tensors = slices.DeleteFunc(st.Tensors, func(t *detectors.Tensor) bool { return strings.HasPrefix(t.Name, ganomalyD) })
	return nil
}

func (a ganomaly) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := a.nets(d, o)
	sc := &ganomalyScorer{d: d, latent: n.latent}
	var err error
	if sc.ge, err = n.ge.Kernel(st); err != nil {
		return nil, err
	}
	if sc.gd, err = n.gd.Kernel(st); err != nil {
		return nil, err
	}
	if sc.e, err = n.e.Kernel(st); err != nil {
		return nil, err
	}
	return sc, nil
}

// ganomalyScorer scores a row by its encoding loss.
type ganomalyScorer struct {
	ge, gd, e *nn.MLPKernel
	d, latent int
}

func (s *ganomalyScorer) ScratchLen() int {
	return s.ge.ScratchLen() + s.gd.ScratchLen() + s.e.ScratchLen()
}

func (s *ganomalyScorer) ScoreRows(x, dst, scratch []float64) {
	n1, n2 := s.ge.ScratchLen(), s.gd.ScratchLen()
	s1, s2, s3 := scratch[:n1], scratch[n1:n1+n2], scratch[n1+n2:]
	for i := range dst {
		z := s.ge.Forward(x[i*s.d:(i+1)*s.d], s1)
		zh := s.e.Forward(s.gd.Forward(z, s2), s3)
		dst[i] = kernel.SquaredDistance(zh, z) / float64(s.latent)
	}
}
