// Package dettest holds what the tests of the algorithm families and the
// external tests of the detectors core share: the datasets of testtable
// (ReadTable, Synthetic, their Arrow batches, weak labels), training
// helpers that fail the test on error, and option checks. It is imported
// only by tests. It imports detectors, so the internal tests of package
// detectors cannot import it (an import cycle): they share testtable, and
// keep their own copies of the few helpers here that train or score
// (SplitModelAUC, FitSynthetic, FitLabelled, RowScores, CheckBatchScores
// in helpers_test.go and conformance_test.go), which must stay in step.
package dettest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/testtable"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"gonum.org/v1/gonum/mat"
)

// SplitAUC trains alg on a stratified 70% of tb (seed 42) and returns the
// AUC-ROC on the other 30%. With weak, every tenth training anomaly is
// labelled 1 and every other row NULL (the ADBench protocol).
func SplitAUC(t *testing.T, alg string, tb *Table, o map[string]string, weak bool) float64 {
	t.Helper()
	auc, _ := SplitModelAUC(t, alg, tb, o, weak)
	return auc
}

// SplitModelAUC is splitAUC that also returns the trained model.
func SplitModelAUC(t *testing.T, alg string, tb *Table, o map[string]string, weak bool) (float64, *detectors.Model) {
	t.Helper()
	trainIdx, testIdx := detectors.StratifiedSplit(tb.Labels, 0.7, 42)
	train, test := tb.Subset(trainIdx), tb.Subset(testIdx)
	var labels []float64
	label := -1
	if weak {
		labels, label = make([]float64, train.Rows), train.Cols
		k := 0
		for i, y := range train.Labels {
			labels[i] = NaN()
			if y == 1 {
				if k%10 == 0 {
					labels[i] = 1
				}
				k++
			}
		}
	}
	mem := CheckedMem(t)
	bs := train.LabelledBatches(mem, 1024, labels)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), alg, o, detectors.TrainingData{Batches: bs, Features: train.Features(), Label: label})
	if err != nil {
		t.Fatal(err)
	}
	auc, err := detectors.AUC(test.Labels, RowScores(t, m, test))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %v: AUC %.4f (%.2fs)", alg, o, auc, m.TrainSeconds)
	return auc, m
}

// OptionCase is one option set and the error ValidateOptions must give
// for it (nil: the options are valid).
type OptionCase struct {
	Opts map[string]string
	Want error
}

// CheckOptionCases runs ValidateOptions(alg, c.Opts) for each case and
// fails t unless the error is c.Want: errors.Is(err, c.Want), and err is
// nil exactly when c.Want is.
func CheckOptionCases(t *testing.T, alg string, cases []OptionCase) {
	t.Helper()
	for _, c := range cases {
		err := detectors.ValidateOptions(alg, c.Opts)
		if !errors.Is(err, c.Want) || (c.Want == nil) != (err == nil) {
			t.Errorf("ValidateOptions(%s, %v) = %v, want %v", alg, c.Opts, err, c.Want)
		}
	}
}

// FitSynthetic trains alg on tb; algorithms that use labels get a label
// column from weakLabels.
func FitSynthetic(t *testing.T, alg string, tb *Table, o map[string]string) *detectors.Model {
	t.Helper()
	var labels []float64
	if use, err := detectors.UsesLabels(alg); err != nil {
		t.Fatal(err)
	} else if use != detectors.LabelsNone {
		labels = WeakLabels(tb)
	}
	return FitLabelled(t, alg, tb, o, labels)
}

// FitLabelled trains alg on tb with a label column holding labels, or
// without one if labels is nil.
func FitLabelled(t *testing.T, alg string, tb *Table, o map[string]string, labels []float64) *detectors.Model {
	t.Helper()
	mem := CheckedMem(t)
	label := -1
	if labels != nil {
		label = tb.Cols
	}
	bs := tb.LabelledBatches(mem, 1000, labels)
	defer ReleaseAll(bs)
	m, err := detectors.Fit(context.Background(), alg, o, detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: label})
	if err != nil {
		t.Fatalf("%s: Fit: %v", alg, err)
	}
	return m
}

func RowScores(t *testing.T, m *detectors.Model, tb *Table) []float64 {
	t.Helper()
	s := make([]float64, tb.Rows)
	for i := range s {
		var err error
		if s[i], err = m.ScoreRow(tb.X[i*tb.Cols : (i+1)*tb.Cols]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// CheckBatchScores scores random subsets of rows in random order through
// ScoreBatch (batches of many sizes, so rows land at every position and
// both the serial and the parallel path run) and ScoreMatrix, and checks
// every score is bit-identical to ScoreRow's.
func CheckBatchScores(t *testing.T, m *detectors.Model, tb *Table, want []float64) {
	mem := CheckedMem(t)
	rng := rand.New(rand.NewPCG(11, 12))
	var dst []float64
	for _, size := range []int{1, 2, 3, 255, 256, 257, 1000, 4095, 4096, 6000} {
		idx := rng.Perm(tb.Rows)[:size]
		sub := tb.Subset(idx)
		for _, rec := range sub.NullBatches(mem, size) {
			var err error
			dst, err = m.ScoreBatch(rec, sub.Features(), dst)
			rec.Release()
			if err != nil {
				t.Fatal(err)
			}
			for k, i := range idx {
				if math.Float64bits(dst[k]) != math.Float64bits(want[i]) {
					t.Fatalf("batch of %d: row %d at position %d scores %v, alone %v", size, i, k, dst[k], want[i])
				}
			}
		}
		got, err := m.ScoreMatrix(mat.NewDense(size, sub.Cols, sub.X), nil)
		if err != nil {
			t.Fatal(err)
		}
		for k, i := range idx {
			if math.Float64bits(got[k]) != math.Float64bits(want[i]) {
				t.Fatalf("matrix of %d: row %d scores %v, alone %v", size, i, got[k], want[i])
			}
		}
	}
	// A batch whose feature columns are permuted and interleaved with other
	// columns scores the same when given the right indices.
	sub := tb.Subset([]int{5, 4, 3, 2, 1})
	recs := sub.NullBatches(mem, 5)
	defer ReleaseAll(recs)
	rec := recs[0]
	cols := rec.Columns()
	fields := rec.Schema().Fields()
	perm := []int{2, 0, 4, 1, 3}
	var pc []arrow.Array
	var pf []arrow.Field
	for _, j := range perm {
		pc = append(pc, cols[j])
		pf = append(pf, fields[j])
	}
	prec := array.NewRecordBatch(arrow.NewSchema(pf, nil), pc, rec.NumRows())
	defer prec.Release()
	features := []int{1, 3, 0, 4, 2} // position of feature j in prec
	got, err := m.ScoreBatch(prec, features, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, i := range []int{5, 4, 3, 2, 1} {
		if math.Float64bits(got[k]) != math.Float64bits(want[i]) {
			t.Fatalf("permuted columns: row %d scores %v, want %v", i, got[k], want[i])
		}
	}
}

// NormalizedOptions returns the options alg trains with given o: its
// defaults (OptionDefaults) overridden by o, after ValidateOptions accepts
// o. It fails t if it does not.
func NormalizedOptions(t testing.TB, alg string, o map[string]string) detectors.Options {
	t.Helper()
	if err := detectors.ValidateOptions(alg, o); err != nil {
		t.Fatal(err)
	}
	d, err := detectors.OptionDefaults(alg)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range o {
		d[k] = v
	}
	return detectors.Options(d)
}

// Table and the helpers below are testtable's, which the core's own tests
// share: the family tests use them by these names.
type Table = testtable.Table

var (
	ReadTable         = testtable.ReadTable
	Synthetic         = testtable.Synthetic
	WeakLabels        = testtable.WeakLabels
	SameBits          = testtable.SameBits
	ReleaseAll        = testtable.ReleaseAll
	CheckedMem        = testtable.CheckedMem
	Opts              = testtable.Opts
	NaN               = testtable.NaN
	Decimal128FromInt = testtable.Decimal128FromInt
)
