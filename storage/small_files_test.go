package storage

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, TargetFileBytes: 64 << 10})
	must(t, err)
	t.Cleanup(func() { s.Close() })
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", sc, nil)
	must(t, err)
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
	if len(now)-len(full) > 16 || largest < 400 {
		t.Errorf("the %d appended rows are in %d files (the largest %d rows): want them merged into few files", singles, len(now)-len(full), largest)
	}
	assertRows(t, mem, tbl, [2]int64{0, bulk + singles})
}
