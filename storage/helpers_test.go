package storage

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// checkedAlloc returns an allocator that fails the test if anything
// allocated from it is still live when the test ends. Register it before
// anything that releases into it (t.Cleanup runs last-in first-out).
func checkedAlloc(t testing.TB) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// openStore opens dir with mem and fails the test on error.
func openStore(t testing.TB, dir string, mem memory.Allocator, noSync bool) *Store {
	t.Helper()
	s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: noSync})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

// tenRowTable opens a store on dir, creates table db.t of smallSchema and
// appends the rows [0, 10) made by makeBatch. The caller closes the store.
func tenRowTable(t testing.TB, dir string, mem memory.Allocator, noSync bool) (*Store, *Table) {
	t.Helper()
	s := openStore(t, dir, mem, noSync)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	return s, tbl
}

// allTypesSchema has one column of every supported type, plus a NOT NULL
// key column.
func allTypesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "ID", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
		{Name: "i8", Type: arrow.PrimitiveTypes.Int8, Nullable: true},
		{Name: "I16", Type: arrow.PrimitiveTypes.Int16, Nullable: true},
		{Name: "i32", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "f32", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "f64", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "dec", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
		{Name: "bigdec", Type: &arrow.Decimal128Type{Precision: 38, Scale: 10}, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ls", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "bin", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "lbin", Type: arrow.BinaryTypes.LargeBinary, Nullable: true},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
		{Name: "tstz", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, Nullable: true},
		{Name: "tsNY", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}, Nullable: true},
		{Name: "must", Type: arrow.BinaryTypes.String, Nullable: false},
	}, nil)
}

// makeBatch builds n rows of sc starting at key start. Every nullable
// column is NULL on rows whose key is divisible by 7. Values depend only on
// the key, so batches can be rebuilt for comparison.
func makeBatch(mem memory.Allocator, sc *arrow.Schema, start, n int64) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for r := start; r < start+n; r++ {
		for i, f := range sc.Fields() {
			fb := b.Field(i)
			if f.Nullable && r%7 == 0 {
				fb.AppendNull()
				continue
			}
			switch fb := fb.(type) {
			case *array.Int8Builder:
				fb.Append(int8(r % 127))
			case *array.Int16Builder:
				fb.Append(int16(r % 32000))
			case *array.Int32Builder:
				fb.Append(int32(r * 3))
			case *array.Int64Builder:
				fb.Append(r)
			case *array.Float32Builder:
				fb.Append(float32(r) / 4)
			case *array.Float64Builder:
				fb.Append(float64(r)/3 - 1e6)
			case *array.Decimal128Builder:
				fb.Append(decimal128.FromI64(r*101 - 5000))
			case *array.StringBuilder:
				if r%11 == 0 {
					fb.Append("") // empty, not NULL
				} else {
					fb.Append(fmt.Sprintf("%s-%d-ü", f.Name, r))
				}
			case *array.LargeStringBuilder:
				fb.Append(fmt.Sprintf("large-%d", r))
			case *array.BinaryBuilder:
				if r%11 == 0 {
					fb.Append([]byte{})
				} else {
					fb.Append([]byte{byte(r), byte(r >> 8), 0})
				}
			case *array.BooleanBuilder:
				fb.Append(r%2 == 0)
			case *array.Date32Builder:
				fb.Append(arrow.Date32(18000 + r%5000))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(1_700_000_000_000_000 + r*1_000_003))
			default:
				panic(fmt.Sprintf("makeBatch: no generator for %T", fb))
			}
		}
	}
	return b.NewRecordBatch()
}

// smallSchema is a narrow schema for tests that only count rows.
func smallSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: false},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
}

// wideSchema has ten columns, for the performance checks.
func wideSchema() *arrow.Schema {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for i := 1; i < 8; i++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("x%d", i), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	fields = append(fields,
		arrow.Field{Name: "label", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true})
	return arrow.NewSchema(fields, nil)
}

// append1 appends one batch and releases it.
func append1(t testing.TB, tbl *Table, rec arrow.RecordBatch) {
	t.Helper()
	defer rec.Release()
	if err := tbl.Append([]arrow.RecordBatch{rec}); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// assertRows checks that tbl holds exactly the rows made by makeBatch for
// the given [start, start+n) ranges, in order.
func assertRows(t testing.TB, mem memory.Allocator, tbl *Table, ranges ...[2]int64) {
	t.Helper()
	var want []arrow.RecordBatch
	for _, r := range ranges {
		if r[1] > 0 {
			want = append(want, makeBatch(mem, tbl.Schema(), r[0], r[1]))
		}
	}
	defer releaseBatches(want)
	d := tbl.Snapshot()
	defer d.Release()
	assertSameRows(t, mem, tbl.Schema(), want, d)
}

// assertSameRows compares the concatenated rows of want with d.
func assertSameRows(t testing.TB, mem memory.Allocator, sc *arrow.Schema, want []arrow.RecordBatch, d *Data) {
	t.Helper()
	var wantRows int64
	for _, w := range want {
		wantRows += w.NumRows()
	}
	if d.NumRows() != wantRows {
		t.Fatalf("rows = %d, want %d", d.NumRows(), wantRows)
	}
	if !d.Schema().Equal(sc) {
		t.Fatalf("data schema = %s, want %s", d.Schema(), sc)
	}
	for _, b := range batchesOf(t, d) {
		if !b.Schema().Equal(sc) {
			t.Fatalf("batch schema = %s, want %s", b.Schema(), sc)
		}
	}
	if wantRows == 0 {
		return
	}
	got, err := concatBatches(mem, sc, batchesOf(t, d))
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	exp, err := concatBatches(mem, sc, want)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Release()
	for i := range sc.Fields() {
		if !array.Equal(got.Column(i), exp.Column(i)) {
			t.Fatalf("column %q differs:\n got %v\nwant %v", sc.Field(i).Name, got.Column(i), exp.Column(i))
		}
	}
}

// mustReader wraps rec in a RecordReader released when the test ends.
func mustReader(t *testing.T, sc *arrow.Schema, rec arrow.RecordBatch) array.RecordReader {
	t.Helper()
	rdr, err := array.NewRecordReader(sc, []arrow.RecordBatch{rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rdr.Release)
	return rdr
}

// errorSink collects errors from goroutines without ever blocking them, so
// a goroutine reporting a failure cannot deadlock the test. The zero value
// is ready to use.
type errorSink struct {
	mu   sync.Mutex
	errs []error
	n    int
}

// add records err.
func (e *errorSink) add(err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n++
	if len(e.errs) < 10 {
		e.errs = append(e.errs, err)
	}
}

// failed reports whether an error has been recorded; goroutines poll it to
// stop early.
func (e *errorSink) failed() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n > 0
}

// report fails t with the recorded errors (the first ten, and a count).
func (e *errorSink) report(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, err := range e.errs {
		t.Error(err)
	}
	if e.n > len(e.errs) {
		t.Errorf("... and %d more errors", e.n-len(e.errs))
	}
}

// waitFor waits up to d for wg. On timeout it fails t with the stacks of
// all goroutines, so a deadlock shows where everyone is stuck, and returns
// false; the caller must then not wait for anything the stuck goroutines
// may hold (for example, it must not Close the store).
func waitFor(t testing.TB, wg *sync.WaitGroup, d time.Duration, what string) bool {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		var buf bytes.Buffer
		_ = pprof.Lookup("goroutine").WriteTo(&buf, 2)
		t.Errorf("%s still running after %v; goroutines:\n%s", what, d, buf.Bytes())
		return false
	}
}

// batchesOf reads every segment of d; the batches are released when the
// test ends.
func batchesOf(t testing.TB, d *Data) []arrow.RecordBatch {
	t.Helper()
	bs, err := d.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { releaseBatches(bs) })
	return bs
}

// retainedBatches is ReadAll for tests whose tables cannot fail to read:
// it panics on error. The caller owns the batches.
func (d *Data) retainedBatches() []arrow.RecordBatch {
	bs, err := d.ReadAll()
	if err != nil {
		panic(err)
	}
	return bs
}

// smallTable creates database db (if needed) and table db.t of
// smallSchema in s.
func smallTable(t testing.TB, s *Store) *Table {
	t.Helper()
	if !slices.Contains(s.Databases(), "db") {
		must(t, s.CreateDatabase("db"))
	}
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	return tbl
}
