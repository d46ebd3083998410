package engine

// Skipping data files a filter rules out (storage.Data.SegmentBounds).
//
// A scan under a WHERE clause reads, for each conjunct that compares an
// integer column with a constant (c > 10, 5 <= c, c = 3.5, c BETWEEN 1
// AND 9), only the data files whose statistics say some row may satisfy
// it.
// The filter still runs over every row read: pruning only leaves out
// files in which no row can match, so results are the same with or
// without it. It is conservative where a comparison could round (an
// integer column against a fractional constant beyond 2^53, a strict
// comparison at a bound): such files are read.

import (
	"cmp"
	"math"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/storage"
)

// pruneOp is what a constraint says of its column's values.
type pruneOp uint8

const (
	atLeast pruneOp = iota // >= or >
	atMost                 // <= or <
	equal
)

// constraint is one conjunct of a filter: column col (full-schema index)
// compared with a constant.
type constraint struct {
	col int
	op  pruneOp
	val number
}

// number is a constant: an exact integer (isInt) or a float64.
type number struct {
	isInt bool
	i     int64
	f     float64
}

// segmentPruning builds a Filter over one of our tables (possibly under
// an alias) with a table that skips the data files the filter rules out;
// it leaves every other node (and a filter with nothing to prune by) to
// the builders after it.
type segmentPruning struct {
	exec sql.NodeExecBuilder // the whole builder
}

// Build implements sql.NodeExecBuilder.
func (sp *segmentPruning) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	f, ok := n.(*plan.Filter)
	if !ok {
		return nil, nil
	}
	child := f.Child
	alias, _ := child.(*plan.TableAlias)
	if alias != nil {
		child = alias.Child
	}
	rt, ok := child.(*plan.ResolvedTable)
	if !ok {
		return nil, nil
	}
	inner := rt.Table
	pt, tracked := inner.(*plan.ProcessTable) // SHOW PROCESSLIST's progress
	if tracked {
		inner = pt.Table
	}
	t, ok := inner.(*table)
	if !ok || t.prune != nil {
		return nil, nil
	}
	name := t.Name()
	if alias != nil {
		name = alias.Name()
	}
	cs := constraintsOf(f.Expression, name, t.schema.Schema)
	if len(cs) == 0 {
		return nil, nil
	}
	var pruned sql.Table = t.withPrune(cs)
	if tracked {
		pruned = plan.NewProcessTable(pruned, pt.OnPartitionDone, pt.OnPartitionStart, pt.OnRowNext)
	}
	nrt, err := rt.WithTable(pruned)
	if err != nil {
		return nil, err
	}
	var nc sql.Node = nrt
	if alias != nil {
		if nc, err = alias.WithChildren(nrt); err != nil {
			return nil, err
		}
	}
	nf, err := f.WithChildren(nc)
	if err != nil {
		return nil, err
	}
	return sp.exec.Build(ctx, nf, r)
}

// withPrune returns a copy of t whose scans skip the segments cs rule out.
func (t *table) withPrune(cs []constraint) *table {
	nt := *t
	nt.prune = cs
	return &nt
}

// constraintsOf returns the conjuncts of e that compare an integer column
// of table (named name, with full schema sch) with a constant.
func constraintsOf(e sql.Expression, name string, sch sql.Schema) []constraint {
	var out []constraint
	column := func(x sql.Expression) int {
		gf, ok := x.(*expression.GetField)
		if !ok || !strings.EqualFold(gf.Table(), name) {
			return -1
		}
		c := sch.IndexOfColName(gf.Name())
		if c < 0 {
			return -1
		}
		// Integer columns only. FLOAT bounds are float32 values that
		// go-mysql-server compares with a DECIMAL constant through their
		// shortest decimal form (0.1f equals 0.1 there, not here); and a
		// DOUBLE may hold NaN, which Iceberg's bounds leave out and
		// iceberg-go does not count. BIGINT UNSIGNED is stored bit-cast.
		typ := sch[c].Type
		if !types.IsInteger(typ) || typ.Type() == types.Uint64.Type() {
			return -1
		}
		return c
	}
	add := func(col int, op pruneOp, x sql.Expression) {
		if v, ok := constantNumber(x); ok && col >= 0 {
			out = append(out, constraint{col, op, v})
		}
	}
	for _, c := range expression.SplitConjunction(e) {
		var l, r sql.Expression
		var op pruneOp
		switch x := c.(type) {
		case *expression.GreaterThan:
			l, r, op = x.Left(), x.Right(), atLeast
		case *expression.GreaterThanOrEqual:
			l, r, op = x.Left(), x.Right(), atLeast
		case *expression.LessThan:
			l, r, op = x.Left(), x.Right(), atMost
		case *expression.LessThanOrEqual:
			l, r, op = x.Left(), x.Right(), atMost
		case *expression.Equals:
			l, r, op = x.Left(), x.Right(), equal
		case *expression.Between:
			if col := column(x.Val); col >= 0 {
				add(col, atLeast, x.Lower)
				add(col, atMost, x.Upper)
			}
			continue
		default:
			continue
		}
		if col := column(l); col >= 0 {
			add(col, op, r)
		} else if col := column(r); col >= 0 { // 10 < c is c > 10
			switch op {
			case atLeast:
				op = atMost
			case atMost:
				op = atLeast
			}
			add(col, op, l)
		}
	}
	return out
}

// constantNumber returns the value of a literal number that converts to
// an int64 or a float64 exactly.
func constantNumber(e sql.Expression) (number, bool) {
	lit, ok := e.(*expression.Literal)
	if !ok {
		return number{}, false
	}
	switch v := lit.Value().(type) {
	case int8:
		return number{isInt: true, i: int64(v)}, true
	case int16:
		return number{isInt: true, i: int64(v)}, true
	case int32:
		return number{isInt: true, i: int64(v)}, true
	case int64:
		return number{isInt: true, i: v}, true
	case int:
		return number{isInt: true, i: int64(v)}, true
	case uint8:
		return number{isInt: true, i: int64(v)}, true
	case uint16:
		return number{isInt: true, i: int64(v)}, true
	case uint32:
		return number{isInt: true, i: int64(v)}, true
	case uint64:
		if v <= math.MaxInt64 {
			return number{isInt: true, i: int64(v)}, true
		}
	case float32:
		return number{f: float64(v)}, !math.IsNaN(float64(v))
	case float64:
		return number{f: v}, !math.IsNaN(v)
	case decimal.Decimal:
		if v.IsInteger() && v.Abs().LessThan(decimal.New(1, 18)) {
			return number{isInt: true, i: v.IntPart()}, true
		}
		f := v.InexactFloat64()
		return number{f: f}, decimal.NewFromFloat(f).Equal(v)
	}
	return number{}, false
}

// excludes reports whether no value within b can satisfy c.
func (c constraint) excludes(b storage.Bounds) bool {
	// below reports x < y for a bound x and the constant y, above x > y;
	// both false when that is not certain.
	below := func(x int64, xf float64, y number) bool { return compareBound(b.Int, x, xf, y) < 0 }
	above := func(x int64, xf float64, y number) bool { return compareBound(b.Int, x, xf, y) > 0 }
	switch c.op {
	case atLeast:
		return below(b.HiInt, b.HiFloat, c.val)
	case atMost:
		return above(b.LoInt, b.LoFloat, c.val)
	}
	return below(b.HiInt, b.HiFloat, c.val) || above(b.LoInt, b.LoFloat, c.val)
}

// compareBound compares a bound (the int x of an integer column, else
// the float xf) with y: -1, 1, or 0 when equal or not certain.
func compareBound(isInt bool, x int64, xf float64, y number) int {
	const exact = 1 << 53 // integers up to this convert to float64 exactly
	switch {
	case isInt && y.isInt:
		return cmp.Compare(x, y.i)
	case isInt:
		if x > exact || x < -exact {
			return 0
		}
		return cmp.Compare(float64(x), y.f)
	case y.isInt:
		if y.i > exact || y.i < -exact {
			return 0
		}
		return cmp.Compare(xf, float64(y.i))
	}
	return cmp.Compare(xf, y.f)
}

// keeps reports whether segment seg of d may hold rows the table's
// pruning constraints accept.
func (t *table) keeps(d *storage.Data, seg int) bool {
	for _, c := range t.prune {
		if b, ok := d.SegmentBounds(seg, c.col); ok && c.excludes(b) {
			return false
		}
	}
	return true
}
