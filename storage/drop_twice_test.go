package storage

import (
	"testing"
)

// TestDropCreateDropWhileReading: a reader of a dropped table keeps
// reading after a table of the same name (so the same directory) is
// created and dropped again. Bug caught: one redirection per directory
// path, the second drop's replacing the first's.
func TestDropCreateDropWhileReading(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, CacheBytes: -1})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	old := tbl.Snapshot()
	defer old.Release()
	must(t, s.DropTable("db", "t"))
	tbl2, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, tbl2, makeBatch(mem, tbl2.Schema(), 100, 10))
	must(t, s.DropTable("db", "t"))
	b, err := old.Segment(0)
	if err != nil {
		t.Fatalf("reader of the first dropped t after a second DROP of t: %v", err)
	}
	b.Release()
}
