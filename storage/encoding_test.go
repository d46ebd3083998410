package storage

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// dictionaryColumns returns, for the newest data file of tbl (the last
// of DataFiles), the names of the Parquet columns written with a
// dictionary page.
func dictionaryColumns(t *testing.T, tbl *Table) []string {
	t.Helper()
	files, err := tbl.DataFiles()
	must(t, err)
	if len(files) == 0 {
		t.Fatal("no data file")
	}
	r, err := file.OpenParquetFile(files[len(files)-1], false)
	must(t, err)
	defer r.Close()
	var out []string
	md := r.MetaData()
	for g := range md.NumRowGroups() {
		rg := md.RowGroup(g)
		for c := range rg.NumColumns() {
			cc, err := rg.ColumnChunk(c)
			must(t, err)
			if cc.HasDictionaryPage() {
				out = append(out, cc.PathInSchema().String())
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// repeatedRows appends 300 rows of schema to tbl whose columns take three
// values each (rows 1, 2 and 3 of makeBatch, in turn): a dictionary suits
// every column, so where none is written it was turned off.
func repeatedRows(t *testing.T, tbl *Table, mem memory.Allocator, schema *arrow.Schema) {
	t.Helper()
	var recs []arrow.RecordBatch
	for i := range 300 {
		recs = append(recs, makeBatch(mem, schema, int64(1+i%3), 1))
	}
	defer releaseBatches(recs)
	must(t, tbl.Append(recs))
}

// TestFloatColumnsWithoutDictionary checks the encoding choice of
// encoding.go on real data files: floating-point columns are written
// without a dictionary, other columns with one, and the choice follows
// the columns through ALTER (a new DOUBLE column) and RENAME COLUMN.
// Bugs caught: encoding properties not set at CREATE, or not updated
// when the columns change (the new or renamed column would get a
// dictionary), or dictionaries turned off for every column.
func TestFloatColumnsWithoutDictionary(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
	must(t, err)
	repeatedRows(t, tbl, mem, tbl.Schema())
	if got, want := dictionaryColumns(t, tbl), []string{"at", "id", "label"}; !slices.Equal(got, want) {
		t.Errorf("columns with a dictionary: %v, want %v", got, want)
	}
	if p := tbl.Properties(); len(p) != 0 {
		t.Errorf("Properties shows the store's encoding properties: %v", p)
	}

	// ALTER: a new DOUBLE column y, and x1 retyped to BIGINT.
	old := tbl.Schema()
	fields := append(old.Fields(), arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	fields[1] = arrow.Field{Name: "x1", Type: arrow.PrimitiveTypes.Int64, Nullable: true}
	sources := make([]int, len(fields))
	for i := range sources {
		sources[i] = i
	}
	sources[len(sources)-1] = -1
	schema := arrow.NewSchema(fields, nil)
	must(t, tbl.ChangeColumns(schema, sources, func(*Data) ([]arrow.RecordBatch, map[string]string, error) {
		return nil, nil, nil
	}))
	repeatedRows(t, tbl, mem, schema)
	if got, want := dictionaryColumns(t, tbl), []string{"at", "id", "label", "x1"}; !slices.Equal(got, want) {
		t.Errorf("after ALTER, columns with a dictionary: %v, want %v", got, want)
	}

	must(t, tbl.RenameColumn(2, "renamed", nil))
	repeatedRows(t, tbl, mem, tbl.Schema())
	if got, want := dictionaryColumns(t, tbl), []string{"at", "id", "label", "x1"}; !slices.Equal(got, want) {
		t.Errorf("after RENAME COLUMN, columns with a dictionary: %v, want %v", got, want)
	}
}

// BenchmarkDataFileEncoding writes one data file's rows (30,000 rows of a
// BIGINT and 16 DOUBLE columns of distinct values, about 4 MiB, what an
// UPDATE of one row rewrites) as Parquet with iceberg-go's defaults
// (dictionaries, zstd) and with the store's choice (encoding.go: no
// dictionary for floating-point columns, snappy), side by side; bytes/file
// is the file's size.
func BenchmarkDataFileEncoding(b *testing.B) {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for c := range 16 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", c), Type: arrow.PrimitiveTypes.Float64})
	}
	sc := arrow.NewSchema(fields, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 30_000 {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		for c := 1; c <= 16; c++ {
			bld.Field(c).(*array.Float64Builder).Append(rng.NormFloat64())
		}
	}
	rec := bld.NewRecordBatch()
	bld.Release()
	defer rec.Release()
	store := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy)}
	for _, f := range fields[1:] {
		store = append(store, parquet.WithDictionaryFor(f.Name, false))
	}
	for _, c := range []struct {
		name  string
		props []parquet.WriterProperty
	}{
		{"iceberg-default", []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Zstd)}},
		{"store", store},
	} {
		b.Run(c.name, func(b *testing.B) {
			var size int
			for range b.N {
				var buf bytes.Buffer
				w, err := pqarrow.NewFileWriter(sc, &buf, parquet.NewWriterProperties(c.props...), pqarrow.DefaultWriterProps())
				must(b, err)
				must(b, w.WriteBuffered(rec))
				must(b, w.Close())
				size = buf.Len()
			}
			b.ReportMetric(float64(size), "bytes/file")
		})
	}
}
