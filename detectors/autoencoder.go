package detectors

import (
	"math/rand/v2"
)

// autoencoder is the fully connected autoencoder scored by reconstruction
// error: the replicator neural network of Hawkins et al. ("Outlier
// Detection Using Replicator Neural Networks", DaWaK 2002), as in the
// survey's §5.1.1. The network is trained to minimize the mean over
// features of the squared reconstruction error of the standardized row,
// and a row's score is that error.
//
//   - Architecture: hidden '64,32' (encoder widths; the decoder mirrors
//     them), biases, leaky ReLU after every hidden layer including the
//     code, linear output (the inputs are z-scores).
//   - noise > 0 trains a denoising autoencoder (Vincent et al., ICML
//     2008): the input is corrupted by Gaussian noise of that standard
//     deviation and the loss compares the output with the clean row.
//   - sparsity > 0 adds sparsity·Σ|code_j| to each row's loss (sparse
//     autoencoder, L1 penalty on the code).
//   - dropout > 0 drops hidden units during training (PyOD uses 0.2).
//
// None of the three is applied when scoring.
type autoencoder struct{}

func init() { Register("autoencoder", autoencoder{}) }

// Options: dropout 0.2 and 10 epochs, PyOD's AutoEncoder defaults. Both
// regularize: over the 14 benchmark datasets (seed 0) the mean AUC-ROC is
// 0.732 with 50 epochs and no dropout, 0.750 with 10 epochs, 0.764 with
// dropout 0.2 and 0.782 with both; the training data contain the
// anomalies, and a network that fits longer reconstructs them too.
func (autoencoder) Options() []Option {
	return append(aeOptions(), withDefault("epochs", "10"))
}

func (autoencoder) net(d int, o Options) aeNet { return newAENet("ae.", d, o.Ints("hidden")) }

// Footprint implements Algorithm: the network, with the noise and dropout
// inputs of its graph.
func (a autoencoder) Footprint(s Shape, o Options) Footprint {
	f := a.net(s.Dims, o).footprint()
	f.RowValues += int64(s.Dims) + f.RowValues
	return f
}

func (a autoencoder) Init(d int, o Options, rng *rand.Rand) (*State, error) {
	st := &State{}
	a.net(d, o).Init(st, rng)
	return st, nil
}

func (a autoencoder) Graph(b *Graph) (Objective, error) {
	return aeObjective(a.net(b.Dims, b.Opts), b)
}

func (a autoencoder) Scorer(st *State, d int, o Options) (Scorer, error) {
	return a.net(d, o).scorer(st)
}
