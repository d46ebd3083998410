package engine

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/anomalydb/anomalydb/functions"
)

// batchScoring executes the projections (SELECT list) and filters (WHERE,
// HAVING) that call anomaly_score, is_anomaly or anomaly_percentile with a
// constant detector name a block of rows at a time: the child's rows are read into a block,
// the block is scored on the detector's batched path (functions.Batch,
// parallel over GOMAXPROCS for large blocks), then each row is projected
// or filtered as go-mysql-server's own iterators do. Results, errors and
// row order are those of row-by-row evaluation; only the work is grouped.
// Every other node is left to the default builder.
type batchScoring struct {
	exec sql.NodeExecBuilder // the whole builder, for the children
}

var _ sql.NodeExecBuilder = (*batchScoring)(nil)

// Blocks grow from firstScoreBlock rows to maxScoreBlock, so that a query
// with a small LIMIT scores few rows beyond it while a scan reaches blocks
// large enough to score on every core.
const (
	firstScoreBlock = 64
	maxScoreBlock   = 8192
)

// Build implements sql.NodeExecBuilder.
func (bs *batchScoring) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	if pn := pruneBelow(n, r); pn != nil { // prune_rows.go
		return bs.exec.Build(ctx, pn, r)
	}
	var (
		exprs  []sql.Expression
		child  sql.Node
		filter bool
		keep   []bool // the columns the filter's rows need, nil for all
	)
	switch n := n.(type) {
	case *plan.Project:
		exprs, child = n.Projections, n.Child
	case *plan.Filter:
		exprs, child, filter = []sql.Expression{n.Expression}, n.Child, true
	case *prunedFilter:
		exprs, child, filter, keep = []sql.Expression{n.Expression}, n.Child, true, n.keep
	case *plan.Having:
		exprs, child, filter = []sql.Expression{n.Cond}, n.Child, true
	default:
		return nil, nil
	}
	b := functions.NewBatch(exprs)
	if b == nil {
		return nil, nil
	}
	if filter && len(r) == 0 {
		if it, err := columnarFilter(ctx, child, b, keep); it != nil || err != nil {
			return it, err
		}
	}
	it, err := bs.exec.Build(ctx, child, r)
	if err != nil {
		return nil, err
	}
	return &scoredIter{child: it, batch: b, filter: filter, size: firstScoreBlock}, nil
}

// scoredIter reads its child a block at a time and projects or filters
// each row with the block's scores.
type scoredIter struct {
	child  sql.RowIter
	batch  *functions.Batch
	filter bool // filter by the one expression; otherwise project

	block []sql.Row
	next  int   // the next row of block to return
	size  int   // the size of the next block
	err   error // the child's error (io.EOF at its end), returned after block
}

// Next implements sql.RowIter.
func (it *scoredIter) Next(ctx *sql.Context) (sql.Row, error) {
	for {
		for it.next < len(it.block) {
			i := it.next
			it.next++
			row := it.block[i]
			it.block[i] = nil // the caller owns it from here
			it.batch.Row(i)
			if !it.filter {
				return rowexec.ProjectRow(ctx, it.batch.Exprs(), row)
			}
			res, err := sql.EvaluateCondition(ctx, it.batch.Exprs()[0], row)
			if err != nil {
				return nil, err
			}
			if sql.IsTrue(res) {
				return row, nil
			}
		}
		if it.err != nil {
			return nil, it.err
		}
		if err := it.fill(ctx); err != nil {
			return nil, err
		}
	}
}

// fill reads the next block from the child and scores it.
func (it *scoredIter) fill(ctx *sql.Context) error {
	it.block, it.next = it.block[:0], 0
	for len(it.block) < it.size {
		row, err := it.child.Next(ctx)
		if err != nil {
			it.err = err
			break
		}
		it.block = append(it.block, row)
	}
	it.size = min(it.size*4, maxScoreBlock)
	if len(it.block) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return it.batch.Score(ctx, it.block)
}

// Close implements sql.RowIter.
func (it *scoredIter) Close(ctx *sql.Context) error {
	it.block = nil
	return it.child.Close(ctx)
}

// columnarFilter returns the filter of b's one expression over child when
// the filter can be evaluated on the table's Arrow batches directly: child
// is a scan of one of our tables, the condition
// reads columns only through batched detector calls, and those read
// numeric columns whose SQL values convert to the same DOUBLE as their
// Arrow values. Rows are then scored straight from the Arrow columns and
// only the rows that pass are made into SQL rows. It returns nil, nil
// when the filter does not qualify.
//
// keep, when not nil, names the columns (of the filter's rows) its
// consumer reads: the others are left NULL in the rows made.
func columnarFilter(ctx *sql.Context, child sql.Node, b *functions.Batch, keep []bool) (sql.RowIter, error) {
	if ta, ok := child.(*plan.TableAlias); ok {
		child = ta.Child
	}
	rt, ok := child.(*plan.ResolvedTable)
	if !ok {
		return nil, nil
	}
	tbl, ok := rt.UnderlyingTable().(*table)
	if !ok {
		return nil, nil
	}
	fields, ok := b.FeatureFields()
	if readsRow(b.Exprs()[0]) || !ok {
		return nil, nil
	}
	cols := tbl.columns()
	arrowCols := make([][]int, len(fields))
	for k, f := range fields {
		for _, i := range f {
			if i < 0 || i >= len(cols) || !exactDouble(tbl.schema.Schema[cols[i]].Type) {
				return nil, nil
			}
			arrowCols[k] = append(arrowCols[k], cols[i])
		}
	}
	if b.Resolve(ctx) != nil {
		return nil, nil // the rows report it, if any evaluates the call
	}
	parts, err := tbl.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	return &columnarFilterIter{tbl: tbl, cols: cols, keep: keep, parts: parts, batch: b, arrowCols: arrowCols}, nil
}

// exactDouble reports whether a column of SQL type t is stored in Arrow
// as a number whose float64 conversion equals that of its SQL value (not
// so for BIGINT UNSIGNED, stored as int64, nor DECIMAL).
func exactDouble(t sql.Type) bool {
	switch t.Type() {
	case sqltypes.Float64, sqltypes.Float32,
		sqltypes.Int8, sqltypes.Int16, sqltypes.Int24, sqltypes.Int32, sqltypes.Int64,
		sqltypes.Uint8, sqltypes.Uint16, sqltypes.Uint24, sqltypes.Uint32:
		return true
	}
	return false
}

// columnarFilterIter filters a table's committed batches, maxScoreBlock
// rows at a time, by a condition that reads only scores.
type columnarFilterIter struct {
	tbl       *table
	cols      []int  // the scan's projected columns
	keep      []bool // of cols, those the rows carry (nil: all)
	parts     sql.PartitionIter
	batch     *functions.Batch
	arrowCols [][]int // per batched call, its feature columns in the batch

	rec   arrow.RecordBatch // the current partition's batch
	lo    int               // the first row of rec not yet scored
	maker rowMaker
	ready []sql.Row // rows that passed, not yet returned
	idx   []int
}

// Next implements sql.RowIter.
func (it *columnarFilterIter) Next(ctx *sql.Context) (sql.Row, error) {
	for len(it.ready) == 0 {
		if it.rec == nil || it.lo >= int(it.rec.NumRows()) {
			p, err := it.parts.Next(ctx)
			if err != nil {
				return nil, err
			}
			if rp, ok := p.(*rowsPartition); ok {
				// A transaction's own rows, not in Arrow form yet.
				if err := it.pending(ctx, rp.rows); err != nil {
					return nil, err
				}
				continue
			}
			bp, ok := p.(*batchPartition)
			if !ok {
				return nil, fmt.Errorf("unexpected partition %T", p)
			}
			rec, err := bp.batch()
			if err != nil {
				return nil, err
			}
			it.release()
			it.rec, it.lo = rec, 0
			it.maker = newRowMaker(it.tbl.schema.Schema, it.cols, rec)
			it.maker.skip(it.keep)
			continue
		}
		if err := it.block(ctx); err != nil {
			return nil, err
		}
	}
	row := it.ready[0]
	it.ready[0] = nil
	it.ready = it.ready[1:]
	return row, nil
}

// block scores the next rows of it.rec and makes the rows that pass.
func (it *columnarFilterIter) block(ctx *sql.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	lo := it.lo
	hi := min(lo+maxScoreBlock, int(it.rec.NumRows()))
	it.lo = hi
	slice := it.rec.NewSlice(int64(lo), int64(hi))
	defer slice.Release()
	if err := it.batch.ScoreRecord(ctx, slice, it.arrowCols); err != nil {
		return err
	}
	cond := it.batch.Exprs()[0]
	it.idx = it.idx[:0]
	for i := 0; i < hi-lo; i++ {
		it.batch.Row(i)
		res, err := sql.EvaluateCondition(ctx, cond, nil)
		if err != nil {
			return err
		}
		if sql.IsTrue(res) {
			it.idx = append(it.idx, lo+i)
		}
	}
	if len(it.idx) > 0 {
		it.ready = it.maker.rows(it.idx)
	}
	return nil
}

// pending filters rows a transaction wrote (full-schema rows) into
// it.ready, scoring them from their SQL values.
func (it *columnarFilterIter) pending(ctx *sql.Context, rows []sql.Row) error {
	cond := it.batch.Exprs()[0]
	for lo := 0; lo < len(rows); lo += maxScoreBlock {
		block := make([]sql.Row, 0, min(maxScoreBlock, len(rows)-lo))
		for _, r := range rows[lo:min(lo+maxScoreBlock, len(rows))] {
			out := make(sql.Row, len(it.cols))
			for j, c := range it.cols {
				out[j] = r[c]
			}
			block = append(block, out)
		}
		if err := it.batch.Score(ctx, block); err != nil {
			return err
		}
		for i, row := range block {
			it.batch.Row(i)
			res, err := sql.EvaluateCondition(ctx, cond, row)
			if err != nil {
				return err
			}
			if sql.IsTrue(res) {
				it.ready = append(it.ready, row)
			}
		}
	}
	return nil
}

// Close implements sql.RowIter.
func (it *columnarFilterIter) Close(ctx *sql.Context) error {
	it.ready = nil
	it.release()
	return it.parts.Close(ctx)
}

// release drops the current batch.
func (it *columnarFilterIter) release() {
	if it.rec != nil {
		it.rec.Release()
		it.rec = nil
	}
}
