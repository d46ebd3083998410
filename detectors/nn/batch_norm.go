package nn

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"math"
	"strconv"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// Batch normalization without affine parameters (Ioffe and Szegedy 2015;
// nn.BatchNorm1d(affine=False) as in the Deep SVDD / Deep SAD reference
// networks): in training a hidden layer's pre-activations h are
// normalized by the mini-batch's per-column mean and (biased) variance,
// (h − μ_B)/sqrt(σ²_B + ε); in scoring by stored per-column statistics,
// so a row's score does not depend on its batch. The stored statistics
// are the exact ones of the whole training set under the current weights
// (FitBatchNorm), computed layer by layer, instead of PyTorch's running
// averages. A graph that batch-normalizes couples the rows of a
// mini-batch, so its objective must be a scalar Loss.

// bnEps is ε (1e-4 in the reference networks).
const bnEps = 1e-4

func (m MLP) batchNorm(l int) bool { return m.BatchNorm && l+2 < len(m.Sizes) }

func (m MLP) bnMeanName(l int) string { return m.Prefix + "bn" + strconv.Itoa(l) + ".mean" }
func (m MLP) bnVarName(l int) string  { return m.Prefix + "bn" + strconv.Itoa(l) + ".var" }

// batchNormGraph normalizes the columns of h by the batch's statistics.
func batchNormGraph(h *gorgonia.Node) (*gorgonia.Node, error) {
	mean, err := gorgonia.Mean(h, 0)
	if err != nil {
		return nil, err
	}
	centered, err := gorgonia.BroadcastSub(h, mean, nil, []byte{0})
	if err != nil {
		return nil, err
	}
	variance, err := gorgonia.Mean(gorgonia.Must(gorgonia.Square(centered)), 0)
	if err != nil {
		return nil, err
	}
	std, err := gorgonia.Sqrt(gorgonia.Must(gorgonia.Add(variance, gorgonia.NewConstant(bnEps))))
	if err != nil {
		return nil, err
	}
	return gorgonia.BroadcastHadamardDiv(centered, std, nil, []byte{0})
}

// bnStats returns layer l's stored mean and 1/sqrt(var + ε).
func (m MLP) bnStats(st *detectors.State, l int) (mean, invStd []float64, err error) {
	out := m.Sizes[l+1]
	mt, err := st.Lookup(m.bnMeanName(l), 1, out)
	if err != nil {
		return nil, nil, err
	}
	vt, err := st.Lookup(m.bnVarName(l), 1, out)
	if err != nil {
		return nil, nil, err
	}
	invStd = make([]float64, out)
	for j, v := range vt.Data {
		if !(v >= 0) || math.IsInf(v, 0) {
			return nil, nil, fmt.Errorf("%w: tensor %s has variance %v", detectors.ErrBadModel, vt.Name, v)
		}
		invStd[j] = 1 / math.Sqrt(v+bnEps)
	}
	return mt.Data, invStd, nil
}

// FitBatchNorm sets the stored statistics of every batch-normalized layer
// to the mean and biased variance of its pre-activations over the rows of
// x, layer by layer (each layer normalized by the statistics just fitted
// before the next one is measured). It does nothing without BatchNorm.
func (m MLP) FitBatchNorm(st *detectors.State, x arrowio.Matrix) error {
	if !m.BatchNorm {
		return nil
	}
	for l := 0; m.batchNorm(l); l++ {
		// The network up to layer l, whose earlier statistics are final.
		k, err := m.prefixKernel(st, l)
		if err != nil {
			return err
		}
		out := m.Sizes[l+1]
		mean := st.Get(m.bnMeanName(l)).Data
		variance := st.Get(m.bnVarName(l)).Data
		clear(mean)
		clear(variance)
		scratch := make([]float64, k.ScratchLen())
		n := float64(x.Rows)
		for i := 0; i < x.Rows; i++ {
			for j, v := range k.Forward(x.Row(i), scratch) {
				mean[j] += v
			}
		}
		for j := range mean {
			mean[j] /= n
		}
		for i := 0; i < x.Rows; i++ {
			for j, v := range k.Forward(x.Row(i), scratch) {
				d := v - mean[j]
				variance[j] += d * d
			}
		}
		for j := 0; j < out; j++ {
			variance[j] /= n
		}
	}
	return nil
}

// prefixKernel is the kernel of m's first l+1 layers where layer l stops
// before normalization and activation, and the layers before it are
// normalized by their stored statistics.
func (m MLP) prefixKernel(st *detectors.State, l int) (*MLPKernel, error) {
	k, err := m.kernelLayers(st, l+1)
	if err != nil {
		return nil, err
	}
	last := &k.layers[l]
	last.act, last.mean, last.invStd = Identity, nil, nil
	return k, nil
}
