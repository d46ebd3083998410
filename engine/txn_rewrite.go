package engine

// Overwrite mode of a transaction's table (txTable): after the first
// UPDATE or DELETE. The base snapshot is not turned into rows as a whole:
// a segment of it (one data file) gets a mark per row of whether it
// still exists when a row of it is changed or found through the table's
// sorted index of a numeric unique key (key_check.go); the rows so found
// are read alone (storage.Data.ReadRows: from the cache, or only the
// Parquet row groups holding them), so a point UPDATE of a table larger
// than the cache does not decode a whole data file. A segment is read
// whole (and kept as its Arrow batch) once more than lookupReadRows of
// its rows are wanted, when the transaction's own scans need its live
// rows, or when a row must be found by its values without an index
// (then every segment is read and its rows' keys taken). Rows become SQL
// rows one at a time, as they are needed. At COMMIT only the deleted
// rows are recorded, per segment, in a position delete file
// (storage.Table.RewriteSegments): an UPDATE or DELETE of a few rows of a
// large table writes a few small files and rewrites no data file.
//
// Rows are numbered by position: the base rows by their row number in
// the base (0 ≤ i < nBase), the rows added since the switch (inserted,
// or the new versions of updated rows) by nBase + their index. Those
// numbers are what the undo log and the unique-key maps hold.

import (
	"context"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/storage"
)

// rewriteState is a txTable's overwrite mode.
type rewriteState struct {
	nBase  int
	starts []int            // first row number of each base segment, and nBase
	segs   []*segRows       // per base segment: nil until one of its rows is wanted
	added  []sql.Row        // rows added since the switch
	aliveA []bool           // per added row
	dead   int              // rows (base and added) deleted
	byRow  map[string][]int // full-row keys of the added rows and, once keyed, of the base rows
	keyed  bool             // every base segment read and its rows in byRow
}

// segRows is one base segment of overwrite mode: which of its rows still
// exist, and its rows: the whole batch once read (rec), or before that
// the rows read alone (some).
type segRows struct {
	alive []bool
	dead  int

	rec     arrow.RecordBatch // nil until the segment is read whole
	readers []func(int) interface{}
	some    map[int]sql.Row     // rows read alone, by row of the segment
	pieces  []arrow.RecordBatch // the batches they were read from (released with the segment)
}

// row returns row r of the segment as a SQL row; the segment has been
// read whole.
func (s *segRows) row(r int) sql.Row {
	out := make(sql.Row, len(s.readers))
	for c, rd := range s.readers {
		out[c] = rd(r)
	}
	return out
}

// release drops what the segment holds.
func (s *segRows) release() {
	if s.rec != nil {
		s.rec.Release()
	}
	releaseRecords(s.pieces)
	s.rec, s.some, s.pieces = nil, nil, nil
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

// segment returns base segment b's marks, making them (every row live)
// the first time; nothing of the segment is read.
func (tt *txTable) segment(b int) *segRows {
	rw := tt.rw
	if s := rw.segs[b]; s != nil {
		return s
	}
	s := &segRows{alive: make([]bool, tt.base.SegmentRows(b))}
	for i := range s.alive {
		s.alive[i] = true
	}
	rw.segs[b] = s
	return s
}

// readSegment reads base segment b whole (once).
func (tt *txTable) readSegment(b int) error {
	s := tt.segment(b)
	if s.rec != nil {
		return nil
	}
	if err := checkMemory(); err != nil { // memory_limit.go
		return err
	}
	rec, err := tt.base.Segment(b)
	if err != nil {
		return segmentErr(err)
	}
	sch := tt.t.schema.Schema
	s.rec, s.readers = rec, make([]func(int) interface{}, len(sch))
	for c := range sch {
		s.readers[c] = valueReader(sch[c].Type, rec.Column(c))
	}
	releaseRecords(s.pieces)
	s.some, s.pieces = nil, nil
	return nil
}

// segmentRow returns row r of base segment b: from the segment read
// whole, or read alone (and kept) while fewer than lookupReadRows of
// the segment's rows have been; the next one reads the segment whole.
func (tt *txTable) segmentRow(b, r int) (sql.Row, error) {
	s := tt.segment(b)
	if s.rec == nil {
		if row, ok := s.some[r]; ok {
			return row, nil
		}
		if len(s.some) < lookupReadRows {
			sch := tt.t.schema.Schema
			cols := make([]int, len(sch))
			for c := range cols {
				cols[c] = c
			}
			rec, err := tt.base.ReadRows(b, []int64{int64(r)}, cols)
			if err != nil {
				return nil, segmentErr(err)
			}
			s.pieces = append(s.pieces, rec)
			row := make(sql.Row, len(sch))
			for c := range sch {
				row[c] = valueReader(sch[c].Type, rec.Column(c))(0)
			}
			if s.some == nil {
				s.some = map[int]sql.Row{}
			}
			s.some[r] = row
			return row, nil
		}
		if err := tt.readSegment(b); err != nil {
			return nil, err
		}
	}
	return s.row(r), nil
}

// readAll reads every base segment.
func (tt *txTable) readAll() error {
	for b := range tt.rw.segs {
		if err := tt.readSegment(b); err != nil {
			return err
		}
	}
	return nil
}

// keyAll reads every base segment and puts its rows' keys in byRow, to
// find rows by their values without an index.
func (tt *txTable) keyAll() error {
	rw := tt.rw
	if rw.keyed {
		return nil
	}
	if err := tt.readAll(); err != nil {
		return err
	}
	for b, s := range rw.segs {
		for r := range s.alive {
			k := rowKey(s.row(r))
			rw.byRow[k] = append(rw.byRow[k], rw.starts[b]+r)
		}
	}
	rw.keyed = true
	return nil
}

// release drops what the segments hold.
func (rw *rewriteState) release() {
	for _, s := range rw.segs {
		if s != nil {
			s.release()
		}
	}
}

// rowAt returns row i (see the numbering above), reading it (segmentRow).
func (tt *txTable) rowAt(i int) (sql.Row, error) {
	rw := tt.rw
	if i >= rw.nBase {
		return rw.added[i-rw.nBase], nil
	}
	b, r := locate(rw.starts, i)
	return tt.segmentRow(b, r)
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

// setAlive marks row i, which has been read (rowAt), live or deleted.
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
	s := rw.segs[b]
	s.alive[r] = alive
	if alive {
		s.dead--
	} else {
		s.dead++
	}
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
	// Base rows keyed later (keyAll) may follow it in the list.
	if l := rw.byRow[k]; len(l) > 0 {
		rw.byRow[k] = slices.DeleteFunc(l, func(i int) bool { return i == rw.nBase+j })
	}
	if !rw.aliveA[j] {
		rw.dead--
	}
	rw.added[j] = nil
	rw.added, rw.aliveA = rw.added[:j], rw.aliveA[:j]
}

// find returns the number of a live row equal to r: among the added rows
// (and the base rows once keyed), then among the base rows the sorted
// index of a unique key points at, then (no such key) among every row.
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
	if i, ok := look(); ok || rw.keyed {
		if !ok {
			return 0, sql.ErrDeleteRowNotFound.New()
		}
		return i, nil
	}
	cand, ok, err := tt.candidates(r)
	if err != nil {
		return 0, err
	}
	if ok {
		for _, g := range cand {
			if !rw.isAlive(g) {
				continue
			}
			row, err := tt.rowAt(g)
			if err != nil {
				return 0, err
			}
			if rowKey(row) == k {
				return g, nil
			}
		}
		return 0, sql.ErrDeleteRowNotFound.New()
	}
	if err := tt.keyAll(); err != nil {
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

// changes reports whether a row was deleted from the base or a live row
// added.
func (rw *rewriteState) changes() bool {
	for _, s := range rw.segs {
		if s != nil && s.dead > 0 {
			return true
		}
	}
	return slices.Contains(rw.aliveA, true)
}

// liveAdded returns the live added rows, in order.
func (rw *rewriteState) liveAdded() []sql.Row {
	var out []sql.Row
	for j, r := range rw.added {
		if rw.aliveA[j] {
			out = append(out, r)
		}
	}
	return out
}

// unchanged reports, per base segment, whether none of its rows was
// deleted (its rows are the base's, unchanged).
func (rw *rewriteState) unchanged() []bool {
	out := make([]bool, len(rw.segs))
	for b, s := range rw.segs {
		out[b] = s == nil || s.dead == 0
	}
	return out
}

// survivors returns the live rows of each base segment with deleted
// rows, by segment: a new batch the caller must release, or nil when
// none is left. Such a segment is read whole first.
func (tt *txTable) survivors() (map[int]arrow.RecordBatch, error) {
	out := map[int]arrow.RecordBatch{}
	for b, s := range tt.rw.segs {
		if s == nil || s.dead == 0 {
			continue
		}
		if s.dead == len(s.alive) {
			out[b] = nil
			continue
		}
		if err := tt.readSegment(b); err != nil {
			for _, r := range out {
				if r != nil {
					r.Release()
				}
			}
			return nil, err
		}
		mask := array.NewBooleanBuilder(memory.DefaultAllocator)
		mask.AppendValues(s.alive, nil)
		m := mask.NewArray()
		mask.Release()
		rec, err := compute.FilterRecordBatch(context.Background(), s.rec, m, compute.DefaultFilterOptions())
		m.Release()
		if err != nil {
			for _, r := range out {
				if r != nil {
					r.Release()
				}
			}
			return nil, err
		}
		out[b] = rec
	}
	return out, nil
}

// segmentChange is the commit of overwrite mode: the deleted rows of
// every base segment (which storage records in position delete files,
// rewriting no data file), the live added rows appended.
func (rw *rewriteState) segmentChange(schema *arrow.Schema) (storage.SegmentChange, error) {
	c := storage.SegmentChange{Delete: map[int][]int64{}}
	for b, s := range rw.segs {
		if s == nil || s.dead == 0 {
			continue
		}
		rows := make([]int64, 0, s.dead)
		for r, alive := range s.alive {
			if !alive {
				rows = append(rows, int64(r))
			}
		}
		c.Delete[b] = rows
	}
	if added := rw.liveAdded(); len(added) > 0 {
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, added)
		if err != nil {
			return storage.SegmentChange{}, err
		}
		c.Append = []arrow.RecordBatch{rec}
	}
	return c, nil
}
