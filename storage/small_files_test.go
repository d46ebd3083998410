package storage

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestFullFilesAreNotMergedAgain appends single rows to a wide table
// whose files, written full, hold far fewer rows than SmallFileRows (16
// DOUBLE columns and a key: 1,024 rows, the fewest a file is cut at, in
// 64 KiB), past the point
// where the merged trailing file holds half a file's rows. The files
// written full must stay as they are: a merge takes only files smaller
// than half a full one. Catches: smallRows returning SmallFileRows alone
// (every file counted small, so a merge walked back over the whole table
// and rewrote it).
func TestFullFilesAreNotMergedAgain(t *testing.T) {
	mem := checkedAlloc(t)
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for c := range 16 {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", c), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	sc := arrow.NewSchema(fields, nil)
	tbl := targetTable(t, mem, sc, 64<<10)
	if half := tbl.smallRows(); half != minFileRows/2 {
		t.Fatalf("smallRows = %d, want %d, half the rows of a full file", half, minFileRows/2)
	}
	const bulk = 5000
	append1(t, tbl, makeBatch(mem, sc, 0, bulk))
	tbl.writeMu.Lock()
	var full []string
	for _, f := range tbl.files {
		full = append(full, f.df.FilePath())
	}
	tbl.writeMu.Unlock()
	if len(full) < 4 {
		t.Fatalf("%d rows in 64 KiB files made %d files, want at least 4", bulk, len(full))
	}
	const singles = 600 // the merged trailing file passes 512 rows
	for i := range int64(singles) {
		append1(t, tbl, makeBatch(mem, sc, bulk+i, 1))
	}
	tbl.writeMu.Lock()
	var now []string
	largest := int64(0)
	for i, f := range tbl.files {
		now = append(now, f.df.FilePath())
		if i >= len(full) {
			largest = max(largest, f.rows)
		}
	}
	tbl.writeMu.Unlock()
	for i, p := range full {
		if i >= len(now) || now[i] != p {
			t.Fatalf("after %d single-row appends the files written full changed: %d files, the first %d were %v, now %v", singles, len(now), len(full), full, now[:min(len(now), len(full))])
		}
	}
	if len(now)-len(full) > 16 || largest < 200 {
		t.Errorf("the %d appended rows are in %d files (the largest %d rows): want them merged into few files", singles, len(now)-len(full), largest)
	}
	assertRows(t, mem, tbl, [2]int64{0, bulk + singles})
}

// TestMergeStopsAtAFileOfBytes is TestFullFilesAreNotMergedAgain for a
// table of long strings, whose row width the schema does not tell: a
// file written full (1,024 rows of 1.3 KB) holds far fewer rows than
// half of what targetRows estimates, so only the bound on the Parquet
// bytes a merge takes (mergeBytes) keeps the merges of single-row
// appends off the files written full. Catches: mergePlan without that
// bound (once the trailing rows passed 512, every full file joined).
func TestMergeStopsAtAFileOfBytes(t *testing.T) {
	mem := checkedAlloc(t)
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String}}, nil)
	batch := func(start, n int64) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, sc)
		defer b.Release()
		raw := make([]byte, 1000)
		for r := start; r < start+n; r++ {
			rng := rand.New(rand.NewPCG(uint64(r), 1))
			for i := range raw {
				raw[i] = byte(rng.Uint32())
			}
			b.Field(0).(*array.Int64Builder).Append(r)
			b.Field(1).(*array.StringBuilder).Append(base64.StdEncoding.EncodeToString(raw))
		}
		return b.NewRecordBatch()
	}
	tbl := targetTable(t, mem, sc, 256<<10)
	const bulk = 4 * minFileRows
	append1(t, tbl, batch(0, bulk))
	paths := func() []string {
		tbl.writeMu.Lock()
		defer tbl.writeMu.Unlock()
		var out []string
		for _, f := range tbl.files {
			out = append(out, f.df.FilePath())
		}
		return out
	}
	full := paths()
	if len(full) != 4 {
		t.Fatalf("%d rows made %d files, want 4 of %d rows", bulk, len(full), minFileRows)
	}
	const singles = 900 // past 512 trailing rows, when full files would join
	for i := range int64(singles) {
		append1(t, tbl, batch(bulk+i, 1))
	}
	now := paths()
	for i, p := range full {
		if i >= len(now) || now[i] != p {
			t.Fatalf("after %d single-row appends the files written full changed: %v, now %v", singles, full, now[:min(len(now), len(full))])
		}
	}
	if len(now)-len(full) > 32 {
		t.Errorf("the %d appended rows are in %d files: want them merged", singles, len(now)-len(full))
	}
	d := tbl.Snapshot()
	defer d.Release()
	if d.NumRows() != bulk+singles {
		t.Errorf("%d rows, want %d", d.NumRows(), bulk+singles)
	}
}

// targetTable opens a store without fsync whose data files are written
// at target bytes of rows and creates table db.t of sc in it.
func targetTable(t *testing.T, mem memory.Allocator, sc *arrow.Schema, target int64) *Table {
	t.Helper()
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, TargetFileBytes: target})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", sc, nil)
	must(t, err)
	return tbl
}
