package engine

// Overwrite mode of a transaction's table (txTable): after the first
// UPDATE or DELETE. The base snapshot is not turned into rows as a whole:
// a segment of it (one data file) is read and turned into rows only when
// a row of it is changed, found through the table's sorted index of a
// numeric unique key (key_check.go), or, without one, when a row must be
// found by its values (then every segment is read). At COMMIT only the
// segments read are rewritten (storage.Table.RewriteSegments): an
// UPDATE or DELETE of a few rows of a large table writes a few files.
//
// Rows are numbered by position: the base rows by their row number in
// the base (0 ≤ i < nBase), the rows added since the switch (inserted,
// or the new versions of updated rows) by nBase + their index. Those
// numbers are what the undo log and the unique-key maps hold.

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/storage"
)

// rewriteState is a txTable's overwrite mode.
type rewriteState struct {
	nBase  int
	starts []int            // first row number of each base segment, and nBase
	segs   []*segRows       // per base segment: nil until read
	read   int              // segments read
	added  []sql.Row        // rows added since the switch
	aliveA []bool           // per added row
	dead   int              // rows (base and added) deleted
	byRow  map[string][]int // full-row keys of the rows of the segments read and of added
}

// segRows is one base segment turned into rows.
type segRows struct {
	rows  []sql.Row
	alive []bool
}

func newRewriteState(base *storage.Data) *rewriteState {
	starts := segmentStarts(base)
	return &rewriteState{
		nBase:  starts[len(starts)-1],
		starts: starts,
		segs:   make([]*segRows, base.NumSegments()),
		byRow:  map[string][]int{},
	}
}

// numRows is the number of live rows.
func (rw *rewriteState) numRows() int { return rw.nBase + len(rw.added) - rw.dead }

// readSegment turns base segment b into rows (once).
func (tt *txTable) readSegment(b int) error {
	rw := tt.rw
	if rw.segs[b] != nil {
		return nil
	}
	rec, err := tt.base.Segment(b)
	if err != nil {
		return segmentErr(err)
	}
	rows := recordRows(tt.t.schema.Schema, []arrow.RecordBatch{rec})
	rec.Release()
	s := &segRows{rows: rows, alive: make([]bool, len(rows))}
	for i, r := range rows {
		s.alive[i] = true
		k := rowKey(r)
		rw.byRow[k] = append(rw.byRow[k], rw.starts[b]+i)
	}
	rw.segs[b] = s
	rw.read++
	return nil
}

// readAll turns every base segment into rows.
func (tt *txTable) readAll() error {
	for b := range tt.rw.segs {
		if err := tt.readSegment(b); err != nil {
			return err
		}
	}
	return nil
}

// rowAt returns row i (see the numbering above), reading its segment.
func (tt *txTable) rowAt(i int) (sql.Row, error) {
	rw := tt.rw
	if i >= rw.nBase {
		return rw.added[i-rw.nBase], nil
	}
	b, r := locate(rw.starts, i)
	if err := tt.readSegment(b); err != nil {
		return nil, err
	}
	return rw.segs[b].rows[r], nil
}

// isAlive reports whether row i exists; a base row of a segment not read
// does.
func (rw *rewriteState) isAlive(i int) bool {
	if i >= rw.nBase {
		return rw.aliveA[i-rw.nBase]
	}
	b, r := locate(rw.starts, i)
	return rw.segs[b] == nil || rw.segs[b].alive[r]
}

// setAlive marks row i, whose segment has been read, live or deleted.
func (rw *rewriteState) setAlive(i int, alive bool) {
	if rw.isAlive(i) == alive {
		return
	}
	if alive {
		rw.dead--
	} else {
		rw.dead++
	}
	if i >= rw.nBase {
		rw.aliveA[i-rw.nBase] = alive
		return
	}
	b, r := locate(rw.starts, i)
	rw.segs[b].alive[r] = alive
}

// appendAdded adds live row r and returns its number.
func (rw *rewriteState) appendAdded(r sql.Row) int {
	i := rw.nBase + len(rw.added)
	rw.added = append(rw.added, r)
	rw.aliveA = append(rw.aliveA, true)
	k := rowKey(r)
	rw.byRow[k] = append(rw.byRow[k], i)
	return i
}

// dropLastAdded removes the last added row (undo of appendAdded).
func (rw *rewriteState) dropLastAdded() {
	j := len(rw.added) - 1
	k := rowKey(rw.added[j])
	if l := rw.byRow[k]; len(l) > 0 {
		rw.byRow[k] = l[:len(l)-1]
	}
	if !rw.aliveA[j] {
		rw.dead--
	}
	rw.added[j] = nil
	rw.added, rw.aliveA = rw.added[:j], rw.aliveA[:j]
}

// find returns the number of a live row equal to r: among the rows read,
// then in the base segments the sorted index of a unique key points at,
// then (no such key) in every segment.
func (tt *txTable) find(r sql.Row) (int, error) {
	rw := tt.rw
	k := rowKey(r)
	look := func() (int, bool) {
		for _, i := range rw.byRow[k] {
			if rw.isAlive(i) {
				return i, true
			}
		}
		return 0, false
	}
	if i, ok := look(); ok {
		return i, nil
	}
	if rw.read == len(rw.segs) {
		return 0, sql.ErrDeleteRowNotFound.New()
	}
	if cand, ok, err := tt.candidates(r); err != nil {
		return 0, err
	} else if ok {
		for _, g := range cand {
			b, _ := locate(rw.starts, g)
			if err := tt.readSegment(b); err != nil {
				return 0, err
			}
		}
	} else if err := tt.readAll(); err != nil {
		return 0, err
	}
	if i, ok := look(); ok {
		return i, nil
	}
	return 0, sql.ErrDeleteRowNotFound.New()
}

// candidates returns the base rows whose value of some numeric unique key
// equals r's (r's key has no NULL), from the sorted index; ok is false
// when no key can be searched so.
func (tt *txTable) candidates(r sql.Row) (rows []int, ok bool, err error) {
	idx, err := tt.baseIndexes()
	if err != nil || idx == nil {
		return nil, false, err
	}
	for u, uk := range tt.uniq {
		vals := make([]interface{}, len(uk.cols))
		complete := true
		for i, o := range uk.cols {
			if vals[i] = r[o]; vals[i] == nil {
				complete = false
			}
		}
		if !complete {
			continue
		}
		cand, exact := idx[u].equalRows(vals)
		if !exact {
			continue
		}
		for _, g := range cand {
			if int(g) < tt.rw.nBase {
				rows = append(rows, int(g))
			}
		}
		return rows, true, nil
	}
	return nil, false, nil
}

// liveRows returns the live rows read or added: the rows of the segments
// read, in order, then the added rows. Segments not read are the base's.
func (rw *rewriteState) liveRows() []sql.Row {
	var out []sql.Row
	for _, s := range rw.segs {
		if s == nil {
			continue
		}
		for i, r := range s.rows {
			if s.alive[i] {
				out = append(out, r)
			}
		}
	}
	for j, r := range rw.added {
		if rw.aliveA[j] {
			out = append(out, r)
		}
	}
	return out
}

// unread reports, per base segment, whether it was not read (its rows
// are the base's, unchanged).
func (rw *rewriteState) unread() []bool {
	out := make([]bool, len(rw.segs))
	for b, s := range rw.segs {
		out[b] = s == nil
	}
	return out
}

// segmentChange is the commit of overwrite mode: every segment read is
// replaced by its live rows, the live added rows appended.
func (rw *rewriteState) segmentChange(schema *arrow.Schema) (storage.SegmentChange, error) {
	c := storage.SegmentChange{Replace: map[int][]arrow.RecordBatch{}}
	fail := func(err error) (storage.SegmentChange, error) {
		for _, bs := range c.Replace {
			releaseAll(bs)
		}
		releaseAll(c.Append)
		return storage.SegmentChange{}, err
	}
	for b, s := range rw.segs {
		if s == nil {
			continue
		}
		var live []sql.Row
		for i, r := range s.rows {
			if s.alive[i] {
				live = append(live, r)
			}
		}
		if len(live) == len(s.rows) {
			continue // read, not changed
		}
		c.Replace[b] = nil
		if len(live) > 0 {
			rec, err := rowsToRecord(memory.DefaultAllocator, schema, live)
			if err != nil {
				return fail(err)
			}
			c.Replace[b] = []arrow.RecordBatch{rec}
		}
	}
	var added []sql.Row
	for j, r := range rw.added {
		if rw.aliveA[j] {
			added = append(added, r)
		}
	}
	if len(added) > 0 {
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, added)
		if err != nil {
			return fail(err)
		}
		c.Append = []arrow.RecordBatch{rec}
	}
	return c, nil
}
