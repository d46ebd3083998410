package engine

// Rows that carry what their consumer reads. A filter on scores that runs
// on the table's Arrow batches (columnarFilter) makes a SQL row of every
// row that passes, with every column the scan projects: the features the
// scores were computed from included, though the filter has read them
// already. Above it, SELECT COUNT(*) reads no column and SELECT id one:
// making the others costs most of the time a scoring scan spends outside
// the scorer when most rows pass. The node above such a filter is built
// with the filter marked with the columns its expressions read; the rest
// are left NULL.

import (
	"slices"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"

	"github.com/anomalydb/anomalydb/functions"
)

// prunedFilter is a filter whose rows are read only at the columns keep
// (by index in its schema): built by batchScoring like the filter, with
// the other columns left NULL when it runs on Arrow batches.
type prunedFilter struct {
	*plan.Filter
	keep []bool
}

// pruneBelow returns n with its child filter marked as a prunedFilter,
// or nil when that does not apply: n is a projection or an aggregation
// without batched calls of its own, over a filter whose condition reads
// columns only through batched calls (as columnarFilter requires), n's
// expressions read the filter's rows only through plain column
// references, and some column is not read. r is the outer scope's row:
// with one, column indexes are offset by it and nothing is pruned.
func pruneBelow(n sql.Node, r sql.Row) sql.Node {
	if len(r) > 0 {
		return nil
	}
	var (
		exprs []sql.Expression
		f     *plan.Filter
	)
	switch n := n.(type) {
	case *plan.GroupBy:
		f, _ = n.Child.(*plan.Filter)
		exprs = append(slices.Clip(n.SelectedExprs), n.GroupByExprs...)
	case *plan.Project:
		f, _ = n.Child.(*plan.Filter)
		exprs = n.Projections
	default:
		return nil
	}
	if f == nil || functions.NewBatch(exprs) != nil {
		return nil
	}
	b := functions.NewBatch([]sql.Expression{f.Expression})
	if b == nil || readsRow(b.Exprs()[0]) {
		return nil
	}
	width := len(f.Schema())
	keep := make([]bool, width)
	ok := true
	for _, e := range exprs {
		transform.InspectExpr(e, func(e sql.Expression) bool {
			switch e := e.(type) {
			case *expression.GetField:
				if i := e.Index(); i >= 0 && i < width {
					keep[i] = true
				} else {
					ok = false
				}
			case *plan.Subquery:
				ok = false // reads the row as its scope
			}
			return !ok
		})
	}
	if !ok || !slices.Contains(keep, false) {
		return nil
	}
	pn, err := n.WithChildren(&prunedFilter{Filter: f, keep: keep})
	if err != nil {
		return nil
	}
	return pn
}

// readsRow reports whether e reads its row other than through batched
// calls (whose arguments Batch.Exprs hides): a column reference or a
// subquery.
func readsRow(e sql.Expression) bool {
	reads := false
	transform.InspectExpr(e, func(e sql.Expression) bool {
		switch e.(type) {
		case *expression.GetField, *plan.Subquery:
			reads = true
		}
		return reads
	})
	return reads
}
