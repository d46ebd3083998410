package detectors

import "testing"

// flooredToy is the toy game of adversary_test.go with a MinStepper
// floor of min mini-batches.
type flooredToy struct {
	*toyGame
	min int
}

func (f flooredToy) MinSteps(Options) int { return f.min }

// TestMinStepsRaisesMiniBatchesPerEpoch trains the toy game (12 rows,
// mini-batches of 4: 3 a pass, 3 epochs) with floors below, at and
// above its 9 mini-batches: a floor above them makes every epoch take
// ⌈floor/epochs⌉ mini-batches (20 → 7 an epoch, 21 in all), passing over
// the rows again; a floor at or below changes nothing, and the epochs
// stay the epochs option's. Bugs it catches: the floor ignored, divided
// without rounding up, applied to the whole run instead of each epoch,
// or raising the epochs instead of their mini-batches. (That a floor
// the rows reach changes nothing, bit for bit, TestScoreHashes checks on
// every detector without a floor.)
func TestMinStepsRaisesMiniBatchesPerEpoch(t *testing.T) {
	for _, c := range []struct{ min, batches int }{{0, 9}, {9, 9}, {5, 9}, {20, 21}, {30, 30}} {
		var probe trainProbe
		if err := trainToyEpochs(t, flooredToy{newToyGame(1, 1), c.min}, toyState(), &probe, 3); err != nil {
			t.Fatal(err)
		}
		if len(probe.batches) != 1 || probe.batches[0] != c.batches {
			t.Errorf("floor %d: %v mini-batches, want %d", c.min, probe.batches, c.batches)
		}
		if len(probe.runs) != 1 || len(probe.runs[0]) != 3 {
			t.Errorf("floor %d: epochs %v, want 3", c.min, probe.runs)
		}
	}
}
