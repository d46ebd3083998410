package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// damageFile overwrites four bytes at offset (from the end if negative)
// of the newest file in dir whose name ends with suffix.
func damageFile(t *testing.T, dir, suffix string, offset int64) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	must(t, err)
	var newest string
	var newestTime int64
	for _, e := range ents {
		info, err := e.Info()
		must(t, err)
		if strings.HasSuffix(e.Name(), suffix) && info.ModTime().UnixNano() >= newestTime {
			newest, newestTime = filepath.Join(dir, e.Name()), info.ModTime().UnixNano()
		}
	}
	if newest == "" {
		t.Fatalf("no *%s in %s", suffix, dir)
	}
	f, err := os.OpenFile(newest, os.O_WRONLY, 0)
	must(t, err)
	if offset < 0 {
		info, err := f.Stat()
		must(t, err)
		offset += info.Size()
	}
	_, err = f.WriteAt([]byte("XXXX"), offset)
	must(t, err)
	must(t, f.Close())
}

// TestDamagedTablesAreContained damages one table's metadata file, another
// table's data file and a third's manifest list: the store still opens,
// lists the three with their damage, refuses writes to them, serves the
// undamaged table, and drops the damaged ones for good.
func TestDamagedTablesAreContained(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	must(t, s.CreateDatabase("db"))
	for _, name := range []string{"meta", "data", "list", "ok"} {
		tbl, err := s.CreateTable("db", name, smallSchema(), nil)
		must(t, err)
		append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	}
	must(t, s.Close())

	tdir := func(name string) string { return filepath.Join(dir, warehouseDirName, "db", name) }
	damageFile(t, filepath.Join(tdir("meta"), "metadata"), ".metadata.json", 0)
	damageFile(t, filepath.Join(tdir("data"), "data"), ".parquet", -4) // the footer's magic
	damageFile(t, filepath.Join(tdir("list"), "metadata"), ".avro", 0)

	s = openStore(t, dir, mem, true)
	names, err := s.Tables("db")
	must(t, err)
	if !slices.Equal(names, []string{"data", "list", "meta", "ok"}) {
		t.Fatalf("tables after damage: %v", names)
	}
	// Opening reads metadata only: damaged data files and manifests are
	// found when the rows are first read.
	for _, name := range []string{"data", "list"} {
		tbl, err := s.Table("db", name)
		must(t, err)
		if err := tbl.Damage(); err != nil {
			t.Errorf("%s: damage found before the rows were read (the store read them at open): %v", name, err)
		}
		if n := tbl.NumRows(); n != 10 {
			t.Errorf("%s: NumRows from the metadata before the rows are read = %d, want 10", name, n)
		}
	}
	// A damaged data file fails the reads that need it, with an error
	// naming the table, not the table: its other files, its metadata
	// and writes that do not read it still work.
	data, err := s.Table("db", "data")
	must(t, err)
	if err := data.Load(); err != nil {
		t.Errorf("data: Load() read more than the metadata: %v", err)
	}
	d := data.Snapshot()
	if _, err := d.ReadAll(); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "db.data") {
		t.Errorf("data: reading a damaged data file: %v", err)
	}
	d.Release()
	for _, name := range []string{"meta", "list"} {
		tbl, err := s.Table("db", name)
		must(t, err)
		if err := tbl.Load(); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "db."+name) {
			t.Errorf("%s: Load() = %v", name, err)
		}
		if err := tbl.Damage(); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Damage() after Load = %v", name, err)
		}
		if tbl.NumRows() != 0 {
			t.Errorf("%s: a damaged table shows %d rows", name, tbl.NumRows())
		}
		rec := makeBatch(mem, smallSchema(), 10, 1)
		if err := tbl.Append([]arrow.RecordBatch{rec}); !errors.Is(err, ErrDamaged) {
			t.Errorf("%s: Append to a damaged table: %v", name, err)
		}
		rec.Release()
	}
	for _, name := range []string{"data", "meta"} { // meta: from its previous metadata version
		if tbl, err := s.Table("db", name); err == nil && !tbl.Schema().Equal(smallSchema()) {
			t.Errorf("damaged table %s lost its columns: %v", name, tbl.Schema())
		}
	}
	ok, err := s.Table("db", "ok")
	must(t, err)
	if ok.Damage() != nil {
		t.Fatalf("undamaged table: %v", ok.Damage())
	}
	append1(t, ok, makeBatch(mem, ok.Schema(), 10, 5))
	assertRows(t, mem, ok, [2]int64{0, 15})

	must(t, s.DropTable("db", "meta"))
	must(t, s.DropTable("db", "data"))
	if _, err := os.Stat(tdir("meta")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dropped damaged table's directory: %v", err)
	}
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	defer s.Close()
	names, err = s.Tables("db")
	must(t, err)
	if !slices.Equal(names, []string{"list", "ok"}) {
		t.Fatalf("tables after dropping two damaged ones: %v", names)
	}
	ok, err = s.Table("db", "ok")
	must(t, err)
	assertRows(t, mem, ok, [2]int64{0, 15})
}

// TestUnfinishedCommitDamagesOnlyItsTables writes the intent of a
// multi-table commit that cannot be completed (its tables moved past the
// base snapshot): the store opens with those tables damaged, keeps the
// intent while one of them exists, and forgets it once both are dropped.
func TestUnfinishedCommitDamagesOnlyItsTables(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, a := tenRowTable(t, dir, mem, true)
	b, err := s.CreateTable("db", "b", smallSchema(), nil)
	must(t, err)
	c, err := s.CreateTable("db", "c", smallSchema(), nil)
	must(t, err)
	append1(t, c, makeBatch(mem, c.Schema(), 0, 3))
	in := intent{ID: "00000000-0000-0000-0000-000000000001"}
	for _, tbl := range []*Table{a, b} {
		in.Tables = append(in.Tables, intentTable{Database: "db", Table: tbl.dir(), UUID: tbl.ice.Metadata().TableUUID().String(), Base: 42})
	}
	path, err := s.writeIntent(&in)
	must(t, err)
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	for _, name := range []string{"t", "b"} {
		tbl, err := s.Table("db", name)
		must(t, err)
		if err := tbl.Damage(); !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), in.ID) {
			t.Errorf("%s: Damage() = %v", name, err)
		}
	}
	c, err = s.Table("db", "c")
	must(t, err)
	assertRows(t, mem, c, [2]int64{0, 3})
	must(t, s.DropTable("db", "t"))
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the intent went while one of its tables is still damaged: %v", err)
	}
	must(t, s.DropTable("db", "b"))
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	defer s.Close()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the intent outlived its tables: %v", err)
	}
	names, err := s.Tables("db")
	must(t, err)
	if !slices.Equal(names, []string{"c"}) {
		t.Errorf("tables: %v", names)
	}
}

// TestCompletedPartOfAnUnfinishedCommitStaysHealthy: when recovery
// completes one table of a multi-table commit and not the other, the
// intent keeps only the unfinished table, so the completed one stays
// healthy after the snapshot that marks its commit has expired.
func TestCompletedPartOfAnUnfinishedCommitStaysHealthy(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, a := tenRowTable(t, dir, mem, true)
	b, err := s.CreateTable("db", "b", smallSchema(), nil)
	must(t, err)
	in := intent{ID: "00000000-0000-0000-0000-000000000002", Tables: []intentTable{
		{Database: "db", Table: a.dir(), UUID: a.ice.Metadata().TableUUID().String(), Base: snapshotID(a.ice)},
		{Database: "db", Table: b.dir(), UUID: b.ice.Metadata().TableUUID().String(), Base: 42},
	}}
	_, err = s.writeIntent(&in)
	must(t, err)
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	a, err = s.Table("db", "t")
	must(t, err)
	if a.Damage() != nil {
		t.Fatalf("the completed table is damaged: %v", a.Damage())
	}
	for i := int64(0); i < 25; i++ { // expires the snapshot of the commit
		append1(t, a, makeBatch(mem, a.Schema(), 10+i, 1))
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	a, err = s.Table("db", "t")
	must(t, err)
	if a.Damage() != nil {
		t.Fatalf("the completed table is damaged after its commit's snapshot expired: %v", a.Damage())
	}
	assertRows(t, mem, a, [2]int64{0, 35})
	if b, err := s.Table("db", "b"); err != nil || b.Damage() == nil {
		t.Errorf("the unfinished table: %v, %v", b, err)
	}
}

// TestDamagedTableYieldsItsName: a damaged table named after an old name
// that another table has taken is listed as damaged-<dir>; the store
// opens and the other table keeps its name.
func TestDamagedTableYieldsItsName(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	must(t, s.CreateDatabase("db"))
	old, err := s.CreateTable("db", "Sales", smallSchema(), nil)
	must(t, err)
	append1(t, old, makeBatch(mem, old.Schema(), 0, 3))
	must(t, s.RenameTable("db", "Sales", "sales_old"))
	cur, err := s.CreateTable("db", "sales", smallSchema(), nil)
	must(t, err)
	append1(t, cur, makeBatch(mem, cur.Schema(), 0, 5))
	must(t, s.Close())
	mdir := filepath.Join(dir, warehouseDirName, "db", "Sales", "metadata")
	versions, err := filepath.Glob(filepath.Join(mdir, "v*.metadata.json"))
	must(t, err)
	must(t, os.WriteFile(filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json", len(versions))), []byte("{"), 0o644))

	s = openStore(t, dir, mem, true)
	defer s.Close()
	names, err := s.Tables("db")
	must(t, err)
	if !slices.Equal(names, []string{"damaged-Sales", "sales"}) {
		t.Fatalf("tables: %v", names)
	}
	cur, err = s.Table("db", "sales")
	must(t, err)
	assertRows(t, mem, cur, [2]int64{0, 5})
}
