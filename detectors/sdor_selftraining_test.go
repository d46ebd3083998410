package detectors

import (
	"cmp"
	"slices"
	"testing"
)

// This test of sdor (detectors/ranking) lives in the core: it watches the
// training template's runs through trainProbe, a hook of the core.

// TestSDORSelfTraining: every iteration trains on the pseudo-labelled
// rows only, the anomaly_share top-scored rows labelled 1 and the
// normal_share lowest-scored labelled 0; from the second iteration on,
// scored by the network. With the optimizer frozen the network after
// each run is the final model's (its initial one), so the rows each later
// run trained on can be checked against the model's own scores. The
// bugs it catches: pseudo-labels not redrawn from the network (kept from
// the initial detector), redrawn from its negated scores or with the two
// sets swapped, sets of the wrong size, unlabelled rows trained on.
func TestSDORSelfTraining(t *testing.T) {
	tb := synthetic(800, 4, 5)
	p := &trainProbe{freeze: true, keepData: true}
	m := fitProbed(t, "sdor", tb, opts("iterations", "3", "epochs", "3", "seed", "2", "hidden", "8"), nil, p)
	if len(p.data) != 3 {
		t.Fatalf("%d training runs, want 3", len(p.data))
	}
	// The model's scores of every training row, highest first.
	z := slices.Clone(tb.X)
	m.scale.transform(z)
	all := make([]float64, tb.Rows)
	m.scorer.ScoreRows(z, all, make([]float64, m.scorer.ScratchLen()))
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
	na, nn := 80, 160 // sdor's default shares, 10 % and 20 %, of the 800 rows
	for r, run := range p.data {
		d := tb.Cols
		if len(run.labels) != na+nn || len(run.x) != (na+nn)*d {
			t.Fatalf("run %d: %d rows, %d labels; want %d", r, len(run.x)/d, len(run.labels), na+nn)
		}
		scores := make([]float64, len(run.labels))
		m.scorer.ScoreRows(run.x, scores, make([]float64, m.scorer.ScratchLen()))
		var ones, zeros int
		matches := true
		for i, y := range run.labels {
			switch y {
			case 1:
				ones++
				matches = matches && scores[i] >= sorted[na-1]
			case 0:
				zeros++
				matches = matches && scores[i] <= sorted[tb.Rows-nn]
			default:
				t.Fatalf("run %d: label %v", r, y)
			}
		}
		if ones != na || zeros != nn {
			t.Fatalf("run %d: %d rows labelled 1 and %d labelled 0, want %d and %d", r, ones, zeros, na, nn)
		}
		// The first run's labels are LeSiNN's, which the random network
		// does not reproduce; every later run's are the network's.
		if want := r > 0; matches != want {
			t.Errorf("run %d: pseudo-labels are the network's ranking: %v, want %v", r, matches, want)
		}
	}
}
