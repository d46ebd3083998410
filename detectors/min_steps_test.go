package detectors

import (
	"slices"
	"testing"
)

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

// TestMinStepsReshufflesEachPass trains the toy game (12 rows,
// mini-batches of 4) for one epoch with a floor of 10 mini-batches: four
// passes over the rows, the last cut short. Each full pass must hold
// every row once, and each pass must start from a new order. Bugs it
// catches: the extra passes reusing the epoch's first order (shuffling
// only at an epoch's start), indexing the permutation by the epoch's
// step instead of the pass's (past the rows), or drawing a pass's
// mini-batches from more than one order.
func TestMinStepsReshufflesEachPass(t *testing.T) {
	probe := trainProbe{keepRows: true}
	if err := trainToyEpochs(t, flooredToy{newToyGame(1, 1), 10}, toyState(), &probe, 1); err != nil {
		t.Fatal(err)
	}
	if len(probe.rows) != 10 {
		t.Fatalf("%d mini-batches, want 10", len(probe.rows))
	}
	var passes [][]int
	for s, idx := range probe.rows {
		if s%3 == 0 {
			passes = append(passes, nil)
		}
		passes[len(passes)-1] = append(passes[len(passes)-1], idx...)
	}
	for i, p := range passes[:3] {
		sorted := slices.Sorted(slices.Values(p))
		for r, v := range sorted {
			if v != r {
				t.Fatalf("pass %d holds rows %v, want each of 0..11 once", i, sorted)
			}
		}
	}
	for i := 1; i < len(passes); i++ {
		if slices.Equal(passes[i], passes[i-1][:len(passes[i])]) {
			t.Errorf("pass %d repeats the order of pass %d: %v", i, i-1, passes[i])
		}
	}
}
