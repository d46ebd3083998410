package storage

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// dataManifests returns the number of data manifests of tbl's current
// snapshot and the snapshot's operation.
func dataManifests(t *testing.T, tbl *Table) (int, table.Operation) {
	t.Helper()
	n, snap := countManifests(t, tbl, iceberg.ManifestContentData)
	return n, snap.Summary.Operation
}

// countManifests returns the number of manifests of the given content in
// tbl's current snapshot, and the snapshot.
func countManifests(t *testing.T, tbl *Table, content iceberg.ManifestContent) (int, *table.Snapshot) {
	t.Helper()
	snap := tbl.ice.CurrentSnapshot()
	fsys, err := tbl.ice.FS(tbl.store.ctx)
	must(t, err)
	mans, err := snap.Manifests(fsys)
	must(t, err)
	n := 0
	for _, m := range mans {
		if m.ManifestContent() == content {
			n++
		}
	}
	return n, snap
}

// TestManyRewritesKeepFewManifests rewrites one data file at a time, 40
// times, in a table of many files (each rewrite an UPDATE-like change of
// one segment): the data manifests stay at most maxManifests plus the
// one the last rewrite added, their merges are "replace" snapshots, and
// the rows (after a reopen too) are what the rewrites made. Bugs caught:
// no merge (one manifest per rewritten file, growing with the writes), a
// merge that loses or repeats data files, the merged snapshot not
// published (the next write would conflict or read stale contents).
func TestManyRewritesKeepFewManifests(t *testing.T) {
	mem, dir, s, tbl, want, _ := manyFilesTable(t)
	var d *Data
	replaces, most := 0, 0
	for w := range 40 {
		// Segment w%n loses its first row (as a DELETE by key would).
		var gone int64
		must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
			i := w % cur.NumSegments()
			seg, err := cur.Segment(i)
			if err != nil {
				return SegmentChange{}, err
			}
			defer seg.Release()
			gone = seg.Column(0).(interface{ Value(int) int64 }).Value(0)
			return SegmentChange{Replace: map[int][]arrow.RecordBatch{i: {seg.NewSlice(1, seg.NumRows())}}}, nil
		}))
		want = slices.DeleteFunc(want, func(id int64) bool { return id == gone })
		m, op := dataManifests(t, tbl)
		most = max(most, m)
		if op == table.OpReplace {
			replaces++
		}
	}
	if most > maxManifests+1 {
		t.Errorf("up to %d data manifests after single-file rewrites, want at most %d", most, maxManifests+1)
	}
	if replaces == 0 {
		t.Error("no manifest merge after 40 rewrites")
	}
	d = tbl.Snapshot()
	got := idsOf(t, d)
	d.Release()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after the rewrites: %d rows, want %d", len(got), len(want))
	}
	must(t, s.Close())
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	d = tbl.Snapshot()
	defer d.Release()
	got = idsOf(t, d)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after a reopen: %d rows, want %d", len(got), len(want))
	}
}

// manyFilesTable opens a store in a new directory dir (no cache) with
// table db.t of 400,000 rows in n >= 20 data files, whose ids are want.
func manyFilesTable(t *testing.T) (mem memory.Allocator, dir string, s *Store, tbl *Table, want []int64, n int) {
	t.Helper()
	mem = checkedAlloc(t)
	dir = t.TempDir()
	s = segmentStore(t, dir, mem, -1)
	tbl = smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 400_000))
	d := tbl.Snapshot()
	want = idsOf(t, d)
	n = d.NumSegments()
	d.Release()
	if n < 20 {
		t.Fatalf("%d segments, want 20 or more", n)
	}
	return mem, dir, s, tbl, want, n
}
