package engine

import (
	"io"

	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// Rows are handed to go-mysql-server as sql.Row, one interface value per
// column. Made one at a time, every row costs an allocation for the row
// and one more for each DOUBLE or BIGINT value boxed into an interface:
// on a scan of 16 DOUBLE columns, 17 allocations per row, which is most of
// the time a scan takes. chunkRows rows are made together instead: their
// values share one backing array, and the DOUBLE and BIGINT values are
// boxed into interfaces that point into one shared array of numbers per
// column, so a chunk costs a handful of allocations.

// chunkRows is how many rows a batchRowIter makes at a time. A row keeps
// its chunk's arrays alive while it is held, so a consumer that holds one
// row holds the memory of chunkRows.
const chunkRows = 256

// columnFiller writes the value of row idx[k] of one Arrow column into
// column c of rows[k], for every k.
type columnFiller func(idx []int, rows []sql.Row, c int)

// columnFillerOf returns the filler of arr, read as SQL type t: values as
// valueReader makes them, DOUBLE and BIGINT boxed in bulk.
func columnFillerOf(t sql.Type, arr arrow.Array) columnFiller {
	switch a := arr.(type) {
	case *array.Float64:
		if t.Type() == sqltypes.Float64 {
			return boxedFiller(a.Float64Values(), arr, float64Type)
		}
	case *array.Int64:
		if t.Type() == sqltypes.Int64 {
			return boxedFiller(a.Int64Values(), arr, int64Type)
		}
	}
	rd := valueReader(t, arr)
	return func(idx []int, rows []sql.Row, c int) {
		for k, i := range idx {
			rows[k][c] = rd(i)
		}
	}
}

// boxedFiller fills from vals, the values of arr (NULL where arr is null),
// boxing them as typ, the type word of an interface holding a T.
func boxedFiller[T float64 | int64](vals []T, arr arrow.Array, typ unsafe.Pointer) columnFiller {
	nulls := arr.NullN() > 0
	return func(idx []int, rows []sql.Row, c int) {
		// A copy, so that a row does not keep the Arrow buffer alive or
		// see it reused.
		own := make([]T, len(idx))
		for k, i := range idx {
			if nulls && arr.IsNull(i) {
				rows[k][c] = nil
				continue
			}
			own[k] = vals[i]
			rows[k][c] = boxAt(typ, unsafe.Pointer(&own[k]))
		}
	}
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

// boxAt returns an interface of type typ whose value is at p: what
// interface{}(*p) makes, without copying *p to a new allocation. The
// memory at p must never change afterwards (boxedFiller's arrays are
// written once, before boxing); the interface keeps it alive.
func boxAt(typ, p unsafe.Pointer) interface{} {
	var v interface{}
	e := (*eface)(unsafe.Pointer(&v))
	e.typ, e.data = typ, p
	return v
}

// rowMaker makes rows of one Arrow batch, projected to a table's columns.
type rowMaker []columnFiller // one per projected column

// newRowMaker returns the maker of rows of rec, whose columns have the SQL
// types of sch, projected to cols.
func newRowMaker(sch sql.Schema, cols []int, rec arrow.RecordBatch) rowMaker {
	m := make(rowMaker, len(cols))
	for i, c := range cols {
		m[i] = columnFillerOf(sch[c].Type, rec.Column(c))
	}
	return m
}

// rows returns the rows idx of the batch, made together.
func (m rowMaker) rows(idx []int) []sql.Row {
	w := len(m)
	vals := make([]interface{}, len(idx)*w)
	rows := make([]sql.Row, len(idx))
	for k := range rows {
		rows[k] = vals[k*w : (k+1)*w : (k+1)*w]
	}
	for c, f := range m {
		f(idx, rows, c)
	}
	return rows
}

// batchRowIter returns the rows of one Arrow batch, projected, a chunk at
// a time.
type batchRowIter struct {
	maker rowMaker
	i, n  int       // next row of the batch, rows in the batch
	chunk []sql.Row // rows made and not yet returned
	idx   []int
}

func newBatchRowIter(sch sql.Schema, cols []int, rec arrow.RecordBatch) *batchRowIter {
	return &batchRowIter{maker: newRowMaker(sch, cols, rec), n: int(rec.NumRows())}
}

// Next implements sql.RowIter.
func (it *batchRowIter) Next(*sql.Context) (sql.Row, error) {
	if len(it.chunk) == 0 {
		if it.i >= it.n {
			return nil, io.EOF
		}
		it.fill()
	}
	row := it.chunk[0]
	it.chunk[0] = nil
	it.chunk = it.chunk[1:]
	return row, nil
}

// fill makes the next chunk of rows.
func (it *batchRowIter) fill() {
	lo := it.i
	hi := min(lo+chunkRows, it.n)
	it.idx = it.idx[:0]
	for i := lo; i < hi; i++ {
		it.idx = append(it.idx, i)
	}
	it.chunk, it.i = it.maker.rows(it.idx), hi
}

// Close implements sql.Closer.
func (it *batchRowIter) Close(*sql.Context) error {
	it.chunk = nil
	return nil
}
