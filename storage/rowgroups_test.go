package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/iceberg-go"
)

// setRowGroupRows makes the store write row groups of n rows until the
// test ends.
func setRowGroupRows(t testing.TB, n int64) {
	old := rowGroupRows
	rowGroupRows = n
	t.Cleanup(func() { rowGroupRows = old })
}

// rowGroupsOf returns the number of row groups of the data file of each
// segment of d, read with arrow-go's Parquet reader.
func rowGroupsOf(t *testing.T, s *Store, d *Data) []int {
	t.Helper()
	out := make([]int, d.NumSegments())
	for i := range out {
		r, err := file.OpenParquetFile(s.loc.resolve(d.SegmentID(i)), false)
		must(t, err)
		out[i] = r.NumRowGroups()
		r.Close()
	}
	return out
}

// rowSelections returns the row selections ReadRows is checked with on a
// segment of n rows: single rows at both ends and in the middle, rows of
// several row groups, a run across a group boundary, a repeated row, and
// every row.
func rowSelections(n int64) [][]int64 {
	all := make([]int64, n)
	for i := range all {
		all[i] = int64(i)
	}
	return [][]int64{
		{0}, {n - 1}, {n / 2},
		{1, n/3 + 2, n - 2},
		{98, 99, 100, 101, 102},
		{7, 7, 8},
		all,
	}
}

// checkReadRows compares d.ReadRows(i, rows, cols) with the rows of
// d.Segment(i), value by value.
func checkReadRows(t *testing.T, d *Data, i int, rows []int64, cols []int) {
	t.Helper()
	got, err := d.ReadRows(i, rows, cols)
	if err != nil {
		t.Fatalf("ReadRows(%d, %v, %v): %v", i, rows, cols, err)
	}
	defer got.Release()
	seg, err := d.Segment(i)
	must(t, err)
	defer seg.Release()
	if got.NumRows() != int64(len(rows)) || int(got.NumCols()) != len(cols) {
		t.Fatalf("ReadRows(%d, %v, %v): %d rows × %d columns", i, rows, cols, got.NumRows(), got.NumCols())
	}
	for j, c := range cols {
		if want := d.Schema().Field(c); !got.Schema().Field(j).Equal(want) {
			t.Fatalf("ReadRows(%d, …, %v): field %d is %v, want %v", i, cols, j, got.Schema().Field(j), want)
		}
		for k, r := range rows {
			if !array.SliceEqual(got.Column(j), int64(k), int64(k+1), seg.Column(c), r, r+1) {
				t.Fatalf("ReadRows(%d, %v, %v): column %q of row %d is %v, want %v", i, rows, cols,
					d.Schema().Field(c).Name, r, got.Column(j).ValueStr(k), seg.Column(c).ValueStr(int(r)))
			}
		}
	}
}

// TestReadRowsReadsOnlyTheirRowGroups writes a table of every column type
// in files of several row groups (and, as before row groups, files of
// one), reopens the store with an empty cache, and reads rows of each
// segment by position with projections: the rows equal the segment's,
// the store reads only the row groups holding them and caches only the
// file's footer; once a segment is cached the rows come from the cache.
// Bugs caught: the writer's row group limit not passed (one group per
// file); a row taken from the wrong group (the group offsets of the
// file, or of the groups read, miscounted); a value converted to another
// type than Segment's; the whole file read (or cached) for a point read;
// a footer not cached; a cached segment read again from disk.
func TestReadRowsReadsOnlyTheirRowGroups(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	open := func() *Store {
		s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true, TargetFileBytes: 64 << 10, CacheBytes: 64 << 20, SmallFileRows: -1})
		must(t, err)
		return s
	}
	s := open()
	must(t, s.CreateDatabase("db"))
	sc := allTypesSchema()
	tbl, err := s.CreateTable("db", "t", sc, nil)
	must(t, err)
	setRowGroupRows(t, 1<<40) // as written before row groups: one per file
	append1(t, tbl, makeBatch(mem, sc, 0, 700))
	setRowGroupRows(t, 100)
	append1(t, tbl, makeBatch(mem, sc, 700, 3000))
	must(t, s.Close())

	s = open()
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	d := tbl.Snapshot()
	defer d.Release()
	groups := rowGroupsOf(t, s, d)
	if groups[0] != 1 || d.NumSegments() < 3 || groups[1] < 3 {
		t.Fatalf("row groups per file %v; want one in the first file and several in the next ones", groups)
	}
	projections := [][]int{seq(sc.NumFields()), {0}, {9, 0, 15}, {3, 3}, {18, 7, 8, 11, 13, 17}}
	for i := range d.NumSegments() {
		for _, rows := range rowSelections(d.SegmentRows(i)) {
			for _, cols := range projections {
				// A first read caches the file's footer, not its rows;
				// the checked read below uses that footer.
				release(d.ReadRows(i, rows[:1], cols))
				before := s.CacheStats()
				if before.Footers != 1 || before.Batches != 0 {
					t.Fatalf("segment %d: after a first ReadRows the cache holds %+v; want the file's footer only", i, before)
				}
				checkReadRows(t, d, i, rows, cols)
				after := s.CacheStats()
				wantGroups := int64(1)
				if groups[i] > 1 {
					wantGroups = 0
					for k, r := range rows {
						if k == 0 || r/100 != rows[k-1]/100 {
							wantGroups++
						}
					}
				}
				// checkReadRows's Segment is the one miss (and caches the
				// file); ReadRows read its groups from disk.
				if got := after.RowGroups - before.RowGroups; got != wantGroups || after.Misses != before.Misses+1 {
					t.Fatalf("segment %d, rows %v: %d row groups read, %d misses; want %d groups and the one miss of Segment",
						i, rows, got, after.Misses-before.Misses, wantGroups)
				}
				// Now cached: the same read is served from the cache.
				checkReadRows(t, d, i, rows, cols)
				if again := s.CacheStats(); again.RowGroups != after.RowGroups || again.Misses != after.Misses {
					t.Fatalf("segment %d cached: ReadRows read from disk again: %+v then %+v", i, after, again)
				}
				s.cache.purge()
			}
		}
	}
	if rec, err := d.ReadRows(1, nil, []int{0, 9}); err != nil || rec.NumRows() != 0 || rec.NumCols() != 2 {
		t.Errorf("ReadRows of no rows: %v, %v; want an empty batch of 2 columns", rec, err)
	} else {
		rec.Release()
	}
	if _, err := d.ReadRows(1, []int64{5, 4}, []int{0}); err == nil {
		t.Error("ReadRows of descending rows: no error")
	}
	if _, err := d.ReadRows(1, []int64{d.SegmentRows(1)}, []int{0}); err == nil {
		t.Error("ReadRows past the segment's end: no error")
	}
	if _, err := d.ReadRows(1, []int64{0}, []int{sc.NumFields()}); err == nil {
		t.Error("ReadRows of a column past the schema: no error")
	}
}

// TestReadRowsAfterColumnChanges reads rows by position after the
// table's columns changed: a renamed column (its files keep the old name
// under the same field ID), a column added by ALTER (the rows rewritten),
// a column dropped (the field IDs of the later ones no longer follow
// their positions), and a column added by another Iceberg writer without rewriting the
// files, which lack it and read it as NULL, like Segment. Bugs caught:
// columns matched by name, or field IDs taken to be positions; a column absent from the file read as
// another one, or failing the read as damaged.
func TestReadRowsAfterColumnChanges(t *testing.T) {
	setRowGroupRows(t, 100)
	mem := checkedAlloc(t)
	dir := t.TempDir()
	open := func() *Store {
		s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true, TargetFileBytes: 64 << 10, CacheBytes: -1})
		must(t, err)
		return s
	}
	s := open()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
	must(t, err)
	append1(t, tbl, distinctColumns(mem, tbl.Schema(), 2000))
	// check compares ReadRows with Segment on every segment; whole tells
	// whether ReadRows must read whole files (a column the files lack)
	// rather than row groups.
	check := func(what string, whole bool) {
		t.Helper()
		d := tbl.Snapshot()
		defer d.Release()
		n := d.Schema().NumFields()
		for i := range d.NumSegments() {
			before := s.CacheStats()
			release(d.ReadRows(i, []int64{0}, seq(n)))
			after := s.CacheStats()
			if partial := after.RowGroups == before.RowGroups+1 && after.Misses == before.Misses; partial == whole {
				t.Fatalf("after %s: ReadRows of segment %d: %+v then %+v; want whole files read: %v", what, i, before, after, whole)
			}
			for _, rows := range rowSelections(d.SegmentRows(i))[:5] {
				checkReadRows(t, d, i, rows, seq(n))
				checkReadRows(t, d, i, rows, []int{n - 1, 1})
			}
		}
		if t.Failed() {
			t.Fatalf("after %s", what)
		}
	}

	must(t, tbl.RenameColumn(1, "renamed", nil))
	check("RENAME COLUMN", false)

	grown := arrow.NewSchema(append(tbl.Schema().Fields(), arrow.Field{Name: "added", Type: arrow.PrimitiveTypes.Int32, Nullable: true}), nil)
	sources := append(seq(tbl.Schema().NumFields()), -1)
	must(t, tbl.ChangeColumns(grown, sources, func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		old, err := cur.ReadAll()
		if err != nil {
			return nil, nil, err
		}
		defer releaseBatches(old)
		var out []arrow.RecordBatch
		for _, b := range old {
			extra := array.NewInt32Builder(mem)
			for r := range b.NumRows() {
				extra.Append(int32(r))
			}
			cols := append(append([]arrow.Array{}, b.Columns()...), extra.NewArray())
			extra.Release()
			out = append(out, array.NewRecordBatch(grown, cols, b.NumRows()))
			cols[len(cols)-1].Release()
		}
		return out, nil, nil
	}))
	check("ALTER TABLE ADD COLUMN", false)

	// DROP COLUMN x2: the columns after it keep their field IDs, which no
	// longer follow their positions.
	kept := slices.Delete(seq(grown.NumFields()), 2, 3)
	fields := make([]arrow.Field, len(kept))
	for j, c := range kept {
		fields[j] = grown.Field(c)
	}
	shrunk := arrow.NewSchema(fields, nil)
	must(t, tbl.ChangeColumns(shrunk, kept, func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		old, err := cur.ReadAll()
		if err != nil {
			return nil, nil, err
		}
		defer releaseBatches(old)
		var out []arrow.RecordBatch
		for _, b := range old {
			cols := make([]arrow.Array, len(kept))
			for j, c := range kept {
				cols[j] = b.Column(c)
			}
			out = append(out, array.NewRecordBatch(shrunk, cols, b.NumRows()))
		}
		return out, nil, nil
	}))
	check("ALTER TABLE DROP COLUMN", false)

	// Another engine adds a column to the Iceberg schema only.
	tbl.writeMu.Lock()
	txn := tbl.ice.NewTransaction()
	err = txn.UpdateSchema(true, false).AddColumn([]string{"outside"}, iceberg.PrimitiveTypes.Int64, "", false, nil).Commit()
	if err == nil {
		err = tbl.commit(context.Background(), txn, nil)
	}
	tbl.writeMu.Unlock()
	must(t, err)
	must(t, s.Close())
	s = open()
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	if n := tbl.Schema().NumFields(); tbl.Schema().Field(n-1).Name != "outside" {
		t.Fatalf("reopened schema %v, want the column added outside last", tbl.Schema())
	}
	check("a column added by another writer", true)
}

// distinctColumns returns n rows of wideSchema (sc) in which no two
// columns hold the same values, unlike makeBatch's: a column read in
// place of another shows.
func distinctColumns(mem memory.Allocator, sc *arrow.Schema, n int) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, sc)
	defer b.Release()
	for r := range n {
		for c, f := range sc.Fields() {
			switch fb := b.Field(c).(type) {
			case *array.Int64Builder:
				fb.Append(int64(r))
			case *array.Float64Builder:
				fb.Append(float64(r) + float64(c)/10)
			case *array.StringBuilder:
				fb.Append(fmt.Sprintf("%s-%d", f.Name, r))
			case *array.TimestampBuilder:
				fb.Append(arrow.Timestamp(1_700_000_000_000_000 + r*1_000_003))
			default:
				panic(fmt.Sprintf("distinctColumns: no generator for %T", fb))
			}
		}
	}
	return b.NewRecordBatch()
}

// TestReadRowsOfMovedAndDamagedFiles: a reader holding a table's contents
// reads rows by position after the table moved to another database and
// after it was dropped (its files in the trash), as Segment does; a data
// file that is cut short or missing fails the read with ErrDamaged naming
// the table and the file, not a panic or wrong rows. Bugs caught: the
// file opened by its recorded path, not through the store's relocations;
// a damaged file reported as another error.
func TestReadRowsOfMovedAndDamagedFiles(t *testing.T) {
	setRowGroupRows(t, 100)
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, TargetFileBytes: 64 << 10, CacheBytes: -1})
	must(t, err)
	defer s.Close()
	tbl := smallTable(t, s)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10_000))
	d := tbl.Snapshot()
	defer d.Release()
	if d.NumSegments() < 3 {
		t.Fatalf("%d segments, want several", d.NumSegments())
	}

	must(t, s.CreateDatabase("db2"))
	must(t, s.AlterTable("db", "t", Alteration{NewDB: "db2"}))
	checkReadRows(t, d, 1, []int64{3, 250}, []int{1, 0})
	must(t, s.DropTable("db2", "t"))
	checkReadRows(t, d, 2, []int64{0, 499}, []int{0, 1})

	s2, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, TargetFileBytes: 64 << 10, CacheBytes: -1})
	must(t, err)
	defer s2.Close()
	tbl2 := smallTable(t, s2)
	append1(t, tbl2, makeBatch(mem, tbl2.Schema(), 0, 10_000))
	d2 := tbl2.Snapshot()
	defer d2.Release()
	// One file cut short, one removed.
	cut, gone := s2.loc.resolve(d2.SegmentID(0)), s2.loc.resolve(d2.SegmentID(1))
	fi, err := os.Stat(cut)
	must(t, err)
	must(t, os.Truncate(cut, fi.Size()/2))
	must(t, os.Remove(gone))
	s2.cache.purge()
	for i, path := range []string{d2.SegmentID(0), d2.SegmentID(1)} {
		rec, err := d2.ReadRows(i, []int64{0}, []int{0})
		if err == nil {
			rec.Release()
			t.Fatalf("ReadRows of damaged segment %d: no error", i)
		}
		if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "db.t") || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadRows of damaged segment %d: %v; want ErrDamaged naming db.t and %s", i, err, path)
		}
	}
}

// BenchmarkReadRows reads one row (two columns, then all) of a random
// data file of 4 MiB of rows of wideSchema, for a ladder of row group
// sizes, next to the whole-file read of Segment: what a point SELECT by
// key costs when its file is not cached (its footer is, after the first
// read of the file), and what a scan pays for smaller groups.
func BenchmarkReadRows(b *testing.B) {
	for _, groupRows := range []int64{1024, 2048, 4096, 8192, 1 << 40} {
		name := "group=file"
		if groupRows < 1<<40 {
			name = "group=" + strconv.FormatInt(groupRows, 10)
		}
		b.Run(name, func(b *testing.B) {
			setRowGroupRows(b, groupRows)
			dir := b.TempDir()
			open := func(cache int64) *Store {
				s, err := OpenWithOptions(dir, &Options{NoSync: true, CacheBytes: cache})
				if err != nil {
					b.Fatal(err)
				}
				return s
			}
			s := open(-1)
			if err := s.CreateDatabase("db"); err != nil {
				b.Fatal(err)
			}
			tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
			if err != nil {
				b.Fatal(err)
			}
			append1(b, tbl, makeBatch(memory.DefaultAllocator, tbl.Schema(), 0, 200_000))
			s.Close()
			all := seq(tbl.Schema().NumFields())
			for _, c := range []struct {
				name  string
				cache int64
				read  func(d *Data, i int, r int64) error
			}{
				{"point_2cols", 64 << 20, func(d *Data, i int, r int64) error { return release(d.ReadRows(i, []int64{r}, []int{0, 1})) }},
				{"point_all", 64 << 20, func(d *Data, i int, r int64) error { return release(d.ReadRows(i, []int64{r}, all)) }},
				{"segment", -1, func(d *Data, i int, _ int64) error { return release(d.Segment(i)) }},
			} {
				b.Run(c.name, func(b *testing.B) {
					s := open(c.cache)
					defer s.Close()
					tbl, err := s.Table("db", "t")
					if err != nil {
						b.Fatal(err)
					}
					d := tbl.Snapshot()
					defer d.Release()
					b.ReportAllocs()
					cpu0 := cpuTime()
					for k := 0; b.Loop(); k++ {
						i := k * 7 % d.NumSegments()
						if err := c.read(d, i, int64(k*7919)%d.SegmentRows(i)); err != nil {
							b.Fatal(err)
						}
					}
					// CPU time, unlike the wall time, does not grow with
					// other processes' load on a shared machine.
					b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
				})
			}
		})
	}
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func release(rec arrow.RecordBatch, err error) error {
	if err == nil {
		rec.Release()
	}
	return err
}
