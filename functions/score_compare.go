package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// scoreCompare is a comparison of a batched anomaly_score with a constant
// INT or DOUBLE, evaluated on the precomputed DOUBLE score: what
// go-mysql-server (and MySQL) do for such a comparison, both sides
// converted to DOUBLE, without converting the two values for every row.
type scoreCompare struct {
	call  *batchedCall
	orig  sql.Expression // the comparison as written
	op    compareOp
	value float64
}

type compareOp func(s, v float64) bool

var (
	greater      compareOp = func(s, v float64) bool { return s > v }
	greaterEqual compareOp = func(s, v float64) bool { return s >= v }
	less         compareOp = func(s, v float64) bool { return s < v }
	lessEqual    compareOp = func(s, v float64) bool { return s <= v }
	equal        compareOp = func(s, v float64) bool { return s == v }
)

// compareOpOf returns the op of comparison e, as written (call <op>
// constant) and mirrored (constant <op> call), or nil for another
// expression.
func compareOpOf(e sql.Expression) (written, mirror compareOp) {
	switch e.(type) {
	case *expression.GreaterThan:
		return greater, less
	case *expression.GreaterThanOrEqual:
		return greaterEqual, lessEqual
	case *expression.LessThan:
		return less, greater
	case *expression.LessThanOrEqual:
		return lessEqual, greaterEqual
	case *expression.Equals:
		return equal, equal
	}
	return nil, nil
}

// newScoreCompare returns e as a scoreCompare when it compares a batched
// anomaly_score with a non-NULL INT or DOUBLE constant, else nil.
func newScoreCompare(e sql.Expression) *scoreCompare {
	written, mirror := compareOpOf(e)
	if written == nil {
		return nil
	}
	cmp := e.(expression.Comparer)
	op := written
	call, isCall := cmp.Left().(*batchedCall)
	lit, isLit := cmp.Right().(*expression.Literal)
	if !isCall || !isLit {
		call, isCall = cmp.Right().(*batchedCall)
		lit, isLit = cmp.Left().(*expression.Literal)
		op = mirror
	}
	if !isCall || !isLit || call.kind != callScore {
		return nil
	}
	t := lit.Type()
	if !types.IsInteger(t) && !types.IsFloat(t) {
		return nil // DECIMAL and strings convert differently
	}
	v, ok := toFloat(lit.Value())
	if !ok || lit.Value() == nil {
		return nil
	}
	return &scoreCompare{call: call, orig: e, op: op, value: v}
}

// Eval implements sql.Expression.
func (c *scoreCompare) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	if c.call.model == nil { // the block is evaluated row by row
		return c.orig.Eval(ctx, row)
	}
	s, err := c.call.current() // no boxing of the score: this runs for every row
	if err != nil {
		return nil, err
	}
	return c.op(s, c.value), nil
}

// Type implements sql.Expression.
func (c *scoreCompare) Type() sql.Type { return c.orig.Type() }

// IsNullable implements sql.Expression.
func (c *scoreCompare) IsNullable() bool { return c.orig.IsNullable() }

// Resolved implements sql.Expression.
func (c *scoreCompare) Resolved() bool { return true }

// String implements sql.Expression.
func (c *scoreCompare) String() string { return c.orig.String() }

// Children implements sql.Expression: none (see batchedCall).
func (c *scoreCompare) Children() []sql.Expression { return nil }

// WithChildren implements sql.Expression.
func (c *scoreCompare) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(c, len(children), 0)
	}
	return c, nil
}
