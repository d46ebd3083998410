package storage

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// TestDataFiles checks that reading exactly the files DataFiles lists,
// with a plain Parquet reader, gives the table's ids in order through
// appends (several files), an overwrite (the old files stay on disk but
// are not listed) and a move of the data directory; that a snapshot with a position delete
// file is refused with ErrDeleteFiles; and that a dropped table gives
// ErrTableNotFound.
func TestDataFiles(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	open := func() *Store {
		s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true, SmallFileRows: -1})
		must(t, err)
		return s
	}
	s := open()
	defer func() { s.Close() }()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)

	files, err := tbl.DataFiles()
	if err != nil || files != nil {
		t.Fatalf("DataFiles of an empty table = %v, %v; want nil, nil", files, err)
	}

	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 5))
	first := parquetIDs(t, tbl, 2)
	if want := idRange(0, 15); !reflect.DeepEqual(first, want) {
		t.Fatalf("ids in the listed files = %v, want %v", first, want)
	}
	old, err := tbl.DataFiles()
	must(t, err)

	a, b := makeBatch(mem, tbl.Schema(), 100, 3), makeBatch(mem, tbl.Schema(), 200, 4)
	must(t, tbl.Overwrite([]arrow.RecordBatch{a, b}))
	a.Release()
	b.Release()
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 300, 2))
	want := append(append(idRange(100, 3), idRange(200, 4)...), idRange(300, 2)...)
	if got := parquetIDs(t, tbl, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("ids in the listed files after an overwrite = %v, want %v", got, want)
	}
	for _, p := range old {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("a file of an older snapshot is gone, so the test cannot tell it is not listed: %v", err)
		}
	}
	// Moved while closed, the data directory's files are listed in
	// their new place (the metadata still names the old one).
	must(t, s.Close())
	moved := filepath.Join(t.TempDir(), "moved")
	must(t, os.Rename(dir, moved))
	dir = moved
	s = open()
	tbl, err = s.Table("db", "t")
	must(t, err)
	if got := parquetIDs(t, tbl, 0); !reflect.DeepEqual(got, want) {
		t.Fatalf("ids in the listed files after a move and reopen = %v, want %v", got, want)
	}

	// A merge-on-read DELETE through iceberg-go, which anomalydb never
	// does itself: the 7-row file keeps its rows, a delete file hides one.
	tbl.writeMu.Lock()
	txn := tbl.ice.NewTransaction()
	must(t, txn.SetProperties(iceberg.Properties{table.WriteDeleteModeKey: table.WriteModeMergeOnRead}))
	must(t, txn.Delete(context.Background(), iceberg.EqualTo(iceberg.Reference("id"), int64(201)), nil))
	err = tbl.commit(context.Background(), txn, nil)
	tbl.writeMu.Unlock()
	must(t, err)
	if files, err := tbl.DataFiles(); !errors.Is(err, ErrDeleteFiles) {
		t.Fatalf("DataFiles of a snapshot with a delete file = %v, %v; want ErrDeleteFiles", files, err)
	}

	must(t, s.DropTable("db", "t"))
	if files, err := tbl.DataFiles(); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("DataFiles of a dropped table = %v, %v; want ErrTableNotFound", files, err)
	}
}

// parquetIDs reads the id column of every file tbl.DataFiles lists, in
// the listed order, with arrow-go's Parquet reader (not iceberg-go), and
// requires nFiles files unless it is 0.
func parquetIDs(t *testing.T, tbl *Table, nFiles int) []int64 {
	t.Helper()
	files, err := tbl.DataFiles()
	must(t, err)
	if nFiles > 0 && len(files) != nFiles {
		t.Fatalf("DataFiles listed %d files, want %d: %v", len(files), nFiles, files)
	}
	var ids []int64
	for _, p := range files {
		if !filepath.IsAbs(p) || !under(p, tbl.store.dir) {
			t.Fatalf("listed file %s is not an absolute path in the data directory %s", p, tbl.store.dir)
		}
		f, err := file.OpenParquetFile(p, false)
		must(t, err)
		r, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		must(t, err)
		tb, err := r.ReadTable(context.Background())
		f.Close()
		must(t, err)
		idx := tb.Schema().FieldIndices("id")
		if len(idx) != 1 {
			tb.Release()
			t.Fatalf("%s has no id column: %s", p, tb.Schema())
		}
		for _, c := range tb.Column(idx[0]).Data().Chunks() {
			ids = append(ids, c.(*array.Int64).Int64Values()...)
		}
		tb.Release()
	}
	return ids
}

func idRange(from, n int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = from + int64(i)
	}
	return out
}
