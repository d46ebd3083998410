package detectors

import (
	"context"
	"math"
	"slices"
)

// Recipe is how the caller made a model, in the caller's own terms: the
// options as the user wrote them and the text of the training query. It
// is kept with the model (persisted with it) so that the caller can show,
// and run again, the statement that made it; Fit never reads it, for
// training or scoring. Together with the same data, a recipe whose
// options include the seed makes a bit-identical model (see Fit).
type Recipe struct {
	// Options are the options as given, sorted by name, including ones
	// only the caller knows (anomalydb: label).
	Options []RecipeOption
	// Query is the text of the training query.
	Query string
}

// RecipeOption is one option of a Recipe, as the user gave it.
type RecipeOption struct{ Name, Value string }

// clone returns a deep copy of r (nil for nil).
func (r *Recipe) clone() *Recipe {
	if r == nil {
		return nil
	}
	return &Recipe{Options: slices.Clone(r.Options), Query: r.Query}
}

// Preprocessing returns copies of the model's standardisation statistics,
// one per feature in Features order: a feature value v is standardised
// as (v - mean) / scale before the network sees it. scale is the
// population standard deviation of the training values, 1 for a constant
// column (see preprocess.go).
func (m *Model) Preprocessing() (mean, scale []float64) {
	return slices.Clone(m.scale.mean), slices.Clone(m.scale.std)
}

// Training losses. Fit records, for Model.TrainLoss and
// Model.ValidationLoss, the losses of the epoch whose weights the model
// keeps in the last run of the training template (the last ensemble
// member of a Driver, for instance; pretraining is not counted): the
// last epoch, or with early stopping (the validation option) the epoch
// with the lowest held-out loss. The training loss is the mean
// mini-batch loss of that epoch, each evaluated before its optimizer
// step, without weight decay; the validation loss is the mean objective
// over the held-out rows after that epoch.

// lossRecord receives the losses of the training template's runs (see
// above). A nil *lossRecord records nothing. The runs of one Fit are
// sequential, so it needs no lock.
type lossRecord struct {
	recorded         bool
	train, validated float64
}

// lossKey is the context key of a *lossRecord.
type lossKey struct{}

// withLossRecord returns ctx carrying r, for the training runs it starts.
func withLossRecord(ctx context.Context, r *lossRecord) context.Context {
	return context.WithValue(ctx, lossKey{}, r)
}

// lossRecordFrom returns ctx's loss record, or nil.
func lossRecordFrom(ctx context.Context) *lossRecord {
	r, _ := ctx.Value(lossKey{}).(*lossRecord)
	return r
}

// set records the kept epoch's training loss and validation loss (NaN
// without validation) of a run; a later run replaces them.
func (r *lossRecord) set(train, validation float64) {
	if r != nil {
		r.recorded, r.train, r.validated = true, train, validation
	}
}

// losses returns the recorded losses, NaN for none.
func (r *lossRecord) losses() (train, validation float64) {
	if r == nil || !r.recorded {
		return math.NaN(), math.NaN()
	}
	return r.train, r.validated
}
