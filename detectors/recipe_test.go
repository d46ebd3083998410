package detectors

import (
	"context"
	"math"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRecipeAndLossesPersist: a model keeps a copy of its recipe and its
// recorded losses through MarshalBinary / UnmarshalModel, bit for bit.
// Catches a field left out of the file (the recipe or losses gone after
// a restart), and a recipe shared with the caller's TrainingData.
func TestRecipeAndLossesPersist(t *testing.T) {
	data := synthetic(200, 3, 4)
	bs := data.LabelledBatches(memory.DefaultAllocator, 100, nil)
	defer releaseAll(bs)
	recipe := &Recipe{Options: []RecipeOption{{"epochs", "2"}, {"label", "'l'"}}, Query: "SELECT f0, f1, f2 FROM t"}
	m, err := Fit(context.Background(), "autoencoder", opts("epochs", "2", "hidden", "4", "validation", "0.2"),
		TrainingData{Batches: bs, Features: data.Features(), Label: -1, Recipe: recipe})
	if err != nil {
		t.Fatal(err)
	}
	recipe.Options[0].Value, recipe.Query = "99", "changed" // the model has its own copy
	want := &Recipe{Options: []RecipeOption{{"epochs", "2"}, {"label", "'l'"}}, Query: "SELECT f0, f1, f2 FROM t"}
	if !reflect.DeepEqual(m.Recipe, want) {
		t.Fatalf("Recipe = %+v, want %+v", m.Recipe, want)
	}
	if math.IsNaN(m.TrainLoss) || math.IsNaN(m.ValidationLoss) || m.FormatVersion != formatVersion {
		t.Fatalf("losses %v, %v, format version %d: want recorded losses and version %d", m.TrainLoss, m.ValidationLoss, m.FormatVersion, formatVersion)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Recipe, want) {
		t.Fatalf("loaded Recipe = %+v, want %+v", back.Recipe, want)
	}
	if math.Float64bits(back.TrainLoss) != math.Float64bits(m.TrainLoss) || math.Float64bits(back.ValidationLoss) != math.Float64bits(m.ValidationLoss) {
		t.Fatalf("loaded losses %v, %v, want %v, %v", back.TrainLoss, back.ValidationLoss, m.TrainLoss, m.ValidationLoss)
	}
	mean, scale := back.Preprocessing()
	if len(mean) != 3 || len(scale) != 3 || scale[2] <= scale[0] {
		// synthetic's column j has spread about j+1.
		t.Fatalf("Preprocessing() = %v, %v", mean, scale)
	}
	mean[0] = 1e300 // a copy: the model scores as before
	if s1, s2 := rowScores(t, back, data), rowScores(t, m, data); !reflect.DeepEqual(s1, s2) {
		t.Fatal("changing Preprocessing's result changed the model")
	}
}

// TestOlderModelFileLoads: a file written before recipes, losses and
// training logs were kept (the same format version, without those
// fields) still loads, with no recipe, NaN losses and no log, and scores
// as before. Catches a format
// version bump or a required new field that would make every saved
// detector unloadable after an upgrade.
func TestOlderModelFileLoads(t *testing.T) {
	for _, f := range fuzzModelFiles(t) {
		if f.Recipe != nil || f.Losses == nil || f.Log == nil {
			t.Fatalf("%s: a new file has recipe %v, losses %v, log %v", f.Algorithm, f.Recipe, f.Losses, f.Log)
		}
		f.Recipe, f.Losses, f.Log = nil, nil, nil
		m, err := UnmarshalModel(encodeModelFile(t, &f))
		if err != nil {
			t.Fatalf("%s: %v", f.Algorithm, err)
		}
		if m.Recipe != nil || !math.IsNaN(m.TrainLoss) || !math.IsNaN(m.ValidationLoss) || m.TrainingLog != nil {
			t.Fatalf("%s: older file loads with recipe %v, losses %v, %v, log %v", f.Algorithm, m.Recipe, m.TrainLoss, m.ValidationLoss, m.TrainingLog)
		}
	}
}

// TestRecordedLosses: Fit records the last training run's kept epoch:
// without validation the last epoch's mean mini-batch loss (not the
// pretraining run's) and no validation loss; with early stopping the
// loss of the epoch whose state is restored, and its held-out loss.
// Catches losses not recorded (NaN), the first run's (pretraining's)
// loss kept over the last run's, the last epoch recorded when an earlier
// one is kept, and a validation loss without validation.
func TestRecordedLosses(t *testing.T) {
	data := synthetic(300, 3, 2)
	bs := data.LabelledBatches(memory.DefaultAllocator, 300, nil)
	defer releaseAll(bs)
	probe := &trainProbe{}
	m, err := Fit(withTrainProbe(context.Background(), probe), "deep_svdd", opts("epochs", "3", "hidden", "4", "pretrain_epochs", "2"),
		TrainingData{Batches: bs, Features: data.Features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(probe.runs) != 2 || len(probe.runs[0]) != 2 || len(probe.runs[1]) != 3 {
		t.Fatalf("probe saw runs %v, want pretraining (2 epochs) then training (3)", probe.runs)
	}
	if m.TrainLoss != probe.runs[1][2] || !math.IsNaN(m.ValidationLoss) {
		t.Fatalf("losses %v, %v; want the last epoch's %v and NaN (runs %v)", m.TrainLoss, m.ValidationLoss, probe.runs[1][2], probe.runs)
	}

	// drifting's held-out loss is lowest after epoch 1 (validation_test.go).
	var epochs []int
	var c1 []float64
	alg := drifting{epochs: &epochs, c1: &c1}
	o, err := normalizeOptions("test", alg, opts("epochs", "20", "validation", "0.2", "patience", "3", "hidden", "8,4"))
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float64(nil), data.X...)
	fitScaler(x, data.Rows, data.Cols).transform(x)
	rng := newRand(0)
	st, err := alg.Init(data.Cols, o, rng)
	if err != nil {
		t.Fatal(err)
	}
	probe, rec := &trainProbe{}, &lossRecord{}
	ctx := withLossRecord(withTrainProbe(context.Background(), probe), rec)
	if err := train(ctx, alg, st, x, data.Rows, data.Cols, nil, o, rng); err != nil {
		t.Fatal(err)
	}
	trainLoss, valLoss := rec.losses()
	if len(probe.runs[0]) != 4 || trainLoss != probe.runs[0][0] || math.IsNaN(valLoss) || math.IsInf(valLoss, 0) {
		t.Fatalf("losses %v, %v; want epoch 1's %v of %v and a finite held-out loss", trainLoss, valLoss, probe.runs[0][0], probe.runs[0])
	}
}
