// Package testtable holds the small datasets the detectors' tests share:
// tables read from the repository's testdata (ReadTable) or generated
// (Synthetic), their Arrow batches, weak labels, and a few helpers. It
// does not import the detectors core, so that both the core's own
// (internal) tests and dettest, which the family packages' tests use,
// build on it: one copy of each helper.
package testtable

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/internal/testcsv"
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
	recs := testcsv.Read(t, filepath.Join(repoTestdata(), name+".csv.gz"))
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
