package gans

import (
	"math/rand/v2"
	"strconv"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// fastAnogan is f-AnoGAN (Schlegl, Seeböck, Waldstein, Langs and
// Schmidt-Erfurth, "f-AnoGAN: Fast unsupervised anomaly detection with
// generative adversarial networks", Medical Image Analysis 54, 2019),
// survey §5.1.2: AnoGAN's latent search replaced by an encoder E trained,
// after the GAN, to invert the generator, so that scoring is one pass.
//
// Training has two phases, each a run of the template (a Driver):
//
//  1. A Wasserstein GAN with gradient penalty (WGAN-GP, Gulrajani et al.,
//     NeurIPS 2017), over the shared GAN of gan_nets.go, D being the
//     critic: on every mini-batch the critic takes one Adam step on
//     D(G(z)) − D(x) + gp·(‖∇D(x̃)‖₂ − 1)², x̃ = ε·x + (1 − ε)·G(z) with
//     ε ~ U[0, 1] per row, and the generator, on every n_critic-th
//     mini-batch (n_critic 5), one on −D(G(z)); WGAN-GP's gp 10, lr
//     0.0001, β₁ 0 and β₂ 0.9. The penalty's gradient ∇D(x̃) is written
//     into the critic's graph as D's backward pass (detectors.MatMulT,
//     detectors.LeakyReluGrad, exact for its leaky ReLU layers), so the
//     template's differentiation gives the penalty's gradient in D's
//     weights; nothing is approximated.
//
//  2. The izi_f encoder training (the paper's best variant): G and D
//     fixed, E (d → hidden → latent, leaky ReLU of slope 0.2, linear
//     code) minimizes, per row,
//
//     ‖x − G(E(x))‖² / n + κ·‖f(x) − f(G(E(x)))‖² / n_d,
//
//     n the number of features, f D's last hidden layer (n_d units), κ 1
//     as in the paper, with Adam (lr, β 0.9 and 0.999).
//
// Score: the same izi_f quantity for the row, the paper's A(x), in one
// pass of E, G and f.
//
// Deviations, for tabular rows: MLPs instead of convolutions and no layer
// normalization; the latent prior is N(0, I) rather than a uniform code
// in [−1, 1], so E's code is linear, not tanh. ε is sigmoid(1.702·u) of
// a standard normal u (the template's noise is normal): the logistic
// approximation of the normal distribution function, so ε is uniform on
// [0, 1] within 0.01. Collapse: a generator whose rows from 256 seeded
// codes all look alike after the GAN phase (total variance at most 1e-6
// of the training rows') fails the fit with detectors.ErrCollapsed before
// the encoder trains. The model keeps E, G and f; the critic's output
// layer is dropped.
//
// Epochs (the GAN phase; its generator steps a fifth of them) 20,
// encoder_epochs 20 and batch size 64 are this package's choices for
// tabular tables (the paper trains on 64×64 image patches).
type fastAnogan struct{}

func init() { detectors.Register("fast_anogan", fastAnogan{}) }

// fastAnoganE prefixes the encoder's tensors.
const fastAnoganE = "e."

// fastAnoganEps is added under the penalty's square root, so that its
// gradient is finite at a zero gradient norm.
const fastAnoganEps = 1e-12

func (fastAnogan) Options() []detectors.Option {
	return []detectors.Option{
		detectors.WithDefault("epochs", "20"),
		detectors.WithDefault("batch_size", "64"),
		detectors.WithDefault("lr", "0.0001"),
		detectors.IntOption("latent", "16", "width of the generator's code z", 1, detectors.MaxLayerWidth),
		detectors.IntOption("encoder_epochs", "20", "epochs of the encoder's training, after the GAN's", 1, detectors.MaxEpochs),
		detectors.IntOption("n_critic", "5", "critic steps per generator step", 1, 100),
		detectors.FloatOption("gp", "10", "weight of the critic's gradient penalty", func(v float64) bool { return v >= 0 && v <= 1e6 }, "in [0, 1e6]"),
		detectors.FloatOption("kappa", "1", "weight κ of the feature residual in izi_f and the score", func(v float64) bool { return v >= 0 && v <= 1e6 }, "in [0, 1e6]"),
	}
}

// PlannedEpochs implements detectors.EpochPlanner: the GAN's epochs,
// then the encoder's.
func (fastAnogan) PlannedEpochs(o detectors.Options) int {
	return o.Int("epochs") + o.Int("encoder_epochs")
}

// fastAnoganNets are the GAN and the encoder.
type fastAnoganNets struct {
	gan
	e nn.MLP
}

func (fastAnogan) nets(d int, o detectors.Options) fastAnoganNets {
	n := fastAnoganNets{gan: newGAN(d, o)}
	n.e = nn.MLP{Prefix: fastAnoganE, Sizes: append(append([]int{d}, o.Ints("hidden")...), n.latent), Bias: true, Hidden: nn.DCGANLeakyReLU, Output: nn.Identity}
	return n
}

// Footprint implements Algorithm: the networks, and per row the critic's
// graph (G, D on real, generated and interpolated rows, D's backward
// pass), the generator's and the encoder's.
func (a fastAnogan) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.nets(s.Dims, o)
	f := n.footprint()
	e := n.e.Footprint()
	f.Params += e.Params
	f.Trainable += e.Trainable
	f.RowValues = 4*f.RowValues + 3*e.RowValues + 8*int64(s.Dims) + 16
	return f
}

func (a fastAnogan) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	n := a.nets(d, o)
	n.init(st, rng)
	n.e.Init(st, rng)
	return st, nil
}

// Drive implements Driver: the WGAN-GP, the collapse check, then the
// encoder.
func (a fastAnogan) Drive(st *detectors.State, t *detectors.Trainer) error {
	x := t.X
	if err := t.Train(fastAnoganGAN{}, st, x.Data, x.Rows, t.Labels, t.Opts, t.Rand); err != nil {
		return err
	}
	if err := a.nets(x.Cols, t.Opts).checkCollapse("fast_anogan", st, x, int64(t.Opts.Int("seed"))); err != nil {
		return err
	}
	eo := t.Opts.Clone()
	eo["epochs"] = strconv.Itoa(t.Opts.Int("encoder_epochs"))
	return t.Train(fastAnoganEncoder{}, st, x.Data, x.Rows, t.Labels, eo, t.Rand)
}

// Players implements Adversary with the GAN phase's players. Drive, not
// the template, decides what trains when; declaring them here lets the
// core's checks over every algorithm's graphs (the compiled program
// against gorgonia's, allocation-free steps) reach the critic's graph.
func (fastAnogan) Players(d int, o detectors.Options) []detectors.Player {
	return fastAnoganGAN{}.Players(d, o)
}

// fastAnoganGAN is the first phase, an Adversary.
type fastAnoganGAN struct{}

// Graph is the objective validation watches in the GAN phase: the
// generator's.
func (g fastAnoganGAN) Graph(b *detectors.Graph) (detectors.Objective, error) {
	return g.generatorGraph(b)
}

// Players implements Adversary: the critic on every mini-batch, the
// generator on every n_critic-th.
func (g fastAnoganGAN) Players(d int, o detectors.Options) []detectors.Player {
	lr := o.Float("lr")
	return []detectors.Player{
		{Name: "critic", Trains: []string{ganD}, Graph: g.criticGraph, LR: lr, Beta1: 0, Beta2: 0.9},
		{Name: "generator", Trains: []string{ganG}, Graph: g.generatorGraph, LR: lr, Beta1: 0, Beta2: 0.9, Every: o.Int("n_critic")},
	}
}

// critic is D's value of the rows x (rows × 1).
func (n gan) critic(b *detectors.Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	return n.logit(b, x)
}

// criticGraph is the critic's objective: per row D(G(z)) − D(x) +
// gp·(‖∇D(x̃)‖₂ − 1)².
func (fastAnoganGAN) criticGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := newGAN(b.Dims, b.Opts)
	var m nn.Must
	fake := m.N(n.generated(b))
	loss := m.N(gorgonia.Sub(m.N(n.critic(b, fake)), m.N(n.critic(b, b.X))))
	if w := b.Opts.Float("gp"); w > 0 && m.Err == nil {
		eps := m.N(nn.Chain(b.Normal(1), nn.MulC(1.702), gorgonia.Sigmoid))
		diff := m.N(gorgonia.Sub(b.X, fake))
		xt := m.N(gorgonia.Add(fake, m.N(gorgonia.BroadcastHadamardProd(diff, eps, nil, []byte{1}))))
		grad := m.N(n.criticInputGrad(b, xt))
		norm := m.N(nn.Chain(m.N(gorgonia.Square(grad)), nn.Sum1, nn.AddC(fastAnoganEps), gorgonia.Sqrt, nn.AddC(-1), gorgonia.Square, nn.MulC(w), nn.Column(b.Rows)))
		loss = m.N(gorgonia.Add(loss, norm))
	}
	return detectors.Objective{RowLoss: m.N(nn.Chain(loss, nn.Sum1))}, m.Err
}

// criticInputGrad is the gradient of D's value in its input at the rows
// x (rows × d), as graph nodes differentiable in D's weights: D's forward
// pass keeping each layer's pre-activation, then its backward pass.
func (n gan) criticInputGrad(b *detectors.Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	var m nn.Must
	var pre []*gorgonia.Node
	h := x
	for l := 0; l+1 < len(n.dFeat.Sizes); l++ {
		p := m.N(detectors.MatMul(h, b.Param(n.dFeat.WeightName(l))))
		p = m.N(gorgonia.BroadcastAdd(p, b.Param(n.dFeat.BiasName(l)), nil, []byte{0}))
		pre = append(pre, p)
		h = m.N(detectors.LeakyRelu(p, nn.DCGANLeakySlope))
	}
	if m.Err != nil {
		return nil, m.Err
	}
	ones := make([]float64, b.Rows)
	for i := range ones {
		ones[i] = 1
	}
	// D's value is f·w + c: its gradient in f is wᵀ on every row.
	g := m.N(detectors.MatMulT(detectors.MatrixNode(b.G, "gp_ones", b.Rows, 1, ones), b.Param(n.dOut.WeightName(0))))
	for l := len(pre) - 1; l >= 0; l-- {
		g = m.N(detectors.LeakyReluGrad(pre[l], g, nn.DCGANLeakySlope))
		g = m.N(detectors.MatMulT(g, b.Param(n.dFeat.WeightName(l))))
	}
	return g, m.Err
}

// generatorGraph is the generator's objective: per row −D(G(z)).
func (fastAnoganGAN) generatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := newGAN(b.Dims, b.Opts)
	var m nn.Must
	c := m.N(n.critic(b, m.N(n.generated(b))))
	return detectors.Objective{RowLoss: m.N(nn.Chain(c, gorgonia.Neg, nn.Sum1))}, m.Err
}

// fastAnoganEncoder is the second phase: an Adversary of one player, so
// that only E trains while its graph runs G and D.
type fastAnoganEncoder struct{}

func (fastAnoganEncoder) Graph(b *detectors.Graph) (detectors.Objective, error) {
	return fastAnogan{}.Graph(b)
}

func (fastAnoganEncoder) Players(d int, o detectors.Options) []detectors.Player {
	return []detectors.Player{{Name: "encoder", Trains: []string{fastAnoganE}, Graph: fastAnogan{}.Graph, Beta1: 0.9, Beta2: detectors.AdamBeta2}}
}

// Graph implements Algorithm: the izi_f objective of the encoder, its
// Scores the rows' scores (the same quantity).
func (a fastAnogan) Graph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	var m nn.Must
	xh := m.N(n.g.Graph(b, m.N(n.e.Graph(b, b.X))))
	fx := m.N(n.dFeat.Graph(b, b.X))
	fxh := m.N(n.dFeat.Graph(b, xh))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	r := m.N(meanOver1(b.X, xh, gorgonia.Square))
	f := m.N(nn.Chain(m.N(meanOver1(fx, fxh, gorgonia.Square)), nn.MulC(b.Opts.Float("kappa"))))
	loss := m.N(gorgonia.Add(r, f))
	return detectors.Objective{RowLoss: loss, Scores: loss}, m.Err
}

// Finish implements Finisher: it drops the critic's output layer, which
// scoring does not use.
func (fastAnogan) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	dropHead(st)
	return nil
}

func (a fastAnogan) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := a.nets(d, o)
	s := &fastAnoganScorer{d: d, kappa: o.Float("kappa")}
	var err error
	if s.e, err = n.e.Kernel(st); err != nil {
		return nil, err
	}
	if s.g, err = n.g.Kernel(st); err != nil {
		return nil, err
	}
	if s.f, err = n.dFeat.Kernel(st); err != nil {
		return nil, err
	}
	s.nd = s.f.OutLen()
	return s, nil
}

// fastAnoganScorer scores a row by izi_f: one pass of E, G and f (twice).
type fastAnoganScorer struct {
	e, g, f *nn.MLPKernel
	d, nd   int
	kappa   float64
}

func (s *fastAnoganScorer) ScratchLen() int {
	return s.e.ScratchLen() + s.g.ScratchLen() + 2*s.f.ScratchLen()
}

func (s *fastAnoganScorer) ScoreRows(x, dst, scratch []float64) {
	n1, n2, n3 := s.e.ScratchLen(), s.g.ScratchLen(), s.f.ScratchLen()
	s1, s2, s3, s4 := scratch[:n1], scratch[n1:n1+n2], scratch[n1+n2:n1+n2+n3], scratch[n1+n2+n3:n1+n2+2*n3]
	for i := range dst {
		row := x[i*s.d : (i+1)*s.d]
		xh := s.g.Forward(s.e.Forward(row, s1), s2)
		fx, fxh := s.f.Forward(row, s3), s.f.Forward(xh, s4)
		r, f := 0.0, 0.0
		for j, v := range row {
			r += (v - xh[j]) * (v - xh[j])
		}
		for j, v := range fx {
			f += (v - fxh[j]) * (v - fxh[j])
		}
		dst[i] = r/float64(s.d) + s.kappa*(f/float64(s.nd))
	}
}
