package detectors

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"

	"github.com/anomalydb/anomalydb/arrowio"

	"gorgonia.org/gorgonia"
)

// Algorithm is the algorithm-specific part of a deep detector: its network,
// its loss for a mini-batch and its score for a row. Everything else (option
// parsing, preprocessing, the training loop, the optimizer, seeding,
// thresholding, persistence, batch scoring) is shared and lives in this
// package once. Adding an algorithm is one file, in its family's folder,
// that implements Algorithm and calls Register from init.
//
// Optional capabilities are found by type assertion: [Preparer] (state that
// depends on the data before training, like Deep SVDD's center),
// [Finisher] (state computed after training, like DAGMM's mixture) and
// [Adversary] (networks trained against each other, like GANomaly's
// generator and discriminator), among others (see doc.go).
type Algorithm interface {
	// Options declares algorithm-specific options. An entry named like a
	// common option (epochs, batch_size, lr, weight_decay, seed,
	// contamination, hidden) replaces it, e.g. to change its default.
	Options() []Option

	// Init returns the initial state of a model over d standardized
	// features. Every random choice must come from rng.
	Init(d int, opts Options, rng *rand.Rand) (*State, error)

	// Graph builds, once, the training objective for one mini-batch of
	// b.Rows standardized rows (b.X) in b.G, using b.Param for the state.
	Graph(b *Graph) (Objective, error)

	// Scorer returns the plain-Go scoring path for a trained state. It must
	// check the state's shapes and return an error (not panic) if they are
	// inconsistent, because the state may come from UnmarshalModel.
	// d is the number of features.
	Scorer(st *State, d int, opts Options) (Scorer, error)

	// Footprint estimates, without allocating, what Fit holds in memory
	// for this algorithm with options opts on data of shape s (see
	// Footprint in limits.go). Fit refuses a model whose estimate exceeds
	// its Limits before Init, so the estimate must cover every tensor Init,
	// Prepare and Finish add and every large matrix the graph builds.
	Footprint(s Shape, opts Options) Footprint
}

// Preparer is implemented by algorithms whose state depends on the
// training data before the first optimizer step. Prepare is called after
// Init with the standardized training matrix and may set non-trainable
// tensors.
type Preparer interface {
	Prepare(st *State, x arrowio.Matrix, opts Options) error
}

// Finisher is implemented by algorithms that compute state from the
// training data after the last optimizer step. Finish is called before
// scoring the training data for the threshold.
type Finisher interface {
	Finish(st *State, x arrowio.Matrix, opts Options) error
}

// Objective is what an algorithm's graph computes for one mini-batch. Set
// exactly one of RowLoss and Loss.
type Objective struct {
	// RowLoss is a vector of one loss per row of the mini-batch; the
	// template minimizes its mean. Because such a loss is separable over
	// rows, the template may split a mini-batch into shards evaluated in
	// parallel (each shard's graph is built by a separate Graph call) and
	// add their gradients; the optimizer step is the same as for the whole
	// mini-batch up to floating-point rounding.
	RowLoss *gorgonia.Node
	// Loss is a scalar loss of the whole mini-batch, for objectives that
	// couple rows (e.g. batch statistics). It is never sharded.
	Loss *gorgonia.Node
	// Scores, if not nil, is the vector of per-row scores the graph
	// computes; it is used only to check the plain-Go Scorer against the
	// graph in tests. Leave nil if scoring is not deterministic in the
	// graph (e.g. it samples noise).
	Scores *gorgonia.Node
}

// Scorer is the plain-Go inference path of a trained algorithm.
//
// Contract: a row's score depends only on that row and the trained state;
// the floating-point operations applied to a row, and their order, must not
// depend on how many rows are scored together or where the row is. This is
// what makes a score bit-identical whether the row is scored alone or in
// any batch. Implementations must be safe for concurrent use (all mutable
// memory comes from scratch) and must not allocate.
type Scorer interface {
	// ScratchLen is the length of the scratch slice ScoreRows needs.
	ScratchLen() int
	// ScoreRows sets dst[i] to the score of standardized row i of x
	// (row-major, len(dst) rows). Higher means more anomalous.
	ScoreRows(x, dst, scratch []float64)
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Algorithm{}
)

// Register makes an algorithm available under name (lower case, as used in
// CREATE DETECTOR ... USING name). It panics if name is empty or not lower
// case, if a is nil, or if name is already registered; it is meant to be
// called from init functions.
func Register(name string, a Algorithm) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if name == "" || name != strings.ToLower(name) {
		panic(fmt.Sprintf("detectors: Register: invalid algorithm name %q", name))
	}
	if a == nil {
		panic("detectors: Register: nil algorithm " + name)
	}
	if _, dup := registry[name]; dup {
		panic("detectors: Register called twice for algorithm " + name)
	}
	registry[name] = a
}

// Algorithms returns the registered algorithm names, sorted.
func Algorithms() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookup finds an algorithm by case-insensitive name and returns its
// canonical name.
func lookup(name string) (Algorithm, string, error) {
	key := normalizeName(name)
	registryMu.RLock()
	a, ok := registry[key]
	registryMu.RUnlock()
	if !ok {
		return nil, "", fmt.Errorf("%w: %q (known: %s)", ErrUnknownAlgorithm, name, strings.Join(Algorithms(), ", "))
	}
	return a, key, nil
}
