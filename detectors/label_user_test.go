package detectors

import (
	"context"
	"errors"
	"math"
	"testing"
)

func TestUsesLabels(t *testing.T) {
	for alg, want := range map[string]LabelUse{"deep_svdd": LabelsNone, "ocnn": LabelsNone, "DEEP_SAD": LabelsRequired} {
		if got, err := UsesLabels(alg); err != nil || got != want {
			t.Errorf("UsesLabels(%s) = %v, %v; want %v", alg, got, err, want)
		}
	}
	if _, err := UsesLabels("nope"); !errors.Is(err, ErrUnknownAlgorithm) {
		t.Errorf("unknown algorithm: %v", err)
	}
	if LabelsRequired.String() != "required" || LabelsOptional.String() != "optional" || LabelsNone.String() != "none" {
		t.Error("LabelUse.String")
	}
}

// TestWeakSupervisionErrors: every algorithm that requires labels fails
// with ErrNoLabelledAnomaly without a label column, with labels that are
// all 0 or NULL, and ErrBadLabel with a label other than 0, 1, NULL.
func TestWeakSupervisionErrors(t *testing.T) {
	mem := checkedMem(t)
	tb := synthetic(200, 3, 2)
	fit := func(alg string, labels []float64) error {
		label := -1
		if labels != nil {
			label = tb.Cols
		}
		bs := tb.LabelledBatches(mem, 100, labels)
		defer releaseAll(bs)
		_, err := Fit(context.Background(), alg, opts("epochs", "1"), TrainingData{Batches: bs, Features: tb.Features(), Label: label})
		return err
	}
	fill := func(f func(i int) float64) []float64 {
		l := make([]float64, tb.Rows)
		for i := range l {
			l[i] = f(i)
		}
		return l
	}
	n := 0
	for _, alg := range Algorithms() {
		if use, _ := UsesLabels(alg); use != LabelsRequired {
			continue
		}
		n++
		for name, tc := range map[string]struct {
			labels []float64
			want   error
		}{
			"no label column": {nil, ErrNoLabelledAnomaly},
			"all NULL":        {fill(func(int) float64 { return math.NaN() }), ErrNoLabelledAnomaly},
			"only normals":    {fill(func(i int) float64 { return float64(i % 2 * 0) }), ErrNoLabelledAnomaly},
			"label 2":         {fill(func(i int) float64 { return float64(i % 3) }), ErrBadLabel},
			"label -1":        {fill(func(i int) float64 { return -float64(i % 2) }), ErrBadLabel},
			"one anomaly":     {fill(func(i int) float64 { return map[bool]float64{true: 1, false: math.NaN()}[i == 7] }), nil},
		} {
			if err := fit(alg, tc.labels); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Errorf("%s, %s: %v, want %v", alg, name, err, tc.want)
			}
		}
	}
	if n == 0 {
		t.Fatal("no algorithm requires labels")
	}
}
