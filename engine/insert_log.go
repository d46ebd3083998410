package engine

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
)

// packRows is how many rows of a transaction's inserts are packed into
// one Arrow record batch.
const packRows = 16 * 1024

// insertLog holds the rows a transaction appended to one table, in
// order. All but the last few are packed into Arrow record batches of
// packRows rows, in the table's storage form: a row as a sql.Row costs
// tens of bytes per value (an interface and its boxed value), packed it
// costs the value's size, so a LOAD DATA of a million rows holds about
// what its data files will, not twenty times that.
//
// Rows read back from a packed batch are the rows a scan of the committed
// table returns (same types and values). Batches that truncate drops stay
// alive until release, because a scan of the transaction's view may still
// read them.
type insertLog struct {
	schema *arrow.Schema // the storage form of the rows (the base snapshot's schema)
	sch    sql.Schema    // the SQL form
	packed []arrow.RecordBatch
	rows   []sql.Row // the rows after the packed ones
	dead   []arrow.RecordBatch
	// stuck is set when packing failed (a value the storage form cannot
	// hold, which the commit reports): no packing is tried again until a
	// truncation.
	stuck bool
}

func newInsertLog(schema *arrow.Schema, sch sql.Schema) *insertLog {
	return &insertLog{schema: schema, sch: sch}
}

// len is the number of rows.
func (l *insertLog) len() int { return len(l.packed)*packRows + len(l.rows) }

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
		rest := copy(l.rows, l.rows[packRows:])
		clear(l.rows[rest:])
		l.rows = l.rows[:rest]
	}
}

// at returns row i.
func (l *insertLog) at(i int) sql.Row {
	if p := i / packRows; p < len(l.packed) {
		one := l.packed[p].NewSlice(int64(i%packRows), int64(i%packRows+1))
		defer one.Release()
		return recordRows(l.sch, []arrow.RecordBatch{one})[0]
	}
	return l.rows[i-len(l.packed)*packRows]
}

// each calls fn for every row from row from on, in order, until fn
// returns false; it unpacks one batch at a time.
func (l *insertLog) each(from int, fn func(i int, r sql.Row) bool) {
	first := min(from/packRows, len(l.packed))
	i := first * packRows
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
	if p := n / packRows; p < len(l.packed) {
		l.rows = recordRows(l.sch, l.packed[p:p+1])[:n%packRows]
		l.dead = append(l.dead, l.packed[p:]...)
		l.packed = l.packed[:p]
		return
	}
	k := n - len(l.packed)*packRows
	clear(l.rows[k:])
	l.rows = l.rows[:k]
}

// view returns the packed batches (valid until release) and a copy of the
// unpacked rows.
func (l *insertLog) view() ([]arrow.RecordBatch, []sql.Row) {
	return l.packed, append([]sql.Row(nil), l.rows...)
}

// batches returns every row as record batches, which the caller releases.
func (l *insertLog) batches() ([]arrow.RecordBatch, error) {
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

// release frees the packed batches.
func (l *insertLog) release() {
	releaseAll(l.packed)
	releaseAll(l.dead)
	l.packed, l.dead, l.rows = nil, nil, nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}
