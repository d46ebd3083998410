package engine

import (
	"fmt"
	"github.com/anomalydb/anomalydb/storage"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
)

// TestSortedIndexSpansMatchFilter checks the binary search of sortedIndex
// against go-mysql-server's range filter on random data split over
// several batches, with NULLs, duplicates, and ranges of every cut kind:
// the candidates of a range must hold every matching row, and for a
// single-column index with bounds of the column's own type exactly the
// matching rows; candidates come in key order, ties in row order, merged
// from the runs of the batches. Catches: an Above cut searched with >= instead of >
// (a lookup returning k = 10 for k > 10 is filtered away, but the
// exactness check sees it), NULLs not sorted first, a batch offset error
// in locate, narrowing on the next column after a non-point range.
func TestSortedIndexSpansMatchFilter(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	sch := sql.Schema{
		{Name: "i", Type: types.Int64, Nullable: true, Source: "t"},
		{Name: "f", Type: types.Float64, Nullable: true, Source: "t"},
		{Name: "s", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 10), Nullable: true, Source: "t"},
		{Name: "n", Type: types.Int32, Nullable: true, Source: "t"},
	}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	var batches []arrow.RecordBatch
	var all []sql.Row
	for b := 0; b < 4; b++ {
		rows := make([]sql.Row, 1+rng.IntN(40))
		for r := range rows {
			row := sql.Row{int64(rng.IntN(12) - 3), float64(rng.IntN(8)) / 2, fmt.Sprintf("%c%d", 'a'+rng.IntN(4), rng.IntN(3)), int32(rng.IntN(3))}
			for c := range row {
				if rng.IntN(8) == 0 {
					row[c] = nil
				}
			}
			rows[r] = row
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Release()
		batches = append(batches, rec)
		all = append(all, rows...)
	}
	key := func(c int) interface{} {
		switch c {
		case 0:
			return int64(rng.IntN(14) - 4)
		case 1:
			return float64(rng.IntN(10))/2 - 0.5
		case 2:
			return fmt.Sprintf("%c%d", 'a'+rng.IntN(5), rng.IntN(3))
		}
		return int32(rng.IntN(4))
	}
	cut := func(c int, lower bool) sql.MySQLRangeCut {
		switch rng.IntN(6) {
		case 0:
			return sql.BelowNull{}
		case 1:
			return sql.AboveNull{}
		case 2:
			if lower {
				return sql.BelowNull{}
			}
			return sql.AboveAll{}
		case 3:
			return sql.Above{Key: key(c)}
		}
		return sql.Below{Key: key(c)}
	}
	ctx := sql.NewEmptyContext()
	for _, cols := range [][]int{{0}, {1}, {2}, {3, 0}, {2, 3, 1}} {
		si := sortedOf(t, batches, sch, cols)
		exprs := make([]sql.Expression, len(cols))
		for i, o := range cols {
			exprs[i] = expression.NewGetField(i, sch[o].Type, sch[o].Name, true)
		}
		for trial := 0; trial < 300; trial++ {
			var r sql.MySQLRange
			for i, o := range cols {
				rce := sql.MySQLRangeColumnExpr{LowerBound: cut(o, true), UpperBound: cut(o, false), Typ: sch[o].Type}
				if i < len(cols)-1 && rng.IntN(2) == 0 { // a point, so the next column narrows too
					k := key(o)
					rce.LowerBound, rce.UpperBound = sql.Below{Key: k}, sql.Above{Key: k}
				}
				if empty, _ := rce.IsEmpty(); empty {
					rce = sql.EmptyRangeColumnExpr(sch[o].Type)
				}
				r = append(r, rce)
			}
			filter, err := expression.NewRangeFilterExpr(exprs, []sql.MySQLRange{r})
			if err != nil {
				t.Fatal(err)
			}
			var want []int
			for g, row := range all {
				k := make(sql.Row, len(cols))
				for i, o := range cols {
					k[i] = row[o]
				}
				v, err := sql.EvaluateCondition(ctx, filter, k)
				if err != nil {
					t.Fatal(err)
				}
				if sql.IsTrue(v) {
					want = append(want, g)
				}
			}
			got := si.candidates(ctx, sql.MySQLRangeCollection{r})
			for k := 1; k < len(got); k++ { // key order, ties in row order
				if c := compareIndexKeys(ctx, sch, cols, all[got[k-1]], all[got[k]]); c > 0 || c == 0 && got[k-1] > got[k] {
					t.Fatalf("index %v, range %v: row %d %v comes before row %d %v", cols, r, got[k-1], all[got[k-1]], got[k], all[got[k]])
				}
			}
			slices.Sort(got)
			for _, g := range want {
				if _, found := slices.BinarySearch(got, g); !found {
					t.Fatalf("index %v, range %v: row %d %v matches but is not a candidate", cols, r, g, all[g])
				}
			}
			if len(cols) == 1 && !slices.Equal(got, want) {
				t.Fatalf("index %v, range %v: candidates %v, matching rows %v", cols, r, got, want)
			}
		}
	}
}

// compareIndexKeys compares rows a and b by columns cols as an index
// orders them: NULL first, then as the column type compares.
func compareIndexKeys(ctx *sql.Context, sch sql.Schema, cols []int, a, b sql.Row) int {
	for _, o := range cols {
		switch {
		case a[o] == nil && b[o] == nil:
			continue
		case a[o] == nil:
			return -1
		case b[o] == nil:
			return 1
		}
		if c, err := sch[o].Type.Compare(ctx, a[o], b[o]); err != nil || c != 0 {
			return c
		}
	}
	return 0
}

// TestStringKeyOrderMatchesCollation: the byte-order fast path for string
// key columns orders values exactly as the column type does under the
// default collation (utf8mb4_0900_bin), including multi-byte characters,
// prefixes and trailing spaces. Catches: a fast path used for a collation
// whose order is not byte order (a case-insensitive one would sort "B"
// between "a" and "c").
func TestStringKeyOrderMatchesCollation(t *testing.T) {
	typ := types.MustCreateStringWithDefaults(sqltypes.VarChar, 20)
	vals := []string{"", " ", "a", "a ", "ab", "B", "b", "z", "é", "e", "ß", "日本", "日", "\U0001F600", "A", "Z"}
	as, err := arrowSchema(sql.Schema{{Name: "s", Type: typ, Nullable: true}})
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]sql.Row, len(vals))
	for i, v := range vals {
		rows[i] = sql.Row{v}
	}
	rec, err := rowsToRecord(memory.DefaultAllocator, as, rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	c := newKeyColumn(typ, []arrow.Array{rec.Column(0)})
	if c.kind != kindString {
		t.Fatalf("kind %d, want the byte-order fast path for %s", c.kind, typ.Collation())
	}
	ctx := sql.NewEmptyContext()
	for i := range vals {
		for j := range vals {
			want, err := typ.Compare(ctx, vals[i], vals[j])
			if err != nil {
				t.Fatal(err)
			}
			if got := c.compare(0, i, 0, j); got != want {
				t.Errorf("compare(%q, %q) = %d, the column type says %d", vals[i], vals[j], got, want)
			}
		}
	}
	ci := types.MustCreateString(sqltypes.VarChar, 20, sql.Collation_utf8mb4_0900_ai_ci)
	if k := newKeyColumn(ci, []arrow.Array{rec.Column(0)}).kind; k == kindString {
		t.Error("a case-insensitive collation uses the byte-order fast path")
	}
}

// TestSortedIndexDerive: the sorted index derived from the one of
// earlier contents, after appends (which also merge the last small data
// files into one) and after rewrites of some segments (UPDATE, DELETE), is
// exactly the index built from scratch over the new contents of a real
// store. Catches: new rows merged on the wrong side of equal keys (ties
// must stay in row order), rows of a replaced segment kept, rows of a kept
// segment renumbered wrongly or read through the old segments.
func TestSortedIndexDerive(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	sch := sql.Schema{
		{Name: "a", Type: types.Int64, Nullable: true},
		{Name: "s", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 10), Nullable: true},
	}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	batch := func(n int) arrow.RecordBatch {
		rows := make([]sql.Row, n)
		for i := range rows {
			rows[i] = sql.Row{int64(rng.IntN(6)), fmt.Sprint(rng.IntN(4))}
			if rng.IntN(5) == 0 {
				rows[i][0] = nil
			}
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rec.Release)
		return rec
	}
	store, err := storage.OpenWithOptions(t.TempDir(), &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateDatabase("d"); err != nil {
		t.Fatal(err)
	}
	for n, cols := range [][]int{{0}, {1, 0}} {
		tbl, err := store.CreateTable("d", fmt.Sprint("t", n), as, nil)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if err := tbl.Append([]arrow.RecordBatch{batch(1 + rng.IntN(30))}); err != nil {
				t.Fatal(err)
			}
		}
		cur := tbl.Snapshot()
		si, err := newSortedIndex(cur, sch, cols)
		cur.Release()
		if err != nil {
			t.Fatal(err)
		}
		for step := range 8 {
			if step%2 == 0 {
				err = tbl.Append([]arrow.RecordBatch{batch(1 + rng.IntN(300))})
			} else { // a segment loses rows, another goes, rows are added
				err = tbl.RewriteSegments(func(cur *storage.Data) (storage.SegmentChange, error) {
					i := rng.IntN(cur.NumSegments())
					seg, err := cur.Segment(i)
					if err != nil {
						return storage.SegmentChange{}, err
					}
					defer seg.Release()
					c := storage.SegmentChange{Replace: map[int][]arrow.RecordBatch{i: {seg.NewSlice(0, seg.NumRows()/2)}}}
					if j := rng.IntN(cur.NumSegments()); j != i {
						c.Replace[j] = nil
					}
					b := batch(5)
					b.Retain()
					c.Append = []arrow.RecordBatch{b}
					return c, nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			cur := tbl.Snapshot()
			derived, err := si.derive(cur)
			if err != nil {
				t.Fatal(err)
			}
			want, err := newSortedIndex(cur, sch, cols)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := derived.order(), want.order(); !slices.Equal(got, want) {
				t.Fatalf("columns %v, step %d: derived %v, built %v", cols, step, got, want)
			}
			cur.Release()
			si = derived
		}
	}
}

// dataOf wraps batches (which stay the caller's) in a Data.
func dataOf(t *testing.T, batches []arrow.RecordBatch) *storage.Data {
	t.Helper()
	for _, b := range batches {
		b.Retain()
	}
	d := storage.DetachedData(batches[0].Schema(), batches)
	t.Cleanup(d.Release)
	return d
}

// sortedOf is newSortedIndex of batches.
func sortedOf(t *testing.T, batches []arrow.RecordBatch, sch sql.Schema, cols []int) *sortedIndex {
	t.Helper()
	si, err := newSortedIndex(dataOf(t, batches), sch, cols)
	if err != nil {
		t.Fatal(err)
	}
	return si
}

// TestIntRunOrderMatchesGeneric builds the run of a single integer key
// column through its fast sort (sortInts) for keys already in order, in
// order but for a tail of appended rows (as after an UPDATE rewrote the
// file) or one step down, and in random order, with NULLs and
// duplicates, and compares it with the generic sort by compareRows. Bugs caught: the ordered prefix
// measured one row too long or short, the merge of prefix and tail
// breaking ties by anything but position, NULLs not first.
func TestIntRunOrderMatchesGeneric(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 4))
	sch := sql.Schema{{Name: "k", Type: types.Int64, Nullable: true}}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	for shape := range 4 {
		for trial := range 20 {
			n := 1 + rng.IntN(400)
			rows := make([]sql.Row, n)
			for i := range rows {
				var k interface{} = int64(i / (1 + trial%3)) // ordered, with duplicates
				switch {
				case shape == 1 && i >= n*3/4: // an appended tail
					k = int64(rng.IntN(n))
				case shape == 2:
					k = int64(rng.IntN(n/2 + 1))
				case shape == 3 && i == n/2 && n > 2: // one step down by one
					k = int64(i - 2)
				}
				if rng.IntN(10) == 0 {
					k = nil
				}
				rows[i] = sql.Row{k}
			}
			rec, err := rowsToRecord(memory.DefaultAllocator, as, rows)
			if err != nil {
				t.Fatal(err)
			}
			run := newIndexRun(rec, []sql.Type{types.Int64}, []int{0})
			want := make([]uint32, n)
			for i := range want {
				want[i] = uint32(i)
			}
			slices.SortFunc(want, run.compareRows)
			if !slices.Equal(run.perm, want) {
				t.Fatalf("shape %d, trial %d: run %v, want %v", shape, trial, run.perm, want)
			}
			rec.Release()
		}
	}
}

// TestIndexBuiltOncePerSnapshot has 16 lookups ask the index cache at
// once for the same index of a snapshot it has not indexed yet, as the
// statements of a group commit's next group do, and requires that they
// all get the one index a single build made. Bug caught: each lookup that
// finds no index builds its own (16 builds of the same index, each
// reading every key of the table).
func TestIndexBuiltOncePerSnapshot(t *testing.T) {
	sch := sql.Schema{{Name: "id", Type: types.Int64}, {Name: "v", Type: types.Float64, Nullable: true}}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	store, err := storage.OpenWithOptions(t.TempDir(), &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateDatabase("d"); err != nil {
		t.Fatal(err)
	}
	tbl, err := store.CreateTable("d", "t", as, nil)
	if err != nil {
		t.Fatal(err)
	}
	const rows = 200_000
	for lo := 0; lo < rows; lo += 50_000 {
		batch := make([]sql.Row, 50_000)
		for i := range batch {
			batch[i] = sql.Row{int64(rows - lo - i), float64(i)}
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, as, batch)
		if err != nil {
			t.Fatal(err)
		}
		err = tbl.Append([]arrow.RecordBatch{rec})
		rec.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	d := tbl.Snapshot()
	defer d.Release()
	var c indexCache
	const lookups = 16
	got := make([]*sortedIndex, lookups)
	errs := make([]error, lookups)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range lookups {
		wg.Go(func() {
			<-start
			got[i], errs[i] = c.sorted(tbl, d, sch, []int{0})
		})
	}
	close(start)
	wg.Wait()
	for i := range lookups {
		if errs[i] != nil || got[i] == nil {
			t.Fatalf("lookup %d: index %v, error %v", i, got[i], errs[i])
		}
		if got[i] != got[0] {
			t.Fatalf("lookups 0 and %d got different indexes of one snapshot: the index was built more than once", i)
		}
	}
	if n := len(got[0].order()); n != rows {
		t.Fatalf("the index orders %d rows, want %d", n, rows)
	}
}

// TestEqualRowsMatchScan looks up keys by equality in an index of one
// integer column over runs of random keys (duplicates, NULLs, a run of
// NULLs only, runs whose keys lie apart) and compares the rows found with
// a scan: keys below, above, between and at every run's smallest and
// largest key. Bugs caught: a run skipped when the key equals its
// smallest or largest key, a run of NULLs searched or mishandled.
func TestEqualRowsMatchScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 2))
	sch := sql.Schema{{Name: "k", Type: types.Int64, Nullable: true}}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	var batches []arrow.RecordBatch
	var keys []interface{} // of every row, in row order
	for run := range 6 {
		rows := make([]sql.Row, 1+rng.IntN(40))
		for i := range rows {
			switch {
			case run == 2 || rng.IntN(8) == 0:
				rows[i] = sql.Row{nil}
			default:
				rows[i] = sql.Row{int64(run*20 + rng.IntN(10))} // runs 20 apart, keys 0-9 of each
			}
			keys = append(keys, rows[i][0])
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, as, rows)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rec.Release)
		batches = append(batches, rec)
	}
	si := sortedOf(t, batches, sch, []int{0})
	for k := int64(-3); k < 125; k++ {
		got, exact := si.equalRows([]interface{}{k})
		if !exact {
			t.Fatalf("key %d: not exact", k)
		}
		var want []uint32
		for r, v := range keys {
			if v != nil && v.(int64) == k {
				want = append(want, uint32(r))
			}
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Fatalf("key %d: index rows %v, scan %v", k, got, want)
		}
	}
}
