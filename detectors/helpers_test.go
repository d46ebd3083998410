package detectors

import (
	"context"
	"errors"
	"github.com/anomalydb/anomalydb/detectors/internal/testtable"
	"testing"
)

// The helpers of this file and of conformance_test.go have exported
// twins in detectors/internal/dettest for the family packages' tests;
// this package's internal tests cannot import dettest (it imports
// detectors), so a change to one copy goes to the other too.

// splitAUC trains alg on a stratified 70% of tb (seed 42) and returns the
// AUC-ROC on the other 30%. With weak, every tenth training anomaly is
// labelled 1 and every other row NULL (the ADBench protocol).
func splitAUC(t *testing.T, alg string, tb *table, o map[string]string, weak bool) float64 {
	t.Helper()
	auc, _ := splitModelAUC(t, alg, tb, o, weak)
	return auc
}

// splitModelAUC is splitAUC that also returns the trained model.
func splitModelAUC(t *testing.T, alg string, tb *table, o map[string]string, weak bool) (float64, *Model) {
	t.Helper()
	trainIdx, testIdx := StratifiedSplit(tb.Labels, 0.7, 42)
	train, test := tb.Subset(trainIdx), tb.Subset(testIdx)
	var labels []float64
	label := -1
	if weak {
		labels, label = make([]float64, train.Rows), train.Cols
		k := 0
		for i, y := range train.Labels {
			labels[i] = nan()
			if y == 1 {
				if k%10 == 0 {
					labels[i] = 1
				}
				k++
			}
		}
	}
	mem := checkedMem(t)
	bs := train.LabelledBatches(mem, 1024, labels)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: bs, Features: train.Features(), Label: label})
	if err != nil {
		t.Fatal(err)
	}
	auc, err := AUC(test.Labels, rowScores(t, m, test))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %v: AUC %.4f (%.2fs)", alg, o, auc, m.TrainSeconds)
	return auc, m
}

// optionCase is one option set and the error ValidateOptions must give
// for it (nil: the options are valid).
type optionCase struct {
	opts map[string]string
	want error
}

// checkOptionCases runs ValidateOptions(alg, c.opts) for each case and
// fails t unless the error is c.want: errors.Is(err, c.want), and err is
// nil exactly when c.want is.
func checkOptionCases(t *testing.T, alg string, cases []optionCase) {
	t.Helper()
	for _, c := range cases {
		err := ValidateOptions(alg, c.opts)
		if !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("ValidateOptions(%s, %v) = %v, want %v", alg, c.opts, err, c.want)
		}
	}
}

// table and the helpers below are testtable's, which the family packages'
// tests share through dettest: one copy of each.
type table = testtable.Table

var (
	readTable         = testtable.ReadTable
	synthetic         = testtable.Synthetic
	weakLabels        = testtable.WeakLabels
	sameBits          = testtable.SameBits
	releaseAll        = testtable.ReleaseAll
	checkedMem        = testtable.CheckedMem
	opts              = testtable.Opts
	nan               = testtable.NaN
	decimal128FromInt = testtable.Decimal128FromInt
)
