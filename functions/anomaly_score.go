package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// AnomalyScore is anomaly_score('detector', f1, ..., fn): the detector's
// anomaly score of the row as a DOUBLE, higher = more anomalous; never NaN,
// detectors.MaxScore for a row too extreme to score (see the package doc).
type AnomalyScore struct {
	*detectorCall
}

var _ sql.FunctionExpression = (*AnomalyScore)(nil)

// NewAnomalyScore returns the anomaly_score expression over args.
func NewAnomalyScore(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("anomaly_score", r, args)
	if err != nil {
		return nil, err
	}
	return &AnomalyScore{detectorCall: c}, nil
}

// Description implements sql.FunctionExpression.
func (f *AnomalyScore) Description() string {
	return "returns a detector's anomaly score of the given feature values (higher = more anomalous)"
}

// Type implements sql.Expression.
func (f *AnomalyScore) Type() sql.Type { return types.Float64 }

// WithChildren implements sql.Expression.
func (f *AnomalyScore) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if err := f.checkChildren(f, children); err != nil {
		return nil, err
	}
	return NewAnomalyScore(f.resolver, children...)
}

// Eval implements sql.Expression.
func (f *AnomalyScore) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	_, s, ok, err := f.score(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	return s, nil
}
