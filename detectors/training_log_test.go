package detectors

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// trainingLogOpts are short trainings that still run the template more
// than once where an algorithm can: pretraining for deep_sad, deep_svdd
// and ocnn, two members for randnet, two outer iterations for
// robust_autoencoder (3 epochs shared out as 2 + 2).
func trainingLogOpts(alg string) map[string]string {
	o := map[string]string{"epochs": "2", "seed": "3", "hidden": "8,4", "lr": "0.003"}
	switch alg {
	case "ocnn":
		o["hidden"] = "16"
		o["pretrain_epochs"] = "2"
	case "deep_sad", "deep_svdd":
		o["pretrain_epochs"] = "2"
	case "randnet":
		o["ensemble"] = "2"
	case "robust_autoencoder":
		o["outer_iterations"] = "2"
		o["epochs"] = "3"
	case "ape": // no hidden layers; numeric columns bucketed
		delete(o, "hidden")
		o["bins"] = "4"
	}
	return o
}

// fitReporting trains alg on tb (with weak labels where it uses them)
// and returns the model with the epochs OnEpoch reported, in order.
func fitReporting(t *testing.T, alg string, tb *table, o map[string]string) (*Model, []EpochLog) {
	t.Helper()
	var labels []float64
	if use, err := UsesLabels(alg); err != nil {
		t.Fatal(err)
	} else if use != LabelsNone {
		labels = weakLabels(tb)
	}
	label := -1
	if labels != nil {
		label = tb.Cols
	}
	bs := tb.LabelledBatches(memory.DefaultAllocator, 1000, labels)
	defer releaseAll(bs)
	var seen []EpochLog
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: bs, Features: tb.Features(), Label: label,
		OnEpoch: func(e EpochLog) { seen = append(seen, e) }})
	if err != nil {
		t.Fatalf("%s: Fit: %v", alg, err)
	}
	return m, seen
}

// sameEpochs reports whether a and b hold the same epochs, bit for bit.
func sameEpochs(a, b []EpochLog) bool {
	if len(a) != len(b) {
		return false
	}
	bits := math.Float64bits
	for i := range a {
		x, y := a[i], b[i]
		if x.Epoch != y.Epoch || bits(x.TrainLoss) != bits(y.TrainLoss) || bits(x.ValidationLoss) != bits(y.ValidationLoss) ||
			bits(x.ElapsedSeconds) != bits(y.ElapsedSeconds) || bits(x.LearningRate) != bits(y.LearningRate) {
			return false
		}
	}
	return true
}

// TestTrainingLog: for every algorithm, Fit reports every epoch of every
// run of the training template (pretraining, ensemble members, outer
// iterations) to OnEpoch as it ends, numbered 1, 2, … across runs, as
// many as PlannedEpochs says; the model keeps the same log, and it
// survives a save and load bit for bit. Catches an epoch not reported
// (pretraining or a later member forgotten), numbering restarted per
// run, a PlannedEpochs that does not count a Driver's runs, a log that
// is not persisted, and elapsed times or learning rates not filled in.
func TestTrainingLog(t *testing.T) {
	tb := synthetic(400, 4, 1)
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			if IsSequence(alg) {
				t.Skip("a sequence detector: detectors/predictability tests it")
			}
			o := trainingLogOpts(alg)
			planned, err := PlannedEpochs(alg, o)
			if err != nil {
				t.Fatal(err)
			}
			m, seen := fitReporting(t, alg, tb, o)
			l := m.TrainingLog
			if l == nil || l.PlannedEpochs != planned || l.EpochsRun != planned || len(seen) != planned {
				t.Fatalf("log %+v, %d epochs reported; want %d planned, run and reported", l, len(seen), planned)
			}
			if !sameEpochs(seen, l.Epochs) {
				t.Fatalf("reported %v, kept %v", seen, l.Epochs)
			}
			lr, _ := strconv.ParseFloat(m.Options["lr"], 64)
			for i, e := range seen {
				if e.Epoch != i+1 || e.LearningRate != lr || !math.IsNaN(e.ValidationLoss) ||
					math.IsNaN(e.TrainLoss) || math.IsInf(e.TrainLoss, 0) ||
					e.ElapsedSeconds <= 0 || e.ElapsedSeconds > m.TrainSeconds || i > 0 && e.ElapsedSeconds < seen[i-1].ElapsedSeconds {
					t.Fatalf("epoch %d of %v", i+1, seen)
				}
			}
			// The last run's last epoch is the one kept without validation.
			if last := seen[len(seen)-1]; last.TrainLoss != m.TrainLoss {
				t.Errorf("last epoch's loss %v, model's %v", last.TrainLoss, m.TrainLoss)
			}
			blob, err := m.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnmarshalModel(blob)
			if err != nil {
				t.Fatal(err)
			}
			if b := back.TrainingLog; b == nil || b.PlannedEpochs != planned || b.EpochsRun != planned || !sameEpochs(b.Epochs, l.Epochs) {
				t.Fatalf("after a round trip the log is %+v, want %+v", b, l)
			}
		})
	}
}

// TestPlannedEpochs: pretraining epochs add to the training's, a
// RandNet member trains for epochs, the robust autoencoder shares them
// out over its outer iterations rounded up; bad options are
// ValidateOptions' errors. Catches a Driver's runs or pretraining left
// out of the total that SHOW DETECTORS shows.
func TestPlannedEpochs(t *testing.T) {
	for _, c := range []struct {
		alg  string
		opts map[string]string
		want int
	}{
		{"autoencoder", opts("epochs", "7"), 7},
		{"deep_svdd", opts("epochs", "7", "pretrain_epochs", "3"), 10},
		{"deep_svdd", opts("epochs", "7"), 7},
		{"deep_sad", opts("epochs", "7", "pretrain_epochs", "4"), 11},
		{"randnet", opts("epochs", "7", "ensemble", "3"), 21},
		{"robust_autoencoder", opts("epochs", "7", "outer_iterations", "3"), 9},
		{"robust_autoencoder", opts("epochs", "6", "outer_iterations", "3"), 6},
	} {
		if got, err := PlannedEpochs(c.alg, c.opts); err != nil || got != c.want {
			t.Errorf("PlannedEpochs(%s, %v) = %d, %v; want %d", c.alg, c.opts, got, err, c.want)
		}
	}
	if _, err := PlannedEpochs("autoencoder", opts("epochs", "0")); err == nil {
		t.Error("PlannedEpochs with epochs = 0: no error")
	}
}

// TestTrainingLogValidation: with early stopping every epoch has its
// held-out loss, and the model's losses are those of the logged epoch
// with the lowest one (the state kept). Catches validation losses not
// logged, or logged one epoch late.
func TestTrainingLogValidation(t *testing.T) {
	tb := synthetic(400, 4, 2)
	m, seen := fitReporting(t, "autoencoder", tb, opts("epochs", "12", "validation", "0.25", "patience", "2", "hidden", "8,2", "seed", "1"))
	if len(seen) == 0 || len(seen) != m.TrainingLog.EpochsRun || m.TrainingLog.PlannedEpochs != 12 {
		t.Fatalf("log %+v, reported %d", m.TrainingLog, len(seen))
	}
	best := 0
	for i, e := range seen {
		if math.IsNaN(e.ValidationLoss) || math.IsInf(e.ValidationLoss, 0) {
			t.Fatalf("epoch %d has held-out loss %v", i+1, e.ValidationLoss)
		}
		if e.ValidationLoss < seen[best].ValidationLoss {
			best = i
		}
	}
	if m.ValidationLoss != seen[best].ValidationLoss || m.TrainLoss != seen[best].TrainLoss {
		t.Errorf("model's losses %v, %v; the best logged epoch %+v", m.TrainLoss, m.ValidationLoss, seen[best])
	}
}

// TestAppendEpochBounded: a log keeps at most MaxLoggedEpochs epochs,
// and always the last. Catches an unbounded log (a million-epoch
// ensemble would hold gigabytes) and one that drops the final epoch.
func TestAppendEpochBounded(t *testing.T) {
	full := make([]EpochLog, MaxLoggedEpochs-1, MaxLoggedEpochs)
	full = AppendEpoch(full, EpochLog{Epoch: MaxLoggedEpochs})
	full = AppendEpoch(full, EpochLog{Epoch: MaxLoggedEpochs + 1})
	full = AppendEpoch(full, EpochLog{Epoch: MaxLoggedEpochs + 2})
	if len(full) != MaxLoggedEpochs || full[len(full)-1].Epoch != MaxLoggedEpochs+2 {
		t.Fatalf("%d epochs, the last %+v", len(full), full[len(full)-1])
	}
}
