package engine

import (
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/storage"
)

// packRows is how many rows of a transaction's inserts are packed into
// one Arrow record batch.
const packRows = 16 * 1024

// spillBytes is how many bytes of packed rows an insert log holds before
// it writes them to data files of the table (staged, not committed):
// the memory of a large INSERT … SELECT, CREATE TABLE … AS SELECT or
// LOAD DATA stays bounded by it, whatever the number of rows. A
// variable for tests.
var spillBytes int64 = 64 << 20

// insertLog holds the rows a transaction appended to one table, in
// order. All but the last few are packed into Arrow record batches of
// packRows rows, in the table's storage form: a row as a sql.Row costs
// tens of bytes per value (an interface and its boxed value), packed it
// costs the value's size, so a LOAD DATA of a million rows holds about
// what its data files will, not twenty times that.
//
// Once the packed batches hold spillBytes, they are written to data files
// of the table (storage.Table.Stage) and dropped from memory: the first
// rows of the log are then staged, read back from their files when
// needed, and committed with the rest (storage.TableChange.Staged).
//
// Rows read back from a packed batch are the rows a scan of the committed
// table returns (same types and values). Batches that truncate drops stay
// alive until release, because a scan of the transaction's view may still
// read them.
type insertLog struct {
	schema *arrow.Schema // the storage form of the rows (the base snapshot's schema)
	sch    sql.Schema    // the SQL form
	stage  func([]arrow.RecordBatch) (*storage.Staged, error)
	// onSpill, if set, is told of every spill: rows [first, first+n) were
	// staged as recs (valid during the call); onUnspill of every
	// truncation into the staged rows: the staged parts from row from on
	// are gone (before the rows kept of them are added back).
	onSpill   func(first int, recs []arrow.RecordBatch)
	onUnspill func(from int)

	spilled     []*storage.Staged // the first rows, staged
	spilledRows int
	spillFailed bool  // a staging failed: rows stay in memory (the commit reports any error)
	readErr     error // reading staged rows back failed: the commit fails with it

	packed      []arrow.RecordBatch
	packedBytes int64
	rows        []sql.Row // the rows after the packed ones
	dead        []arrow.RecordBatch
	// stuck is set when packing failed (a value the storage form cannot
	// hold, which the commit reports): no packing is tried again until a
	// truncation.
	stuck bool
}

// newInsertLog returns an empty log of rows of schema (SQL form sch);
// stage, if not nil, stages rows for the table (storage.Table.Stage).
func newInsertLog(schema *arrow.Schema, sch sql.Schema, stage func([]arrow.RecordBatch) (*storage.Staged, error)) *insertLog {
	return &insertLog{schema: schema, sch: sch, stage: stage}
}

// len is the number of rows.
func (l *insertLog) len() int { return l.spilledRows + len(l.packed)*packRows + len(l.rows) }

// add appends row, packing the unpacked rows once there are packRows of
// them. A packing failure leaves them unpacked (the commit reports it).
func (l *insertLog) add(row sql.Row) {
	l.rows = append(l.rows, row)
	for len(l.rows) >= packRows && !l.stuck {
		rec, err := rowsToRecord(memory.DefaultAllocator, l.schema, l.rows[:packRows])
		if err != nil {
			l.stuck = true
			return
		}
		if rec.NumRows() != packRows {
			rec.Release()
			l.stuck = true
			return
		}
		l.packed = append(l.packed, rec)
		l.packedBytes += storage.BatchBytes(rec)
		rest := copy(l.rows, l.rows[packRows:])
		clear(l.rows[rest:])
		l.rows = l.rows[:rest]
	}
	if l.packedBytes >= spillBytes && l.stage != nil && !l.spillFailed {
		l.spill()
	}
}

// spill stages the packed batches and drops them from memory.
func (l *insertLog) spill() {
	st, err := l.stage(l.packed)
	if err != nil {
		l.spillFailed = true
		return
	}
	if l.onSpill != nil {
		l.onSpill(l.spilledRows, l.packed)
	}
	releaseAll(l.packed)
	l.spilled = append(l.spilled, st)
	l.spilledRows += len(l.packed) * packRows
	l.packed, l.packedBytes = nil, 0
}

// stagedRow returns row i (< spilledRows), read from its staged file.
func (l *insertLog) stagedRow(i int) sql.Row {
	for _, st := range l.spilled {
		d := st.Data()
		if int64(i) >= d.NumRows() {
			i -= int(d.NumRows())
			continue
		}
		b, r := locate(segmentStarts(d), i)
		rec, err := d.Segment(b)
		if err != nil {
			l.readErr = err // the commit fails with it
			return nil
		}
		defer rec.Release()
		one := rec.NewSlice(int64(r), int64(r+1))
		defer one.Release()
		return recordRows(l.sch, []arrow.RecordBatch{one})[0]
	}
	return nil
}

// at returns row i.
func (l *insertLog) at(i int) sql.Row {
	if i < l.spilledRows {
		return l.stagedRow(i)
	}
	i -= l.spilledRows
	if p := i / packRows; p < len(l.packed) {
		one := l.packed[p].NewSlice(int64(i%packRows), int64(i%packRows+1))
		defer one.Release()
		return recordRows(l.sch, []arrow.RecordBatch{one})[0]
	}
	return l.rows[i-len(l.packed)*packRows]
}

// each calls fn for every row from row from on, in order, until fn
// returns false; it unpacks one batch at a time (staged rows are read
// back from their files).
func (l *insertLog) each(from int, fn func(i int, r sql.Row) bool) {
	i := 0
	for _, st := range l.spilled {
		d := st.Data()
		if from >= i+int(d.NumRows()) {
			i += int(d.NumRows())
			continue
		}
		stop := false
		err := d.Scan(int64(max(0, from-i)), func(rec arrow.RecordBatch, first int64) error {
			for k, r := range recordRows(l.sch, []arrow.RecordBatch{rec}) {
				if g := i + int(first) + k; g >= from && !fn(g, r) {
					stop = true
					return errStopEach
				}
			}
			return nil
		})
		if err != nil && !stop {
			l.readErr = err // the commit fails with it
			return
		}
		if stop {
			return
		}
		i += int(d.NumRows())
	}
	from -= l.spilledRows
	first := min(max(0, from)/packRows, len(l.packed))
	i = l.spilledRows + first*packRows
	from += l.spilledRows
	for _, rec := range l.packed[first:] {
		for _, r := range recordRows(l.sch, []arrow.RecordBatch{rec}) {
			if i >= from && !fn(i, r) {
				return
			}
			i++
		}
	}
	for _, r := range l.rows {
		if i >= from && !fn(i, r) {
			return
		}
		i++
	}
}

// truncate drops the rows from n on.
func (l *insertLog) truncate(n int) {
	if n >= l.len() {
		return
	}
	l.stuck = false
	if n < l.spilledRows {
		l.unspill(n)
		return
	}
	n -= l.spilledRows
	if p := n / packRows; p < len(l.packed) {
		l.rows = recordRows(l.sch, l.packed[p:p+1])[:n%packRows]
		l.dead = append(l.dead, l.packed[p:]...)
		l.packed = l.packed[:p]
		l.packedBytes = 0
		for _, rec := range l.packed {
			l.packedBytes += storage.BatchBytes(rec)
		}
		return
	}
	k := n - len(l.packed)*packRows
	clear(l.rows[k:])
	l.rows = l.rows[:k]
}

// unspill drops the rows from n (< spilledRows) on: the staged rows
// from the first staged part holding them on are discarded, the rows of
// that part before n added again.
func (l *insertLog) unspill(n int) {
	start := 0
	k := 0
	for ; k < len(l.spilled); k++ {
		if rows := int(l.spilled[k].NumRows()); n < start+rows {
			break
		} else {
			start += rows
		}
	}
	var keep []sql.Row
	if n > start {
		err := l.spilled[k].Data().Scan(0, func(rec arrow.RecordBatch, first int64) error {
			if int(first) < n-start {
				part := rec.NewSlice(0, min(rec.NumRows(), int64(n-start)-first))
				keep = append(keep, recordRows(l.sch, []arrow.RecordBatch{part})...)
				part.Release()
			}
			return nil
		})
		if err != nil {
			l.readErr = err // the commit fails with it
		}
	}
	for _, st := range l.spilled[k:] {
		st.Discard()
	}
	l.spilled, l.spilledRows = l.spilled[:k], start
	if l.onUnspill != nil {
		l.onUnspill(start)
	}
	l.dead = append(l.dead, l.packed...)
	l.packed, l.packedBytes, l.rows = nil, 0, nil
	for _, r := range keep {
		l.add(r)
	}
}

// stagedData returns the staged rows (valid until the log is committed
// or released).
func (l *insertLog) stagedData() []*storage.Data {
	staged := make([]*storage.Data, len(l.spilled))
	for i, st := range l.spilled {
		staged[i] = st.Data()
	}
	return staged
}

// view returns the staged rows (valid until the log is committed or
// released), the packed batches, retained for the caller, and a copy of
// the unpacked rows.
func (l *insertLog) view() ([]*storage.Data, []arrow.RecordBatch, []sql.Row) {
	staged := l.stagedData()
	for _, b := range l.packed {
		b.Retain()
	}
	return staged, l.packed, append([]sql.Row(nil), l.rows...)
}

// batches returns every row as record batches, which the caller releases.
// It fails if staged rows could not be read back (see readErr).
func (l *insertLog) batches() ([]arrow.RecordBatch, error) {
	if l.readErr != nil {
		return nil, segmentErr(l.readErr)
	}
	out := make([]arrow.RecordBatch, 0, len(l.packed)+1)
	for _, rec := range l.packed {
		rec.Retain()
		out = append(out, rec)
	}
	if len(l.rows) > 0 {
		rec, err := rowsToRecord(memory.DefaultAllocator, l.schema, l.rows)
		if err != nil {
			releaseAll(out)
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

// release frees the packed batches and discards rows staged and not
// committed.
func (l *insertLog) release() {
	for _, st := range l.spilled {
		st.Discard()
	}
	l.spilled, l.spilledRows = nil, 0
	releaseAll(l.packed)
	releaseAll(l.dead)
	l.packed, l.dead, l.rows = nil, nil, nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// errStopEach stops a Scan of each early.
var errStopEach = errors.New("stop")
