package detectors

import (
	"context"
	"math"
	"time"
)

// The training log: one EpochLog per epoch of a training, kept with the
// model (Model.TrainingLog, persisted) and reported as it happens to the
// caller's TrainingData.OnEpoch, so that a long training can be watched.
//
// Epochs are numbered 1, 2, … over every run of the training template
// in one Fit, in the order they run: the stage that learns the embeddings
// of categorical = 'embedding' (input_embedding.go), pretraining
// (Pretrainer), then the training itself, whose Driver may run the template several times
// (RandNet once per ensemble member, the robust autoencoder once per
// outer iteration). PlannedEpochs is the number of epochs Fit runs at
// most: early stopping (the validation option) may end a run sooner.

// EpochLog is one epoch of a training.
type EpochLog struct {
	// Epoch is the epoch's number, from 1 (see above).
	Epoch int
	// TrainLoss is the mean mini-batch loss of the epoch, each evaluated
	// before its optimizer step, without weight decay.
	TrainLoss float64
	// ValidationLoss is the mean objective over the held-out rows after
	// the epoch, NaN without the validation option.
	ValidationLoss float64
	// ElapsedSeconds is the wall-clock time from the start of Fit to the
	// end of the epoch.
	ElapsedSeconds float64
	// LearningRate is the optimizer's step size during the epoch (Adam's
	// lr; constant in this version).
	LearningRate float64
}

// TrainingLog is the log of a model's training.
type TrainingLog struct {
	// PlannedEpochs is the number of epochs the training would run
	// without early stopping (PlannedEpochs).
	PlannedEpochs int
	// EpochsRun is the number of epochs it ran.
	EpochsRun int
	// Epochs are the epochs in order: all of them, or when more than
	// MaxLoggedEpochs ran the first MaxLoggedEpochs - 1 and the last.
	Epochs []EpochLog
}

// MaxLoggedEpochs bounds the epochs a training log keeps (OnEpoch is
// called for every epoch all the same). At 40 bytes
// an epoch, a log of this many takes 40 MB; only an ensemble of many
// members with many epochs each runs more.
const MaxLoggedEpochs = 1_000_000

// AppendEpoch appends e to the epochs of a log as TrainingLog keeps
// them: below MaxLoggedEpochs it appends, beyond it replaces the last.
func AppendEpoch(epochs []EpochLog, e EpochLog) []EpochLog {
	if len(epochs) < MaxLoggedEpochs {
		return append(epochs, e)
	}
	epochs[len(epochs)-1] = e
	return epochs
}

// PlannedEpochs returns the number of epochs Fit runs for algorithm with
// opts (the user's options, defaults filled in as Fit fills them) when
// no early stopping ends a run sooner: the pretraining epochs, if any,
// plus the training's. Its errors are ValidateOptions'.
func PlannedEpochs(algorithm string, opts map[string]string) (int, error) {
	a, _, o, err := resolve(algorithm, opts)
	if err != nil {
		return 0, err
	}
	return plannedEpochs(a, o), nil
}

// EpochPlanner is implemented by a Driver that runs the training
// template other than once for the epochs option: PlannedEpochs is the
// number of epochs it runs in all with options o, the TrainingLog's
// PlannedEpochs (before a Pretrainer's epochs are added).
type EpochPlanner interface {
	PlannedEpochs(o Options) int
}

func plannedEpochs(a Algorithm, o Options) int {
	n := o.Int("epochs")
	if p, ok := a.(EpochPlanner); ok {
		n = p.PlannedEpochs(o)
	}
	if p, ok := a.(Pretrainer); ok {
		n += max(p.PretrainEpochs(o), 0)
	}
	return n
}

// epochRecorder numbers and records the epochs of one Fit and reports
// each to its observer. The runs of one Fit are sequential, so it needs
// no lock. A nil *epochRecorder records nothing.
type epochRecorder struct {
	start   time.Time
	log     TrainingLog
	onEpoch func(EpochLog)
}

// epochRecorderKey is the context key of an *epochRecorder.
type epochRecorderKey struct{}

// withEpochRecorder returns ctx carrying r, for the training runs it
// starts.
func withEpochRecorder(ctx context.Context, r *epochRecorder) context.Context {
	return context.WithValue(ctx, epochRecorderKey{}, r)
}

// epochRecorderFrom returns ctx's recorder, or nil.
func epochRecorderFrom(ctx context.Context) *epochRecorder {
	r, _ := ctx.Value(epochRecorderKey{}).(*epochRecorder)
	return r
}

// endEpoch records an epoch that just ended with these losses (NaN
// validation without held-out rows) at learning rate lr.
func (r *epochRecorder) endEpoch(train, validation, lr float64) {
	if r == nil {
		return
	}
	r.log.EpochsRun++
	e := EpochLog{
		Epoch:          r.log.EpochsRun,
		TrainLoss:      train,
		ValidationLoss: validation,
		ElapsedSeconds: time.Since(r.start).Seconds(),
		LearningRate:   lr,
	}
	r.log.Epochs = AppendEpoch(r.log.Epochs, e)
	if r.onEpoch != nil {
		r.onEpoch(e)
	}
}

// validationOf is the held-out loss of the epoch that just ended, NaN
// without held-out rows.
func validationOf(h *holdout) float64 {
	if h == nil {
		return math.NaN()
	}
	return h.last
}
