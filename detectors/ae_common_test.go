package detectors

import (
	"context"
	"errors"
	"testing"
)

// aeSmokeAUC trains alg with opts (plus seed 0) on a stratified 70% of
// testdata/<name> (split seed 42) and returns the AUC-ROC on the rest.
func aeSmokeAUC(t *testing.T, alg, name string, o map[string]string) (float64, *Model) {
	t.Helper()
	tb := readTable(t, name)
	trainIdx, testIdx := StratifiedSplit(tb.labels, 0.7, 42)
	train, test := tb.subset(trainIdx), tb.subset(testIdx)
	mem := checkedMem(t)
	bs := train.batches(mem, 1024, false)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: bs, Features: train.features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	auc, err := AUC(test.labels, rowScores(t, m, test))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s on %s %v: AUC %.4f (%.2fs)", alg, name, o, auc, m.TrainSeconds)
	return auc, m
}

// optionCase is one option set and the error it must give (nil: valid).
type optionCase struct {
	opts map[string]string
	want error
}

func checkOptionCases(t *testing.T, alg string, cases []optionCase) {
	t.Helper()
	for _, c := range cases {
		err := ValidateOptions(alg, c.opts)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %v: got %v, want %v", alg, c.opts, err, c.want)
		}
	}
}

func TestNewAENetMirrors(t *testing.T) {
	n := newAENet("x.", 7, []int{5, 3, 2})
	want := []int{7, 5, 3, 2, 3, 5, 7}
	if len(n.Sizes) != len(want) {
		t.Fatalf("sizes %v, want %v", n.Sizes, want)
	}
	for i := range want {
		if n.Sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", n.Sizes, want)
		}
	}
	if e := n.encoder(); len(e.Sizes) != 4 || e.Sizes[3] != 2 || e.Output != aeActivation {
		t.Fatalf("encoder %+v", e.MLP)
	}
}
