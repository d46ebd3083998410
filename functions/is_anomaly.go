package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// IsAnomaly is is_anomaly('detector', f1, ..., fn): 1 where the row's
// anomaly score exceeds the detector's threshold, else 0; always 1 for a
// row too extreme to score (anomaly_score detectors.MaxScore).
type IsAnomaly struct {
	*detectorCall
}

var _ sql.FunctionExpression = (*IsAnomaly)(nil)

// NewIsAnomaly returns the is_anomaly expression over args.
func NewIsAnomaly(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("is_anomaly", r, args)
	if err != nil {
		return nil, err
	}
	return &IsAnomaly{detectorCall: c}, nil
}

// Description implements sql.FunctionExpression.
func (f *IsAnomaly) Description() string {
	return "returns 1 where a detector's anomaly score exceeds its threshold, else 0"
}

// Type implements sql.Expression.
func (f *IsAnomaly) Type() sql.Type { return types.Boolean }

// WithChildren implements sql.Expression.
func (f *IsAnomaly) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if err := f.checkChildren(f, children); err != nil {
		return nil, err
	}
	return NewIsAnomaly(f.resolver, children...)
}

// Eval implements sql.Expression.
func (f *IsAnomaly) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	m, s, ok, err := f.score(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	if m.IsAnomaly(s) {
		return int8(1), nil
	}
	return int8(0), nil
}
