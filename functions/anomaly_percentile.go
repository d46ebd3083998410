package functions

import (
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// AnomalyPercentile is anomaly_percentile('detector', f1, ..., fn): the
// fraction of the detector's training rows that score below the row, a
// DOUBLE in [0, 1], read from the training-score distribution the
// detector keeps (detectors.Model.Percentile: interpolated between its
// stored quantiles, tied training scores counted half). It never
// decreases as anomaly_score grows; a row scoring above every training row
// (among them the rows too extreme to score) gives 1. Arguments and NULL
// handling are anomaly_score's. A detector saved before distributions
// were kept gives error 1235.
type AnomalyPercentile struct {
	*detectorCall
}

var _ sql.FunctionExpression = (*AnomalyPercentile)(nil)

// NewAnomalyPercentile returns the anomaly_percentile expression over args.
func NewAnomalyPercentile(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("anomaly_percentile", r, args)
	if err != nil {
		return nil, err
	}
	return &AnomalyPercentile{detectorCall: c}, nil
}

// Description implements sql.FunctionExpression.
func (f *AnomalyPercentile) Description() string {
	return "returns the fraction of a detector's training rows that score below the given feature values, in [0, 1]"
}

// Type implements sql.Expression.
func (f *AnomalyPercentile) Type() sql.Type { return types.Float64 }

// WithChildren implements sql.Expression.
func (f *AnomalyPercentile) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if err := f.checkChildren(f, children); err != nil {
		return nil, err
	}
	return NewAnomalyPercentile(f.resolver, children...)
}

// Eval implements sql.Expression.
func (f *AnomalyPercentile) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	m, s, ok, err := f.score(ctx, row)
	if err != nil || !ok {
		return nil, err
	}
	ref, _ := f.args[0].Eval(ctx, row) // a string: score resolved it
	return percentile(f.name, ref, m, s)
}

// percentile is the value of anomaly_percentile for a row of model m,
// detector ref, scoring s.
func percentile(fn string, ref interface{}, m *detectors.Model, s float64) (interface{}, error) {
	p, err := m.Percentile(s)
	if err != nil {
		return nil, mysql.NewSQLError(mysql.ERNotSupportedYet, "42000",
			"%s: DETECTOR %v was saved by an older anomalydb, without the distribution of its training scores; create it again", fn, ref)
	}
	return p, nil
}
