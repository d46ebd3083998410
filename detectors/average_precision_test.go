package detectors

import (
	"math"
	"testing"
)

func TestAveragePrecision(t *testing.T) {
	cases := []struct {
		labels, scores []float64
		want           float64
	}{
		// Perfect ranking.
		{[]float64{1, 1, 0, 0}, []float64{4, 3, 2, 1}, 1},
		// scikit-learn's documented example: average_precision_score([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) = 0.8333...
		{[]float64{0, 0, 1, 1}, []float64{0.1, 0.4, 0.35, 0.8}, 5.0 / 6},
		// All tied: precision is the anomaly share.
		{[]float64{1, 0, 0, 0}, []float64{1, 1, 1, 1}, 0.25},
		// NaN labels are ignored.
		{[]float64{1, math.NaN(), 0}, []float64{2, 9, 1}, 1},
	}
	for i, c := range cases {
		got, err := AveragePrecision(c.labels, c.scores)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("case %d: AP %v, want %v", i, got, c.want)
		}
	}
	if _, err := AveragePrecision([]float64{0, 0}, []float64{1, 2}); err == nil {
		t.Error("no anomalies: want an error")
	}
	if _, err := AveragePrecision([]float64{2, 0}, []float64{1, 2}); err == nil {
		t.Error("label 2: want an error")
	}
}
