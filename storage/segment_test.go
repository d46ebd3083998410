package storage

import (
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// segmentStore opens dir with a small target file size and cache budget,
// so that a table of a few MB spans many files and does not fit in the
// cache, and merge-on-read for every delete (CopyOnWriteRows).
func segmentStore(t *testing.T, dir string, mem memory.Allocator, cache int64) *Store {
	t.Helper()
	s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true, TargetFileBytes: 256 << 10, CacheBytes: cache, CopyOnWriteRows: -1})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScansStreamWithinTheCacheBudget writes a table of about 8 MB of
// Arrow buffers in files of about 256 KB, reopens the store with a cache
// of 1 MB and reads the table: opening and taking a snapshot read no
// file; a scan reads each file once, in row order, with the right rows;
// and the Arrow memory the store holds at any moment of the scan stays
// within the budget plus the segments in use, not the table. Bugs
// caught: contents read whole at open or at Snapshot (the old in-memory
// table), a cache that does not evict, segments out of order or
// misnumbered, a file read twice by one scan, a cache that keeps
// nothing.
func TestScansStreamWithinTheCacheBudget(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	const rows, per = 500_000, 100_000 // 16 bytes a row: 8 MB
	s := segmentStore(t, dir, mem, 1<<20)
	tbl := smallTable(t, s)
	for start := int64(0); start < rows; start += per {
		append1(t, tbl, makeBatch(mem, tbl.Schema(), start, per))
	}
	must(t, s.Close())

	s = segmentStore(t, dir, mem, 1<<20)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	d := tbl.Snapshot()
	defer d.Release()
	if st := s.CacheStats(); st.Misses != 0 || mem.CurrentAlloc() != 0 {
		t.Fatalf("open and Snapshot read data: %+v, %d bytes allocated", st, mem.CurrentAlloc())
	}
	if d.NumRows() != rows || d.NumSegments() < 10 {
		t.Fatalf("%d rows in %d segments, want %d rows in at least 10 files of 256 KB", d.NumRows(), d.NumSegments(), rows)
	}
	var next int64
	var peak int
	var largest int64
	err = d.Scan(0, func(rec arrow.RecordBatch, first int64) error {
		if first != next {
			t.Fatalf("segment starts at row %d, want %d", first, next)
		}
		ids := rec.Column(0).(*array.Int64)
		for i := range ids.Len() {
			if ids.Value(i) != next+int64(i) {
				t.Fatalf("row %d has id %d", next+int64(i), ids.Value(i))
			}
		}
		next += rec.NumRows()
		peak = max(peak, mem.CurrentAlloc())
		largest = max(largest, BatchBytes(rec))
		return nil
	})
	must(t, err)
	if next != rows {
		t.Fatalf("scan read %d rows, want %d", next, rows)
	}
	st := s.CacheStats()
	if st.Misses != int64(d.NumSegments()) || st.Used > st.Budget {
		t.Errorf("after one scan: %+v, want one read per segment (%d) within the budget", st, d.NumSegments())
	}
	// The cache, the segment being read and its decoding (a file's
	// batches before they are joined into one) at most.
	if limit := int64(1<<20) + 4*largest; int64(peak) > limit {
		t.Errorf("peak Arrow memory during the scan: %d bytes, want at most %d (the table is %d)", peak, limit, rows*16)
	}
	// The last segments read are cached: reading one again is a hit.
	before := s.CacheStats()
	last, err := d.Segment(d.NumSegments() - 1)
	must(t, err)
	last.Release()
	if after := s.CacheStats(); after.Hits != before.Hits+1 || after.Misses != before.Misses {
		t.Errorf("reading the last segment again: %+v then %+v, want a hit", before, after)
	}
}

// TestTargetFileBytesSplitsWrites: one append of 8 MB with a target of
// 256 KB gives many files (segments) of bounded size, so that a later
// UPDATE rewrites a small one. Bug caught: the option not passed to the
// writer (one file per append).
func TestTargetFileBytesSplitsWrites(t *testing.T) {
	mem := checkedAlloc(t)
	s := segmentStore(t, t.TempDir(), mem, -1)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 500_000))
	d := tbl.Snapshot()
	defer d.Release()
	if d.NumSegments() < 10 {
		t.Fatalf("one append of 8 MB made %d files with a target of 256 KB", d.NumSegments())
	}
	for i := range d.NumSegments() {
		if n := d.SegmentRows(i); n > 40_000 {
			t.Errorf("segment %d holds %d rows (%d bytes), far above the target", i, n, n*16)
		}
	}
	if st := s.CacheStats(); st.Budget != 0 || st.Batches != 0 {
		t.Errorf("a negative CacheBytes keeps nothing: %+v", st)
	}
	assertRows(t, mem, tbl, [2]int64{0, 500_000})
}

// TestOldContentsKeepTheirFiles: a reader holding contents from before
// many overwrites can still read them (the expiry of old snapshots waits
// for it), and once it releases them the put-off expiry runs and the
// table keeps RetainSnapshots snapshots. Bugs caught: an expiry that
// deletes files a reader still needs (the reader's scan fails), and one
// that is put off for good.
func TestOldContentsKeepTheirFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, MaxSnapshots: 3, RetainSnapshots: 2})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	old := tbl.Snapshot()
	for i := int64(1); i <= 6; i++ {
		rec := makeBatch(mem, tbl.Schema(), 100*i, 10)
		must(t, tbl.Overwrite([]arrow.RecordBatch{rec}))
		rec.Release()
	}
	if n := len(tbl.ice.Metadata().Snapshots()); n <= 3 {
		t.Errorf("%d snapshots: expired while a reader holds the first one's files", n)
	}
	want := makeBatch(mem, tbl.Schema(), 0, 10)
	assertSameRows(t, mem, tbl.Schema(), []arrow.RecordBatch{want}, old)
	want.Release()
	old.Release() // runs the expiry put off for it
	if n := len(tbl.ice.Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots once the reader is done, want RetainSnapshots (2)", n)
	}
	assertRows(t, mem, tbl, [2]int64{600, 10})
}

// idsOf returns the id column of d's rows, in order.
func idsOf(t *testing.T, d *Data) []int64 {
	t.Helper()
	var ids []int64
	must(t, d.Scan(0, func(rec arrow.RecordBatch, _ int64) error {
		ids = append(ids, rec.Column(0).(*array.Int64).Int64Values()...)
		return nil
	}))
	return ids
}

// TestRewriteSegmentsTouchesOnlyItsFiles replaces one segment of a table
// of many data files by part of its rows, deletes another and appends
// rows, alone and in a multi-table commit: only the two segments' files
// leave the snapshot, the others stay (same paths), and the contents
// (after a reopen too) are the kept segments, then the replacement and
// appended rows. Bugs caught: a rewrite of the whole table, a kept file
// dropped or a replaced one kept, rows out of the documented order.
func TestRewriteSegmentsTouchesOnlyItsFiles(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := segmentStore(t, dir, mem, -1)
	tbl := smallTable(t, s)
	other, err := s.CreateTable("db", "u", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 200_000))
	d := tbl.Snapshot()
	before := idsOf(t, d)
	n := d.NumSegments()
	if n < 6 {
		t.Fatalf("%d segments", n)
	}
	starts := []int64{0}
	for i := range n {
		starts = append(starts, starts[i]+d.SegmentRows(i))
	}
	d.Release()
	files0, err := tbl.DataFiles()
	must(t, err)

	// Segment 2 keeps its first 10 rows; segment 4 goes; 5 rows added.
	must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
		seg, err := cur.Segment(2)
		if err != nil {
			return SegmentChange{}, err
		}
		defer seg.Release()
		return SegmentChange{
			Replace: map[int][]arrow.RecordBatch{2: {seg.NewSlice(0, 10)}, 4: nil},
			Append:  []arrow.RecordBatch{makeBatch(mem, cur.Schema(), 1_000_000, 5)},
		}, nil
	}))
	var want []int64
	for i := range n {
		if i != 2 && i != 4 {
			want = append(want, before[starts[i]:starts[i+1]]...)
		}
	}
	want = append(want, before[starts[2]:starts[2]+10]...)
	for i := range int64(5) {
		want = append(want, 1_000_000+i)
	}
	d = tbl.Snapshot()
	if got := idsOf(t, d); !slices.Equal(got, want) {
		t.Fatalf("after the rewrite: %d rows, want %d in the documented order", len(got), len(want))
	}
	d.Release()
	files1, err := tbl.DataFiles()
	must(t, err)
	kept := 0
	for _, f := range files0 {
		if slices.Contains(files1, f) {
			kept++
		}
	}
	if kept != len(files0)-2 {
		t.Errorf("%d of the %d files stayed, want all but the two replaced", kept, len(files0))
	}

	// The same through a multi-table commit: segment 0 goes.
	ra := makeBatch(mem, other.Schema(), 0, 3)
	must(t, s.CommitTables([]TableChange{
		{Table: other, Append: []arrow.RecordBatch{ra}},
		{Table: tbl, Segments: func(cur *Data) (SegmentChange, error) {
			return SegmentChange{Replace: map[int][]arrow.RecordBatch{0: nil}}, nil
		}},
	}))
	ra.Release()
	want = want[starts[1]:]
	must(t, s.Close())

	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	d = tbl.Snapshot()
	defer d.Release()
	if got := idsOf(t, d); !slices.Equal(got, want) {
		t.Fatalf("after reopening: %d rows, want %d in the same order", len(got), len(want))
	}
}
