package detectors

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The helpers of this file and of conformance_test.go have exported
// twins in detectors/internal/dettest for the family packages' tests;
// this package's internal tests cannot import dettest (it imports
// detectors), so a change to one copy goes to the other too.

// table is a small in-memory dataset read from testdata: a row-major
// matrix of features and the 0/1 labels.
type table struct {
	names  []string
	rows   int
	cols   int
	x      []float64
	labels []float64
}

// readTable reads ../testdata/<name>.csv.gz (header f0..f{d-1},label).
func readTable(t testing.TB, name string) *table {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", name+".csv.gz"))
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
	tb := &table{names: head[:len(head)-1], cols: len(head) - 1}
	for _, r := range recs[1:] {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j == tb.cols {
				tb.labels = append(tb.labels, v)
			} else {
				tb.x = append(tb.x, v)
			}
		}
		tb.rows++
	}
	return tb
}

// subset returns the rows idx of tb as a new table.
func (tb *table) subset(idx []int) *table {
	s := &table{names: tb.names, cols: tb.cols, rows: len(idx)}
	for _, i := range idx {
		s.x = append(s.x, tb.x[i*tb.cols:(i+1)*tb.cols]...)
		s.labels = append(s.labels, tb.labels[i])
	}
	return s
}

func (tb *table) features() []int {
	f := make([]int, tb.cols)
	for i := range f {
		f[i] = i
	}
	return f
}

func releaseAll(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// checkedMem returns a checked allocator that fails t if anything
// allocated from it is still live when the test ends.
func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func opts(kv ...string) map[string]string {
	if len(kv)%2 != 0 {
		panic(fmt.Sprint("odd option list ", kv))
	}
	m := map[string]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func decimal128FromInt(v int64) decimal128.Num { return decimal128.FromI64(v) }

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
	trainIdx, testIdx := StratifiedSplit(tb.labels, 0.7, 42)
	train, test := tb.subset(trainIdx), tb.subset(testIdx)
	var labels []float64
	label := -1
	if weak {
		labels, label = make([]float64, train.rows), train.cols
		k := 0
		for i, y := range train.labels {
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
	bs := train.labelledBatches(mem, 1024, labels)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: bs, Features: train.features(), Label: label})
	if err != nil {
		t.Fatal(err)
	}
	auc, err := AUC(test.labels, rowScores(t, m, test))
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

func nan() float64 { return math.NaN() }
