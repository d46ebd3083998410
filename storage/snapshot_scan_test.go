package storage

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// readSnapshot resolves snapshot id of tbl and reads it; the caller
// releases the result.
func readSnapshot(t *testing.T, tbl *Table, id int64) (*SnapshotView, *Data) {
	t.Helper()
	v, err := tbl.SnapshotByID(id)
	if err != nil {
		t.Fatalf("SnapshotByID(%d): %v", id, err)
	}
	d, err := v.Read()
	if err != nil {
		t.Fatalf("Read of snapshot %d: %v", id, err)
	}
	return v, d
}

// currentID is the snapshot id of tbl's current contents.
func currentID(tbl *Table) int64 {
	d := tbl.Snapshot()
	defer d.Release()
	return d.SnapshotID()
}

// TestSnapshotHistory writes a table of every type three times (two
// appends, the second merged with the first file, then an overwrite) and
// reads each snapshot back from its files: the rows and exact declared
// types of that moment. Snapshots lists them in commit order with their
// parents and row counts; SnapshotAsOf picks the last snapshot committed
// at or before a time; unknown ids and times before the first snapshot
// are errors. Catches: Read returning the current contents, rows out of
// order (merged files), declared types lost (int8 read as int32), a
// Data leaked, a wrong SnapshotID stamped on published contents, and
// SnapshotAsOf off by one snapshot.
func TestSnapshotHistory(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, MergeFiles: 2})
	must(t, err)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", allTypesSchema(), nil)
	must(t, err)
	if _, err := tbl.SnapshotAsOf(time.Now()); !errors.Is(err, ErrNoSnapshotAsOf) {
		t.Fatalf("SnapshotAsOf on a table never written: %v, want ErrNoSnapshotAsOf", err)
	}
	if got := currentID(tbl); got != -1 {
		t.Fatalf("SnapshotID of an empty table = %d, want -1", got)
	}
	sc := tbl.Schema()
	var ids []int64
	append1(t, tbl, makeBatch(mem, sc, 0, 10))
	ids = append(ids, currentID(tbl))
	append1(t, tbl, makeBatch(mem, sc, 10, 5))
	ids = append(ids, currentID(tbl))
	rec := makeBatch(mem, sc, 100, 3)
	must(t, tbl.Overwrite([]arrow.RecordBatch{rec}))
	rec.Release()
	ids = append(ids, currentID(tbl))
	if ids[0] <= 0 || ids[0] == ids[1] || ids[1] == ids[2] {
		t.Fatalf("snapshot ids %v", ids)
	}

	infos, err := tbl.Snapshots()
	must(t, err)
	if len(infos) != 3 {
		t.Fatalf("Snapshots: %d, want 3", len(infos))
	}
	wantRows := []int64{10, 15, 3}
	for i, in := range infos {
		if in.ID != ids[i] || in.Current != (i == 2) {
			t.Errorf("snapshot %d: %+v, want id %d", i, in, ids[i])
		}
		if n, ok := in.TotalRows(); !ok || n != wantRows[i] {
			t.Errorf("snapshot %d: total rows %d %v, want %d", i, n, ok, wantRows[i])
		}
		wantParent := int64(-1)
		if i > 0 {
			wantParent = ids[i-1]
		}
		if in.ParentID != wantParent {
			t.Errorf("snapshot %d: parent %d, want %d", i, in.ParentID, wantParent)
		}
		if i > 0 && in.CommittedAt.Before(infos[i-1].CommittedAt) {
			t.Errorf("snapshot %d committed before its parent", i)
		}
	}

	for i, ranges := range [][][2]int64{{{0, 10}}, {{0, 15}}, {{100, 3}}} {
		v, d := readSnapshot(t, tbl, ids[i])
		if d.SnapshotID() != ids[i] || v.ID != ids[i] {
			t.Errorf("snapshot %d read as %d", ids[i], d.SnapshotID())
		}
		if !slices.Equal(v.Sources(), []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}) {
			t.Errorf("sources %v", v.Sources())
		}
		var want []arrow.RecordBatch
		for _, r := range ranges {
			want = append(want, makeBatch(mem, sc, r[0], r[1]))
		}
		assertSameRows(t, mem, sc, want, d)
		releaseBatches(want)
		d.Release()
	}

	// As of each commit time: the last snapshot committed then.
	for _, in := range infos {
		v, err := tbl.SnapshotAsOf(in.CommittedAt)
		must(t, err)
		want := in.ID
		for _, later := range infos {
			if !later.CommittedAt.After(in.CommittedAt) {
				want = later.ID
			}
		}
		if v.ID != want {
			t.Errorf("SnapshotAsOf(%v) = %d, want %d", in.CommittedAt, v.ID, want)
		}
	}
	if v, err := tbl.SnapshotAsOf(time.Now().Add(time.Hour)); err != nil || v.ID != ids[2] {
		t.Errorf("SnapshotAsOf(future) = %v, %v; want the current snapshot", v, err)
	}
	if _, err := tbl.SnapshotAsOf(infos[0].CommittedAt.Add(-time.Millisecond)); !errors.Is(err, ErrNoSnapshotAsOf) {
		t.Errorf("SnapshotAsOf(before the first) = %v, want ErrNoSnapshotAsOf", err)
	}
	if _, err := tbl.SnapshotByID(12345); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("SnapshotByID(unknown) = %v, want ErrSnapshotNotFound", err)
	}
}

// TestSnapshotColumnsAfterChange reads snapshots from before and after a
// change of columns and a rename: each has the columns it was committed
// with (old names, old types), mapped onto the current columns only when
// the columns did not change since, also after a restart. Catches: the
// snapshot read with the current schema, a renamed column mapped by name
// instead of field ID, and the change marker (propColumnsSeq) missing or
// off by one.
func TestSnapshotColumnsAfterChange(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	before := currentID(tbl)
	must(t, alterTable(mem, s))
	tbl, err := s.Table("db", "t")
	must(t, err)
	after := currentID(tbl)
	must(t, tbl.RenameColumn(2, "x", nil))

	check := func(s *Store, where string) {
		t.Helper()
		tbl, err := s.Table("db", "t")
		must(t, err)
		v, d := readSnapshot(t, tbl, before)
		if !v.Schema().Equal(smallSchema()) || !slices.Equal(v.Sources(), []int{-1, -1}) {
			t.Errorf("%s: snapshot before the change: schema %v, sources %v", where, v.Schema(), v.Sources())
		}
		want := makeBatch(mem, smallSchema(), 0, 10)
		assertSameRows(t, mem, smallSchema(), []arrow.RecordBatch{want}, d)
		want.Release()
		d.Release()

		v, d = readSnapshot(t, tbl, after)
		defer d.Release()
		// Committed with the new columns; named as then (w, before the rename).
		if !v.Schema().Equal(alteredSchema()) || !slices.Equal(v.Sources(), []int{0, 1, 2}) {
			t.Errorf("%s: snapshot after the change: schema %v, sources %v", where, v.Schema(), v.Sources())
		}
		if d.NumRows() != 10 || v.Properties()["columns"] != "altered" {
			t.Errorf("%s: %d rows, properties %v", where, d.NumRows(), v.Properties())
		}
	}
	check(s, "open")
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	check(s, "reopened")
}

// TestSnapshotExpiry: once a table has more than MaxSnapshots snapshots
// the older ones expire; their ids and times give the errors that say
// so, the kept ones still read. While a snapshot is being read nothing
// expires (the next commit does it). Catches: expiry deleting files under
// a reader (maintain without histMu), expired snapshots still listed, and
// the expired-time error reported as "before the first snapshot".
func TestSnapshotExpiry(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, MaxSnapshots: 3, RetainSnapshots: 2})
	must(t, err)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	var ids []int64
	for i := int64(0); i < 3; i++ {
		append1(t, tbl, makeBatch(mem, tbl.Schema(), i*10, 10))
		ids = append(ids, currentID(tbl))
	}
	first, err := tbl.SnapshotByID(ids[0])
	must(t, err)

	// A reader holds the history: the fourth commit expires nothing.
	tbl.histMu.RLock()
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 30, 10))
	ids = append(ids, currentID(tbl))
	tbl.histMu.RUnlock()
	if infos, _ := tbl.Snapshots(); len(infos) != 4 {
		t.Fatalf("%d snapshots kept during a read, want 4", len(infos))
	}
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 40, 10))
	ids = append(ids, currentID(tbl))
	infos, err := tbl.Snapshots()
	must(t, err)
	if len(infos) != 2 || infos[0].ID != ids[3] || infos[1].ID != ids[4] {
		t.Fatalf("after expiry: %+v, want snapshots %v", infos, ids[3:])
	}

	if _, err := tbl.SnapshotByID(ids[2]); !errors.Is(err, ErrSnapshotExpired) {
		t.Errorf("SnapshotByID(parent of the oldest kept) = %v, want ErrSnapshotExpired", err)
	}
	if _, err := tbl.SnapshotByID(ids[0]); !errors.Is(err, ErrSnapshotNotFound) {
		t.Errorf("SnapshotByID(expired) = %v, want ErrSnapshotNotFound", err)
	}
	if _, err := tbl.SnapshotAsOf(first.CommittedAt); !errors.Is(err, ErrSnapshotExpired) {
		t.Errorf("SnapshotAsOf(time of an expired snapshot) = %v, want ErrSnapshotExpired", err)
	}
	if _, err := first.Read(); !errors.Is(err, ErrSnapshotExpired) {
		t.Errorf("Read of a snapshot resolved before it expired = %v, want ErrSnapshotExpired", err)
	}
	_, d := readSnapshot(t, tbl, ids[3])
	if d.NumRows() != 40 {
		t.Errorf("kept snapshot: %d rows, want 40", d.NumRows())
	}
	d.Release()
}
