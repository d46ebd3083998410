package e2eoneclass

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
)

func TestFenceGANOptions(t *testing.T) {
	CheckOptionCases(t, "fence_gan", []OptionCase{
		{Opts: Opts("latent", "4", "hidden", "32", "alpha", "0.1", "beta", "0", "gamma", "2"), Want: nil},
		{Opts: Opts("latent", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("alpha", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("alpha", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("beta", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "nan"), Want: detectors.ErrBadOption},
		{Opts: Opts("w_con", "1"), Want: detectors.ErrUnknownOption},
		{Opts: Opts("nu", "0.1"), Want: detectors.ErrUnknownOption},
	})
}

// TestFenceGANAccuracy: defaults on held-out thyroid rows (seeds 0-2).
// The floor catches a discriminator trained the wrong way round or a
// score of the wrong sign (both give AUC-ROC far below 0.5 here), and
// defaults that let the generator settle inside the data.
func TestFenceGANAccuracy(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	sum := 0.0
	for _, seed := range []string{"0", "1", "2"} {
		sum += SplitAUC(t, "fence_gan", tb, Opts("seed", seed), false)
	}
	if mean := sum / 3; mean < 0.9 {
		t.Errorf("thyroid: mean AUC-ROC %.4f over seeds 0-2 < %.2f", mean, 0.9)
	}
}

// TestFenceGANModel: the trained model keeps the discriminator only.
func TestFenceGANModel(t *testing.T) {
	m := FitSynthetic(t, "fence_gan", Synthetic(500, 4, 2), Opts("epochs", "1"))
	for _, tn := range m.Weights().Tensors {
		if !strings.HasPrefix(tn.Name, fenceD) {
			t.Errorf("state keeps %s; want the discriminator's tensors only", tn.Name)
		}
	}
	if !slices.ContainsFunc(m.Weights().Tensors, func(tn *detectors.Tensor) bool { return strings.HasPrefix(tn.Name, fenceD) }) {
		t.Error("state has no discriminator tensor")
	}
}

// TestFenceGANCollapse: a learning rate 10000 times the default kills the
// generator's ReLUs within an epoch, and it draws every row alike
// (measured: variance exactly 0). Fit
// fails with ErrCollapsed and returns no model. Bugs caught: the check
// left out, or comparing the wrong way (then every default fit fails).
func TestFenceGANCollapse(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	mem := CheckedMem(t)
	bs := tb.NullBatches(mem, 5000)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), "fence_gan", Opts("lr", "10", "epochs", "1"), detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if !errors.Is(err, detectors.ErrCollapsed) || m != nil || !strings.Contains(err.Error(), "fence_gan: the generator draws every row alike") {
		t.Fatalf("Fit with lr 10: model %t, error %v; want ErrCollapsed and no model", m != nil, err)
	}
}
