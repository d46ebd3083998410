package softmax

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/internal/testcsv"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// catTable is a table of string columns and 0/1 labels, as the files of
// ../shared/datasets/categorical hold them.
type catTable struct {
	names  []string
	rows   [][]string
	labels []float64
}

// readCategorical reads a gzipped CSV of quoted string attributes and a
// last column label.
func readCategorical(t testing.TB, path string) *catTable {
	t.Helper()
	recs := testcsv.Read(t, path)
	d := len(recs[0]) - 1
	tb := &catTable{names: recs[0][:d]}
	for _, r := range recs[1:] {
		y, err := strconv.ParseFloat(r[d], 64)
		if err != nil {
			t.Fatal(err)
		}
		tb.rows = append(tb.rows, r[:d])
		tb.labels = append(tb.labels, y)
	}
	return tb
}

// subset returns the rows idx of tb.
func (tb *catTable) subset(idx []int) *catTable {
	s := &catTable{names: tb.names}
	for _, i := range idx {
		s.rows = append(s.rows, tb.rows[i])
		s.labels = append(s.labels, tb.labels[i])
	}
	return s
}

// features returns the feature column indices 0..d−1.
func (tb *catTable) features() []int {
	f := make([]int, len(tb.names))
	for j := range f {
		f[j] = j
	}
	return f
}

// batch returns tb as one record batch of string columns.
func (tb *catTable) batch(mem memory.Allocator) arrow.RecordBatch {
	var fields []arrow.Field
	for _, n := range tb.names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	b := array.NewRecordBuilder(mem, arrow.NewSchema(fields, nil))
	defer b.Release()
	for j := range tb.names {
		sb := b.Field(j).(*array.StringBuilder)
		for _, r := range tb.rows {
			sb.Append(r[j])
		}
	}
	return b.NewRecordBatch()
}

// fit trains alg on tb's rows, unlabelled.
func (tb *catTable) fit(t testing.TB, alg string, o map[string]string) *detectors.Model {
	t.Helper()
	rec := tb.batch(memory.DefaultAllocator)
	defer rec.Release()
	m, err := detectors.Fit(context.Background(), alg, o, detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: tb.features(), Label: -1})
	if err != nil {
		t.Fatalf("%s: Fit: %v", alg, err)
	}
	return m
}

// scores scores tb's rows with m through ScoreBatch.
func (tb *catTable) scores(t testing.TB, m *detectors.Model) []float64 {
	t.Helper()
	rec := tb.batch(memory.DefaultAllocator)
	defer rec.Release()
	s, err := m.ScoreBatch(rec, tb.features(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// splitAUC trains alg on a stratified 70 % of tb (seed) and returns the
// AUC-ROC of its scores on the other 30 %, with the test part.
func splitAUC(t testing.TB, alg string, tb *catTable, o map[string]string, seed uint64) (float64, *detectors.Model, *catTable) {
	t.Helper()
	trainIdx, testIdx := detectors.StratifiedSplit(tb.labels, 0.7, seed)
	test := tb.subset(testIdx)
	m := tb.subset(trainIdx).fit(t, alg, o)
	auc, err := detectors.AUC(test.labels, test.scores(t, m))
	if err != nil {
		t.Fatal(err)
	}
	return auc, m, test
}

// marginalScores scores each row of test by −Σ_j log p_j(v_j), the
// negative log of the product of its values' training frequencies (half
// a row for a value not in train): the independence baseline, which
// knows no interaction between columns.
func marginalScores(train, test *catTable) []float64 {
	d := len(train.names)
	counts := make([]map[string]float64, d)
	for j := range counts {
		counts[j] = map[string]float64{}
		for _, r := range train.rows {
			counts[j][r[j]]++
		}
	}
	n := float64(len(train.rows))
	s := make([]float64, len(test.rows))
	for i, r := range test.rows {
		for j, v := range r {
			s[i] -= math.Log(max(counts[j][v], 0.5) / n)
		}
	}
	return s
}
