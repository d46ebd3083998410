package engine

import (
	"io"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// Rows are handed to go-mysql-server as sql.Row, one interface value per
// column. Boxing a DOUBLE or BIGINT into an interface allocates, so a row
// of 16 DOUBLE columns cost 17 allocations, most of the time a scan
// takes. A row is made with two instead: its values, and one array of
// 8-byte words that its DOUBLE and BIGINT values are boxed into (the
// interfaces point into it). The arrays belong to that row alone, so a
// consumer that keeps some rows of a scan keeps only their memory.

// columnReader reads one Arrow column of a batch as SQL values.
type columnReader struct {
	read  func(i int) interface{} // the value of row i (typ == nil)
	typ   unsafe.Pointer          // else: the type word the value is boxed as
	bits  func(i int) uint64      // and its bits
	arr   arrow.Array             // for nulls
	nulls bool
	slot  int // its word in the row's array
}

// columnReaderOf returns the reader of arr, read as SQL type t: values as
// valueReader makes them, DOUBLE and BIGINT boxed into the row's words.
func columnReaderOf(t sql.Type, arr arrow.Array) columnReader {
	switch a := arr.(type) {
	case *array.Float64:
		if t.Type() == sqltypes.Float64 {
			vals := a.Float64Values()
			return columnReader{typ: float64Type, bits: func(i int) uint64 { return math.Float64bits(vals[i]) }, arr: arr, nulls: arr.NullN() > 0}
		}
	case *array.Int64:
		if t.Type() == sqltypes.Int64 {
			vals := a.Int64Values()
			return columnReader{typ: int64Type, bits: func(i int) uint64 { return uint64(vals[i]) }, arr: arr, nulls: arr.NullN() > 0}
		}
	}
	return columnReader{read: valueReader(t, arr)}
}

// eface is the layout of an interface{} value: a type word and a pointer
// to the value, which the runtime treats as immutable.
type eface struct {
	typ  unsafe.Pointer
	data unsafe.Pointer
}

// Type words of interfaces holding a float64 and an int64.
var (
	float64Type = typeWord(float64(0))
	int64Type   = typeWord(int64(0))
)

func typeWord(v interface{}) unsafe.Pointer { return (*eface)(unsafe.Pointer(&v)).typ }

// boxAt returns an interface of type typ whose value is the 8 bytes at p
// (the bits of a float64 or an int64): what interface{}(v) makes, without
// a new allocation for v. The memory at p must never change afterwards (a
// row's words are written once, before boxing); the interface keeps it
// alive.
func boxAt(typ, p unsafe.Pointer) interface{} {
	var v interface{}
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// rowMaker makes rows of one Arrow batch, projected to a table's columns.
type rowMaker struct {
	cols  []columnReader // one per projected column
	words int            // how many of them are boxed into the row's words
}

// newRowMaker returns the maker of rows of rec, whose columns have the SQL
// types of sch, projected to cols.
func newRowMaker(sch sql.Schema, cols []int, rec arrow.RecordBatch) rowMaker {
	m := rowMaker{cols: make([]columnReader, len(cols))}
	for i, c := range cols {
		r := columnReaderOf(sch[c].Type, rec.Column(c))
		if r.typ != nil {
			r.slot = m.words
			m.words++
		}
		m.cols[i] = r
	}
	return m
}

// skip makes the maker leave NULL the columns k with !keep[k] (nil keep:
// none), for a consumer that never reads them.
func (m *rowMaker) skip(keep []bool) {
	if keep == nil {
		return
	}
	m.words = 0
	for k := range m.cols {
		r := &m.cols[k]
		switch {
		case !keep[k]:
			*r = columnReader{read: readNull}
		case r.typ != nil:
			r.slot = m.words
			m.words++
		}
	}
}

func readNull(int) interface{} { return nil }

// row returns row i of the batch.
func (m rowMaker) row(i int) sql.Row {
	row := make(sql.Row, len(m.cols))
	var words []uint64
	if m.words > 0 {
		words = make([]uint64, m.words)
	}
	m.fill(i, row, words)
	return row
}

// fill writes the values of row i of the batch into row[:len(m.cols)],
// boxing its DOUBLE and BIGINT values into words[:m.words], which must be
// new: they belong to the row from here (see boxAt).
func (m rowMaker) fill(i int, row sql.Row, words []uint64) {
	for c := range m.cols {
		r := &m.cols[c]
		switch {
		case r.typ == nil:
			row[c] = r.read(i)
		case r.nulls && r.arr.IsNull(i):
			row[c] = nil
		default:
			// Written once, before boxing (see boxAt).
			words[r.slot] = r.bits(i)
			row[c] = boxAt(r.typ, unsafe.Pointer(&words[r.slot]))
		}
	}
}

// rows returns the rows idx of the batch.
func (m rowMaker) rows(idx []int) []sql.Row {
	out := make([]sql.Row, len(idx))
	for k, i := range idx {
		out[k] = m.row(i)
	}
	return out
}

// batchRowIter returns the rows of one Arrow batch, projected.
type batchRowIter struct {
	rec   arrow.RecordBatch // released by Close
	maker rowMaker
	i, n  int // next row of the batch, rows in the batch
}

// newBatchRowIter returns the rows of rec, projected on cols, taking over
// the caller's reference to rec.
func newBatchRowIter(sch sql.Schema, cols []int, rec arrow.RecordBatch) *batchRowIter {
	return &batchRowIter{rec: rec, maker: newRowMaker(sch, cols, rec), n: int(rec.NumRows())}
}

// Next implements sql.RowIter.
func (it *batchRowIter) Next(*sql.Context) (sql.Row, error) {
	if it.i >= it.n {
		return nil, io.EOF
	}
	it.i++
	return it.maker.row(it.i - 1), nil
}

// Close implements sql.Closer.
func (it *batchRowIter) Close(*sql.Context) error {
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
	return nil
}
