package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestStagedOrderAfterReopen: rows staged in several parts and committed
// together keep their row order after a reopen and when the same snapshot
// is read AS OF its id (a repeated training reads the same rows in the
// same order). Bug caught: files of separate writes of one commit ordered
// by their random names.
func TestStagedOrderAfterReopen(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := segmentStore(t, dir, mem, -1)
	tbl := smallTable(t, s)
	var stg []*Staged
	for p := int64(0); p < 5; p++ { // parts of several files each (256 KB files)
		rec := makeBatch(mem, tbl.Schema(), 40_000*p, 40_000)
		st, err := tbl.Stage([]arrow.RecordBatch{rec})
		rec.Release()
		must(t, err)
		stg = append(stg, st)
	}
	rec := makeBatch(mem, tbl.Schema(), 200_000, 10)
	must(t, tbl.AppendStaged(nil, stg, []arrow.RecordBatch{rec}))
	rec.Release()
	d := tbl.Snapshot()
	inMem := idsOf(t, d)
	id := d.SnapshotID()
	d.Release()
	v, err := tbl.SnapshotByID(id)
	must(t, err)
	old, err := v.Read()
	must(t, err)
	asOf := idsOf(t, old)
	old.Release()
	must(t, s.Close())
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	d = tbl.Snapshot()
	defer d.Release()
	reopened := idsOf(t, d)
	if !slices.Equal(inMem, asOf) {
		t.Errorf("AS OF the current snapshot: %d rows, not in the order of the %d in memory", len(asOf), len(inMem))
	}
	if !slices.Equal(inMem, reopened) {
		t.Errorf("after reopen: %d rows, not in the order of the %d before", len(reopened), len(inMem))
	}
}

// TestRenameKeepsOldReadersFiles: a reader of a table renamed since keeps
// its files: the renamed table's expiry must not delete them.
func TestRenameKeepsOldReadersFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, MaxSnapshots: 3, RetainSnapshots: 2, CacheBytes: -1})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	old := tbl.Snapshot()
	defer old.Release()
	must(t, s.RenameTable("db", "t", "u"))
	nt, err := s.Table("db", "u")
	must(t, err)
	for i := int64(1); i <= 6; i++ {
		rec := makeBatch(mem, nt.Schema(), 100*i, 10)
		must(t, nt.Overwrite([]arrow.RecordBatch{rec}))
		rec.Release()
	}
	b, err := old.Segment(0)
	if err != nil {
		t.Fatalf("reader of the contents before the rename: %v (damaged: %v)", err, errors.Is(err, ErrDamaged))
	}
	b.Release()
}

// TestDropWhileReading: a reader of a dropped table's contents reads them
// to the end; the files go once it releases them.
func TestDropWhileReading(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, CacheBytes: -1})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	old := tbl.Snapshot()
	must(t, s.DropTable("db", "t"))
	b, err := old.Segment(0)
	if err != nil {
		t.Fatalf("reader of a dropped table's snapshot: %v", err)
	}
	b.Release()
	trash, err := os.ReadDir(filepath.Join(s.dir, trashDirName))
	must(t, err)
	if len(trash) != 1 {
		t.Fatalf("trash while a reader holds the dropped table: %d entries, want its directory", len(trash))
	}
	old.Release()
	if trash, _ := os.ReadDir(filepath.Join(s.dir, trashDirName)); len(trash) != 0 {
		t.Errorf("trash once the reader is done: %d entries, want none", len(trash))
	}
}
