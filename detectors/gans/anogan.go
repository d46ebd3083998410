package gans

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// anogan is AnoGAN (Schlegl, Seeböck, Waldstein, Schmidt-Erfurth and
// Langs, "Unsupervised Anomaly Detection with Generative Adversarial
// Networks to Guide Marker Discovery", IPMI 2017), survey §5.1.2: a GAN
// learns the normal rows, then a row is scored by how well any generated
// row matches it, found by a search in the generator's latent space.
//
// Training is the template's adversarial game (adversary.go) over the
// shared GAN of gan_nets.go (MLPs over standardized rows where the paper
// has DCGAN's convolutions; no batch normalization, so that a generated
// row does not depend on the others of its mini-batch): on each
// mini-batch the discriminator, then the generator, takes one Adam step
// with DCGAN's lr 0.0002, β₁ 0.5 and β₂ 0.999, the paper's training
// being DCGAN's:
//
//   - D minimizes ½·(BCE(D(x), 1) + BCE(D(G(z)), 0)) over the rows x and
//     as many codes z ~ N(0, I) (for it G(z) is a constant);
//   - G minimizes BCE(D(G(z)), 1), the non-saturating loss of Goodfellow
//     et al. that DCGAN trains with.
//
// Scoring (the paper's §2.2): from a code z₀ drawn once per model from
// N(0, I) (stored in the model, the same for every row, so a row's score
// depends on the row only), search_steps steps of gradient descent on
//
//	L(z) = (1−λ)·‖x − G(z)‖₁ + λ·‖f(x) − f(G(z))‖₁,
//
// the residual loss plus the discrimination loss on D's features f (its
// last hidden layer, the paper's feature matching), with the paper's λ =
// 0.1; the score is L at the final z, the paper's anomaly score A(x).
// The gradient of L in z is computed by hand, in plain Go (scorer
// below): the sign of each absolute difference backpropagated through f
// and G, layer by layer (a ReLU or leaky ReLU unit passes its gradient
// where its output is positive, else slope times it). The steps are
// Adam's (β 0.9, 0.999) with step size search_lr 0.01, as the paper's
// and the common implementations' backpropagation into z uses an
// optimizer of the training kind (the paper does not give its step size;
// 0.01 is PyOD's query learning rate). The paper takes 500 steps per
// row; the default 100 keeps scoring usable, the search costing about
// 4·search_steps forward passes of G and f per row (README measures the
// rate). Early stopping of the search is left out so that the cost and
// the score of a row are those of a fixed computation.
//
// Deviations besides the networks: none in the objective. The Scorer
// draws no noise; the paper's single z₀ is the model's. Collapse: after
// training, a generator whose rows from 256 seeded codes all look alike
// (total variance at most 1e-6 of the training rows') has collapsed, and
// Fit fails with detectors.ErrCollapsed. The model keeps G, f and z₀;
// D's output layer is dropped.
//
// Epochs 20 (the paper does not state its count; about 20 000 steps of
// each player on 66 000 rows of smtp, DCGAN's order) and batch size 64
// (DCGAN's 128 halved for small tables) are this package's choices.
type anogan struct{}

func init() { detectors.Register("anogan", anogan{}) }

// anoganZ0 names the stored starting code of the search.
const anoganZ0 = "z0"

func (anogan) Options() []detectors.Option {
	return []detectors.Option{
		detectors.WithDefault("epochs", "20"),
		detectors.WithDefault("batch_size", "64"),
		detectors.WithDefault("lr", "0.0002"),
		detectors.IntOption("latent", "16", "width of the generator's code z", 1, detectors.MaxLayerWidth),
		detectors.FloatOption("beta1", "0.5", "Adam's β₁ of both players", func(v float64) bool { return v >= 0 && v < 1 }, "in [0, 1)"),
		detectors.FloatOption("lambda", "0.1", "weight λ of the discrimination loss in the search (the residual loss has 1 − λ)", func(v float64) bool { return v >= 0 && v <= 1 }, "in [0, 1]"),
		detectors.IntOption("search_steps", "100", "gradient steps of the latent search per scored row (cost grows linearly)", 0, 100000),
		detectors.FloatOption("search_lr", "0.01", "Adam step size of the latent search", func(v float64) bool { return v > 0 && v <= 10 }, "in (0, 10]"),
	}
}

// Footprint implements Algorithm: the GAN and z₀, and per row the values
// of the two players' graphs and of the monitored objective's.
func (anogan) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := newGAN(s.Dims, o)
	f := n.footprint()
	f.Params += int64(n.latent)
	f.RowValues = 3*f.RowValues + 8
	return f
}

func (anogan) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	n := newGAN(d, o)
	n.init(st, rng)
	z0 := st.Add(anoganZ0, 1, n.latent, false)
	for i := range z0.Data {
		z0.Data[i] = rng.NormFloat64()
	}
	return st, nil
}

// Players implements Adversary: the discriminator, then the generator.
func (a anogan) Players(d int, o detectors.Options) []detectors.Player {
	lr, beta1 := o.Float("lr"), o.Float("beta1")
	return []detectors.Player{
		{Name: "discriminator", Trains: []string{ganD}, Graph: a.discriminatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2},
		{Name: "generator", Trains: []string{ganG}, Graph: a.generatorGraph, LR: lr, Beta1: beta1, Beta2: detectors.AdamBeta2},
	}
}

// logit is D's logit of the rows x.
func (n gan) logit(b *detectors.Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	f, err := n.dFeat.Graph(b, x)
	if err != nil {
		return nil, err
	}
	return n.dOut.Graph(b, f)
}

// generated is G(z) for b.Rows fresh codes z ~ N(0, I).
func (n gan) generated(b *detectors.Graph) (*gorgonia.Node, error) {
	return n.g.Graph(b, b.Normal(n.latent))
}

// discriminatorGraph is D's objective: per row ½·(softplus(−logit(x)) +
// softplus(logit(G(z)))).
func (anogan) discriminatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := newGAN(b.Dims, b.Opts)
	var m nn.Must
	fake := m.N(n.generated(b))
	lReal := m.N(n.logit(b, b.X))
	lFake := m.N(n.logit(b, fake))
	real := m.N(nn.BCELogits(lReal, true))
	gen := m.N(nn.BCELogits(lFake, false))
	loss := m.N(nn.Chain(m.N(gorgonia.Add(real, gen)), nn.Sum1, nn.MulC(0.5)))
	return detectors.Objective{RowLoss: loss}, m.Err
}

// generatorGraph is G's objective: per row softplus(−logit(G(z))).
func (anogan) generatorGraph(b *detectors.Graph) (detectors.Objective, error) {
	n := newGAN(b.Dims, b.Opts)
	var m nn.Must
	l := m.N(n.logit(b, m.N(n.generated(b))))
	loss := m.N(nn.Chain(m.N(nn.BCELogits(l, true)), nn.Sum1))
	return detectors.Objective{RowLoss: loss}, m.Err
}

// Graph implements Algorithm. It is not trained (the players are): it is
// the objective validation watches, the search's loss L at the starting
// code z₀, which needs G and f only (D's output layer is not in the
// model). With search_steps 0 that is the score, and Scores is set; the
// search itself is not in the graph, so with steps it has no Scores.
func (anogan) Graph(b *detectors.Graph) (detectors.Objective, error) {
	n := newGAN(b.Dims, b.Opts)
	lambda := b.Opts.Float("lambda")
	var m nn.Must
	gz := m.N(n.g.Graph(b, b.Param(anoganZ0)))
	fg := m.N(n.dFeat.Graph(b, gz))
	fx := m.N(n.dFeat.Graph(b, b.X))
	l1 := func(a, c *gorgonia.Node) *gorgonia.Node {
		return m.N(nn.Chain(m.N(gorgonia.BroadcastSub(a, c, nil, []byte{0})), gorgonia.Abs, nn.Sum1))
	}
	res := m.N(nn.Chain(l1(b.X, gz), nn.MulC(1-lambda)))
	dis := m.N(nn.Chain(l1(fx, fg), nn.MulC(lambda)))
	loss := m.N(gorgonia.Add(res, dis))
	obj := detectors.Objective{RowLoss: loss}
	if b.Opts.Int("search_steps") == 0 {
		obj.Scores = loss
	}
	return obj, m.Err
}

// Finish implements Finisher: it fails with detectors.ErrCollapsed if the
// generator has collapsed (see the type's comment) and drops D's output
// layer, which scoring does not use.
func (anogan) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	if err := newGAN(x.Cols, o).checkCollapse("anogan", st, x, int64(o.Int("seed"))); err != nil {
		return err
	}
	dropHead(st)
	return nil
}

func (anogan) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := newGAN(d, o)
	z0, err := st.Lookup(anoganZ0, 1, n.latent)
	if err != nil {
		return nil, err
	}
	s := &anoganScorer{d: d, latent: n.latent, z0: z0.Data, lambda: o.Float("lambda"), steps: o.Int("search_steps"), lr: o.Float("search_lr")}
	if s.g, err = newTracedNet(n.g, st); err != nil {
		return nil, err
	}
	if s.f, err = newTracedNet(n.dFeat, st); err != nil {
		return nil, err
	}
	return s, nil
}

// anoganScorer scores a row by the latent search. Every operation on a
// row is the same, in the same order, whatever the batch, and all its
// memory is scratch.
type anoganScorer struct {
	g, f      *tracedNet
	z0        []float64
	d, latent int
	lambda    float64
	steps     int
	lr        float64
}

// Adam's decay rates and ε of the search.
const (
	searchBeta1 = 0.9
	searchBeta2 = 0.999
	searchEps   = 1e-8
)

func (s *anoganScorer) ScratchLen() int {
	return s.g.actsLen() + s.f.actsLen() + s.f.outLen() + 4*s.latent + s.d + s.g.tmpLen() + s.f.tmpLen()
}

func (s *anoganScorer) ScoreRows(x, dst, scratch []float64) {
	b := s.buffers(scratch)
	for i := range dst {
		row := x[i*s.d : (i+1)*s.d]
		xh, fg := s.search(row, b)
		dst[i] = s.loss(row, xh, b.fx, fg)
	}
}

// searchBuffers are the parts of a scratch slice the latent search uses.
type searchBuffers struct {
	actsG, actsF, fx, z, m, v, gz, gxh, tmpG, tmpF []float64
}

// buffers cuts scratch (at least ScratchLen long) into the search's
// buffers.
func (s *anoganScorer) buffers(scratch []float64) searchBuffers {
	take := func(n int) []float64 {
		v := scratch[:n:n]
		scratch = scratch[n:]
		return v
	}
	var b searchBuffers
	b.actsG, b.actsF, b.fx = take(s.g.actsLen()), take(s.f.actsLen()), take(s.f.outLen())
	b.z, b.m, b.v, b.gz = take(s.latent), take(s.latent), take(s.latent), take(s.latent)
	b.gxh, b.tmpG, b.tmpF = take(s.d), take(s.g.tmpLen()), take(s.f.tmpLen())
	return b
}

// search runs the latent search for row from z0 and returns G(z) and
// f(G(z)) at its last step (slices of b's buffers), with b.fx = f(row).
func (s *anoganScorer) search(row []float64, b searchBuffers) (xh, fg []float64) {
	copy(b.fx, s.f.forward(row, b.actsF))
	copy(b.z, s.z0)
	clear(b.m)
	clear(b.v)
	c1, c2 := 1.0, 1.0
	for t := 0; ; t++ {
		xh := s.g.forward(b.z, b.actsG)
		fg := s.f.forward(xh, b.actsF)
		if t == s.steps {
			return xh, fg
		}
		gf := s.f.outGrad(b.tmpF)
		for j := range gf {
			gf[j] = s.lambda * sign(fg[j]-b.fx[j])
		}
		s.f.backward(b.actsF, b.gxh, b.tmpF)
		gg := s.g.outGrad(b.tmpG)
		for j := range gg {
			gg[j] = b.gxh[j] + (1-s.lambda)*sign(xh[j]-row[j])
		}
		s.g.backward(b.actsG, b.gz, b.tmpG)
		c1 *= searchBeta1
		c2 *= searchBeta2
		for j, g := range b.gz {
			b.m[j] = searchBeta1*b.m[j] + (1-searchBeta1)*g
			b.v[j] = searchBeta2*b.v[j] + (1-searchBeta2)*g*g
			b.z[j] -= s.lr * (b.m[j] / (1 - c1)) / (math.Sqrt(b.v[j]/(1-c2)) + searchEps)
		}
	}
}

// ExplainMethod implements detectors.Explainer: AnoGAN's residual.
func (s *anoganScorer) ExplainMethod() string { return detectors.ExplainReconstruction }

// ExplainScratchLen implements detectors.Explainer.
func (s *anoganScorer) ExplainScratchLen() int { return s.ScratchLen() }

// Attribute implements detectors.Explainer with the residual Schlegl et
// al. mark anomalous regions by: feature j's attribution is its part
// (1−λ)·|x_j − G(z)_j| of the score's residual term at the end of the
// row's search. The discrimination term λ·‖f(x) − f(G(z))‖₁ is a function
// of the whole row and is not attributed, so the attributions add up to
// the score less that term.
func (s *anoganScorer) Attribute(x, dst, scratch []float64) {
	xh, _ := s.search(x, s.buffers(scratch))
	for j, v := range x {
		dst[j] = (1 - s.lambda) * math.Abs(v-xh[j])
	}
}

// loss is L(z) for the row x, G(z) = xh, f(x) = fx and f(G(z)) = fg.
func (s *anoganScorer) loss(x, xh, fx, fg []float64) float64 {
	r, dis := 0.0, 0.0
	for j, v := range x {
		r += math.Abs(v - xh[j])
	}
	for j, v := range fx {
		dis += math.Abs(v - fg[j])
	}
	return (1-s.lambda)*r + s.lambda*dis
}

// sign is −1, 0 or 1: the derivative of |v| (0 at 0).
func sign(v float64) float64 {
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// tracedNet is an MLP's plain-Go forward pass that keeps every layer's
// output, and its backward pass to the input: what a gradient in the
// input of a ReLU-family MLP needs. Layer l's output is act(b + x·W) with
// act(v) = v for v >= 0 and slope·v otherwise (slope 0: ReLU, 0.2: DCGAN's
// leaky ReLU, 1: linear).
type tracedNet struct {
	layers []tracedLayer
	width  int // the widest layer, input included
}

type tracedLayer struct {
	in, out int
	w, b    []float64
	wt      []float64 // w transposed (out × in), for the backward pass
	slope   float64
}

func newTracedNet(m nn.MLP, st *detectors.State) (*tracedNet, error) {
	n := &tracedNet{}
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		w, err := st.Lookup(m.WeightName(l), in, out)
		if err != nil {
			return nil, err
		}
		b, err := st.Lookup(m.BiasName(l), 1, out)
		if err != nil {
			return nil, err
		}
		act := m.Hidden
		if l == len(m.Sizes)-2 {
			act = m.Output
		}
		var slope float64
		switch act {
		case nn.ReLU:
			slope = 0
		case nn.DCGANLeakyReLU:
			slope = nn.DCGANLeakySlope
		case nn.Identity:
			slope = 1
		default:
			return nil, errUntraceable
		}
		wt := make([]float64, in*out)
		kernel.Transpose(wt, w.Data, in, out)
		n.layers = append(n.layers, tracedLayer{in: in, out: out, w: w.Data, b: b.Data, wt: wt, slope: slope})
		n.width = max(n.width, in, out)
	}
	return n, nil
}

// errUntraceable is a programming error: the activation has no case.
var errUntraceable = errors.New("gans: traced network with an activation other than ReLU, leaky ReLU or identity")

func (n *tracedNet) actsLen() int {
	s := 0
	for _, l := range n.layers {
		s += l.out
	}
	return s
}

func (n *tracedNet) outLen() int { return n.layers[len(n.layers)-1].out }
func (n *tracedNet) tmpLen() int { return 2 * n.width }

// outGrad returns the slice of tmp that backward expects the output's
// gradient in.
func (n *tracedNet) outGrad(tmp []float64) []float64 { return tmp[:n.outLen()] }

// forward computes the output for x, keeping every layer's output in acts
// (actsLen values); it returns the output, a slice of acts.
func (n *tracedNet) forward(x, acts []float64) []float64 {
	in := x
	for i := range n.layers {
		l := &n.layers[i]
		y := acts[:l.out]
		acts = acts[l.out:]
		copy(y, l.b)
		kernel.VecMatAdd(y, in[:l.in], l.w)
		if l.slope != 1 {
			for j, v := range y {
				if v < 0 {
					y[j] = v * l.slope
				}
			}
		}
		in = y
	}
	return in
}

// backward sets gIn to the gradient in the input of a scalar whose
// gradient in the output is in outGrad(tmp), for the layer outputs acts
// of the last forward. tmp (tmpLen values) is overwritten.
func (n *tracedNet) backward(acts, gIn, tmp []float64) {
	a, b := tmp[:n.width], tmp[n.width:2*n.width]
	off := len(acts)
	for l := len(n.layers) - 1; l >= 0; l-- {
		ly := &n.layers[l]
		off -= ly.out
		y, g := acts[off:off+ly.out], a[:ly.out]
		if ly.slope != 1 {
			for j, v := range y {
				if !(v > 0) {
					g[j] *= ly.slope
				}
			}
		}
		dst := b[:ly.in]
		if l == 0 {
			dst = gIn[:ly.in]
		}
		clear(dst)
		kernel.VecMatAdd(dst, g, ly.wt)
		a, b = b, a
	}
}
