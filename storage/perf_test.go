package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestTimings logs the time of an Append of 50k rows x 10 columns and of an
// Open of three tables of 100k rows, with fsync on. The bounds are loose
// sanity checks for a shared machine; the numbers are in the log.
func TestTimings(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	var worst time.Duration
	for i := range 3 {
		tbl, err := s.CreateTable("db", fmt.Sprintf("t%d", i), wideSchema(), nil)
		must(t, err)
		for j := range 2 {
			rec := makeBatch(mem, tbl.Schema(), int64(j)*50000, 50000)
			start := time.Now()
			err := tbl.Append([]arrow.RecordBatch{rec})
			d := time.Since(start)
			rec.Release()
			must(t, err)
			t.Logf("Append 50000 rows x 10 columns to t%d: %v", i, d)
			worst = max(worst, d)
		}
	}
	must(t, s.Close())
	start := time.Now()
	s = openStore(t, dir, mem, false)
	open := time.Since(start)
	defer s.Close()
	t.Logf("Open of 3 tables x 100000 rows x 10 columns: %v", open)
	for i := range 3 {
		tbl, err := s.Table("db", fmt.Sprintf("t%d", i))
		must(t, err)
		if tbl.NumRows() != 100000 {
			t.Fatalf("t%d has %d rows", i, tbl.NumRows())
		}
	}
	if worst > 5*time.Second || open > 10*time.Second {
		t.Errorf("too slow: worst Append %v, Open %v", worst, open)
	}
}

// BenchmarkAppend measures Append of one batch of 10 columns over a ladder
// of sizes, with and without fsync.
func BenchmarkAppend(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		for _, rows := range []int64{1, 1000, 50000} {
			b.Run(fmt.Sprintf("rows=%d/nosync=%v", rows, noSync), func(b *testing.B) {
				mem := memory.NewGoAllocator()
				s, err := OpenWithOptions(b.TempDir(), &Options{Allocator: mem, NoSync: noSync})
				must(b, err)
				defer s.Close()
				must(b, s.CreateDatabase("db"))
				tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
				must(b, err)
				rec := makeBatch(mem, tbl.Schema(), 0, rows)
				defer rec.Release()
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					if err := tbl.Append([]arrow.RecordBatch{rec}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkOpen measures Open of one table of 10 columns over a ladder of
// row counts ("open": metadata only, what a server start costs), and next
// to it Open followed by the first read of the rows ("open+read", which
// is what Open cost before rows were read on first use).
func BenchmarkOpen(b *testing.B) {
	for _, rows := range []int64{1000, 100000, 1000000} {
		mem := memory.NewGoAllocator()
		dir := b.TempDir()
		s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true})
		must(b, err)
		must(b, s.CreateDatabase("db"))
		tbl, err := s.CreateTable("db", "t", wideSchema(), nil)
		must(b, err)
		append1(b, tbl, makeBatch(mem, tbl.Schema(), 0, rows))
		must(b, s.Close())
		for _, read := range []bool{false, true} {
			name := fmt.Sprintf("rows=%d/open", rows)
			if read {
				name += "+read"
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for range b.N {
					s, err := OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true})
					if err != nil {
						b.Fatal(err)
					}
					if read {
						tbl, err := s.Table("db", "t")
						must(b, err)
						must(b, tbl.Load())
					}
					must(b, s.Close())
				}
			})
		}
	}
}
