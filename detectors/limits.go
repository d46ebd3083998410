package detectors

import (
	"fmt"
	"sort"
)

// Bounds on what one CREATE DETECTOR may ask for. They exist so that a
// single statement cannot take the server down: before this, rff_dim =
// 1e9 ended the process with "out of memory" within milliseconds.
//
// There are two layers, both checked before anything is allocated:
//
//   - Every integer option that sizes memory or work has a finite upper
//     bound in its declaration (IntOption's max, IntListOption's
//     maxLayers × maxLayerWidth). An out-of-range value is ErrBadOption.
//   - The model as a whole: every algorithm estimates its Footprint from
//     the options and the shape of the training data (rows, features),
//     and Fit refuses it with ErrTooLarge if the estimate exceeds Limits.
//     ValidateOptions checks the same estimate for the smallest data (one
//     row, one feature) against DefaultLimits, so the SQL layer can refuse
//     a model that is too large whatever the data before running its
//     SELECT.
//
// Long loops over an option (epochs, mini-batches, ensemble members,
// outer iterations) check the context Fit was given, so a cancelled
// statement (KILL QUERY) stops training between two mini-batches.

// Upper bounds of the common options.
const (
	MaxEpochs    = 100_000 // epochs, patience, pretrain_epochs
	maxBatchSize = 65_536  // batch_size
	// maxTrainRows bounds max_train_rows. The sample grows with the rows
	// actually read, never to the option's value up front, so the bound
	// is only a sanity check (a billion rows of one feature are 8 GB).
	maxTrainRows = 1_000_000_000
)

// Limits bounds the size of a model Fit trains.
type Limits struct {
	// MaxParams bounds the number of float64 values of the model's state
	// (weights, masks, random projections, stored reference rows), which
	// is also what the model takes on disk and in memory once trained.
	MaxParams int64
	// MaxBytes bounds the estimated working memory of training: the
	// state, the optimizer's gradients and moments, the values of the
	// training graph for one mini-batch and the algorithm's other
	// matrices (see Footprint). The training rows themselves are not
	// counted: they are the caller's batches, or a sample bounded by the
	// max_train_rows option (row_sampler.go).
	MaxBytes int64
}

// DefaultLimits are the limits of Fit when TrainingData.Limits is nil: 50
// million parameters (400 MB of float64 weights, about ten times the
// largest default network on a thousand features) and 2 GiB of estimated
// working memory.
var DefaultLimits = Limits{MaxParams: 50_000_000, MaxBytes: 2 << 30}

// Shape is the shape of a training run that a Footprint is estimated for.
type Shape struct {
	// Rows is the number of training rows, Dims the number of features.
	Rows, Dims int
	// Batch is the number of rows of a mini-batch graph:
	// min(batch_size, Rows), at least 1.
	Batch int
	// Held is the number of training values Fit holds besides the
	// algorithm's own working memory and the caller's rows: Rows × Dims
	// for the encoded rows of a model with an encoding (encoding.go), 0
	// otherwise. Footprint.Bytes counts them.
	Held int64
}

// Footprint is an algorithm's estimate of what fitting it holds in
// memory, in float64 values. It is arithmetic on the options and the
// shape only: computing it must not allocate in proportion to either.
// Estimates should be upper bounds of the real allocation within a small
// factor (the limits test checks this against Fit for every algorithm).
type Footprint struct {
	// Params is the size of the state at its largest during Fit,
	// including tensors used only by pretraining.
	Params int64
	// Trainable is the largest number of trainable values one training
	// run updates (each has a gradient per graph shard and two Adam
	// moments). For an ensemble trained member by member it is one
	// member's.
	Trainable int64
	// RowValues is the number of values the training graph computes for
	// one row of a mini-batch besides its input: every layer's output,
	// noise inputs, per-row terms of the loss.
	RowValues int64
	// Extra is any other working memory: matrices over the mini-batch
	// (pairings), mixture statistics, per-row scores of the training data.
	Extra int64
}

// GraphValueFactor is how many values training keeps per value a
// training graph computes: the value, its gradient and intermediate
// results of composite operations (an upper bound: the compiled program,
// program.go, reuses the buffers of values no longer needed).
const GraphValueFactor = 4

// Plus returns the sum of two footprints (an algorithm made of two
// networks, say).
func (f Footprint) Plus(g Footprint) Footprint {
	return Footprint{
		Params:    f.Params + g.Params,
		Trainable: f.Trainable + g.Trainable,
		RowValues: f.RowValues + g.RowValues,
		Extra:     f.Extra + g.Extra,
	}
}

// times returns f for n independent copies (n ensemble members).
func (f Footprint) times(n int) Footprint {
	k := int64(n)
	return Footprint{Params: k * f.Params, Trainable: k * f.Trainable, RowValues: k * f.RowValues, Extra: k * f.Extra}
}

// Bytes is the estimated working memory of training in shape s: the
// state, a gradient per graph shard and two Adam moments per trainable
// value, GraphValueFactor values per value of the mini-batch graph
// (inputs included), Extra and the shape's Held values, 8 bytes each.
func (f Footprint) Bytes(s Shape) int64 {
	values := f.Params +
		(trainShards+2)*f.Trainable +
		GraphValueFactor*int64(s.Batch)*(int64(s.Dims)+f.RowValues) +
		f.Extra + s.Held
	return 8 * values
}

// shapeFor returns the shape of training on rows × dims data with
// options o.
func shapeFor(rows, dims int, o Options) Shape {
	return Shape{Rows: rows, Dims: dims, Batch: max(1, min(o.Int("batch_size"), rows))}
}

// checkFootprint returns an error wrapping ErrTooLarge if a's footprint
// for shape s with options o exceeds lim. given holds the options the
// user set (normalized names); the error names the one whose value
// contributes most, if any.
func checkFootprint(name string, a Algorithm, o Options, given map[string]bool, s Shape, lim Limits) error {
	f := a.Footprint(s, o)
	params, bytes := f.Params, f.Bytes(s)
	if params <= lim.MaxParams && bytes <= lim.MaxBytes {
		return nil
	}
	what := fmt.Sprintf("about %.3g parameters (limit %.3g)", float64(params), float64(lim.MaxParams))
	if bytes > lim.MaxBytes {
		what = fmt.Sprintf("%s and %s of working memory (limit %s)", what, gib(bytes), gib(lim.MaxBytes))
	}
	data := fmt.Sprintf("for %d rows × %d features", s.Rows, s.Dims)
	if s.Rows <= 1 && s.Dims <= 1 {
		data = "whatever the data" // ValidateOptions: the smallest shape
	}
	msg := fmt.Sprintf("%s %s needs %s", name, data, what)
	if k := largestOption(a, o, given, s, params, bytes); k != "" {
		msg += fmt.Sprintf("; mostly because of %s = %s (default %s)", k, o[k], optionSpecs(a)[k].Default)
	}
	return fmt.Errorf("%w: %s", ErrTooLarge, msg)
}

// largestOption returns the given option whose reset to its default
// shrinks the footprint most, or "" if none shrinks it.
func largestOption(a Algorithm, o Options, given map[string]bool, s Shape, params, bytes int64) string {
	specs := optionSpecs(a)
	names := make([]string, 0, len(given))
	for k := range given {
		names = append(names, k)
	}
	sort.Strings(names)
	best, bestCut := "", 0.0
	for _, k := range names {
		spec, ok := specs[k]
		if !ok || o[k] == spec.Default {
			continue
		}
		p := o.Clone()
		p[k] = spec.Default
		ps := s
		if k == "batch_size" {
			ps = shapeFor(s.Rows, s.Dims, p)
			ps.Held = s.Held
		}
		f := a.Footprint(ps, p)
		cut := max(1-float64(f.Params)/float64(params), 1-float64(f.Bytes(ps))/float64(bytes))
		if cut > bestCut {
			best, bestCut = k, cut
		}
	}
	return best
}

func gib(b int64) string { return fmt.Sprintf("%.2f GiB", float64(b)/(1<<30)) }
