package detectors

import (
	"math"
	"testing"
)

func TestAUC(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		labels, scores []float64
		want           float64
	}{
		{[]float64{0, 0, 1, 1}, []float64{1, 2, 3, 4}, 1},
		{[]float64{1, 1, 0, 0}, []float64{1, 2, 3, 4}, 0},
		{[]float64{0, 1}, []float64{5, 5}, 0.5},
		{[]float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 0.75}, // scikit-learn's example
		{[]float64{0, 1, nan, 0, 1}, []float64{1, 2, 100, 3, 4}, 0.75},
		{[]float64{0, 1, 0, 1}, []float64{1, 1, 2, 2}, 0.5},
	} {
		got, err := AUC(tc.labels, tc.scores)
		if err != nil || math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("AUC(%v, %v) = %v, %v; want %v", tc.labels, tc.scores, got, err, tc.want)
		}
	}
	for _, bad := range [][2][]float64{
		{{0, 1}, {1}},
		{{0, 0}, {1, 2}},
		{{1, 2}, {1, 2}},
		{{0, 1}, {1, nan}},
	} {
		if _, err := AUC(bad[0], bad[1]); err == nil {
			t.Errorf("AUC(%v, %v): no error", bad[0], bad[1])
		}
	}
}

func TestStratifiedSplit(t *testing.T) {
	labels := make([]float64, 1000)
	for i := range labels {
		if i%10 == 0 {
			labels[i] = 1
		}
	}
	train, test := StratifiedSplit(labels, 0.7, 1)
	if len(train) != 700 || len(test) != 300 {
		t.Fatalf("sizes %d, %d", len(train), len(test))
	}
	pos := 0
	seen := map[int]bool{}
	for _, i := range train {
		pos += int(labels[i])
		seen[i] = true
	}
	for _, i := range test {
		if seen[i] {
			t.Fatalf("row %d in both sets", i)
		}
	}
	if pos != 70 {
		t.Fatalf("%d anomalies in training set, want 70", pos)
	}
	again, _ := StratifiedSplit(labels, 0.7, 1)
	for i := range again {
		if again[i] != train[i] {
			t.Fatal("same seed, different split")
		}
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{4, 1, 3, 2, 5}
	for q, want := range map[float64]float64{0: 1, 1: 5, 0.5: 3, 0.9: 4.6, 0.125: 1.5} {
		if got := Quantile(v, q); math.Abs(got-want) > 1e-12 {
			t.Errorf("Quantile(%v) = %v, want %v", q, got, want)
		}
	}
	if v[0] != 4 {
		t.Fatal("quantile modified its input")
	}
	if !math.IsNaN(Quantile(nil, 0.5)) {
		t.Fatal("quantile of nothing")
	}
}

// TestThresholdContamination: the threshold is the (1 − contamination)
// quantile of the training scores, so about a contamination fraction of
// the training rows score above it, for values other than the default.
func TestThresholdContamination(t *testing.T) {
	tb := synthetic(2000, 4, 6)
	for _, c := range []string{"0.02", "0.25", "0.45"} {
		m := fitSynthetic(t, "deep_svdd", tb, opts("epochs", "2", "hidden", "8,4", "contamination", c))
		scores := rowScores(t, m, tb)
		if want := Quantile(scores, 1-m.opts.Float("contamination")); m.Threshold != want {
			t.Fatalf("contamination %s: threshold %v, want the quantile %v", c, m.Threshold, want)
		}
		flagged := 0
		for _, s := range scores {
			if m.IsAnomaly(s) {
				flagged++
			}
		}
		if frac := float64(flagged) / float64(len(scores)); math.Abs(frac-m.opts.Float("contamination")) > 0.001 {
			t.Fatalf("contamination %s: %.4f of the training rows flagged", c, frac)
		}
	}
}
