package detectors

import (
	"context"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/arrowio"
)

// Driver is implemented by algorithms whose fit is more than one run of
// the training template: ensembles whose members are trained one after
// another on their own rows (RandNet), or alternating optimisation that
// retrains between updates of the data it trains on (the robust deep
// autoencoder). Fit calls Drive in place of its single training run, after
// Init and Prepare and before Finish; Drive runs the template through
// t.Train as often as it needs.
type Driver interface {
	Drive(st *State, t *Trainer) error
}

// Trainer is what Fit gives a Driver: the standardized training data, the
// options, the run's seeded generator and the training template.
type Trainer struct {
	// X is the standardized training matrix; Drive must not modify it.
	X arrowio.Matrix
	// Labels is nil or has one entry per row of X (1, 0, NaN).
	Labels []float64
	Opts   Options
	// Rand is the run's generator; every random choice of Drive comes
	// from it (directly or through generators seeded from it).
	Rand *rand.Rand

	ctx context.Context
}

// Train runs the training template once (see train): g's graph over
// st, whose trainable tensors are updated in place, on rows row-major
// standardized rows x of X.Cols features, with labels (nil or one per
// row), options opts and generator rng. st may be a sub-state whose
// tensors are shared with the model's state, e.g. one ensemble member.
func (t *Trainer) Train(g Grapher, st *State, x []float64, rows int, labels []float64, opts Options, rng *rand.Rand) error {
	return train(t.ctx, g, st, x, rows, t.X.Cols, labels, opts, rng)
}

// Err is the error of Fit's context once it is cancelled (KILL QUERY), else
// nil. Train checks it before every mini-batch; a Driver checks it in its
// own loops too (before each member, each outer iteration), so that work
// between training runs also stops.
func (t *Trainer) Err() error { return t.ctx.Err() }

// runTraining is Fit's training step: the algorithm's Drive if it is a
// Driver, else one run of the template.
func runTraining(ctx context.Context, a Algorithm, st *State, x arrowio.Matrix, labels []float64, o Options, rng *rand.Rand) error {
	if dr, ok := a.(Driver); ok {
		return dr.Drive(st, &Trainer{X: x, Labels: labels, Opts: o, Rand: rng, ctx: ctx})
	}
	return train(ctx, a, st, x.Data, x.Rows, x.Cols, labels, o, rng)
}

// Grapher builds a training objective for one mini-batch; every
// Algorithm is one, and it is all the training template needs (with the
// optional hooks EpochEnder and BatchSampler, if the Grapher has them).
// Drivers pass one to Trainer.Train, e.g. to train one ensemble member's
// sub-network.
type Grapher interface {
	Graph(b *Graph) (Objective, error)
}

// graphFunc is a Grapher without hooks.
type graphFunc func(b *Graph) (Objective, error)

func (f graphFunc) Graph(b *Graph) (Objective, error) { return f(b) }
