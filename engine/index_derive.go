package engine

// Keeping a sorted index across writes. Contents change by segments: an
// append adds some (and may replace the last small ones), an UPDATE or
// DELETE replaces the ones it changed (storage.Table.RewriteSegments).
// A segment's rows never change (storage.Data.SegmentID), so the sorted
// index of new contents is derived from the one of older contents: the
// rows of the segments both share keep their order (renumbered), the rows
// of the other segments are read, sorted and merged in. It costs a pass
// over the order and the reading of the new segments, not a sort of the
// table.

import (
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/anomalydb/anomalydb/storage"
)

// segmentsOf returns the ids and first row numbers (and the total) of d's
// segments.
func segmentsOf(d *storage.Data) ([]string, []int) {
	return segmentIDs(d), segmentStarts(d)
}

func segmentIDs(d *storage.Data) []string {
	ids := make([]string, d.NumSegments())
	for i := range ids {
		ids[i] = d.SegmentID(i)
	}
	return ids
}

// derive returns the sorted index of d (the same columns as si), reusing
// si's order and key columns for the segments d shares with the contents
// si was built over.
func (si *sortedIndex) derive(d *storage.Data) (*sortedIndex, error) {
	type span struct{ seg, start, rows int }
	old := make(map[string]span, len(si.segIDs))
	for i, id := range si.segIDs {
		old[id] = span{i, si.segStarts[i], si.segStarts[i+1] - si.segStarts[i]}
	}
	ids, starts := segmentsOf(d)
	ns := &sortedIndex{starts: []int{0}, typs: si.typs, ords: si.ords, segIDs: ids, segStarts: starts}
	arrs := make([][]arrow.Array, len(si.ords))
	newStart := make([]int, len(si.segIDs)) // of each old segment kept; -1: gone
	for i := range newStart {
		newStart[i] = -1
	}
	var fresh []uint32
	for i, id := range ids {
		rows := starts[i+1] - starts[i]
		if sp, ok := old[id]; ok && sp.rows == rows {
			newStart[sp.seg] = starts[i]
			ns.starts = si.sliceKeys(arrs, ns.starts, sp.start, rows)
			continue
		}
		rec, err := d.Segment(i)
		if err != nil {
			return nil, err
		}
		for c, o := range si.ords {
			col := rec.Column(o)
			col.Retain()
			arrs[c] = append(arrs[c], col)
		}
		rec.Release()
		ns.starts = append(ns.starts, ns.starts[len(ns.starts)-1]+rows)
		for g := starts[i]; g < starts[i+1]; g++ {
			fresh = append(fresh, uint32(g))
		}
	}
	for c, typ := range si.typs {
		ns.cols = append(ns.cols, newKeyColumn(typ, arrs[c]))
	}
	// Renumber the kept rows: a row of old segment b moves by
	// newStart[b] - segStarts[b]. Its segment is found from a table of
	// the first segment of each block of rows, then a step or two.
	const blockBits = 12
	first := make([]int32, si.segStarts[len(si.segStarts)-1]>>blockBits+1)
	for b, k := 0, 0; k < len(first); k++ {
		for b+1 < len(si.segStarts)-1 && si.segStarts[b+1] <= k<<blockBits {
			b++
		}
		first[k] = int32(b)
	}
	kept := make([]uint32, 0, len(si.perm))
	for _, g := range si.perm {
		b := int(first[g>>blockBits])
		for si.segStarts[b+1] <= int(g) {
			b++
		}
		if s := newStart[b]; s >= 0 {
			kept = append(kept, uint32(s+int(g)-si.segStarts[b]))
		}
	}
	slices.SortFunc(fresh, ns.compareRows)
	ns.perm = mergeOrders(kept, fresh, ns.compareRows)
	return ns, nil
}

// sliceKeys appends to arrs the key columns of si's rows [start,
// start+rows), as slices of its chunks, and to chunks (first row numbers
// of the chunks of arrs, and the total) their ends; it returns chunks.
func (si *sortedIndex) sliceKeys(arrs [][]arrow.Array, chunks []int, start, rows int) []int {
	end := start + rows
	for ch := range len(si.starts) - 1 {
		lo, hi := max(start, si.starts[ch]), min(end, si.starts[ch+1])
		if lo >= hi {
			continue
		}
		for c, col := range si.cols {
			arrs[c] = append(arrs[c], array.NewSlice(col.arrs[ch], int64(lo-si.starts[ch]), int64(hi-si.starts[ch])))
		}
		chunks = append(chunks, chunks[len(chunks)-1]+hi-lo)
	}
	return chunks
}

// mergeOrders merges two row orders sorted by cmp, b's rows after a's
// equal ones. Each row of b is placed by a binary search in a, so merging
// a few rows into many costs O(len(b) log len(a)) comparisons and a copy,
// not a comparison per row of a.
func mergeOrders(a, b []uint32, cmp func(x, y uint32) int) []uint32 {
	out := make([]uint32, 0, len(a)+len(b))
	i := 0
	for _, x := range b {
		k := i + sort.Search(len(a)-i, func(k int) bool { return cmp(a[i+k], x) > 0 })
		out = append(append(out, a[i:k]...), x)
		i = k
	}
	return append(out, a[i:]...)
}
