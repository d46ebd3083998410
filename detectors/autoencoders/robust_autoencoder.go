package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"strconv"
)

// robustAE is the robust deep autoencoder (Zhou & Paffenroth, "Anomaly
// Detection with Robust Deep Autoencoders", KDD 2017). Inspired by robust
// PCA, the standardized training matrix is split as X = L + S, where L is
// what the autoencoder reconstructs well and S is sparse, by alternating
// (their Algorithm 1/2) outer_iterations times:
//
//  1. train the autoencoder on L = X − S (S = 0 at first);
//  2. set S to the proximal operator of λ‖·‖ at X − AE(L): with norm
//     'l21', row-wise group shrinkage S_i = max(0, 1 − τ/‖r_i‖)·r_i of
//     each row's residual r_i, which zeroes S for the rows the
//     autoencoder explains and isolates whole anomalous rows; with 'l1',
//     element-wise soft thresholding by τ.
//
// The epochs option is the total over all outer iterations
// (ceil(epochs/outer_iterations) each). The autoencoder is the one of
// autoencoder (hidden '64,32', leaky ReLU, linear output, no
// regularizers).
//
//   - Scale of λ: the inputs are z-scores, so τ = λ for 'l1' (a
//     per-element threshold in standard deviations) and τ = λ·√d for
//     'l21' (λ is then a threshold on the root-mean-square residual per
//     feature), which keeps the default meaningful for any number of
//     features d.
//   - Score: S exists only for the training rows, so a row's score is the
//     autoencoder's reconstruction error of the row itself (mean squared
//     error over the features), as in the paper's use of the trained
//     L-autoencoder; it is deterministic and per row.
type robustAE struct {
	Autoencoder // the network, its initialization and the scorer
}

func init() { detectors.Register("robust_autoencoder", robustAE{}) }

func (robustAE) Options() []detectors.Option {
	return []detectors.Option{
		detectors.FloatOption("lambda", "1", "shrinkage threshold of S (per element for l1, per-feature RMS of a row for l21)",
			func(v float64) bool { return v > 0 }, "> 0"),
		detectors.EnumOption("norm", "l21", "penalty on S: l21 (whole anomalous rows) or l1 (single values)", "l1", "l21"),
		detectors.IntOption("outer_iterations", "5", "alternations between training the autoencoder and updating S", 1, 1000),
	}
}

// Footprint implements Algorithm: the autoencoder's, and L and the
// residual, two copies of the training matrix.
func (a robustAE) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	f := a.Autoencoder.Footprint(s, o)
	f.Extra += 2 * int64(s.Rows) * int64(s.Dims)
	return f
}

func (a robustAE) Graph(b *detectors.Graph) (detectors.Objective, error) {
	return nn.ReconObjective(a.Net(b.Dims, b.Opts), b)
}

// PlannedEpochs implements detectors.EpochPlanner: Drive's
// outer iterations share the epochs option, rounded up.
func (robustAE) PlannedEpochs(o detectors.Options) int {
	outer := o.Int("outer_iterations")
	return outer * ((o.Int("epochs") + outer - 1) / outer)
}

// Drive alternates training the autoencoder on L = X − S and updating S.
func (a robustAE) Drive(st *detectors.State, t *detectors.Trainer) error {
	x, rows, d := t.X.Data, t.X.Rows, t.X.Cols
	outer := t.Opts.Int("outer_iterations")
	inner := t.Opts.Clone()
	inner["epochs"] = strconv.Itoa((t.Opts.Int("epochs") + outer - 1) / outer)
	lambda, l21 := t.Opts.Float("lambda"), t.Opts["norm"] == "l21"
	n := a.Net(d, t.Opts)
	l := append([]float64(nil), x...) // L = X − S with S = 0
	rec := make([]float64, len(x))
	for it := 0; it < outer; it++ {
		if err := t.Err(); err != nil {
			return err
		}
		if err := t.Train(a, st, l, rows, t.Labels, inner, t.Rand); err != nil {
			return err
		}
		if it == outer-1 {
			break // S is not needed after the last training run
		}
		k, err := n.Kernel(st)
		if err != nil {
			return err
		}
		nn.Reconstruct(k, l, rec, d)
		// rec becomes the residual X − AE(L), then L = X − prox(residual).
		for i := range rec {
			rec[i] = x[i] - rec[i]
		}
		if l21 {
			shrinkRows(rec, d, lambda*math.Sqrt(float64(d)))
		} else {
			shrinkElements(rec, lambda)
		}
		for i := range l {
			l[i] = x[i] - rec[i]
		}
	}
	return nil
}

// shrinkElements applies soft thresholding by tau to every element of r:
// the proximal operator of tau·‖·‖₁.
func shrinkElements(r []float64, tau float64) {
	for i, v := range r {
		r[i] = math.Copysign(max(math.Abs(v)-tau, 0), v)
	}
}

// shrinkRows applies row-wise group shrinkage by tau to the rows of d
// values of r: the proximal operator of tau·Σ_i ‖r_i‖₂ (the l2,1 norm
// over rows).
func shrinkRows(r []float64, d int, tau float64) {
	for i := 0; i < len(r); i += d {
		row := r[i : i+d]
		norm := 0.0
		for _, v := range row {
			norm += v * v
		}
		norm = math.Sqrt(norm)
		f := 0.0
		if norm > tau {
			f = 1 - tau/norm
		}
		for j := range row {
			row[j] *= f
		}
	}
}
