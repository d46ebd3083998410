package nn

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"gorgonia.org/gorgonia"
)

// Activation is an element-wise nonlinearity of a network layer.
type Activation uint8

const (
	// Identity applies no nonlinearity.
	Identity Activation = iota
	// ReLU is max(x, 0).
	ReLU
	// LeakyReLU is x for x >= 0 and LeakySlope*x otherwise.
	LeakyReLU
	// Sigmoid is 1/(1+exp(-x)), 0 below -709 and 1 above 19 (sigmoid).
	Sigmoid
	// Tanh is the hyperbolic tangent.
	Tanh
	// Cos is the cosine (random-Fourier-feature layers).
	Cos
	// DCGANLeakyReLU is x for x >= 0 and DCGANLeakySlope*x otherwise.
	DCGANLeakyReLU
)

// LeakySlope is the negative-side slope of LeakyReLU (PyTorch's default).
const LeakySlope = 0.01

// DCGANLeakySlope is the negative-side slope of DCGANLeakyReLU, the 0.2
// of DCGAN's discriminator (Radford et al., ICLR 2016) that GAN papers
// keep for their discriminators and encoders.
const DCGANLeakySlope = 0.2

// MLP describes a chain of fully connected layers whose weights live in a
// State as tensors Prefix+"w0", Prefix+"w1", ... of shape in×out (so a row
// vector times W is the layer), and, if Bias, Prefix+"b0", ... of shape
// 1×out. The same description builds the gorgonia training graph (Graph)
// and the plain-Go inference kernel (Kernel), so the two cannot disagree
// about the architecture.
type MLP struct {
	Prefix string
	// Sizes[0] is the input width, Sizes[len(Sizes)-1] the output width;
	// there are len(Sizes)-1 layers.
	Sizes  []int
	Bias   bool
	Hidden Activation // after every layer but the last
	Output Activation // after the last layer
	// BatchNorm normalizes every layer but the last before its activation
	// (batch_norm.go): by the mini-batch's statistics in Graph and by the
	// stored statistics (FitBatchNorm) in Kernel.
	BatchNorm bool
}

// Mirror is the decoder of an autoencoder whose encoder is m: the same
// layer kinds over the widths in reverse order, its tensors under prefix.
func (m MLP) Mirror(prefix string) MLP {
	m.Prefix = prefix
	m.Sizes = slices.Clone(m.Sizes)
	slices.Reverse(m.Sizes)
	return m
}

func (m MLP) WeightName(l int) string { return m.Prefix + "w" + strconv.Itoa(l) }
func (m MLP) BiasName(l int) string   { return m.Prefix + "b" + strconv.Itoa(l) }

func (m MLP) act(l int) Activation {
	if l == len(m.Sizes)-2 {
		return m.Output
	}
	return m.Hidden
}

// Init adds the MLP's tensors to st, initialized from rng: weights uniform
// in ±sqrt(6/fan_in) (He/Kaiming uniform) before a ReLU-family activation
// and ±sqrt(6/(fan_in+fan_out)) (Glorot uniform) otherwise; biases zero.
func (m MLP) Init(st *detectors.State, rng *rand.Rand) {
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		m.initWeights(l, st.Add(m.WeightName(l), in, out, true).Data, rng)
		if m.Bias {
			st.Add(m.BiasName(l), 1, out, true)
		}
		if m.batchNorm(l) {
			st.Add(m.bnMeanName(l), 1, out, false)
			for i, v := 0, st.Add(m.bnVarName(l), 1, out, false); i < out; i++ {
				v.Data[i] = 1
			}
		}
	}
}

// initWeights draws layer l's weights w from rng as Init does.
func (m MLP) initWeights(l int, w []float64, rng *rand.Rand) {
	in, out := m.Sizes[l], m.Sizes[l+1]
	var bound float64
	switch m.act(l) {
	case ReLU, LeakyReLU, DCGANLeakyReLU:
		bound = math.Sqrt(6 / float64(in))
	default:
		bound = math.Sqrt(6 / float64(in+out))
	}
	for i := range w {
		w[i] = (2*rng.Float64() - 1) * bound
	}
}

// Reinit initializes the MLP's weights and biases in st again, in place,
// drawing from rng exactly as Init does (a GAN's discriminator restarted
// by its paper's stabilisation). Batch-normalization statistics are left
// as they are. It panics if st lacks one of the MLP's tensors (a
// programming error: st is the state Init built).
func (m MLP) Reinit(st *detectors.State, rng *rand.Rand) {
	for l := 0; l+1 < len(m.Sizes); l++ {
		m.initWeights(l, st.Get(m.WeightName(l)).Data, rng)
		if m.Bias {
			clear(st.Get(m.BiasName(l)).Data)
		}
	}
}

// Graph applies the MLP to x (rows × Sizes[0]) in b's graph.
func (m MLP) Graph(b *detectors.Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	h := x
	var err error
	for l := 0; l+1 < len(m.Sizes); l++ {
		if h, err = detectors.MatMul(h, b.Param(m.WeightName(l))); err != nil {
			return nil, err
		}
		if m.Bias {
			if h, err = gorgonia.BroadcastAdd(h, b.Param(m.BiasName(l)), nil, []byte{0}); err != nil {
				return nil, err
			}
		}
		if m.batchNorm(l) {
			if h, err = batchNormGraph(h); err != nil {
				return nil, err
			}
		}
		if h, err = ActivationGraph(h, m.act(l)); err != nil {
			return nil, err
		}
	}
	return h, nil
}

func ActivationGraph(h *gorgonia.Node, a Activation) (*gorgonia.Node, error) {
	switch a {
	case Identity:
		return h, nil
	case ReLU:
		return gorgonia.Rectify(h)
	case LeakyReLU:
		return detectors.LeakyRelu(h, LeakySlope)
	case DCGANLeakyReLU:
		return detectors.LeakyRelu(h, DCGANLeakySlope)
	case Sigmoid:
		return gorgonia.Sigmoid(h)
	case Tanh:
		return gorgonia.Tanh(h)
	case Cos:
		return gorgonia.Cos(h)
	}
	return nil, fmt.Errorf("detectors: unknown activation %d", a)
}

// Kernel returns the plain-Go forward pass of the MLP over st's tensors,
// checking their shapes.
func (m MLP) Kernel(st *detectors.State) (*MLPKernel, error) {
	return m.kernelLayers(st, len(m.Sizes)-1)
}

// kernelLayers is Kernel for the first n layers.
func (m MLP) kernelLayers(st *detectors.State, n int) (*MLPKernel, error) {
	k := &MLPKernel{}
	for l := 0; l < n; l++ {
		in, out := m.Sizes[l], m.Sizes[l+1]
		w, err := st.Lookup(m.WeightName(l), in, out)
		if err != nil {
			return nil, err
		}
		layer := kernelLayer{in: in, out: out, w: w.Data, act: m.act(l)}
		if m.Bias {
			b, err := st.Lookup(m.BiasName(l), 1, out)
			if err != nil {
				return nil, err
			}
			layer.b = b.Data
		}
		if m.batchNorm(l) {
			if layer.mean, layer.invStd, err = m.bnStats(st, l); err != nil {
				return nil, err
			}
		}
		k.layers = append(k.layers, layer)
		k.width = max(k.width, out)
	}
	return k, nil
}

// MLPKernel is the plain-Go, per-row forward pass of an MLP. Each output
// element is accumulated over the inputs in index order with separate
// multiply and add (kernel.VecMatAdd: AVX2 where available, bit-identical
// to its portable Go version), so a row's result never depends on other
// rows, on the machine, or on the build.
type MLPKernel struct {
	layers []kernelLayer
	width  int
}

type kernelLayer struct {
	in, out int
	w, b    []float64
	act     Activation
	// mean and invStd, if not nil, normalize the layer before act.
	mean, invStd []float64
}

// ScratchLen is the scratch length Forward needs.
func (k *MLPKernel) ScratchLen() int { return 2 * k.width }

// OutLen is the output width.
func (k *MLPKernel) OutLen() int { return k.layers[len(k.layers)-1].out }

// Forward computes the MLP output for one row x and returns it as a slice
// of scratch (valid until scratch is reused).
func (k *MLPKernel) Forward(x, scratch []float64) []float64 {
	a, b := scratch[:k.width], scratch[k.width:2*k.width]
	in := x
	for i := range k.layers {
		l := &k.layers[i]
		y := a[:l.out]
		if l.b != nil {
			copy(y, l.b)
		} else {
			clear(y)
		}
		kernel.VecMatAdd(y, in[:l.in], l.w)
		if l.invStd != nil {
			for j := range y {
				y[j] = (y[j] - l.mean[j]) * l.invStd[j]
			}
		}
		activate(y, l.act)
		in = y
		a, b = b, a
	}
	return in
}

func activate(y []float64, a Activation) {
	switch a {
	case ReLU:
		for i, v := range y {
			if v < 0 {
				y[i] = 0
			}
		}
	case LeakyReLU:
		kernel.LeakyReLU(y, LeakySlope)
	case DCGANLeakyReLU:
		kernel.LeakyReLU(y, DCGANLeakySlope)
	case Sigmoid:
		for i, v := range y {
			y[i] = sigmoid(v)
		}
	case Tanh:
		for i, v := range y {
			y[i] = math.Tanh(v)
		}
	case Cos:
		for i, v := range y {
			y[i] = math.Cos(v)
		}
	}
}

// Footprint returns the footprint of m (see detectors.Footprint): its weights and biases
// (trainable), its batch-normalization statistics (constant) and one
// value per unit and row.
func (m MLP) Footprint() detectors.Footprint {
	var f detectors.Footprint
	for l := 0; l+1 < len(m.Sizes); l++ {
		in, out := int64(m.Sizes[l]), int64(m.Sizes[l+1])
		n := in * out
		if m.Bias {
			n += out
		}
		f.Params += n
		f.Trainable += n
		if m.batchNorm(l) {
			f.Params += 2 * out
		}
		f.RowValues += out
	}
	return f
}

// sigmoid is 1/(1+exp(-v)) with gorgonia's cut-offs: 0 below -709 and 1
// above 19, so that the kernel of an MLP with a Sigmoid layer computes
// what its training graph computes (detectors/program.go's sigmoid), bit
// for bit.
func sigmoid(v float64) float64 {
	switch {
	case v < -709:
		return 0
	case v > 19:
		return 1
	}
	return 1.0 / (1.0 + math.Exp(-v))
}
