package nn

import (
	"github.com/anomalydb/anomalydb/detectors"
	"math"
	"strconv"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"gorgonia.org/gorgonia"
)

// This file holds what the autoencoder family (autoencoder, randnet,
// robust_autoencoder, ae_knn; vae uses its activation) shares: the
// network, its training-time regularizers, the reconstruction error and
// its scorer.

// AEActivation is the hidden activation of the autoencoders: leaky ReLU,
// which, unlike ReLU, cannot leave a narrow code layer with units that are
// dead for every row.
const AEActivation = LeakyReLU

// AENet is a fully connected autoencoder: an MLP with biases over Sizes
// d, h1, ..., hk, h(k-1), ..., h1, d (the decoder mirrors the encoder),
// AEActivation after every layer including the code layer hk, and a linear
// output layer (inputs are z-scores, not bounded).
type AENet struct {
	MLP
	// code is the number of encoder layers (Sizes[code] is the code width).
	code int
	// masked: layer l's weights are multiplied element-wise by the constant
	// 0/1 tensor Prefix+"m<l>" of the same shape (RandNet's randomly
	// dropped connections).
	Masked bool
}

func NewAENet(prefix string, d int, hidden []int) AENet {
	sizes := append([]int{d}, hidden...)
	for i := len(hidden) - 2; i >= 0; i-- {
		sizes = append(sizes, hidden[i])
	}
	sizes = append(sizes, d)
	return AENet{
		MLP:  MLP{Prefix: prefix, Sizes: sizes, Bias: true, Hidden: AEActivation, Output: Identity},
		code: len(hidden),
	}
}

// Encoder is the first half of the network, up to and including the code
// layer; it shares the autoencoder's tensors.
func (n AENet) Encoder() AENet {
	e := n
	e.MLP.Sizes = n.Sizes[:n.code+1]
	e.MLP.Output = n.Hidden
	return e
}

func (n AENet) MaskName(l int) string { return n.Prefix + "m" + strconv.Itoa(l) }

// AERegularizers are the training-time corruptions of an autoencoder; the
// scoring path never applies them.
type AERegularizers struct {
	// noise is the standard deviation of the Gaussian corruption of the
	// input (denoising autoencoder, Vincent et al., ICML 2008).
	noise float64
	// dropout is the probability of zeroing each hidden unit's output
	// (inverted dropout: kept units are scaled by 1/(1-dropout)).
	dropout float64
}

// Graph applies the network to x in b with the regularizers reg and
// returns the code (before dropout) and the reconstruction.
func (n AENet) Apply(b *detectors.Graph, x *gorgonia.Node, reg AERegularizers) (code, out *gorgonia.Node, err error) {
	h := x
	if reg.noise > 0 {
		noise, err := gorgonia.Mul(b.Normal(b.Dims), gorgonia.NewConstant(reg.noise))
		if err != nil {
			return nil, nil, err
		}
		if h, err = gorgonia.Add(h, noise); err != nil {
			return nil, nil, err
		}
	}
	last := len(n.Sizes) - 2
	for l := 0; l <= last; l++ {
		w := b.Param(n.WeightName(l))
		if n.Masked {
			if w, err = gorgonia.HadamardProd(w, b.Param(n.MaskName(l))); err != nil {
				return nil, nil, err
			}
		}
		if h, err = detectors.MatMul(h, w); err != nil {
			return nil, nil, err
		}
		if h, err = gorgonia.BroadcastAdd(h, b.Param(n.BiasName(l)), nil, []byte{0}); err != nil {
			return nil, nil, err
		}
		if h, err = ActivationGraph(h, n.act(l)); err != nil {
			return nil, nil, err
		}
		if l+1 == n.code {
			code = h
		}
		if l < last && reg.dropout > 0 {
			if h, err = DropoutGraph(b, h, n.Sizes[l+1], reg.dropout); err != nil {
				return nil, nil, err
			}
		}
	}
	return code, h, nil
}

// DropoutGraph zeroes each element of the rows × cols node h with
// probability p and scales the others by 1/(1-p). The keep mask is
// z > Φ⁻¹(p) for standard normal draws z from b.Normal.
func DropoutGraph(b *detectors.Graph, h *gorgonia.Node, cols int, p float64) (*gorgonia.Node, error) {
	cut := math.Sqrt2 * math.Erfinv(2*p-1)
	mask, err := gorgonia.Gt(b.Normal(cols), gorgonia.NewConstant(cut), true)
	if err != nil {
		return nil, err
	}
	if mask, err = gorgonia.Mul(mask, gorgonia.NewConstant(1/(1-p))); err != nil {
		return nil, err
	}
	return gorgonia.HadamardProd(h, mask)
}

// MeanSquaredError returns the per-row mean over columns of (a-b)².
func MeanSquaredError(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	diff, err := gorgonia.Sub(a, b)
	if err != nil {
		return nil, err
	}
	sq, err := gorgonia.Square(diff)
	if err != nil {
		return nil, err
	}
	return gorgonia.Mean(sq, 1)
}

// Kernel returns the plain-Go forward pass over st's tensors (with the
// masks applied to copies of the weights if the network is masked).
func (n AENet) Kernel(st *detectors.State) (*MLPKernel, error) {
	if !n.Masked {
		return n.MLP.Kernel(st)
	}
	eff := &detectors.State{}
	for l := 0; l+1 < len(n.Sizes); l++ {
		in, out := n.Sizes[l], n.Sizes[l+1]
		w, err := st.Lookup(n.WeightName(l), in, out)
		if err != nil {
			return nil, err
		}
		m, err := st.Lookup(n.MaskName(l), in, out)
		if err != nil {
			return nil, err
		}
		b, err := st.Lookup(n.BiasName(l), 1, out)
		if err != nil {
			return nil, err
		}
		wm := eff.Add(n.WeightName(l), in, out, false)
		for i := range wm.Data {
			wm.Data[i] = w.Data[i] * m.Data[i]
		}
		eff.Tensors = append(eff.Tensors, b)
	}
	return n.MLP.Kernel(eff)
}

// ReconError is the mean over features of (out_j - x_j)², the plain-Go
// counterpart of meanSquaredError.
func ReconError(out, x []float64) float64 {
	return kernel.SquaredDistance(out, x) / float64(len(x))
}

// ReconScorer scores a row by its autoencoder's reconstruction error.
type ReconScorer struct {
	net *MLPKernel
	d   int
}

func (n AENet) Scorer(st *detectors.State) (*ReconScorer, error) {
	k, err := n.Kernel(st)
	if err != nil {
		return nil, err
	}
	return &ReconScorer{net: k, d: n.Sizes[0]}, nil
}

var _ detectors.Explainer = (*ReconScorer)(nil)

// ScratchLen implements detectors.Scorer.
func (s *ReconScorer) ScratchLen() int { return s.net.ScratchLen() }

// ScoreRows implements detectors.Scorer: the mean squared reconstruction
// error of each row.
func (s *ReconScorer) ScoreRows(x, dst, scratch []float64) {
	d := s.d
	for i := range dst {
		row := x[i*d : (i+1)*d]
		dst[i] = ReconError(s.net.Forward(row, scratch), row)
	}
}

// SquaredErrors adds w·(xr_j − x_j)² to dst[j] for every feature j: the
// per-feature terms of a reconstruction error (the attribution of
// reconstruction-based Explainers).
func SquaredErrors(dst, xr, x []float64, w float64) {
	for j, v := range x {
		e := xr[j] - v
		dst[j] += w * (e * e)
	}
}

// ExplainMethod implements detectors.Explainer.
func (s *ReconScorer) ExplainMethod() string { return detectors.ExplainReconstruction }

// ExplainScratchLen implements detectors.Explainer.
func (s *ReconScorer) ExplainScratchLen() int { return s.ScratchLen() }

// Attribute implements detectors.Explainer: (x̂_j − x_j)²/d, the terms of
// the score.
func (s *ReconScorer) Attribute(x, dst, scratch []float64) {
	clear(dst)
	s.AddAttribution(dst, x, scratch, 1/float64(s.d))
}

// AddAttribution adds w·(x̂_j − x_j)² to dst[j] for the reconstruction x̂
// of row x (an ensemble's Explainer weighs its members' terms).
func (s *ReconScorer) AddAttribution(dst, x, scratch []float64, w float64) {
	SquaredErrors(dst, s.net.Forward(x, scratch), x, w)
}

// Reconstruct writes the network's reconstruction of each row of x
// (rows × d, row-major) into dst.
func Reconstruct(k *MLPKernel, x, dst []float64, d int) {
	scratch := make([]float64, k.ScratchLen())
	for i := 0; i*d < len(x); i++ {
		copy(dst[i*d:(i+1)*d], k.Forward(x[i*d:(i+1)*d], scratch))
	}
}

// AEOptions are the regularization options of the plain autoencoders
// (autoencoder, ae_knn), with PyOD's AutoEncoder dropout of 0.2.
func AEOptions() []detectors.Option {
	return []detectors.Option{
		detectors.FloatOption("noise", "0", "std of the Gaussian input corruption during training (denoising autoencoder)",
			func(v float64) bool { return v >= 0 }, ">= 0"),
		detectors.FloatOption("sparsity", "0", "weight of the L1 penalty on the code (sparse autoencoder)",
			func(v float64) bool { return v >= 0 }, ">= 0"),
		detectors.FloatOption("dropout", "0.2", "dropout rate of the hidden layers during training",
			func(v float64) bool { return v >= 0 && v < 1 }, "in [0, 1)"),
	}
}

func aeRegularizersFrom(o detectors.Options) AERegularizers {
	return AERegularizers{noise: o.Float("noise"), dropout: o.Float("dropout")}
}

// AEObjective is the objective of a plain autoencoder on b.X: the row's
// mean squared reconstruction error plus sparsity·Σ|code|, with the
// regularizers of the options. Scores is the reconstruction error when the
// Graph is deterministic (no dropout; input noise is zero in a graph whose
// normal inputs are not filled).
func AEObjective(n AENet, b *detectors.Graph) (detectors.Objective, error) {
	reg := aeRegularizersFrom(b.Opts)
	code, out, err := n.Apply(b, b.X, reg)
	if err != nil {
		return detectors.Objective{}, err
	}
	rec, err := MeanSquaredError(out, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	loss := rec
	if s := b.Opts.Float("sparsity"); s > 0 {
		abs, err := gorgonia.Abs(code)
		if err != nil {
			return detectors.Objective{}, err
		}
		l1, err := gorgonia.Sum(abs, 1)
		if err != nil {
			return detectors.Objective{}, err
		}
		if l1, err = gorgonia.Mul(l1, gorgonia.NewConstant(s)); err != nil {
			return detectors.Objective{}, err
		}
		// l1 first: gorgonia's Add may write its result over its first
		// operand, and rec must survive as Scores.
		if loss, err = gorgonia.Add(l1, rec); err != nil {
			return detectors.Objective{}, err
		}
	}
	obj := detectors.Objective{RowLoss: loss}
	if reg.dropout == 0 {
		obj.Scores = rec
	}
	return obj, nil
}

// ReconObjective is the objective of an unregularized autoencoder on b.X:
// each row's mean squared reconstruction error, which is also its score.
func ReconObjective(n AENet, b *detectors.Graph) (detectors.Objective, error) {
	_, out, err := n.Apply(b, b.X, AERegularizers{})
	if err != nil {
		return detectors.Objective{}, err
	}
	rec, err := MeanSquaredError(out, b.X)
	return detectors.Objective{RowLoss: rec, Scores: rec}, err
}

// AutoencoderGraph is the mean squared reconstruction error of each row
// through enc and then dec; a scalar Loss (its mean) if either
// batch-normalizes.
func AutoencoderGraph(b *detectors.Graph, enc, dec MLP) (detectors.Objective, error) {
	z, err := enc.Graph(b, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	rec, err := dec.Graph(b, z)
	if err != nil {
		return detectors.Objective{}, err
	}
	mse, err := MeanSquaredError(rec, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	if enc.BatchNorm || dec.BatchNorm {
		loss, err := gorgonia.Mean(mse)
		return detectors.Objective{Loss: loss}, err
	}
	return detectors.Objective{RowLoss: mse}, nil
}
