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

func TestNames(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"t", true},
		{"Orders_2024", true},
		{"with space", true},
		{"ünïcödé", true},
		{"x.y", true},
		{strings.Repeat("a", 64), true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"a/b", false},
		{`a\b`, false},
		{"../etc", false},
		{"nul\x00", false},
		{"tab\t", false},
		{" lead", false},
		{"trail ", false},
		{strings.Repeat("a", 65), false},
		{"bad\xff", false},
	} {
		err := validateName("table", tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("validateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Errorf("validateName(%q) = %v, not ErrInvalidName", tc.name, err)
		}
	}
}

func TestDatabasesAndTables(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	defer func() { s.Close() }()

	for _, db := range []string{"beta", "Alpha", "gamma"} {
		must(t, s.CreateDatabase(db))
	}
	if err := s.CreateDatabase("ALPHA"); !errors.Is(err, ErrDatabaseExists) {
		t.Fatalf("CreateDatabase(ALPHA) = %v", err)
	}
	for _, bad := range []string{"../x", " x", ".x", "a/b"} {
		if err := s.CreateDatabase(bad); !errors.Is(err, ErrInvalidName) {
			t.Fatalf("CreateDatabase(%q) = %v", bad, err)
		}
	}
	if got := s.Databases(); !slices.Equal(got, []string{"Alpha", "beta", "gamma"}) {
		t.Fatalf("Databases() = %v", got)
	}
	// Names Iceberg would escape in its paths ("my db" → my%20db) get a
	// generated directory holding the name, so no database gets two
	// directories, and the name survives reopening.
	unusual := []string{"my db", "ünï😀db", "a%20b", "MY DB2"}
	for _, name := range unusual {
		must(t, s.CreateDatabase(name))
		_, err := s.CreateTable(name, "t "+name, smallSchema(), nil)
		must(t, err)
	}
	if err := s.CreateDatabase("My Db"); !errors.Is(err, ErrDatabaseExists) {
		t.Fatalf("CreateDatabase(My Db) = %v", err)
	}
	ents, err := os.ReadDir(filepath.Join(dir, warehouseDirName))
	must(t, err)
	for _, e := range ents {
		if !plainName(e.Name()) {
			t.Errorf("database directory %q", e.Name())
		}
	}
	if len(ents) != 3+len(unusual) {
		t.Errorf("%d database directories for %d databases", len(ents), 3+len(unusual))
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	for _, name := range unusual {
		names, err := s.Tables(name)
		must(t, err)
		if !slices.Equal(names, []string{"t " + name}) {
			t.Errorf("tables of %q after reopening: %v", name, names)
		}
		must(t, s.DropDatabase(name))
	}
	if got := s.Databases(); !slices.Equal(got, []string{"Alpha", "beta", "gamma"}) {
		t.Fatalf("Databases() = %v", got)
	}
	for _, name := range []string{"Zeta", "eta", "Theta"} {
		_, err := s.CreateTable("ALPHA", name, smallSchema(), nil)
		must(t, err)
	}
	if _, err := s.CreateTable("alpha", "ETA", smallSchema(), nil); !errors.Is(err, ErrTableExists) {
		t.Fatalf("CreateTable(ETA) = %v", err)
	}
	if _, err := s.CreateTable("nope", "t", smallSchema(), nil); !errors.Is(err, ErrDatabaseNotFound) {
		t.Fatalf("CreateTable in missing db = %v", err)
	}
	if _, err := s.CreateTable("alpha", "a/b", smallSchema(), nil); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("CreateTable(a/b) = %v", err)
	}
	if _, err := s.Table("alpha", "nope"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Table(nope) = %v", err)
	}
	if _, err := s.Tables("nope"); !errors.Is(err, ErrDatabaseNotFound) {
		t.Fatalf("Tables(nope) = %v", err)
	}
	want := []string{"eta", "Theta", "Zeta"}
	if got, _ := s.Tables("alpha"); !slices.Equal(got, want) {
		t.Fatalf("Tables() = %v, want %v", got, want)
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	if got, _ := s.Tables("Alpha"); !slices.Equal(got, want) {
		t.Fatalf("Tables() after reopen = %v, want %v", got, want)
	}
	if got := s.Databases(); !slices.Equal(got, []string{"Alpha", "beta", "gamma"}) {
		t.Fatalf("Databases() after reopen = %v", got)
	}
}

func TestCreateTableRejects(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	for name, tc := range map[string]struct {
		schema *arrow.Schema
		props  map[string]string
		want   error
	}{
		"uint":  {arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint32}}, nil), nil, ErrUnsupportedType},
		"ns":    {arrow.NewSchema([]arrow.Field{{Name: "t", Type: arrow.FixedWidthTypes.Timestamp_ns}}, nil), nil, ErrUnsupportedType},
		"list":  {arrow.NewSchema([]arrow.Field{{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil), nil, ErrUnsupportedType},
		"empty": {arrow.NewSchema(nil, nil), nil, ErrSchemaMismatch},
		"dup": {arrow.NewSchema([]arrow.Field{
			{Name: "a", Type: arrow.PrimitiveTypes.Int64},
			{Name: "A", Type: arrow.PrimitiveTypes.Int64},
		}, nil), nil, ErrSchemaMismatch},
		"reserved":  {smallSchema(), map[string]string{"anomalydb.x": "1"}, ErrReservedProperty},
		"reserved2": {smallSchema(), map[string]string{"commit.manifest-merge.enabled": "false"}, ErrReservedProperty},
	} {
		if _, err := s.CreateTable("db", "t_"+name, tc.schema, tc.props); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", name, err, tc.want)
		}
	}
	if got, _ := s.Tables("db"); len(got) != 0 {
		t.Fatalf("tables created: %v", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.warehouse, "db")); len(ents) != 0 {
		t.Fatalf("directories created: %v", ents)
	}
}

func TestDropTableAndDatabase(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	defer func() { s.Close() }()
	must(t, s.CreateDatabase("db"))
	must(t, s.CreateDatabase("other"))
	a, err := s.CreateTable("db", "a", smallSchema(), nil)
	must(t, err)
	_, err = s.CreateTable("db", "b", smallSchema(), nil)
	must(t, err)
	_, err = s.CreateTable("other", "keep", smallSchema(), nil)
	must(t, err)
	append1(t, a, makeBatch(mem, a.Schema(), 0, 10))
	must(t, s.SaveDetector("db", "det", []byte("model")))
	must(t, s.SaveDetector("other", "det", []byte("other model")))

	held := a.Snapshot()
	must(t, s.DropTable("DB", "A"))
	if held.NumRows() != 10 {
		t.Fatalf("held snapshot has %d rows", held.NumRows())
	}
	held.Release()
	if err := a.Append(nil); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("Append to dropped table = %v", err)
	}
	if err := s.DropTable("db", "a"); !errors.Is(err, ErrTableNotFound) {
		t.Fatalf("second DropTable = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, warehouseDirName, "db", "a")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("table directory still there: %v", err)
	}
	// A new table of the same name starts empty.
	a2, err := s.CreateTable("db", "A", smallSchema(), nil)
	must(t, err)
	if a2.NumRows() != 0 {
		t.Fatalf("recreated table has %d rows", a2.NumRows())
	}

	must(t, s.DropDatabase("Db"))
	if err := s.DropDatabase("db"); !errors.Is(err, ErrDatabaseNotFound) {
		t.Fatalf("second DropDatabase = %v", err)
	}
	for _, p := range []string{filepath.Join(warehouseDirName, "db"), filepath.Join(detectorsDirName, "db")} {
		if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still there: %v", p, err)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, trashDirName)); len(ents) != 0 {
		t.Fatalf("trash not emptied: %v", ents)
	}
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	if got := s.Databases(); !slices.Equal(got, []string{"other"}) {
		t.Fatalf("Databases() = %v", got)
	}
	// Recreating the database does not resurrect its tables or detectors.
	must(t, s.CreateDatabase("db"))
	if tables, _ := s.Tables("db"); len(tables) != 0 {
		t.Fatalf("tables = %v", tables)
	}
	if dets, _ := s.LoadDetectors("db"); len(dets) != 0 {
		t.Fatalf("detectors = %v", dets)
	}
	if dets, _ := s.LoadDetectors("other"); string(dets["det"]) != "other model" {
		t.Fatalf("other detectors = %v", dets)
	}
}

func TestDetectors(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, false)
	defer func() { s.Close() }()
	must(t, s.CreateDatabase("Db"))

	if dets, err := s.LoadDetectors("db"); err != nil || len(dets) != 0 {
		t.Fatalf("LoadDetectors on empty db = %v, %v", dets, err)
	}
	must(t, s.SaveDetector("db", "Fraud", []byte{1, 2, 3}))
	must(t, s.SaveDetector("DB", "iforest", []byte("v1")))
	must(t, s.SaveDetector("db", "iforest", []byte("v2")))
	must(t, s.SaveDetector("db", "empty", nil))
	// Saving under a differently cased name replaces the detector.
	must(t, s.SaveDetector("db", "FRAUD", []byte{4}))
	if err := s.SaveDetector("db", "../x", nil); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("SaveDetector(../x) = %v", err)
	}
	if err := s.SaveDetector("nope", "x", nil); !errors.Is(err, ErrDatabaseNotFound) {
		t.Fatalf("SaveDetector in missing db = %v", err)
	}
	check := func() {
		t.Helper()
		dets, err := s.LoadDetectors("db")
		must(t, err)
		if len(dets) != 3 || string(dets["FRAUD"]) != "\x04" || string(dets["iforest"]) != "v2" || len(dets["empty"]) != 0 {
			t.Fatalf("LoadDetectors = %q", dets)
		}
	}
	check()
	must(t, s.Close())
	s = openStore(t, dir, mem, false)
	check()
	ents, err := os.ReadDir(filepath.Join(dir, detectorsDirName, "Db"))
	must(t, err)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), detectorExt) {
			t.Errorf("unexpected file %s", e.Name())
		}
	}

	must(t, s.DeleteDetector("db", "Iforest"))
	if err := s.DeleteDetector("db", "iforest"); !errors.Is(err, ErrDetectorNotFound) {
		t.Fatalf("second DeleteDetector = %v", err)
	}
	dets, err := s.LoadDetectors("db")
	must(t, err)
	if len(dets) != 2 || dets["iforest"] != nil {
		t.Fatalf("after delete: %q", dets)
	}
}

// TestSaveDetectorFailureChangesNothing makes a save under a differently
// cased name fail at each of its file-system operations in turn and checks
// that the old detector is still there under its old name, also after a
// reopen.
func TestSaveDetectorFailureChangesNothing(t *testing.T) {
	for _, op := range []string{"rename", "open", "write", "sync", "close", "syncdir"} {
		for nth := 1; ; nth++ {
			mem := checkedAlloc(t)
			dir := t.TempDir()
			rec := &crashFS{}
			s, err := OpenWithOptions(dir, &Options{Allocator: mem, fsys: rec})
			must(t, err)
			must(t, s.CreateDatabase("db"))
			must(t, s.SaveDetector("db", "Fraud", []byte("old")))
			boom := errors.New("boom")
			seen := 0
			rec.setFail(func(o, path string) error {
				if o == op && strings.Contains(path, detectorsDirName) {
					if seen++; seen == nth {
						return boom
					}
				}
				return nil
			})
			err = s.SaveDetector("db", "FRAUD", []byte("new"))
			rec.setFail(nil)
			if err == nil {
				must(t, s.Close())
				if nth == 1 {
					t.Errorf("SaveDetector does no %s", op)
				}
				break
			}
			if !errors.Is(err, boom) {
				t.Fatalf("%s #%d fails: SaveDetector = %v, want the injected error", op, nth, err)
			}
			for reopen := range 2 {
				dets, err := s.LoadDetectors("db")
				must(t, err)
				if len(dets) != 1 || string(dets["Fraud"]) != "old" {
					t.Fatalf("%s #%d fails (reopened: %d): LoadDetectors = %q, want only the old Fraud", op, nth, reopen, dets)
				}
				must(t, s.Close())
				s = openStore(t, dir, mem, false)
			}
			must(t, s.Close())
		}
	}
}

func TestLockAndClose(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	if _, err := Open(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 3))
	must(t, s.Close())
	must(t, s.Close()) // idempotent
	if err := s.CreateDatabase("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("CreateDatabase after Close = %v", err)
	}
	if _, err := s.Table("db", "t"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Table after Close = %v", err)
	}
	if err := tbl.Append(nil); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, cleanFileName)); err != nil {
		t.Fatalf("no clean-shutdown marker: %v", err)
	}
	s2 := openStore(t, dir, mem, true)
	must(t, s2.Close())
}
