package engine

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// space is SPACE(n): a string of n spaces; "" for n <= 0; NULL for a
// NULL n, and NULL with warning 1301 when n is over max_allowed_packet
// (packet_functions.go). It replaces go-mysql-server's SPACE, which
// builds its result one space at a time (time quadratic in n) and has no
// bound.
type space struct {
	n sql.Expression
}

var (
	_ sql.FunctionExpression = (*space)(nil)
	_ sql.CollationCoercible = (*space)(nil)
)

func newSpace(n sql.Expression) sql.Expression { return &space{n: n} }

// FunctionName implements sql.FunctionExpression.
func (s *space) FunctionName() string { return "space" }

// Description implements sql.FunctionExpression.
func (s *space) Description() string { return "returns a string of the specified number of spaces." }

// Resolved implements sql.Expression.
func (s *space) Resolved() bool { return s.n.Resolved() }

// String implements sql.Expression.
func (s *space) String() string { return fmt.Sprintf("SPACE(%s)", s.n) }

// Type implements sql.Expression.
func (s *space) Type() sql.Type { return types.LongText }

// IsNullable implements sql.Expression.
func (s *space) IsNullable() bool { return true }

// CollationCoercibility implements sql.CollationCoercible: the
// connection's collation, coercible, as MySQL's SPACE.
func (s *space) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	if ctx == nil || ctx.Session == nil {
		return sql.Collation_Default, 4
	}
	return ctx.GetCollation(), 4
}

// Children implements sql.Expression.
func (s *space) Children() []sql.Expression { return []sql.Expression{s.n} }

// WithChildren implements sql.Expression.
func (s *space) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(s, len(children), 1)
	}
	return newSpace(children[0]), nil
}

// Eval implements sql.Expression. A value that is not an integer counts
// as 0, with warning 1292, as in go-mysql-server's SPACE.
func (s *space) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	v, err := s.n.Eval(ctx, row)
	if err != nil || v == nil {
		return nil, err
	}
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		ctx.Warn(1292, "Truncated incorrect INTEGER value: '%v'", v)
		n = int64(0)
	}
	count := n.(int64)
	if count <= 0 {
		return "", nil
	}
	if limit := maxAllowedPacket(ctx); count > limit {
		warnPacketOverflow(ctx, "space", limit)
		return nil, nil
	}
	return strings.Repeat(" ", int(count)), nil
}
