package detectors

import (
	"cmp"
	"slices"
	"testing"
)

func TestSDOROptions(t *testing.T) {
	checkOptionCases(t, "sdor", []optionCase{
		{opts("iterations", "1", "anomaly_share", "0.05", "normal_share", "0.5"), nil},
		{opts("anomaly_share", "0.1", "normal_share", "0.9"), nil}, // "the rest"
		{opts("anomaly_target", "8", "normal_target", "-1"), nil},
		{opts("iterations", "0"), ErrBadOption},
		{opts("anomaly_share", "0"), ErrBadOption},
		{opts("anomaly_share", "1"), ErrBadOption},
		{opts("normal_share", "-0.2"), ErrBadOption},
		{opts("anomaly_share", "0.4", "normal_share", "0.7"), ErrBadOption}, // overlapping sets
		{opts("anomaly_target", "0"), ErrBadOption},                         // equal to normal_target
		{opts("anomaly_target", "1", "normal_target", "2"), ErrBadOption},   // ranks anomalies last
		{opts("anomaly_target", "inf"), ErrBadOption},
		{opts("anomaly_target", "1e300", "normal_target", "-1e300"), ErrBadOption}, // c1 − c2 overflows
		{opts("steps", "0"), ErrBadOption},
		{opts("ensemble_size", "0"), ErrBadOption},
		{opts("margin", "1"), ErrUnknownOption}, // repen's
		{opts("eta", "1"), ErrUnknownOption},    // deep_sad's
	})
	if u, err := UsesLabels("sdor"); err != nil || u != LabelsNone {
		t.Errorf("UsesLabels(sdor) = %v, %v", u, err)
	}
}

// TestSDORPseudoCounts: the shares of the rows, rounded, never empty (but
// for one row), never overlapping. The bugs it catches: truncating
// instead of rounding, sets that overlap when the shares round up
// together, an empty pseudo-anomaly set on small data.
func TestSDORPseudoCounts(t *testing.T) {
	for _, c := range []struct {
		n        int
		a, nrm   float64
		wantA, w int
	}{
		{1000, 0.1, 0.2, 100, 200},
		{2640, 0.1, 0.2, 264, 528},
		{15, 0.1, 0.2, 2, 3}, // 1.5 and 3 round to 2 and 3
		{4, 0.1, 0.2, 1, 1},  // 0.4 and 0.8: at least one each
		{3, 0.5, 0.5, 2, 1},  // 1.5 and 1.5 round up together: at most n
		{10, 0.1, 0.9, 1, 9}, // the rest
		{2, 0.1, 0.2, 1, 1},  // two rows: one of each
		{1, 0.1, 0.2, 1, 0},  // one row: an anomaly only
		{100, 0.01, 0.01, 1, 1},
	} {
		a, n := pseudoCounts(c.n, c.a, c.nrm)
		if a != c.wantA || n != c.w {
			t.Errorf("pseudoCounts(%d, %v, %v) = %d, %d; want %d, %d", c.n, c.a, c.nrm, a, n, c.wantA, c.w)
		}
	}
}

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
	z := slices.Clone(tb.x)
	m.scale.transform(z)
	all := make([]float64, tb.rows)
	m.scorer.ScoreRows(z, all, make([]float64, m.scorer.ScratchLen()))
	sorted := slices.Clone(all)
	slices.SortFunc(sorted, func(a, b float64) int { return cmp.Compare(b, a) })
	na, nn := pseudoCounts(tb.rows, 0.1, 0.2) // 80, 160
	for r, run := range p.data {
		d := tb.cols
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
				matches = matches && scores[i] <= sorted[tb.rows-nn]
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

// TestAccuracySDOR: defaults on cardio (held-out 30 %). An untrained or
// inverted network ranks cardio's anomalies at chance or worse (0.25-0.5,
// TestTrainingMatters).
func TestAccuracySDOR(t *testing.T) {
	auc := splitAUC(t, "sdor", readTable(t, "cardio"), nil, false)
	if auc < 0.80 { // measured 0.8756
		t.Errorf("cardio: AUC %.4f < 0.80", auc)
	}
}
