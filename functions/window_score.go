package functions

import (
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

// WindowScore is the window form of anomaly_score and is_anomaly on a
// sequence detector:
//
//	anomaly_score('d', f1, ..., fn) OVER (PARTITION BY p ORDER BY o)
//	is_anomaly('d', f1, ..., fn) OVER (PARTITION BY p ORDER BY o)
//
// The PARTITION BY and ORDER BY are the query's: the value of a row is
// computed from the rows of its partition up to and including it, in the
// window's order, and no other (a frame clause is ignored, as LAG
// ignores it). Scores are detectors.Model.ScoreSequence's on the
// partition's rows, bit for bit, and is_anomaly is
// Model.SequenceVerdicts; feature values are converted as anomaly_score
// converts them (ModelFeatureValue). Give the order (and partitioning)
// the detector was trained with to score rows as training saw them.
//
// The detector name must be the same on every row of a partition; a NULL
// name gives NULL. A detector that is not a sequence detector is an
// error (ER_WINDOW_INVALID_WINDOW_FUNC_USE, 3593), as is a plain call
// on a sequence detector (ErrPlainSequenceCall).
type WindowScore struct {
	name     string // anomaly_score or is_anomaly
	resolver Resolver
	args     []sql.Expression // the detector name, then the features
	window   *sql.WindowDefinition
	id       sql.ColumnId
}

var (
	_ sql.FunctionExpression = (*WindowScore)(nil)
	_ sql.WindowAggregation  = (*WindowScore)(nil)
)

// NewWindowScore returns the window form of the function name
// ("anomaly_score" or "is_anomaly") over args, without its window (see
// WithWindow).
func NewWindowScore(name string, r Resolver, args ...sql.Expression) (*WindowScore, error) {
	switch name {
	case "anomaly_score", "is_anomaly":
	default:
		return nil, fmt.Errorf("functions: %s has no window form", name)
	}
	c, err := newDetectorCall(name, r, args)
	if err != nil {
		return nil, err
	}
	return &WindowScore{name: name, resolver: r, args: c.args}, nil
}

// FunctionName implements sql.FunctionExpression.
func (f *WindowScore) FunctionName() string { return f.name }

// Description implements sql.FunctionExpression.
func (f *WindowScore) Description() string {
	return "returns a sequence detector's " + strings.TrimPrefix(f.name, "anomaly_") + " of a row given the rows before it in its window"
}

// Type implements sql.Expression.
func (f *WindowScore) Type() sql.Type {
	if f.name == "is_anomaly" {
		return types.Boolean
	}
	return types.Float64
}

// IsNullable implements sql.Expression: NULL for a NULL detector name.
func (f *WindowScore) IsNullable() bool { return true }

// Resolved implements sql.Expression.
func (f *WindowScore) Resolved() bool {
	for _, a := range f.args {
		if !a.Resolved() {
			return false
		}
	}
	if f.window == nil {
		return true
	}
	for _, e := range f.window.ToExpressions() {
		if !e.Resolved() {
			return false
		}
	}
	return true
}

// String implements fmt.Stringer.
func (f *WindowScore) String() string {
	parts := make([]string, len(f.args))
	for i, a := range f.args {
		parts[i] = a.String()
	}
	s := f.name + "(" + strings.Join(parts, ", ") + ")"
	if f.window != nil {
		s += " " + f.window.String()
	}
	return s
}

// Children implements sql.Expression: the window's expressions, then the
// arguments.
func (f *WindowScore) Children() []sql.Expression {
	return append(f.window.ToExpressions(), f.args...)
}

// WithChildren implements sql.Expression.
func (f *WindowScore) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	nw := len(children) - len(f.args)
	if nw < 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(children), len(f.args))
	}
	window, err := f.window.FromExpressions(children[:nw])
	if err != nil {
		return nil, err
	}
	c := *f
	c.args = children[nw:]
	c.window = window
	return &c, nil
}

// Eval implements sql.Expression: the window form is evaluated only as a
// window function.
func (f *WindowScore) Eval(*sql.Context, sql.Row) (interface{}, error) {
	return nil, sql.ErrWindowUnsupported.New(f.name)
}

// Id implements sql.IdExpression.
func (f *WindowScore) Id() sql.ColumnId { return f.id }

// WithId implements sql.IdExpression.
func (f *WindowScore) WithId(id sql.ColumnId) sql.IdExpression {
	c := *f
	c.id = id
	return &c
}

// Window implements sql.WindowAdaptableExpression.
func (f *WindowScore) Window() *sql.WindowDefinition { return f.window }

// WithWindow implements sql.WindowAdaptableExpression.
func (f *WindowScore) WithWindow(window *sql.WindowDefinition) sql.WindowAdaptableExpression {
	c := *f
	c.window = window
	return &c
}

// NewWindowFunction implements sql.WindowAdaptableExpression.
func (f *WindowScore) NewWindowFunction() (sql.WindowFunction, error) {
	args := make([]sql.Expression, len(f.args))
	for i, a := range f.args {
		c, err := transform.Clone(a)
		if err != nil {
			return nil, err
		}
		args[i] = c
	}
	return &windowScorer{name: f.name, resolver: f.resolver, args: args}, nil
}

// windowScorer is the sql.WindowFunction of a WindowScore: it scores a
// whole partition when it starts (StartPartition, which can fail) and
// hands out the values a row at a time (Compute, which cannot).
type windowScorer struct {
	name     string
	resolver Resolver
	args     []sql.Expression

	values []interface{} // of the rows of the current partition
	next   int           // the next row's index in values
	x      []float64     // scratch: the partition's feature values
	scores []float64
	flags  []bool
}

var _ sql.WindowFunction = (*windowScorer)(nil)

// Dispose implements sql.Disposable.
func (w *windowScorer) Dispose() {}

// DefaultFramer implements sql.WindowFunction: the whole partition, as
// LAG's.
func (w *windowScorer) DefaultFramer() sql.WindowFramer { return aggregation.NewPartitionFramer() }

// StartPartition implements sql.WindowFunction: it scores the rows
// buf[interval.Start:interval.End], one ordered partition.
func (w *windowScorer) StartPartition(ctx *sql.Context, interval sql.WindowInterval, buf sql.WindowBuffer) error {
	w.values, w.next = w.values[:0], 0
	if interval.End <= interval.Start {
		return nil
	}
	rows := buf[interval.Start:interval.End]
	ref, ok, err := w.detectorName(ctx, rows)
	if err != nil {
		return err
	}
	if !ok { // NULL name: NULL values
		for range rows {
			w.values = append(w.values, nil)
		}
		return nil
	}
	m, err := w.resolver.Lookup(ctx, ref)
	if err != nil {
		return err
	}
	if _, seq := m.Sequence(); !seq {
		return mysql.NewSQLError(codeWindowFuncUse, mysql.SSUnknownSQLState,
			"You cannot use %s(...) OVER (...) on DETECTOR %s: it is not a sequence detector (%s scores each row alone); call %s without OVER",
			w.name, ref, m.Algorithm, w.name)
	}
	d := len(m.Features)
	if got := len(w.args) - 1; got != d {
		return errParamCount(w.name, ref, d, got)
	}
	n := len(rows)
	if cap(w.x) < n*d {
		w.x = make([]float64, n*d)
	}
	x := w.x[:n*d]
	for i, row := range rows {
		for k, a := range w.args[1:] {
			v, err := a.Eval(ctx, row)
			if err != nil {
				return err
			}
			f, ok := ModelFeatureValue(m, k, v)
			if !ok {
				return errNotNumeric(w.name, k+2, valueText(v))
			}
			x[i*d+k] = f
		}
	}
	if w.name == "is_anomaly" {
		if w.flags, err = m.SequenceVerdicts(x, 0, w.flags); err != nil {
			return err
		}
		for _, b := range w.flags {
			if b {
				w.values = append(w.values, int8(1))
			} else {
				w.values = append(w.values, int8(0))
			}
		}
		return nil
	}
	if w.scores, err = m.ScoreSequence(x, 0, w.scores); err != nil {
		return err
	}
	for _, s := range w.scores {
		w.values = append(w.values, s)
	}
	return nil
}

// detectorName evaluates the detector name on every row of a partition:
// it must be the same string on each (ok false: NULL on each).
func (w *windowScorer) detectorName(ctx *sql.Context, rows []sql.Row) (string, bool, error) {
	var first interface{}
	for i, row := range rows {
		v, err := w.args[0].Eval(ctx, row)
		if err != nil {
			return "", false, err
		}
		if v != nil {
			if _, isStr := v.(string); !isStr {
				return "", false, mysql.NewSQLError(mysql.ERWrongArguments, mysql.SSUnknownSQLState,
					"Incorrect arguments to %s: the first argument must be a detector name", w.name)
			}
		}
		if i == 0 {
			first = v
		} else if v != first {
			return "", false, mysql.NewSQLError(mysql.ERWrongArguments, mysql.SSUnknownSQLState,
				"Incorrect arguments to %s: the detector name must be the same on every row of a window partition", w.name)
		}
	}
	if first == nil {
		return "", false, nil
	}
	return first.(string), true, nil
}

// Compute implements sql.WindowFunction: the value of the partition's
// next row (the framer visits them in order, once each).
func (w *windowScorer) Compute(*sql.Context, sql.WindowInterval, sql.WindowBuffer) interface{} {
	if w.next >= len(w.values) {
		return nil
	}
	v := w.values[w.next]
	w.next++
	return v
}
