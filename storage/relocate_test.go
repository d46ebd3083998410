package storage

import (
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

func TestRelocatorResolve(t *testing.T) {
	r := newRelocator("/srv/copy")
	r.add("/x/data", "/x/data/old", "/srv/copy")
	for _, c := range []struct{ in, want string }{
		{"file:///x/data/warehouse/db/t/data/a.parquet", "/srv/copy/warehouse/db/t/data/a.parquet"},
		{"/x/data/old/warehouse/a", "/srv/copy/warehouse/a"}, // the longer earlier root wins
		{"/x/data2/warehouse/a", "/x/data2/warehouse/a"},     // a sibling, not under /x/data
		{"/srv/copy/warehouse/a", "/srv/copy/warehouse/a"},
		{"/x/data", "/srv/copy"},
	} {
		if got := r.resolve(c.in); got != c.want {
			t.Errorf("resolve(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	// Moved up into a parent of the old place, and down into a child.
	up := newRelocator("/x")
	up.add("/x/y")
	down := newRelocator("/x/y")
	down.add("/x")
	for _, c := range []struct {
		r       *relocator
		in, out string
	}{
		{up, "/x/y/warehouse/a", "/x/warehouse/a"},
		{up, "/x/warehouse/a", "/x/warehouse/a"},
		{down, "/x/warehouse/a", "/x/y/warehouse/a"},
		{down, "/x/y/warehouse/a", "/x/y/warehouse/a"},
	} {
		if got := c.r.resolve(c.in); got != c.out {
			t.Errorf("root %s: resolve(%q) = %q, want %q", c.r.root, c.in, got, c.out)
		}
	}
	if _, err := r.writable("/x/data2/warehouse/a"); !errors.Is(err, ErrOutsideDataDir) {
		t.Errorf("writable outside the data directory: %v", err)
	}
	if p, err := r.writable("/x/data/detectors/d"); err != nil || p != "/srv/copy/detectors/d" {
		t.Errorf("writable under an earlier root = %q, %v", p, err)
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestCopiedAndMovedDataDirectory copies a stopped data directory with
// cp -a and moves the copy with mv: each opens with the same tables and
// detectors, writes (appends, snapshot expiry, metadata deletion, orphan
// removal after an unclean stop) only inside itself, and the original is
// left exactly as it was.
func TestCopiedAndMovedDataDirectory(t *testing.T) {
	mem := checkedAlloc(t)
	base := t.TempDir()
	orig := filepath.Join(base, "orig")
	opts := &Options{Allocator: mem, NoSync: true, MaxSnapshots: 2, RetainSnapshots: 1}
	open := func(dir string) (*Store, *Table) {
		t.Helper()
		s, err := OpenWithOptions(dir, opts)
		if err != nil {
			t.Fatalf("Open(%s): %v", dir, err)
		}
		tbl, err := s.Table("db", "t")
		must(t, err)
		return s, tbl
	}

	s := openStore(t, orig, mem, true)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	for i := int64(0); i < 3; i++ {
		append1(t, tbl, makeBatch(mem, tbl.Schema(), i*10, 10))
	}
	must(t, s.SaveDetector("db", "d", []byte("model")))
	must(t, s.Close())
	before := testbin.TreeState(t, orig)

	cp := filepath.Join(base, "copy")
	run(t, "cp", "-a", orig, cp)
	// An unclean stop and a leftover data file: the sweep must see the
	// copy's files as its own.
	must(t, os.Remove(filepath.Join(cp, cleanFileName)))
	ents, err := os.ReadDir(filepath.Join(cp, warehouseDirName, "db"))
	must(t, err)
	orphan := filepath.Join(cp, warehouseDirName, "db", ents[0].Name(), "data", "orphan.parquet")
	must(t, os.WriteFile(orphan, []byte("PAR1"), 0o644))

	s, tbl = open(cp)
	if _, err := os.Stat(orphan); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the copy's unreferenced file survived the recovery sweep: %v", err)
	}
	assertRows(t, mem, tbl, [2]int64{0, 30})
	for i := int64(3); i < 6; i++ { // expires snapshots: deletes files and metadata
		append1(t, tbl, makeBatch(mem, tbl.Schema(), i*10, 10))
	}
	if dets, err := s.LoadDetectors("db"); err != nil || string(dets["d"]) != "model" {
		t.Errorf("detectors in the copy = %q, %v", dets, err)
	}
	must(t, s.Close())

	testbin.SameTree(t, "the copy", before, testbin.TreeState(t, orig))

	s, tbl = open(orig)
	assertRows(t, mem, tbl, [2]int64{0, 30})
	must(t, s.Close())

	moved := filepath.Join(base, "moved")
	run(t, "mv", cp, moved)
	s, tbl = open(moved)
	assertRows(t, mem, tbl, [2]int64{0, 60})
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 60, 10))
	must(t, s.Close())
	if _, err := os.Stat(cp); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the moved directory recreated its old place: %v", err)
	}

	// A data directory written before ROOTS existed: the earlier root is
	// found from the tables' locations.
	legacy := filepath.Join(base, "legacy")
	run(t, "cp", "-a", orig, legacy)
	must(t, os.Remove(filepath.Join(legacy, rootsFileName)))
	s, tbl = open(legacy)
	assertRows(t, mem, tbl, [2]int64{0, 30})
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 30, 10))
	assertRows(t, mem, tbl, [2]int64{0, 40})
	must(t, s.Close())

	s, tbl = open(moved)
	assertRows(t, mem, tbl, [2]int64{0, 70})
	must(t, s.Close())
}

// TestDataDirectoryPathWithURLCharacters opens data directories whose
// paths hold characters a URL escapes or cuts ('#', '?', '%', a space,
// non-ASCII), writes, reopens, and moves one to a plain path and back:
// every row stays, and no file appears outside the data directory (such
// as an escaped "sp%20ace"). Catches: the path handed to iceberg-go as
// it is (it parses it as a URL).
func TestDataDirectoryPathWithURLCharacters(t *testing.T) {
	mem := checkedAlloc(t)
	base := t.TempDir()
	opts := &Options{Allocator: mem, NoSync: true}
	for i, sub := range []string{"a#b", "q?x", "p%20c", "sp ace", "ünï"} {
		dir := filepath.Join(base, sub, "data")
		s, err := OpenWithOptions(dir, opts)
		if err != nil {
			t.Fatalf("%s: open: %v", sub, err)
		}
		must(t, s.CreateDatabase("db"))
		tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
		if err != nil {
			t.Fatalf("%s: create: %v", sub, err)
		}
		append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
		must(t, s.Close())
		if i == 3 { // to a plain path and back
			plain := filepath.Join(base, "plain")
			run(t, "mv", dir, plain)
			s, err = OpenWithOptions(plain, opts)
			must(t, err)
			tbl, err = s.Table("db", "t")
			must(t, err)
			append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 10))
			must(t, s.Close())
			run(t, "mv", plain, dir)
		}
		s, err = OpenWithOptions(dir, opts)
		if err != nil {
			t.Fatalf("%s: reopen: %v", sub, err)
		}
		tbl, err = s.Table("db", "t")
		must(t, err)
		if i == 3 {
			append1(t, tbl, makeBatch(mem, tbl.Schema(), 20, 10))
			assertRows(t, mem, tbl, [2]int64{0, 30})
		} else {
			assertRows(t, mem, tbl, [2]int64{0, 10})
		}
		must(t, s.Close())
	}
	ents, err := os.ReadDir(base)
	must(t, err)
	if len(ents) != 5 {
		t.Errorf("entries beside the data directories: %v", ents)
	}
}
