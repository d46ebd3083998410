package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func viewNamed(name, sel string) View {
	return View{Name: name, Definition: sel, CreateStatement: "create view " + name + " as " + sel, SQLMode: "ANSI_QUOTES"}
}

// TestViewsPersistAndCompareCaseInsensitively catches a views map keyed by
// the name as typed (so "V" and "v" would be two views) and a SaveView
// that forgets to write the file (views gone after reopen).
func TestViewsPersistAndCompareCaseInsensitively(t *testing.T) {
	dir := t.TempDir()
	mem := checkedAlloc(t)
	s, _ := tenRowTable(t, dir, mem, true)
	must(t, s.SaveView("db", viewNamed("Sales", "select 1"), false))
	must(t, s.SaveView("db", viewNamed("a", "select 2"), false))
	if err := s.SaveView("db", viewNamed("SALES", "select 3"), false); !errors.Is(err, ErrViewExists) {
		t.Fatalf("SaveView of an existing name: %v, want ErrViewExists", err)
	}
	must(t, s.SaveView("db", viewNamed("SALES", "select 4"), true))
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	defer s.Close()
	views, err := s.Views("db")
	must(t, err)
	if len(views) != 2 || views[0] != viewNamed("a", "select 2") || views[1] != viewNamed("SALES", "select 4") {
		t.Fatalf("views after reopen = %+v", views)
	}
	v, ok, err := s.View("db", "sales")
	must(t, err)
	if !ok || v.Definition != "select 4" {
		t.Fatalf("View(sales) = %+v, %v", v, ok)
	}
	if err := s.DeleteView("db", "nope"); !errors.Is(err, ErrViewNotFound) {
		t.Fatalf("DeleteView(nope) = %v, want ErrViewNotFound", err)
	}
	must(t, s.DeleteView("db", "Sales"))
	if _, ok, _ := s.View("db", "SALES"); ok {
		t.Fatal("view still there after DeleteView")
	}
}

// TestViewAndTableNamesCollide catches a SaveView that does not look at
// the tables, and a CreateTable that does not look at the views: a table
// and a view may not share a name (MySQL error 1050).
func TestViewAndTableNamesCollide(t *testing.T) {
	mem := checkedAlloc(t)
	s, _ := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	if err := s.SaveView("db", viewNamed("T", "select 1"), true); !errors.Is(err, ErrTableExists) {
		t.Fatalf("SaveView named like a table: %v, want ErrTableExists", err)
	}
	must(t, s.SaveView("db", viewNamed("v", "select 1"), false))
	if _, err := s.CreateTable("db", "V", smallSchema(), nil); !errors.Is(err, ErrTableExists) {
		t.Fatalf("CreateTable named like a view: %v, want ErrTableExists", err)
	}
}

// TestDropDatabaseDropsViews catches views kept outside the database's
// directory (and so surviving DROP DATABASE into a new database of the
// same name), and an Open that leaves a temporary views file behind.
func TestDropDatabaseDropsViews(t *testing.T) {
	dir := t.TempDir()
	mem := checkedAlloc(t)
	s, _ := tenRowTable(t, dir, mem, true)
	must(t, s.SaveView("db", viewNamed("v", "select 1"), false))
	must(t, s.DropDatabase("db"))
	must(t, s.CreateDatabase("DB"))
	if views, err := s.Views("db"); err != nil || len(views) != 0 {
		t.Fatalf("views of a recreated database: %+v, %v", views, err)
	}
	must(t, s.Close())

	tmp := filepath.Join(dir, warehouseDirName, "DB", "."+viewsFileName+".tmp-abc")
	must(t, os.WriteFile(tmp, []byte("{"), 0o644))
	s = openStore(t, dir, mem, true)
	defer s.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("temporary views file left after Open: %v", err)
	}
}
