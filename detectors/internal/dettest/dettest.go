// Package dettest holds what the tests of the algorithm families and the
// external tests of the detectors core share: datasets read from the
// repository's testdata (ReadTable) or generated (Synthetic), Arrow
// batches of them, training helpers that fail the test on error, and
// option checks. It is imported only by tests. It imports detectors, so
// the internal tests of package detectors cannot import it (an import
// cycle): they keep their own copies (helpers_test.go, conformance_test.go),
// which must stay in step with these.
package dettest

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/mat"
)

// repoTestdata returns the repository's testdata folder: the first
// testdata beside a go.mod in the working directory or above it (tests
// run in their package's folder, at any depth under detectors/).
func repoTestdata() string {
	dir, err := os.Getwd()
	if err != nil {
		return "testdata"
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata")
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "testdata"
		}
		dir = up
	}
}

// Table is a small in-memory dataset read from testdata: a row-major
// matrix of features and the 0/1 labels.
type Table struct {
	Names  []string
	Rows   int
	Cols   int
	X      []float64
	Labels []float64
}

// ReadTable reads the repository's testdata/<name>.csv.gz (header f0..f{d-1},label).
func ReadTable(t testing.TB, name string) *Table {
	t.Helper()
	f, err := os.Open(filepath.Join(repoTestdata(), name+".csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := recs[0]
	tb := &Table{Names: head[:len(head)-1], Cols: len(head) - 1}
	for _, r := range recs[1:] {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j == tb.Cols {
				tb.Labels = append(tb.Labels, v)
			} else {
				tb.X = append(tb.X, v)
			}
		}
		tb.Rows++
	}
	return tb
}

// Subset returns the rows idx of tb as a new table.
func (tb *Table) Subset(idx []int) *Table {
	s := &Table{Names: tb.Names, Cols: tb.Cols, Rows: len(idx)}
	for _, i := range idx {
		s.X = append(s.X, tb.X[i*tb.Cols:(i+1)*tb.Cols]...)
		s.Labels = append(s.Labels, tb.Labels[i])
	}
	return s
}

func (tb *Table) Features() []int {
	f := make([]int, tb.Cols)
	for i := range f {
		f[i] = i
	}
	return f
}

func ReleaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// CheckedMem returns a checked allocator that fails t if anything
// allocated from it is still live when the test ends.
func CheckedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func Opts(kv ...string) map[string]string {
	if len(kv)%2 != 0 {
		panic(fmt.Sprint("odd option list ", kv))
	}
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func Decimal128FromInt(v int64) decimal128.Num { return decimal128.FromI64(v) }

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

func NaN() float64 { return math.NaN() }

// Synthetic returns n rows of d features: a correlated Gaussian blob with
// a fraction of uniform outliers (label 1) and a few NULLs (NaN).
func Synthetic(n, d int, seed uint64) *Table {
	rng := rand.New(rand.NewPCG(seed, 7))
	tb := &Table{Rows: n, Cols: d}
	for j := 0; j < d; j++ {
		tb.Names = append(tb.Names, "f"+string(rune('0'+j)))
	}
	for i := 0; i < n; i++ {
		anomaly := rng.Float64() < 0.05
		z := rng.NormFloat64()
		for j := 0; j < d; j++ {
			v := 3 + z*float64(j+1) + 0.3*rng.NormFloat64()
			if anomaly {
				v = 3 + (rng.Float64()*2-1)*8*float64(j+1)
			}
			if rng.Float64() < 0.01 {
				v = math.NaN()
			}
			tb.X = append(tb.X, v)
		}
		l := 0.0
		if anomaly {
			l = 1
		}
		tb.Labels = append(tb.Labels, l)
	}
	return tb
}

// NullBatches converts tb into record batches of at most batchRows rows
// of float64 feature columns, NaN written as NULL. The caller releases
// the batches.
func (tb *Table) NullBatches(mem memory.Allocator, batchRows int) []arrow.RecordBatch {
	return tb.LabelledBatches(mem, batchRows, nil)
}

// LabelledBatches is nullBatches with a trailing float64 label column
// (NaN as NULL) if labels is not nil.
func (tb *Table) LabelledBatches(mem memory.Allocator, batchRows int, labels []float64) []arrow.RecordBatch {
	var fields []arrow.Field
	for _, n := range tb.Names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	if labels != nil {
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	schema := arrow.NewSchema(fields, nil)
	var out []arrow.RecordBatch
	for lo := 0; lo < tb.Rows; lo += batchRows {
		hi := min(lo+batchRows, tb.Rows)
		b := array.NewRecordBuilder(mem, schema)
		for j := 0; j < tb.Cols; j++ {
			fb := b.Field(j).(*array.Float64Builder)
			for i := lo; i < hi; i++ {
				if v := tb.X[i*tb.Cols+j]; math.IsNaN(v) {
					fb.AppendNull()
				} else {
					fb.Append(v)
				}
			}
		}
		if labels != nil {
			lb := b.Field(tb.Cols).(*array.Float64Builder)
			for i := lo; i < hi; i++ {
				if math.IsNaN(labels[i]) {
					lb.AppendNull()
				} else {
					lb.Append(labels[i])
				}
			}
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// ConformanceOptsFor keeps the conformance runs short: 5 epochs and small
// networks (ocnn has a single hidden layer), and 5 pretraining epochs for
// deep_sad instead of its default 50.
func ConformanceOptsFor(alg string) map[string]string {
	o := map[string]string{"epochs": "5", "seed": "3", "hidden": "16,8"}
	switch alg {
	case "ocnn":
		o["hidden"] = "64"
	case "deep_sad":
		o["pretrain_epochs"] = "5"
	}
	return o
}

// WeakLabels labels a few rows the way weakly supervised detectors are
// trained (and ADBench evaluates them): every fourth anomaly 1, every
// twentieth normal row 0, the rest NULL.
func WeakLabels(tb *Table) []float64 {
	l := make([]float64, tb.Rows)
	na, nn := 0, 0
	for i, y := range tb.Labels {
		l[i] = math.NaN()
		if y == 1 {
			if na%4 == 0 {
				l[i] = 1
			}
			na++
		} else {
			if nn%20 == 0 {
				l[i] = 0
			}
			nn++
		}
	}
	return l
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

func SameBits(a, b []float64) (int, bool) {
	if len(a) != len(b) {
		return -1, false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return i, false
		}
	}
	return 0, true
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
