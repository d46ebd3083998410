package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// IsAnomaly is is_anomaly('detector', f1, ..., fn): 1 where the row's
// anomaly score exceeds the detector's threshold, else 0.
type IsAnomaly struct {
	call *detectorCall
}

var _ sql.FunctionExpression = (*IsAnomaly)(nil)

// NewIsAnomaly returns the is_anomaly expression over args.
func NewIsAnomaly(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("is_anomaly", r, args)
	if err != nil {
		return nil, err
	}
	return &IsAnomaly{call: c}, nil
}

// FunctionName implements sql.FunctionExpression.
func (f *IsAnomaly) FunctionName() string { return "is_anomaly" }

// Description implements sql.FunctionExpression.
func (f *IsAnomaly) Description() string {
	return "returns 1 where a detector's anomaly score exceeds its threshold, else 0"
}

// Resolved implements sql.Expression.
func (f *IsAnomaly) Resolved() bool { return f.call.resolved() }

// String implements sql.Expression.
func (f *IsAnomaly) String() string { return f.call.string() }

// Type implements sql.Expression.
func (f *IsAnomaly) Type() sql.Type { return types.Boolean }

// IsNullable implements sql.Expression.
func (f *IsAnomaly) IsNullable() bool { return f.call.args[0].IsNullable() }

// Children implements sql.Expression.
func (f *IsAnomaly) Children() []sql.Expression { return f.call.args }

// WithChildren implements sql.Expression.
func (f *IsAnomaly) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != len(f.call.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), len(f.call.args))
	}
	return NewIsAnomaly(f.call.resolver, children...)
}

// Eval implements sql.Expression.
func (f *IsAnomaly) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	m, s, ok, err := f.call.score(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	if m.IsAnomaly(s) {
		return int8(1), nil
	}
	return int8(0), nil
}
