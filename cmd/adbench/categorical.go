package main

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// The categorical tables of ../shared/datasets/categorical (issue 12):
// every attribute a string, then an integer label. The detectors read
// them as string columns, which the core encodes (one-hot by default);
// the isolation-forest baseline reads the harness's own one-hot rows.

// loadCategorical reads a table whose columns are string attributes and
// a last column "label" (1 anomaly, 0 normal).
func loadCategorical(path string) (*dataset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	z, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := csv.NewReader(z)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := len(header) - 1
	if d < 1 || header[d] != "label" {
		return nil, fmt.Errorf("%s: the last column is not label", path)
	}
	ds := &dataset{name: strings.TrimSuffix(filepath.Base(path), ".csv.gz"), names: append([]string(nil), header[:d]...), cats: make([][]string, d)}
	for {
		rec, err := r.Read()
		if err != nil {
			if err.Error() == "EOF" {
				break
			}
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		for j := range d {
			ds.cats[j] = append(ds.cats[j], rec[j])
		}
		l, err := strconv.ParseFloat(rec[d], 64)
		if err != nil || (l != 0 && l != 1) {
			return nil, fmt.Errorf("%s: label %q is not 0 or 1", path, rec[d])
		}
		ds.labels = append(ds.labels, l)
	}
	ds.x.Rows, ds.x.Cols = len(ds.labels), d
	return ds, nil
}

// categoricalRecord builds an Arrow batch of the given rows of ds's
// string columns, and a label column when labels is not nil (NaN = NULL).
func categoricalRecord(ds *dataset, rows []int, labels []float64) arrow.RecordBatch {
	fields := make([]arrow.Field, 0, len(ds.cats)+1)
	for _, n := range ds.names {
		fields = append(fields, arrow.Field{Name: n, Type: arrow.BinaryTypes.String, Nullable: true})
	}
	if labels != nil {
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for j, col := range ds.cats {
		sb := b.Field(j).(*array.StringBuilder)
		for _, r := range rows {
			sb.Append(col[r])
		}
	}
	if labels != nil {
		appendLabels(b.Field(len(ds.cats)).(*array.Float64Builder), labels)
	}
	return b.NewRecordBatch()
}

// oneHot returns the rows of ds as one-hot vectors over the values each
// column takes on the train rows (a value absent from them sets no
// position), and their width.
func oneHot(ds *dataset, train, rows []int) ([]float64, int) {
	pos := make([]map[string]int, len(ds.cats))
	w := 0
	for j, col := range ds.cats {
		pos[j] = map[string]int{}
		for _, r := range train {
			if _, ok := pos[j][col[r]]; !ok {
				pos[j][col[r]] = w
				w++
			}
		}
	}
	x := make([]float64, len(rows)*w)
	for i, r := range rows {
		for j, col := range ds.cats {
			if p, ok := pos[j][col[r]]; ok {
				x[i*w+p] = 1
			}
		}
	}
	return x, w
}

// varyingColumns returns the columns of ds that take more than one value
// on the rows train. A string column with a single value is refused by
// CREATE DETECTOR (ErrSingleValue, issue 12), so the harness leaves it
// out of the features, as a user would after that error; the labels of
// the 30 % never decide which columns are used.
func varyingColumns(ds *dataset, train []int) []int {
	var out []int
	for j, col := range ds.cats {
		for _, r := range train[1:] {
			if col[r] != col[train[0]] {
				out = append(out, j)
				break
			}
		}
	}
	return out
}
