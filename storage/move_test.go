package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMoveTable: AlterTable with NewDB moves a table to another database
// with its rows and properties, under a new name or its own; the old
// *Table refuses writes, the old database no longer has it, also after
// reopening, and nothing is left of it on disk there. A missing target
// database is ErrDatabaseNotFound, a taken name (table or view)
// ErrTableExists, and neither changes anything. (Crashes: TestPowerLoss,
// "AlterTable/move".) Catches: a move that keeps the source (two
// tables), one that loses properties or rows, a name check that looks in
// the source database.
func TestMoveTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	must(t, tbl.UpdateProperties(setProps(map[string]string{"sql.auto_increment": "41", "k": "v"}, nil)))
	must(t, s.CreateDatabase("db2"))
	_, err := s.CreateTable("db2", "taken", smallSchema(), nil)
	must(t, err)
	must(t, s.SaveView("db2", View{Name: "V", Definition: "select 1", CreateStatement: "create view V as select 1"}, false))

	state := storeState(t, s)
	for _, c := range []struct {
		a    Alteration
		want error
	}{
		{Alteration{NewDB: "nodb"}, ErrDatabaseNotFound},
		{Alteration{NewDB: "db2", NewName: "TAKEN"}, ErrTableExists},
		{Alteration{NewDB: "db2", NewName: "v"}, ErrTableExists},
	} {
		if err := s.AlterTable("db", "t", c.a); !errors.Is(err, c.want) {
			t.Errorf("AlterTable %+v: %v, want %v", c.a, err, c.want)
		}
	}
	if got := storeState(t, s); got != state {
		t.Fatalf("failed moves changed the store:\n%s\nwant\n%s", got, state)
	}

	must(t, s.AlterTable("db", "T", Alteration{NewDB: "DB2"}))
	if err := tbl.Append(nil); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("write to the moved table's old *Table: %v", err)
	}
	check := func(s *Store, where string) {
		t.Helper()
		if names, err := s.Tables("db"); err != nil || len(names) != 0 {
			t.Fatalf("%s: tables of db %v (%v)", where, names, err)
		}
		moved, err := s.Table("db2", "t")
		must(t, err)
		if moved.Name() != "t" || moved.Database() != "db2" {
			t.Fatalf("%s: moved table is %s.%s", where, moved.Database(), moved.Name())
		}
		if p := moved.Properties(); p["k"] != "v" || p["sql.auto_increment"] != "41" {
			t.Fatalf("%s: properties %v", where, p)
		}
		assertRows(t, mem, moved, [2]int64{0, 10})
	}
	check(s, "after the move")
	must(t, s.AlterTable("db2", "t", Alteration{NewDB: "db", NewName: "back"}))
	must(t, s.AlterTable("db", "back", Alteration{NewDB: "db2", NewName: "t"}))
	must(t, s.Close())
	if ents, err := os.ReadDir(filepath.Join(dir, warehouseDirName, "db")); err != nil || len(ents) != 0 {
		t.Fatalf("the source database's directory holds %v (%v)", ents, err)
	}
	if ents, err := os.ReadDir(filepath.Join(dir, txlogDirName)); err != nil || len(ents) != 0 {
		t.Fatalf("move intents left: %v (%v)", ents, err)
	}
	s = openStore(t, dir, mem, true)
	defer s.Close()
	check(s, "after reopening")
	checkNoOrphans(t, s, "after moves")
}
