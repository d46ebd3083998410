package engine

// The sorted index of a snapshot: one sorted run per segment.
//
// A table's contents are segments (storage.Data, one per data file) whose
// rows never change: a write adds segments and replaces the ones it
// changed. The index therefore keeps one run per segment, the segment's
// row positions ordered by the key columns, and a write costs the runs
// of the segments it made (a sort of one data file's keys), not a pass
// over every row of the table. A lookup searches every run (a binary
// search each, two comparisons for a run whose keys all lie outside the
// range) and merges what they found into key order.

import (
	"cmp"
	"container/heap"
	"context"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/storage"
)

// sortedIndex orders the rows of one snapshot by some of its columns
// (NULL first, then as the column type compares; ties in row order),
// through one indexRun per segment. Row numbers are the snapshot's (the
// segments' rows one after the other). Keys are not copied: runs keep
// the key columns' Arrow arrays, so the index costs 4 bytes per row
// beyond those columns.
type sortedIndex struct {
	typs   []sql.Type
	ords   []int // the columns, by ordinal
	runs   []*indexRun
	segIDs []string // of each run's segment (storage.Data.SegmentID), for derive
	starts []int    // first row number of each segment, and the total
}

// indexRun orders the rows of one segment: perm holds their positions
// sorted by cols (the segment's key columns, one Arrow chunk each).
type indexRun struct {
	cols []*keyColumn
	perm []uint32
	// For a run of one integer key column with a non-NULL value: its
	// smallest and largest value (hasBounds), so that an equality lookup
	// skips a run whose keys cannot match with two integer comparisons
	// (equalRows), without converting the key for it.
	hasBounds      bool
	minKey, maxKey int64
}

// newSortedIndex reads columns cols (of types in sch) of d's segments and
// returns their sorted index.
func newSortedIndex(d *storage.Data, sch sql.Schema, cols []int) (*sortedIndex, error) {
	typs := make([]sql.Type, len(cols))
	for i, o := range cols {
		typs[i] = sch[o].Type
	}
	si := &sortedIndex{typs: typs, ords: cols}
	return si.derive(d)
}

// derive returns the sorted index of d (the same columns as si), reusing
// si's runs for the segments d shares with the contents si was built over
// (si may have none).
func (si *sortedIndex) derive(d *storage.Data) (*sortedIndex, error) {
	type kept struct {
		run  *indexRun
		rows int
	}
	old := make(map[string]kept, len(si.segIDs))
	for i, id := range si.segIDs {
		old[id] = kept{si.runs[i], si.starts[i+1] - si.starts[i]}
	}
	ns := &sortedIndex{typs: si.typs, ords: si.ords, segIDs: segmentIDs(d), starts: segmentStarts(d)}
	ns.runs = make([]*indexRun, len(ns.segIDs))
	for i, id := range ns.segIDs {
		rows := ns.starts[i+1] - ns.starts[i]
		if k, ok := old[id]; ok && k.rows == rows {
			ns.runs[i] = k.run
			continue
		}
		// Only the key columns: a file not cached is not read whole.
		all := make([]int64, rows)
		for r := range all {
			all[r] = int64(r)
		}
		rec, err := d.ReadRows(i, all, si.ords)
		if err != nil {
			return nil, err
		}
		ns.runs[i] = newIndexRun(rec, si.typs, keyPositions(len(si.ords)))
		rec.Release()
	}
	return ns, nil
}

// keyPositions returns 0, 1, …, n-1: the key columns' positions in a
// batch of the key columns alone.
func keyPositions(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// segmentIDs returns the ids of d's segments.
func segmentIDs(d *storage.Data) []string {
	ids := make([]string, d.NumSegments())
	for i := range ids {
		ids[i] = d.SegmentID(i)
	}
	return ids
}

// newIndexRun returns the run of rec's rows over its columns ords (of
// types typs), keeping those columns.
func newIndexRun(rec arrow.RecordBatch, typs []sql.Type, ords []int) *indexRun {
	r := &indexRun{cols: make([]*keyColumn, len(ords)), perm: make([]uint32, rec.NumRows())}
	for c, o := range ords {
		col := rec.Column(o)
		col.Retain()
		r.cols[c] = newKeyColumn(typs[c], []arrow.Array{col})
	}
	for i := range r.perm {
		r.perm[i] = uint32(i)
	}
	if len(r.cols) == 1 && r.cols[0].kind == kindInt {
		r.sortInts()
		r.setBounds()
	} else {
		slices.SortFunc(r.perm, r.compareRows)
	}
	return r
}

// setBounds sets the bounds of a sorted run of one integer key column
// (NULLs first).
func (r *indexRun) setBounds() {
	col := r.cols[0]
	first := sort.Search(len(r.perm), func(p int) bool { return !col.isNull(0, int(r.perm[p])) })
	if first == len(r.perm) {
		return
	}
	r.hasBounds = true
	r.minKey = col.ints[0](int(r.perm[first]))
	r.maxKey = col.ints[0](int(r.perm[len(r.perm)-1]))
}

// sortInts sorts perm (the identity) as compareRows would for a single
// integer key column, reading the values once: NULLs first, then by
// value, ties by position. It is the sort of most keys (an integer
// primary key), about five times faster than through compareRows.
func (r *indexRun) sortInts() {
	c := r.cols[0]
	type kp struct {
		k int64
		p uint32
	}
	vals := make([]kp, 0, len(r.perm))
	nulls := r.perm[:0]
	for i := range r.perm {
		if c.isNull(0, i) {
			nulls = append(nulls, uint32(i))
		} else {
			vals = append(vals, kp{c.ints[0](i), uint32(i)})
		}
	}
	byKey := func(a, b kp) int {
		if x := cmp.Compare(a.k, b.k); x != 0 {
			return x
		}
		return cmp.Compare(a.p, b.p)
	}
	// Rows are often in key order already (an increasing id), or were
	// until a write appended its changed rows to the file: sort only the
	// part after the longest ordered prefix, then merge the two.
	k := 1
	for k < len(vals) && vals[k-1].k <= vals[k].k {
		k++
	}
	if k < len(vals) {
		tail := vals[k:]
		slices.SortFunc(tail, byKey)
		if k >= len(vals)/2 {
			merged := make([]kp, 0, len(vals))
			i, j := 0, 0
			for i < k && j < len(tail) {
				if byKey(vals[i], tail[j]) <= 0 {
					merged, i = append(merged, vals[i]), i+1
				} else {
					merged, j = append(merged, tail[j]), j+1
				}
			}
			vals = append(append(merged, vals[i:k]...), tail[j:]...)
		} else {
			slices.SortFunc(vals, byKey)
		}
	}
	perm := r.perm[:len(nulls)]
	for _, v := range vals {
		perm = append(perm, v.p)
	}
	r.perm = perm
}

// compareRows orders positions a and b by the key columns, NULL first,
// then by position.
func (r *indexRun) compareRows(a, b uint32) int {
	for _, c := range r.cols {
		na, nb := c.isNull(0, int(a)), c.isNull(0, int(b))
		switch {
		case na && nb:
			continue
		case na:
			return -1
		case nb:
			return 1
		}
		if x := c.compare(0, int(a), 0, int(b)); x != 0 {
			return x
		}
	}
	return cmp.Compare(a, b)
}

// compareKeys compares the keys of position a of r and position b of o
// (a run of the same columns), NULL first.
func (r *indexRun) compareKeys(a int, o *indexRun, b int) int {
	for k, c := range r.cols {
		oc := o.cols[k]
		na, nb := c.isNull(0, a), oc.isNull(0, b)
		switch {
		case na && nb:
			continue
		case na:
			return -1
		case nb:
			return 1
		}
		if x := c.compareAcross(a, oc, b); x != 0 {
			return x
		}
	}
	return 0
}

// compareAcross compares the non-NULL value at position i of c's first
// chunk with the one at position j of o's (a column of the same type).
func (c *keyColumn) compareAcross(i int, o *keyColumn, j int) int {
	switch c.kind {
	case kindInt:
		return cmp.Compare(c.ints[0](i), o.ints[0](j))
	case kindFloat:
		return cmp.Compare(c.flts[0][i], o.flts[0][j])
	case kindString:
		return cmp.Compare(c.strs[0].Value(i), o.strs[0].Value(j))
	}
	x, _ := c.typ.Compare(context.Background(), c.other[0](i), o.other[0](j))
	return x
}

// span returns the positions [lo, hi) in r.perm of the rows within rng's
// bounds on the first column, then, while a column's range is a single
// value, on the next one. exact reports that exactly the rows in rng are
// in the span: every bound could be compared exactly and no column after
// the last one narrowed is restricted.
func (r *indexRun) span(ctx *sql.Context, rng sql.MySQLRange) (lo, hi int, exact bool) {
	lo, hi = 0, len(r.perm)
	for c, rce := range rng {
		if c >= len(r.cols) {
			return lo, hi, false
		}
		l, okL := r.cutPos(lo, hi, c, rce.LowerBound)
		u, okU := r.cutPos(lo, hi, c, rce.UpperBound)
		if okL {
			lo = l
		}
		if okU {
			hi = u
		}
		if lo >= hi {
			return lo, lo, true
		}
		if !okL || !okU {
			return lo, hi, false
		}
		if !isPointRange(ctx, rce) {
			for _, rest := range rng[c+1:] {
				if rest.Type() != sql.RangeType_All {
					return lo, hi, false
				}
			}
			return lo, hi, true
		}
	}
	return lo, hi, true
}

// isPointRange reports whether rce holds one value (or only NULL), so
// that rows within it are ordered by the next index column.
func isPointRange(ctx *sql.Context, rce sql.MySQLRangeColumnExpr) bool {
	if rce.Type() == sql.RangeType_EqualNull {
		return true
	}
	lower, isBelow := rce.LowerBound.(sql.Below)
	upper, isAbove := rce.UpperBound.(sql.Above)
	if !isBelow || !isAbove {
		return false
	}
	r, err := rce.Typ.Compare(ctx, lower.Key, upper.Key)
	return err == nil && r == 0
}

// cutPos returns the first position in [lo, hi) of perm whose value in
// column c lies above cut (rows in [lo, hi) are ordered by column c); ok
// is false when the cut's key cannot be compared exactly. A cut outside
// the values of [lo, hi) costs two comparisons.
func (r *indexRun) cutPos(lo, hi, c int, cut sql.MySQLRangeCut) (int, bool) {
	col := r.cols[c]
	var above func(i int) bool
	switch x := cut.(type) {
	case sql.BelowNull:
		return lo, true
	case sql.AboveAll:
		return hi, true
	case sql.AboveNull:
		above = func(i int) bool { return !col.isNull(0, i) }
	case sql.Below:
		k, ok := col.convert(x.Key)
		if !ok {
			return 0, false
		}
		above = func(i int) bool { return !col.isNull(0, i) && col.compareKey(0, i, k) >= 0 }
	case sql.Above:
		k, ok := col.convert(x.Key)
		if !ok {
			return 0, false
		}
		above = func(i int) bool { return !col.isNull(0, i) && col.compareKey(0, i, k) > 0 }
	default:
		return 0, false
	}
	switch {
	case lo >= hi || above(int(r.perm[lo])):
		return lo, true
	case !above(int(r.perm[hi-1])):
		return hi, true
	}
	return lo + sort.Search(hi-lo, func(p int) bool { return above(int(r.perm[lo+p])) }), true
}

// runSpan is the part [lo, hi) of run's perm that a range selects.
type runSpan struct {
	run    int
	lo, hi int
}

// rangeRows returns the row numbers within rng's bounds (see
// indexRun.span), in key order (ties in row order); exact as for span.
func (si *sortedIndex) rangeRows(ctx *sql.Context, rng sql.MySQLRange) (rows []uint32, exact bool) {
	exact = true
	var spans []runSpan
	for i, r := range si.runs {
		lo, hi, ex := r.span(ctx, rng)
		exact = exact && ex
		if lo < hi {
			spans = append(spans, runSpan{i, lo, hi})
		}
	}
	return si.merge(spans), exact
}

// merge returns the row numbers of spans in key order, ties in row order.
// Spans whose keys do not overlap (the usual case of an increasing key)
// are concatenated; others are merged through a heap.
func (si *sortedIndex) merge(spans []runSpan) []uint32 {
	n := 0
	for _, s := range spans {
		n += s.hi - s.lo
	}
	out := make([]uint32, 0, n)
	first := func(s runSpan) (*indexRun, int) { return si.runs[s.run], int(si.runs[s.run].perm[s.lo]) }
	last := func(s runSpan) (*indexRun, int) { return si.runs[s.run], int(si.runs[s.run].perm[s.hi-1]) }
	slices.SortStableFunc(spans, func(a, b runSpan) int {
		ra, pa := first(a)
		rb, pb := first(b)
		return ra.compareKeys(pa, rb, pb)
	})
	disjoint := true
	for k := 1; k < len(spans) && disjoint; k++ {
		ra, pa := last(spans[k-1])
		rb, pb := first(spans[k])
		c := ra.compareKeys(pa, rb, pb)
		// Equal keys at the seam keep row order only when the earlier
		// span comes from the earlier segment.
		disjoint = c < 0 || c == 0 && spans[k-1].run < spans[k].run
	}
	if disjoint {
		for _, s := range spans {
			base := uint32(si.starts[s.run])
			for _, p := range si.runs[s.run].perm[s.lo:s.hi] {
				out = append(out, base+p)
			}
		}
		return out
	}
	h := &spanHeap{si: si, spans: spans}
	heap.Init(h)
	for h.Len() > 0 {
		s := &h.spans[0]
		out = append(out, uint32(si.starts[s.run])+si.runs[s.run].perm[s.lo])
		if s.lo++; s.lo == s.hi {
			heap.Pop(h)
		} else {
			heap.Fix(h, 0)
		}
	}
	return out
}

// spanHeap orders spans by the key of their first row, then by segment.
type spanHeap struct {
	si    *sortedIndex
	spans []runSpan
}

func (h *spanHeap) Len() int { return len(h.spans) }
func (h *spanHeap) Less(i, j int) bool {
	a, b := h.spans[i], h.spans[j]
	ra, rb := h.si.runs[a.run], h.si.runs[b.run]
	if c := ra.compareKeys(int(ra.perm[a.lo]), rb, int(rb.perm[b.lo])); c != 0 {
		return c < 0
	}
	return a.run < b.run
}
func (h *spanHeap) Swap(i, j int) { h.spans[i], h.spans[j] = h.spans[j], h.spans[i] }
func (h *spanHeap) Push(x any)    { h.spans = append(h.spans, x.(runSpan)) }
func (h *spanHeap) Pop() any {
	x := h.spans[len(h.spans)-1]
	h.spans = h.spans[:len(h.spans)-1]
	return x
}

// order returns every row number in key order (ties in row order).
func (si *sortedIndex) order() []uint32 {
	spans := make([]runSpan, 0, len(si.runs))
	for i, r := range si.runs {
		if len(r.perm) > 0 {
			spans = append(spans, runSpan{i, 0, len(r.perm)})
		}
	}
	return si.merge(spans)
}

// candidates returns the row numbers that may lie in ranges (for tests).
func (si *sortedIndex) candidates(ctx *sql.Context, ranges sql.MySQLRangeCollection) []int {
	var out []int
	for _, r := range ranges {
		rows, _ := si.rangeRows(ctx, r)
		for _, g := range rows {
			out = append(out, int(g))
		}
	}
	return out
}

// equalRows returns the row numbers whose index columns equal vals (one
// per column, none NULL), in row order, or exact = false when a value
// cannot be compared exactly with its column.
func (si *sortedIndex) equalRows(vals []interface{}) (rows []uint32, exact bool) {
	var key keyValue // vals[0] converted, for runs with bounds
	bounded := false
	if len(vals) == 1 && len(si.runs) > 0 && si.runs[0].cols[0].kind == kindInt {
		key, bounded = si.runs[0].cols[0].convert(vals[0])
	}
	for i, r := range si.runs {
		if bounded && (!r.hasBounds || key.i < r.minKey || key.i > r.maxKey) {
			continue // no non-NULL key, or all of them below or above
		}
		lo, hi := 0, len(r.perm)
		for c, v := range vals {
			l, okL := r.cutPos(lo, hi, c, sql.Below{Key: v})
			u, okU := r.cutPos(lo, hi, c, sql.Above{Key: v})
			if !okL || !okU {
				return nil, false
			}
			if lo, hi = l, u; lo >= hi {
				break
			}
		}
		base := uint32(si.starts[i])
		for _, p := range r.perm[lo:max(lo, hi)] {
			rows = append(rows, base+p)
		}
	}
	return rows, true
}

// keyValue returns the value of key column c of row g.
func (si *sortedIndex) keyValue(g, c int) interface{} {
	b, i := locate(si.starts, g)
	return si.runs[b].cols[c].other[0](i)
}
