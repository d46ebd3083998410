package arrowio

import (
	"compress/gzip"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// NumericCSV is a labelled dataset read from a CSV file whose header names
// the columns and whose cells are all numbers: the features as float64
// columns and, when present, an integer column named "label".
type NumericCSV struct {
	Schema *arrow.Schema
	// Batches own their memory; call Release when done.
	Batches []arrow.RecordBatch
	Rows    int
}

// Release releases the batches.
func (d *NumericCSV) Release() {
	for _, b := range d.Batches {
		b.Release()
	}
	d.Batches = nil
}

// ReadNumericCSV reads a (optionally gzipped, by the .gz suffix) numeric
// CSV file into Arrow batches of at most batchRows rows. Empty cells and
// \N are NULL. The first column of the result is "id", the 1-based row
// number, when withID is set.
func ReadNumericCSV(mem memory.Allocator, path string, batchRows int, withID bool) (*NumericCSV, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		gz, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		defer gz.Close()
		r = gz
	}
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading header: %w", path, err)
	}
	var fields []arrow.Field
	if withID {
		fields = append(fields, arrow.Field{Name: "id", Type: arrow.PrimitiveTypes.Int64})
	}
	for _, h := range header {
		if h == "label" {
			fields = append(fields, arrow.Field{Name: h, Type: arrow.PrimitiveTypes.Int32, Nullable: true})
		} else {
			fields = append(fields, arrow.Field{Name: h, Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	}
	out := &NumericCSV{Schema: arrow.NewSchema(fields, nil)}
	b := array.NewRecordBuilder(mem, out.Schema)
	defer b.Release()
	off := 0
	if withID {
		off = 1
	}
	n := 0
	flush := func() {
		if n > 0 {
			out.Batches = append(out.Batches, b.NewRecordBatch())
			n = 0
		}
	}
	line := 1
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			out.Release()
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if withID {
			b.Field(0).(*array.Int64Builder).Append(int64(out.Rows + 1))
		}
		for i, cell := range rec {
			fb := b.Field(i + off)
			if cell == "" || cell == `\N` {
				fb.AppendNull()
				continue
			}
			switch bb := fb.(type) {
			case *array.Int32Builder:
				v, err := strconv.ParseInt(cell, 10, 32)
				if err != nil {
					out.Release()
					return nil, fmt.Errorf("%s line %d column %s: %w", path, line, header[i], err)
				}
				bb.Append(int32(v))
			case *array.Float64Builder:
				v, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					out.Release()
					return nil, fmt.Errorf("%s line %d column %s: %w", path, line, header[i], err)
				}
				bb.Append(v)
			}
		}
		out.Rows++
		n++
		if n == batchRows {
			flush()
		}
	}
	flush()
	return out, nil
}
