package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestRenameTable: a renamed table keeps its rows and files under the new
// name, in memory and after reopening; the old name is free again (a new
// table of that name gets its own directory); the old *Table refuses
// writes; renaming onto a table or a view, or to an invalid name, fails
// and changes nothing; a case-only rename works. Catches: a rename kept
// only in memory (the old name is back after reopening), a CreateTable
// that reuses the renamed table's directory (its files are clobbered or
// the create fails), a directory named after a name with spaces or
// non-ASCII characters (Iceberg escapes it in its paths, and the files
// land in a second directory).
func TestRenameTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, old := tenRowTable(t, dir, mem, true)
	must(t, s.SaveView("db", View{Name: "v", Definition: "select 1", CreateStatement: "create view v as select 1"}, false))

	const name = "Sales Q3 ünï"
	must(t, s.RenameTable("db", "t", name))
	rec := makeBatch(mem, smallSchema(), 10, 1)
	defer rec.Release()
	if err := old.Append([]arrow.RecordBatch{rec}); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Append through the old *Table: %v, want ErrTableNotFound", err)
	}
	if _, err := s.Table("db", "t"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Table(old name): %v", err)
	}
	renamed, err := s.Table("db", strings.ToUpper(name))
	must(t, err)
	if renamed.Name() != name || renamed.NumRows() != 10 {
		t.Fatalf("renamed table: %q with %d rows", renamed.Name(), renamed.NumRows())
	}
	must(t, renamed.Append([]arrow.RecordBatch{rec}))

	// The old name is free; the new table has its own directory.
	fresh, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, fresh, makeBatch(mem, smallSchema(), 100, 3))
	// A name with spaces gets a generated directory too.
	_, err = s.CreateTable("db", "my table", smallSchema(), nil)
	must(t, err)

	for _, bad := range []struct{ to string }{{"t"}, {"V"}, {""}, {"a/b"}} {
		if err := s.RenameTable("db", name, bad.to); err == nil {
			t.Errorf("RenameTable to %q succeeded", bad.to)
		}
	}
	if err := s.RenameTable("db", "nope", "x"); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("RenameTable of a missing table: %v", err)
	}
	want := storeState(t, s)
	must(t, s.Close())

	ents, err := os.ReadDir(filepath.Join(dir, warehouseDirName, "db"))
	must(t, err)
	var dirs []string
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		dirs = append(dirs, e.Name())
		if !plainName(e.Name()) {
			t.Errorf("table directory %q is not a plain name", e.Name())
		}
	}
	if len(dirs) != 3 || !slices.Contains(dirs, "t") {
		t.Errorf("table directories %v: want 3 (t for the renamed table, two generated)", dirs)
	}

	s = openStore(t, dir, mem, true)
	defer s.Close()
	if got := storeState(t, s); got != want {
		t.Fatalf("after reopening:\n%s\nwant\n%s", got, want)
	}
	tbl, err := s.Table("db", name)
	must(t, err)
	if tbl.NumRows() != 11 {
		t.Fatalf("renamed table has %d rows after reopening, want 11", tbl.NumRows())
	}
	must(t, s.RenameTable("db", name, "SALES"))
	if tables, _ := s.Tables("db"); !slices.Equal(tables, []string{"my table", "SALES", "t"}) {
		t.Fatalf("tables %v", tables)
	}
	must(t, s.RenameTable("db", "sales", "sales"))
	must(t, s.DropTable("db", "sales"))
	if tables, _ := s.Tables("db"); !slices.Equal(tables, []string{"my table", "t"}) {
		t.Fatalf("tables after drop %v", tables)
	}
}

// TestRenameUnreadTable: renaming a table whose rows have not been read
// since the store opened (RenameTable, and AlterTable with only a new
// name) is a metadata commit that leaves them unread, and the table under
// its new name then reads them, all of them, and accepts appends. Bugs
// caught: a rename that reads the whole table (under the store's lock),
// one that loses the rows or the row count of an unread table.
func TestRenameUnreadTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	defer s.Close()
	must(t, s.RenameTable("db", "t", "u"))
	must(t, s.AlterTable("db", "u", Alteration{NewName: "v"}))
	v, err := s.Table("db", "v")
	must(t, err)
	v.dataMu.RLock()
	read := v.data != nil
	v.dataMu.RUnlock()
	if read {
		t.Fatal("renaming read the rows")
	}
	if n := v.NumRows(); n != 10 {
		t.Fatalf("NumRows of the renamed, unread table = %d, want 10", n)
	}
	append1(t, v, makeBatch(mem, v.Schema(), 10, 5))
	assertRows(t, mem, v, [2]int64{0, 15})
}
