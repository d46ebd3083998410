package selfsupervised

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// neutral is NeuTraL AD, neural transformation learning for anomaly
// detection (Qiu, Pfrommer, Kloft, Mandt, Rudolph, "Neural Transformation
// Learning for Deep Anomaly Detection Beyond Images", ICML 2021; reference
// code boschresearch/NeuTraL-AD), a self-supervised detector (survey
// §5.1.4), in its tabular form:
//
//   - K learnable transformations T_k, each with its own MLP M_k (one
//     hidden ReLU layer, output of the row's width). transform =
//     'residual', the default, is T_k(x) = M_k(x) + x, what the reference
//     configurations use for the two ODDS tables of the paper, Thyroid and
//     Arrhythmia; 'mul' is the multiplicative mask T_k(x) = sigmoid(M_k(x))
//     ⊙ x of its KDD and KDDRev configurations, 'forward' T_k(x) = M_k(x).
//     Over three seeds on thyroid, cardio, glass, vowels, mammography and
//     arrhythmia (50 epochs, biases as below) mean AUC-ROC was 0.724 with
//     residual transformations and 0.641 with masks.
//   - An encoder f shared by all views: an MLP with ReLU between layers
//     and a linear last layer, without batch normalization.
//   - The deterministic contrastive loss (DCL, detectors/dcl_op.go) of a
//     row x over its K+1 views z_0 = f(x), z_k = f(T_k(x)):
//     Σ_k −log( h(z_k, z_0) / (h(z_k, z_0) + Σ_{l≠k} h(z_k, z_l)) ),
//     h = exp(cos-sim / τ), times 1/(K·ln K) as in the reference code.
//     It couples the views of one row but not the rows, so it is a
//     RowLoss and the template may shard mini-batches.
//   - Score: the DCL of the row, the paper's anomaly score: deterministic,
//     no sampling, a function of the row alone.
//
// Defaults are the reference code's for tabular data: K = 11
// transformations (transforms), τ = 0.1 (temperature), an encoder of five
// layers with the widths of its size rule (TabNets._make_nets: for d
// features, four hidden layers of 2d and an encoding of 2d below 32
// features; 64 and 32 up to 300; 256 and 64 beyond), transformation
// networks with a hidden layer of d units, Adam with lr 1e-3 and weight
// decay 1e-5 and mini-batches of 128 rows (the Thyroid configuration).
//
// Deviations, each with its reason. The reasons are the principles
// stated; the AUC figures quoted were measured (by the port this file
// comes from, branch h-neutral) on some of the 14 shipped benchmark
// datasets, so they illustrate and are not held-out evidence:
//   - bias = 'true': the encoder and the transformations have bias terms,
//     initialised as PyTorch's nn.Linear does, U(±1/√fan_in); the
//     reference's tabular configurations have none (enc_bias False, and
//     its transformation networks never do). The reason is the
//     preprocessing here: rows are z-scores, so the training data is
//     centred on 0, and a bias-free ReLU network is positively
//     homogeneous, f(αx) = αf(x): the views of αx are those of x scaled,
//     their cosine similarities the same, and the score of a row could
//     not change along the ray from the mean through it, so a row ten
//     standard deviations out would score exactly as an ordinary row in
//     its direction (TestNeutralMeanRowScoresOne checks the bias-free
//     case at the mean). Biases make the score depend on the distance
//     from the mean near the data; far from it the networks are again
//     close to homogeneous and the score is mostly a function of the
//     row's direction from the mean. The earlier port measured mean
//     AUC-ROC 0.728 with biases and 0.669 without on eleven of the
//     benchmark datasets (one seed, 50 epochs, zero-initialised biases).
//     bias = 'false' gives the reference's networks.
//   - The hidden layer of each transformation is at most
//     neutralMaxTransHidden (200) units wide, the width the reference's
//     Arrhythmia configuration (274 features) uses; with d units the K
//     networks of a 1,555-feature table would take 53 million weights.
//     The cap is a bound on size and changes nothing below 200 features.
//   - epochs 100, not the 200 of the reference's Thyroid and Arrhythmia
//     configurations: 100 is the default of DeepOD's NeuTraL (Xu et
//     al.'s library of deep detectors, which adapts the reference code),
//     and the time budget of issue 11 (default training on smtp under
//     90 s on two cores) binds: 100 epochs on smtp (66,609 training rows
//     of 3 features) took 35.5–37.8 s (docs/accuracy; 72 s of CPU time),
//     200 would take about twice that, with little margin on a shared
//     machine. In optimizer steps 100 epochs are more than the
//     reference's Thyroid run (200 epochs of 30 mini-batches, 6,000
//     steps) on any table of more than about 7,700 rows. 200 epochs were
//     not measured.
//   - Weights start as in every network of detectors/nn (He uniform
//     before ReLU, Glorot otherwise), not PyTorch's default; the StepLR
//     schedule (which halves lr once, at or near the last epoch) and
//     early stopping on the training loss are not used.
//
// Explanations are integrated gradients of the score (the core's
// explainer): the score changes most within a fraction of a standard
// deviation of the mean row, which the explainer's refinement resolves
// (detectors/explain_gradients.go), and since far from the mean it
// depends mostly on the row's direction, a feature moved far out need
// not carry the largest attribution (TestExplain's allowance).
//
// Cost: training runs the encoder on K+1 = 12 views of every row, so an
// epoch costs about twelve times an autoencoder's of the same width;
// a wide table is slow (internetads, 1,555 features: about 14 million
// multiply-adds per row and pass, 360 s for 1,377 training rows).
//
// Accuracy (docs/accuracy.md): mean AUC-ROC 0.731 over the 14 datasets,
// from 0.99 (musk) and above 0.9 on thyroid, smtp, vowels and shuttle
// down to below 0.5 on optdigits and spambase (weak for most detectors
// here) and 0.55 on cardio, where detectors of the distance from the
// data do much better. The objective is learnt on the training rows,
// anomalies included: trained on cardio's normal rows only, it scored
// 0.75 instead of 0.61 (50 epochs, one split).
type neutral struct{}

func init() { detectors.Register("neutral", neutral{}) }

// Transformation families of neutral's transform option.
const (
	neutralMul      = "mul"
	neutralResidual = "residual"
	neutralForward  = "forward"
)

// neutralMaxTransHidden caps the width of the transformations' hidden
// layer by default (see neutral).
const neutralMaxTransHidden = 200

// neutralEpochs is the default number of epochs (see neutral).
const neutralEpochs = 100

// Options implements Algorithm.
func (neutral) Options() []detectors.Option {
	return []detectors.Option{
		detectors.IntOption("transforms", "11", "number K of learned transformations", 2, 256),
		detectors.FloatOption("temperature", "0.1", "temperature τ of the contrastive loss", func(v float64) bool { return v > 0 }, "> 0"),
		detectors.EnumOption("transform", neutralResidual, "transformation family: residual (M(x) + x), mul (sigmoid(M(x)) ⊙ x) or forward (M(x))", neutralResidual, neutralMul, neutralForward),
		detectors.LayerListOption("hidden", "", "widths of the encoder's hidden layers (empty: four layers of the reference size rule: 2·features below 32 features, 64 up to 300, 256 beyond)"),
		detectors.IntOption("rep_dim", "0", "width of the encoding (0: the reference size rule, 2·features below 32 features, 32 up to 300, 64 beyond)", 0, detectors.MaxLayerWidth),
		detectors.LayerListOption("trans_hidden", "", "widths of each transformation network's hidden layers (empty: one layer of min(features, 200))"),
		detectors.BoolOption("bias", "true", "bias terms in the encoder and the transformation networks (false: the reference's bias-free networks)"),
		detectors.WithDefault("epochs", strconv.Itoa(neutralEpochs)),
		detectors.WithDefault("lr", "0.001"),
		detectors.WithDefault("weight_decay", "1e-05"),
	}
}

// neutralWidths returns the reference size rule for d features: the
// encoder's hidden width and its representation width.
func neutralWidths(d int) (hidden, rep int) {
	switch {
	case d < 32:
		return 2 * d, 2 * d
	case d <= 300:
		return 64, 32
	}
	return 256, 64
}

// encoder is f: d → hidden layers → rep_dim, ReLU between layers, linear
// output, with biases unless bias = 'false'.
func (neutral) encoder(d int, o detectors.Options) nn.MLP {
	h, rep := neutralWidths(d)
	hidden := detectors.LayerList(o, "hidden")
	if hidden == nil {
		hidden = []int{h, h, h, h}
	}
	if r := o.Int("rep_dim"); r > 0 {
		rep = r
	}
	sizes := append(append([]int{d}, hidden...), rep)
	return nn.MLP{Prefix: "enc.", Sizes: sizes, Bias: o.Bool("bias"), Hidden: nn.ReLU, Output: nn.Identity}
}

// transformNet is M_k: d → hidden layers → d, ReLU between layers, with
// a sigmoid output for multiplicative masks, with biases unless bias =
// 'false'.
func (neutral) transformNet(k, d int, o detectors.Options) nn.MLP {
	hidden := detectors.LayerList(o, "trans_hidden")
	if hidden == nil {
		hidden = []int{min(d, neutralMaxTransHidden)}
	}
	sizes := append(append([]int{d}, hidden...), d)
	out := nn.Identity
	if o.Get("transform") == neutralMul {
		out = nn.Sigmoid
	}
	return nn.MLP{Prefix: "t" + strconv.Itoa(k) + ".", Sizes: sizes, Bias: o.Bool("bias"), Hidden: nn.ReLU, Output: out}
}

// Footprint implements Algorithm: the K transformation networks and the
// encoder, which runs on K+1 views of every row; per row the masked
// views, their concatenation and the loss; the loss op's scratch.
func (a neutral) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	k, d := o.Int("transforms"), s.Dims
	views := int64(k + 1)
	enc := a.encoder(d, o)
	f := enc.Footprint()
	f.RowValues *= views
	t := a.transformNet(0, d, o).Footprint()
	for range k {
		f = f.Plus(t)
	}
	f.RowValues += int64(k)*int64(d) + views*int64(d) + 1
	m := int64(enc.Sizes[len(enc.Sizes)-1])
	f.Extra += 4*views*m + 2*views*views
	return f
}

// Init implements Algorithm.
func (a neutral) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	nets := make([]nn.MLP, 0, o.Int("transforms")+1)
	for k := range o.Int("transforms") {
		nets = append(nets, a.transformNet(k, d, o))
	}
	nets = append(nets, a.encoder(d, o))
	for _, net := range nets {
		net.Init(st, rng)
		if !net.Bias {
			continue
		}
		// PyTorch's nn.Linear bias initialisation, U(±1/√fan_in), as in the
		// reference code, instead of MLP.Init's zeros (see neutral).
		for l := 0; l+1 < len(net.Sizes); l++ {
			bound := 1 / math.Sqrt(float64(net.Sizes[l]))
			for i, b := 0, st.Get(net.BiasName(l)).Data; i < len(b); i++ {
				b[i] = (2*rng.Float64() - 1) * bound
			}
		}
	}
	return st, nil
}

// Graph implements Algorithm: the row losses of the mini-batch, which are
// also its scores.
func (a neutral) Graph(b *detectors.Graph) (detectors.Objective, error) {
	k := b.Opts.Int("transforms")
	views := make([]*gorgonia.Node, 0, k+1)
	views = append(views, b.X)
	for i := range k {
		t, err := a.transformNet(i, b.Dims, b.Opts).Graph(b, b.X)
		if err != nil {
			return detectors.Objective{}, err
		}
		switch b.Opts.Get("transform") {
		case neutralMul:
			t, err = gorgonia.HadamardProd(t, b.X)
		case neutralResidual:
			t, err = gorgonia.Add(t, b.X)
		}
		if err != nil {
			return detectors.Objective{}, err
		}
		views = append(views, t)
	}
	all, err := gorgonia.Concat(0, views...)
	if err != nil {
		return detectors.Objective{}, err
	}
	z, err := a.encoder(b.Dims, b.Opts).Graph(b, all)
	if err != nil {
		return detectors.Objective{}, err
	}
	loss, err := detectors.DCLLoss(z, k+1, b.Opts.Float("temperature"))
	if err != nil {
		return detectors.Objective{}, err
	}
	return detectors.Objective{RowLoss: loss, Scores: loss}, nil
}

// Scorer implements Algorithm.
func (a neutral) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	k := o.Int("transforms")
	s := &neutralScorer{d: d, transform: o.Get("transform")}
	for i := range k {
		t, err := a.transformNet(i, d, o).Kernel(st)
		if err != nil {
			return nil, err
		}
		s.trans = append(s.trans, t)
		s.width = max(s.width, t.ScratchLen())
	}
	enc, err := a.encoder(d, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	s.enc = enc
	s.width = max(s.width, enc.ScratchLen())
	s.loss = detectors.NewDCL(k+1, enc.OutLen(), o.Float("temperature"))
	if s.transform != neutralMul && s.transform != neutralResidual && s.transform != neutralForward {
		return nil, fmt.Errorf("%w: transform %q", detectors.ErrBadModel, s.transform)
	}
	return s, nil
}

// neutralScorer is the plain-Go NeuTraL AD score: the row's K
// transformations, the encodings of its K+1 views and their DCL.
type neutralScorer struct {
	trans     []*nn.MLPKernel
	enc       *nn.MLPKernel
	loss      detectors.DCL
	d         int
	width     int // the largest scratch of a network
	transform string
}

// ScratchLen implements Scorer: a network's scratch, the views (K+1 rows
// of d), their encodings (K+1 rows of m) and the loss's scratch.
func (s *neutralScorer) ScratchLen() int {
	n := s.loss.Views()
	return s.width + n*s.d + n*s.loss.Width() + s.loss.ScratchLen()
}

// ScoreRows implements Scorer.
func (s *neutralScorer) ScoreRows(x, dst, scratch []float64) {
	d, n, m := s.d, s.loss.Views(), s.loss.Width()
	net := scratch[:s.width]
	views := scratch[s.width : s.width+n*d]
	z := scratch[s.width+n*d : s.width+n*d+n*m]
	rest := scratch[s.width+n*d+n*m:]
	for i := range dst {
		row := x[i*d : (i+1)*d]
		copy(views[:d], row)
		for k, t := range s.trans {
			v := views[(k+1)*d : (k+2)*d]
			copy(v, t.Forward(row, net))
			switch s.transform {
			case neutralMul:
				for j, xj := range row {
					v[j] *= xj
				}
			case neutralResidual:
				for j, xj := range row {
					v[j] += xj
				}
			}
		}
		for v := 0; v < n; v++ {
			copy(z[v*m:(v+1)*m], s.enc.Forward(views[v*d:(v+1)*d], net))
		}
		dst[i] = s.loss.Loss(z, rest)
	}
}
