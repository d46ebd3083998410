package engine

import (
	"slices"
)

// Point lookups read rows, not segments. A lookup that selects a few rows
// (a primary key equality, a short range) reads them with
// storage.Data.ReadRows: from the cache if their segment is cached, else
// only the Parquet row groups holding them and only the columns the
// statement needs, instead of decoding (and caching) whole data files of
// a table larger than the cache.

// lookupReadRows is the most rows a lookup may select for its rows to be
// read one by one (ReadRows) rather than by whole segments: beyond it a
// lookup is more like a scan, which reads (and caches) whole segments.
// A row group of two columns costs about a fiftieth of decoding a whole
// data file of 4 MiB (storage.BenchmarkReadRows), so up to this many
// rows cost at most about what the segments they fall in would.
const lookupReadRows = 64

// pointReaders returns the value readers of segment b (as batchReaders
// does: the projected columns, then the index columns) over only the
// rows of the lookup in segment b, read with ReadRows, or ok false when
// the lookup selects more than lookupReadRows rows. The readers take a
// row of the segment, as batchReaders' do.
func (it *lookupRowIter) pointReaders(b int) (rd []func(int) interface{}, ok bool, err error) {
	rows := it.lookupRows(b)
	if len(rows) == 0 {
		return nil, false, nil
	}
	cols := slices.Clone(it.cols)
	if it.p.filter != nil {
		cols = append(cols, it.p.filter.ix.cols...)
	}
	rec, err := it.p.data.ReadRows(b, rows, cols)
	if err != nil {
		return nil, true, segmentErr(err)
	}
	it.recs[b] = rec
	at := make(map[int]int, len(rows)) // row of the segment → row of rec
	for k, r := range rows {
		at[int(r)] = k
	}
	rd = make([]func(int) interface{}, len(cols))
	for j, c := range cols {
		read := valueReader(it.t.schema.Schema[c].Type, rec.Column(j))
		rd[j] = func(r int) interface{} { return read(at[r]) }
	}
	return rd, true, nil
}

// lookupRows returns the rows of segment b the lookup selects, ascending,
// or nil when it selects more than lookupReadRows rows in all.
func (it *lookupRowIter) lookupRows(b int) []int64 {
	p := it.p
	var rows []int64
	add := func(g int) {
		if s, r := locate(p.starts, g); s == b {
			rows = append(rows, int64(r))
		}
	}
	if p.perm != nil {
		if len(p.perm) > lookupReadRows {
			return nil
		}
		for _, g := range p.perm {
			add(int(g))
		}
	} else {
		if len(p.items) > lookupReadRows {
			return nil
		}
		for _, item := range p.items {
			if item.row == nil {
				add(item.pos)
			}
		}
	}
	slices.Sort(rows)
	return slices.Compact(rows)
}
