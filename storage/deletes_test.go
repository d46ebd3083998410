package storage

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// pathsOf returns the data file paths of tbl's current snapshot, as its
// manifests list them, and the delete files of each.
func pathsOf(tbl *Table) (data []string, deletes map[string][]string) {
	tbl.writeMu.Lock()
	defer tbl.writeMu.Unlock()
	deletes = map[string][]string{}
	for _, f := range tbl.files {
		data = append(data, f.df.FilePath())
		for _, df := range f.dels.deleteFiles() {
			deletes[f.df.FilePath()] = append(deletes[f.df.FilePath()], df.FilePath())
		}
	}
	return data, deletes
}

// deleteRows deletes rows (of segment i of the current contents, by
// row number within the segment) with RewriteSegments and appends
// add.
func deleteRows(t *testing.T, tbl *Table, del map[int][]int64, add arrow.RecordBatch) {
	t.Helper()
	must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
		c := SegmentChange{Delete: del}
		if add != nil {
			c.Append = []arrow.RecordBatch{add}
		}
		return c, nil
	}))
}

// without returns ids less the ones at the positions drop.
func without(ids []int64, drop ...int64) []int64 {
	var out []int64
	for i, id := range ids {
		if !slices.Contains(drop, int64(i)) {
			out = append(out, id)
		}
	}
	return out
}

// TestDeletesAreMergedOnRead deletes rows of two segments of a table of
// many data files and appends rows, twice, and checks every read path
// against the expected rows: the scan, ReadRows (point reads from the
// file, the cache disabled), SegmentID, NumRows before and after the
// rows are read, a reopen, and time travel to the snapshots before and
// after, the data directory moved in between. Only position delete
// files and one new data file per write are
// added; no data file leaves the snapshot. Bugs caught: a data file
// rewritten (copy-on-write), a delete file ignored by the scan, by point
// reads (live rows mapped to the wrong file positions, which the second
// delete of the same segment exercises), by the load after a reopen or
// by NumRows from metadata, a segment id unchanged by a delete (index
// runs reused), old snapshots read with the new deletes.
func TestDeletesAreMergedOnRead(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := segmentStore(t, dir, mem, -1)
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 100_000))
	d := tbl.Snapshot()
	n := d.NumSegments()
	if n < 4 {
		t.Fatalf("%d segments", n)
	}
	ids0 := idsOf(t, d)
	starts := []int64{0}
	for i := range n {
		starts = append(starts, starts[i]+d.SegmentRows(i))
	}
	id1, id3 := d.SegmentID(1), d.SegmentID(3)
	d.Release()
	files0, _ := pathsOf(tbl)
	snap0 := tbl.Snapshot().SnapshotID()
	tbl.Snapshot().Release()

	// Rows 0, 5 and the last of segment 1, row 10 of segment 3; two rows
	// added.
	last1 := starts[2] - starts[1] - 1
	deleteRows(t, tbl, map[int][]int64{1: {0, 5, last1}, 3: {10}}, makeBatch(mem, tbl.Schema(), 1_000_000, 2))
	want := without(ids0, starts[1], starts[1]+5, starts[1]+last1, starts[3]+10)
	want = append(want, 1_000_000, 1_000_001)
	d = tbl.Snapshot()
	snap1 := d.SnapshotID()
	if got := idsOf(t, d); !slices.Equal(got, want) {
		t.Fatalf("after the first delete: %d rows, want %d", len(got), len(want))
	}
	if d.SegmentID(1) == id1 || d.SegmentID(3) == id3 || d.SegmentID(0) != ids0Seg(t, tbl, 0) {
		t.Errorf("segment ids after a delete: %q %q (were %q %q)", d.SegmentID(1), d.SegmentID(3), id1, id3)
	}
	d.Release()
	files1, dels1 := pathsOf(tbl)
	if !slices.Equal(files1[:len(files0)], files0) || len(files1) != len(files0)+1 {
		t.Fatalf("the data files changed: %d before, %d after (a data file was rewritten?)", len(files0), len(files1))
	}
	if len(dels1) != 2 || len(dels1[files0[1]]) != 1 || len(dels1[files0[3]]) != 1 {
		t.Fatalf("delete files %v, want one for each of the data files of segments 1 and 3", dels1)
	}

	// A second delete in segment 1: its live row 0 is now file row 1,
	// its row 3 file row 4 (row 5 of the file is gone).
	deleteRows(t, tbl, map[int][]int64{1: {0, 3}}, nil)
	want = without(want, starts[1]-0, starts[1]+3) // indexes into want: segment 1 starts at starts[1] there too
	if !slices.Equal(want[:starts[1]], ids0[:starts[1]]) || want[starts[1]] != ids0[starts[1]+2] {
		t.Fatalf("test bug: expected rows")
	}
	d = tbl.Snapshot()
	if got := idsOf(t, d); !slices.Equal(got, want) {
		t.Fatalf("after the second delete: %d rows, want %d", len(got), len(want))
	}
	// Point reads of segment 1 from its file (no cache).
	rows := []int64{0, 1, 2, d.SegmentRows(1) - 1}
	rec, err := d.ReadRows(1, rows, []int{0})
	must(t, err)
	for k, r := range rows {
		if got, exp := rec.Column(0).(*array.Int64).Value(k), want[starts[1]+r]; got != exp {
			t.Errorf("ReadRows of segment 1, row %d: id %d, want %d", r, got, exp)
		}
	}
	rec.Release()
	if st := s.CacheStats(); st.RowGroups == 0 {
		t.Errorf("ReadRows did not read row groups from the file: %+v", st)
	}
	d.Release()
	snap2 := tbl.Snapshot().SnapshotID()
	tbl.Snapshot().Release()
	must(t, s.Close())

	// Moved while closed: the metadata and the delete files still name
	// the old paths, which match each other (relocate.go).
	moved := filepath.Join(t.TempDir(), "moved")
	must(t, os.Rename(dir, moved))
	dir = moved
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	if got := tbl.NumRows(); got != int64(len(want)) {
		t.Errorf("NumRows from metadata after reopening: %d, want %d", got, len(want))
	}
	d = tbl.Snapshot()
	if got := idsOf(t, d); !slices.Equal(got, want) {
		t.Fatalf("after reopening: %d rows, want %d", len(got), len(want))
	}
	d.Release()

	// Time travel reads each snapshot with its own deletes.
	for _, c := range []struct {
		id   int64
		rows int
	}{{snap0, len(ids0)}, {snap1, len(ids0) - 2}, {snap2, len(want)}} {
		v, err := tbl.SnapshotByID(c.id)
		must(t, err)
		if n, ok := v.TotalRows(); !ok || n != int64(c.rows) {
			t.Errorf("snapshot %d: TotalRows %d, %v; want %d", c.id, n, ok, c.rows)
		}
		old, err := v.Read()
		must(t, err)
		if old.NumRows() != int64(c.rows) {
			t.Errorf("snapshot %d read %d rows, want %d", c.id, old.NumRows(), c.rows)
		}
		old.Release()
	}
}

// ids0Seg returns the id of segment i of tbl's current contents.
func ids0Seg(t *testing.T, tbl *Table, i int) string {
	d := tbl.Snapshot()
	defer d.Release()
	return d.SegmentID(i)
}

// TestCompactionRewritesFilesWithManyDeletes deletes a quarter of one
// data file's rows in small steps and more delete files than allowed
// on another: maintenance rewrites both files without their deleted
// rows, removes their delete files from the snapshot, keeps the other
// files, and the rows stay the same (after a reopen too). A compaction
// commit is marked in its summary. Bugs caught: no compaction (delete
// files pile up), delete files left behind (they would apply to nothing
// but stay forever), rows lost or resurrected by the rewrite.
func TestCompactionRewritesFilesWithManyDeletes(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := segmentStore(t, dir, mem, 1<<20)
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 60_000))
	files0, _ := pathsOf(tbl)
	d := tbl.Snapshot()
	want := idsOf(t, d)
	seg0 := d.SegmentRows(0)
	d.Release()
	// Segment 2: one row per write, CompactDeleteFiles+1 writes.
	for range CompactDeleteFiles + 1 {
		_, dels := pathsOf(tbl)
		if len(dels[files0[2]]) == CompactDeleteFiles+1 {
			t.Fatalf("a data file carries %d delete files", CompactDeleteFiles+1)
		}
		d := tbl.Snapshot()
		i := slices.IndexFunc(segIDs(d), func(id string) bool { return len(id) >= len(files0[2]) && id[:len(files0[2])] == files0[2] })
		gone := idsOf(t, d)
		d.Release()
		var first int64
		for j := range i {
			first += segRows(tbl, j)
		}
		want = slices.DeleteFunc(want, func(id int64) bool { return id == gone[first] })
		deleteRows(t, tbl, map[int][]int64{i: {0}}, nil)
	}
	// Segment 0: a quarter of its rows.
	var rows []int64
	for r := int64(0); r < seg0; r += 4 {
		rows = append(rows, r)
	}
	d = tbl.Snapshot()
	all := idsOf(t, d)
	d.Release()
	drop := map[int64]bool{}
	for _, r := range rows {
		drop[all[r]] = true
	}
	want = slices.DeleteFunc(want, func(id int64) bool { return drop[id] })
	deleteRows(t, tbl, map[int][]int64{0: rows}, nil)

	files, dels := pathsOf(tbl)
	if len(dels) != 0 {
		t.Errorf("delete files left after compaction: %v", dels)
	}
	if slices.Contains(files, files0[0]) || slices.Contains(files, files0[2]) || !slices.Contains(files, files0[1]) {
		t.Errorf("data files after compaction %v: want the two compacted ones replaced, the others kept", files)
	}
	if cur := tbl.ice.CurrentSnapshot(); cur.Summary.Properties[propMaintenance] != "compaction" {
		t.Errorf("the last commit's summary %v does not mark the compaction", cur.Summary.Properties)
	}
	d = tbl.Snapshot()
	got := idsOf(t, d)
	d.Release()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after compaction: %d rows, want %d", len(got), len(want))
	}
	must(t, s.Close())
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	d = tbl.Snapshot()
	got = idsOf(t, d)
	d.Release()
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("after reopening: %d rows, want %d", len(got), len(want))
	}
}

func segIDs(d *Data) []string {
	out := make([]string, d.NumSegments())
	for i := range out {
		out[i] = d.SegmentID(i)
	}
	return out
}

func segRows(tbl *Table, i int) int64 {
	d := tbl.Snapshot()
	defer d.Release()
	return d.SegmentRows(i)
}

// TestMissingDeleteFileDamagesTheTable: a delete file that is gone makes
// its table damaged (a clear error naming the file, ErrDamaged), and the
// store opens with its other tables. Bug caught: a missing delete file
// ignored (deleted rows come back) or failing the whole store.
func TestMissingDeleteFileDamagesTheTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := segmentStore(t, dir, mem, -1)
	tbl := smallTable(t, s)
	other, err := s.CreateTable("db", "u", smallSchema(), nil)
	must(t, err)
	append1(t, other, makeBatch(mem, other.Schema(), 0, 10))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 1000))
	deleteRows(t, tbl, map[int][]int64{0: {3}}, nil)
	_, dels := pathsOf(tbl)
	must(t, s.Close())
	for _, ps := range dels {
		must(t, os.Remove(s.loc.resolve(ps[0])))
	}
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	d := tbl.Snapshot()
	d.Release()
	if err := tbl.Damage(); !errors.Is(err, ErrDamaged) {
		t.Fatalf("a table whose delete file is gone: Damage() = %v, want ErrDamaged", err)
	}
	other, err = s.Table("db", "u")
	must(t, err)
	assertRows(t, mem, other, [2]int64{0, 10})
}

// TestUpdatesLeaveFewSmallFiles runs 3×MergeFiles UPDATE-like row
// deltas (one row deleted, its new version appended): each adds a
// one-row data file, and maintenance merges them so that fewer than
// 2×MergeFiles files are left (they are merged as appends merge
// theirs), with the rows intact. Bug caught: the new rows of UPDATEs
// never merged (one data file per statement).
func TestUpdatesLeaveFewSmallFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s := segmentStore(t, t.TempDir(), mem, -1)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 1000))
	merge := s.opts.MergeFiles
	for i := range int64(3 * merge) {
		// The row with id i moves to the end under id 10000+i.
		must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
			for seg := range cur.NumSegments() {
				rec, err := cur.Segment(seg)
				if err != nil {
					return SegmentChange{}, err
				}
				ids := rec.Column(0).(*array.Int64).Int64Values()
				r := slices.Index(ids, i)
				rec.Release()
				if r >= 0 {
					return SegmentChange{Delete: map[int][]int64{seg: {int64(r)}}, Append: []arrow.RecordBatch{makeBatch(mem, cur.Schema(), 10000+i, 1)}}, nil
				}
			}
			return SegmentChange{}, errors.New("row not found")
		}))
	}
	files, _ := pathsOf(tbl)
	if len(files) >= 2*merge {
		t.Errorf("%d data files after %d updates, want fewer than %d", len(files), 3*merge, 2*merge)
	}
	d := tbl.Snapshot()
	defer d.Release()
	got := idsOf(t, d)
	slices.Sort(got)
	want := idRange(int64(3*merge), 1000-int64(3*merge))
	for i := range int64(3 * merge) {
		want = append(want, 10000+i)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("after the updates: %d rows %v..., want %d", len(got), got[:5], len(want))
	}
}

// TestSmallFilesAreRewritten: a delete from data files holding at most
// Options.CopyOnWriteRows rows rewrites them (no delete file), one from
// larger ones writes a delete file and keeps the data file. Bug caught:
// the threshold ignored either way.
func TestSmallFilesAreRewritten(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, CopyOnWriteRows: 100})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 100))
	small, _ := pathsOf(tbl)
	deleteRows(t, tbl, map[int][]int64{0: {1}}, nil)
	files, dels := pathsOf(tbl)
	if len(dels) != 0 || slices.Contains(files, small[0]) {
		t.Errorf("a delete from a file of 100 rows: data files %v, delete files %v; want it rewritten", files, dels)
	}
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 1000, 101))
	before, _ := pathsOf(tbl)
	deleteRows(t, tbl, map[int][]int64{1: {0}}, nil)
	files, dels = pathsOf(tbl)
	if !slices.Equal(files, before) || len(dels[before[1]]) != 1 {
		t.Errorf("a delete from a file of 101 rows: data files %v (were %v), delete files %v; want one delete file", files, before, dels)
	}
	assertRows(t, mem, tbl, [2]int64{0, 1}, [2]int64{2, 98}, [2]int64{1001, 100})
}

// totalDeleteFiles is the total-delete-files count of tbl's current
// snapshot summary: the delete files its manifests list.
func totalDeleteFiles(t *testing.T, tbl *Table) string {
	t.Helper()
	tbl.writeMu.Lock()
	defer tbl.writeMu.Unlock()
	return tbl.ice.CurrentSnapshot().Summary.Properties["total-delete-files"]
}

// TestRewritesDropDeleteFiles: every write that removes data files
// removes their delete files in the same commit (an append merging a
// small file with deletes, ALTER TABLE's rewrite, an overwrite), and
// leaves the others. Bug caught: a delete file left in the snapshot
// after its data file left (it would stay forever, read at every load).
func TestRewritesDropDeleteFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, TargetFileBytes: 256 << 10, CacheBytes: -1, CopyOnWriteRows: -1, MergeFiles: 2})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 50_000))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 100_000, 10))
	n := segRows(tbl, 0)
	d := tbl.Snapshot()
	last := d.NumSegments() - 1
	d.Release()
	deleteRows(t, tbl, map[int][]int64{0: {0}, last: {0}}, nil)
	if got := totalDeleteFiles(t, tbl); got != "2" {
		t.Fatalf("%s delete files, want 2", got)
	}
	// The append merges the last file (9 live rows) with its 10 rows.
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 200_000, 10))
	if got := totalDeleteFiles(t, tbl); got != "1" {
		t.Errorf("after an append merging the file with deletes: %s delete files, want 1", got)
	}
	assertRows(t, mem, tbl, [2]int64{1, n - 1}, [2]int64{n, 50_000 - n}, [2]int64{100_001, 9}, [2]int64{200_000, 10})
	must(t, alterTable(mem, s))
	if got := totalDeleteFiles(t, tbl); got != "0" {
		t.Errorf("after ALTER TABLE's rewrite: %s delete files, want 0", got)
	}
	if got := tbl.NumRows(); got != 50_000-1+9+10 {
		t.Errorf("after ALTER TABLE: %d rows", got)
	}
	deleteRows(t, tbl, map[int][]int64{0: {0}}, nil)
	rec := makeBatch(mem, tbl.Schema(), 0, 3)
	defer rec.Release()
	must(t, tbl.Overwrite([]arrow.RecordBatch{rec}))
	if got := totalDeleteFiles(t, tbl); got != "0" {
		t.Errorf("after an overwrite: %s delete files, want 0", got)
	}
}

// BenchmarkScanWithDeletes measures a full scan (Data.Scan, every
// segment decoded from its Parquet file: no cache) of a table of 300,000
// rows × wideSchema in 4 MiB files, without deletes and with a tenth of
// every file's rows deleted by position delete files (below the
// compaction threshold), and with a cache that holds the table (the
// second scan of each, from the cached live rows). Reported: rows/s of
// rows returned.
func BenchmarkScanWithDeletes(b *testing.B) {
	const rows = 300_000
	for _, deleted := range []bool{false, true} {
		for _, cached := range []bool{false, true} {
			name := fmt.Sprintf("deletes=%v/cached=%v", deleted, cached)
			b.Run(name, func(b *testing.B) {
				cache := int64(-1)
				if cached {
					cache = 1 << 30
				}
				s, err := OpenWithOptions(b.TempDir(), &Options{NoSync: true, CacheBytes: cache, CopyOnWriteRows: -1})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				must(b, s.CreateDatabase("db"))
				tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
				must(b, err)
				append1(b, tbl, makeBatch(memory.DefaultAllocator, tbl.Schema(), 0, rows))
				if deleted {
					must(b, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
						c := SegmentChange{Delete: map[int][]int64{}}
						for i := range cur.NumSegments() {
							for r := int64(0); r < cur.SegmentRows(i); r += 10 {
								c.Delete[i] = append(c.Delete[i], r)
							}
						}
						return c, nil
					}))
				}
				d := tbl.Snapshot()
				defer d.Release()
				scan := func() int64 {
					var n int64
					must(b, d.Scan(0, func(rec arrow.RecordBatch, _ int64) error {
						n += rec.NumRows()
						return nil
					}))
					return n
				}
				if cached {
					scan()
				}
				b.ResetTimer()
				var n int64
				for range b.N {
					n += scan()
				}
				b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}

// BenchmarkPointChange measures one UPDATE-like change through
// RewriteSegments (one row of a random data file deleted, its new
// version appended) on a table of POINT_ROWS rows (default 300,000) × 16
// DOUBLE columns + BIGINT key in 4 MiB files, with fsync, by
// merge-on-read (a position delete file and a one-row data file, as
// the store does) and by copy-on-write of the file (CopyOnWriteRows
// above the file's rows, as the store did before), side by side.
// Reported: p50 and p99 in ms; the maintenance the changes trigger
// (compaction, merges, expiry) is included, as in a statement.
// POINT_NOSYNC=1 runs without fsync (what is left is CPU); POINT_CACHE
// sets Options.CacheBytes (bytes).
func BenchmarkPointChange(b *testing.B) {
	rows := int64(300_000)
	if v := os.Getenv("POINT_ROWS"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		must(b, err)
		rows = n
	}
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for c := range 16 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", c), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	sc := arrow.NewSchema(fields, nil)
	for _, mode := range []string{"merge-on-read", "copy-on-write"} {
		b.Run(mode, func(b *testing.B) {
			cow := int64(-1)
			if mode == "copy-on-write" {
				cow = 1 << 40
			}
			opts := &Options{CopyOnWriteRows: cow, NoSync: os.Getenv("POINT_NOSYNC") != ""}
			if v := os.Getenv("POINT_CACHE"); v != "" {
				n, err := strconv.ParseInt(v, 10, 64)
				must(b, err)
				opts.CacheBytes = n
			}
			s, err := OpenWithOptions(b.TempDir(), opts)
			must(b, err)
			defer s.Close()
			must(b, s.CreateDatabase("db"))
			tbl, err := s.CreateTable("db", "t", sc, nil)
			must(b, err)
			append1(b, tbl, makeBatch(memory.DefaultAllocator, sc, 0, rows))
			rng := rand.New(rand.NewPCG(1, 2))
			var took []time.Duration
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				must(b, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
					seg := rng.IntN(cur.NumSegments())
					r := rng.Int64N(cur.SegmentRows(seg))
					return SegmentChange{Delete: map[int][]int64{seg: {r}}, Append: []arrow.RecordBatch{makeBatch(memory.DefaultAllocator, sc, rows+int64(i), 1)}}, nil
				}))
				took = append(took, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(took)
			ms := func(p int) float64 { return float64(took[(len(took)-1)*p/100]) / 1e6 }
			b.ReportMetric(ms(50), "p50-ms")
			b.ReportMetric(ms(99), "p99-ms")
		})
	}
}
