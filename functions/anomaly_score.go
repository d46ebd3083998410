package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// AnomalyScore is anomaly_score('detector', f1, ..., fn): the detector's
// anomaly score of the row as a DOUBLE, higher = more anomalous.
type AnomalyScore struct {
	call *detectorCall
}

var _ sql.FunctionExpression = (*AnomalyScore)(nil)

// NewAnomalyScore returns the anomaly_score expression over args.
func NewAnomalyScore(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("anomaly_score", r, args)
	if err != nil {
		return nil, err
	}
	return &AnomalyScore{call: c}, nil
}

// FunctionName implements sql.FunctionExpression.
func (f *AnomalyScore) FunctionName() string { return "anomaly_score" }

// Description implements sql.FunctionExpression.
func (f *AnomalyScore) Description() string {
	return "returns a detector's anomaly score of the given feature values (higher = more anomalous)"
}

// Resolved implements sql.Expression.
func (f *AnomalyScore) Resolved() bool { return f.call.resolved() }

// String implements sql.Expression.
func (f *AnomalyScore) String() string { return f.call.string() }

// Type implements sql.Expression.
func (f *AnomalyScore) Type() sql.Type { return types.Float64 }

// IsNullable implements sql.Expression.
func (f *AnomalyScore) IsNullable() bool { return f.call.args[0].IsNullable() }

// Children implements sql.Expression.
func (f *AnomalyScore) Children() []sql.Expression { return f.call.args }

// WithChildren implements sql.Expression.
func (f *AnomalyScore) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != len(f.call.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), len(f.call.args))
	}
	return NewAnomalyScore(f.call.resolver, children...)
}

// Eval implements sql.Expression.
func (f *AnomalyScore) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	_, s, ok, err := f.call.score(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	return s, nil
}
