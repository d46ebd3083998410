package detectors

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAlgorithms: the detectors of the README are registered, in sorted
// order; the conformance tests cover exactly these.
func TestAlgorithms(t *testing.T) {
	want := []string{"ae_1svm", "ae_knn", "alad", "alocc", "anogan", "ape", "autoencoder", "dagmm",
		"deep_sad", "deep_svdd", "deeplog", "devnet", "fast_anogan", "fence_gan", "ganomaly", "goad",
		"gru_forecast", "lstm_forecast", "mil_ranking", "neutral", "ocan", "ocnn", "prenet", "randnet", "rdp", "repen",
		"robust_autoencoder", "sdor", "vae"}
	if names := Algorithms(); !slices.Equal(names, want) {
		t.Fatalf("Algorithms() = %v, want %v", names, want)
	}
}

func TestRegisterPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"duplicate":  func() { Register("deep_svdd", deepSVDD{}) },
		"nil":        func() { Register("new_algorithm", nil) },
		"empty name": func() { Register("", deepSVDD{}) },
		"upper case": func() { Register("Deep", deepSVDD{}) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Register did not panic", name)
				}
			}()
			f()
		}()
	}
	if got := Algorithms(); slices.Contains(got, "new_algorithm") || slices.Contains(got, "Deep") {
		t.Fatalf("failed registrations left entries: %v", got)
	}
}

func TestOptionDefaults(t *testing.T) {
	def, err := OptionDefaults("deep_svdd")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"epochs": "50", "batch_size": "200", "lr": "0.0001", "weight_decay": "5e-07",
		"seed": "0", "contamination": "0.1", "hidden": "64,32",
		"validation": "0", "patience": "5", "objective": "one-class", "nu": "0.1", "pretrain_epochs": "0",
		"max_train_rows": "1000000", "max_categories": "64", "missing_indicator": "false", "time_cycles": "false",
		"categorical": "onehot", "embedding_dim": "0", "embedding_epochs": "10",
	}
	if fmt.Sprint(def) != fmt.Sprint(want) {
		t.Fatalf("defaults %v, want %v", def, want)
	}
	// Fit reports normalized options with defaults filled in.
	mem := checkedMem(t)
	tb := synthetic(64, 2, 3)
	bs := tb.NullBatches(mem, 64)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "Deep_SVDD", opts("Epochs", "02", "LR", "1E-3", "hidden", " 8 , 4 "), TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	want["epochs"], want["lr"], want["hidden"] = "2", "0.001", "8,4"
	if m.Algorithm != "deep_svdd" || fmt.Sprint(m.Options) != fmt.Sprint(want) {
		t.Fatalf("model %s options %v, want %v", m.Algorithm, m.Options, want)
	}
}

// TestSmallBatches covers mini-batches too small to shard, a batch_size
// larger than the data, and a single training row.
func TestSmallBatches(t *testing.T) {
	mem := checkedMem(t)
	for _, n := range []int{1, 2, 63, 64, 65, 129} {
		tb := synthetic(n, 2, uint64(n))
		bs := tb.NullBatches(mem, 50)
		for _, batch := range []string{"1", "7", "64", "10000"} {
			m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "2", "batch_size", batch, "hidden", "4,2"),
				TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
			if err != nil {
				t.Fatalf("n=%d batch_size=%s: %v", n, batch, err)
			}
			if m.TrainingRows != n {
				t.Fatalf("TrainingRows %d, want %d", m.TrainingRows, n)
			}
		}
		releaseAll(bs)
	}
}

func TestNewRandIsSeeded(t *testing.T) {
	a, b := newRand(5), newRand(5)
	for i := 0; i < 10; i++ {
		if a.Uint64() != b.Uint64() {
			t.Fatal("same seed, different streams")
		}
	}
	if newRand(5).Uint64() == newRand(6).Uint64() {
		t.Fatal("different seeds, same stream")
	}
	var _ *rand.Rand = newRand(0)
}

// TestSeedOptionIsUsed: for every algorithm, two fits that differ only
// in the seed option give different scores. It catches Fit seeding its
// generator with a constant (rng := newRand(0) in model.go), which
// every same-seed reproducibility check passes.
func TestSeedOptionIsUsed(t *testing.T) {
	tb := synthetic(300, 3, 8)
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			if IsSequence(alg) {
				t.Skip("a sequence detector: detectors/predictability tests it")
			}
			var scores [2][]float64
			for i, seed := range []string{"1", "2"} {
				o := conformanceOptsFor(alg)
				o["epochs"], o["seed"] = "1", seed
				scores[i] = rowScores(t, fitSynthetic(t, alg, tb, o), tb)
			}
			if _, same := sameBits(scores[0], scores[1]); same {
				t.Fatal("seeds 1 and 2 give the same scores")
			}
		})
	}
}
