package detectors

import (
	"math/rand/v2"
	"runtime/debug"

	"gorgonia.org/gorgonia"
)

// This file holds what the algorithms, in their family packages, use of
// the core besides the Algorithm contract and its option kinds: the
// pieces of the training template (train.go) and of preprocessing
// (preprocess.go) they build on, exported under stable names.

// TrainShards is the number of graphs a mini-batch's separable loss is
// split into (Objective.RowLoss): a Footprint that holds values per graph
// (masks, say) counts them TrainShards times.
const TrainShards = trainShards

// MatrixNode returns an input node of g named name holding the rows × cols
// row-major matrix data, which it reads in place (data is not copied:
// refilling it feeds the next run of a compiled graph).
func MatrixNode(g *gorgonia.ExprGraph, name string, rows, cols int, data []float64) *gorgonia.Node {
	return matrixNode(g, name, rows, cols, data)
}

// MeanStd returns the mean and standard deviation of x as preprocessing
// computes them for a column (Welford's update; NaN and ±Inf skipped; a
// constant column has standard deviation 1).
func MeanStd(x []float64) (mean, std float64) {
	sc := fitScaler(x, len(x), 1)
	return sc.mean[0], sc.std[0]
}

// Subsamples returns ens·sub row indices: ens groups of sub distinct rows
// of n (all n rows, repeated cyclically, if n < sub), drawn from rng by
// partial Fisher–Yates shuffles of one permutation, so the same rng state
// gives the same groups.
func Subsamples(n, ens, sub int, rng *rand.Rand) []int {
	perm := make([]int, n)
	for i := range perm {
		perm[i] = i
	}
	out := make([]int, 0, ens*sub)
	for range ens {
		k := min(sub, n)
		for j := range k { // partial Fisher–Yates
			r := j + rng.IntN(n-j)
			perm[j], perm[r] = perm[r], perm[j]
		}
		for j := range sub {
			out = append(out, perm[j%k])
		}
	}
	return out
}

// AdamBeta2 is the second-moment decay of the template's Adam (0.999), for
// an adversarial Player that changes only β1.
const AdamBeta2 = adamBeta2

// MaxBatchSize is the upper bound of the batch_size option, for an
// algorithm that declares its own batch-sized option.
const MaxBatchSize = maxBatchSize

// StandardizeInPlace standardizes the rows × cols row-major matrix x in
// place with its own column statistics, exactly as Fit's preprocessing
// does with the training rows (NULL (NaN) and extreme values become 0).
func StandardizeInPlace(x []float64, rows, cols int) {
	fitScaler(x, rows, cols).transform(x)
}

// State returns the state whose tensors b's parameters read, for an
// objective that needs a non-trainable tensor's values (a prior's
// moments, say) as constants.
func (b *Graph) State() *State { return b.st }

// Get returns the value of the declared option name as given (after
// normalization: enumerations are lower case). It panics if the
// algorithm did not declare name (a programming error).
func (o Options) Get(name string) string { return o.get(name) }

// IntegratedGradients returns the core's explainer of scorer s over d
// features: integrated gradients of the score from the training mean
// (explain_gradients.go), the one used for a Scorer that does not
// implement Explainer; an algorithm's own Explainer may build on it.
func IntegratedGradients(s Scorer, d int) Explainer { return gradientExplainer{s: s, d: d} }

// CatchWorkerPanic, deferred first in a worker goroutine an algorithm
// starts, stores a panic of the worker in *dst; Repanic, after waiting
// for the workers, raises the first again in the calling goroutine (as
// the core's own workers do, worker_panic.go).
func CatchWorkerPanic(dst **WorkerPanic) {
	if r := recover(); r != nil {
		*dst = &WorkerPanic{Value: r, Stack: debug.Stack()}
	}
}

// Repanic raises again the first of panics caught by CatchWorkerPanic.
func Repanic(panics []*WorkerPanic) { repanic(panics) }
