package e2eoneclass

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
)

func TestALOCCOptions(t *testing.T) {
	CheckOptionCases(t, "alocc", []OptionCase{
		{Opts: Opts("sigma", "0", "lambda", "0", "beta1", "0", "target", "CLEAN", "score", "d_x", "hidden", "8"), Want: nil},
		{Opts: Opts("sigma", "-0.1"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda", "nan"), Want: detectors.ErrBadOption},
		{Opts: Opts("beta1", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("target", "both"), Want: detectors.ErrBadOption},
		{Opts: Opts("score", "d_g_x"), Want: detectors.ErrBadOption},
		{Opts: Opts("gamma", "0.5"), Want: detectors.ErrUnknownOption},
		{Opts: Opts("latent", "8"), Want: detectors.ErrUnknownOption},
	})
}

// TestALOCCAccuracy: defaults on held-out thyroid rows (seeds 0-2;
// measured mean AUC-ROC 0.660). The floor catches a score of the wrong
// sign (0.340) and a refiner reconstructing the clean row, the paper's
// equation 4, under which the discriminator learns that rows far from
// the centre are real and ranks thyroid's anomalies as the most normal
// rows (option target 'clean': 0.171; see the type's comment).
func TestALOCCAccuracy(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	sum := 0.0
	for _, seed := range []string{"0", "1", "2"} {
		sum += SplitAUC(t, "alocc", tb, Opts("seed", seed), false)
	}
	if mean := sum / 3; mean < aloccThyroidFloor {
		t.Errorf("thyroid: mean AUC-ROC %.4f over seeds 0-2 < %.2f", mean, aloccThyroidFloor)
	}
}

// aloccThyroidFloor is TestALOCCAccuracy's floor.
const aloccThyroidFloor = 0.55

// TestALOCCModel: with the default score D(R(x)) the model keeps R and D,
// with 'd_x' D only; and the two score differently. Bugs caught: the
// score option ignored, R dropped when the score needs it (then Scorer
// fails on the restored model), or kept when it does not.
func TestALOCCModel(t *testing.T) {
	tb := Synthetic(500, 4, 2)
	refined := FitSynthetic(t, "alocc", tb, Opts("epochs", "1"))
	direct := FitSynthetic(t, "alocc", tb, Opts("epochs", "1", "score", "d_x"))
	has := func(m *detectors.Model, prefix string) bool {
		for _, tn := range m.Weights().Tensors {
			if strings.HasPrefix(tn.Name, prefix) {
				return true
			}
		}
		return false
	}
	if !has(refined, aloccR) || !has(refined, aloccD) {
		t.Error("score d_r_x: the model must keep R and D")
	}
	if has(direct, aloccR) || !has(direct, aloccD) {
		t.Error("score d_x: the model must keep D only")
	}
	if i, same := SameBits(RowScores(t, refined, tb), RowScores(t, direct, tb)); same {
		t.Errorf("scores d_r_x and d_x agree on every row (%d); the score option is ignored", i)
	}
}

// TestALOCCCollapse: a learning rate 5000 times the default kills R's
// ReLUs within an epoch, and it reconstructs every row alike. Fit fails
// with ErrCollapsed and returns no model. Bugs caught: the check left
// out, or comparing the wrong way (then every default fit fails).
func TestALOCCCollapse(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	mem := CheckedMem(t)
	bs := tb.NullBatches(mem, 5000)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), "alocc", Opts("lr", "10", "epochs", "1"), detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if !errors.Is(err, detectors.ErrCollapsed) || m != nil || !strings.Contains(err.Error(), "alocc: the refiner reconstructs every training row alike") {
		t.Fatalf("Fit with lr 10: model %t, error %v; want ErrCollapsed and no model", m != nil, err)
	}
}
