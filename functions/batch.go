package functions

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"gonum.org/v1/gonum/mat"

	"github.com/anomalydb/anomalydb/detectors"
)

// Batch evaluates the detector calls (anomaly_score, is_anomaly,
// anomaly_percentile) in a set
// of expressions a block of rows at a time, on the detector's batched
// (and, for large blocks, parallel) scoring path, instead of one row at a
// time as the calls' own Eval does.
//
// Use: NewBatch(exprs) gives the expressions rewritten so that each
// batched call reads a precomputed value; Score(ctx, rows) computes those
// values for a block of rows; Row(i) selects row i of the block, after
// which the rewritten expressions evaluate on rows[i] exactly as the
// original expressions would, error for error: an argument that cannot be
// converted, or whose evaluation fails, makes the call fail when it is
// evaluated for that row, not when the block is scored, so a row that the
// rest of an expression never scores (x > 0 AND anomaly_score(…) > 1)
// never fails. Scores are bit-identical to the row-by-row ones
// (detectors.Model.ScoreMatrix and ScoreRow agree).
//
// A call is batched when its detector name is a constant string; others,
// and calls whose detector cannot be resolved when the block is scored,
// keep evaluating row by row. A Batch is used by one goroutine at a time.
type Batch struct {
	exprs []sql.Expression
	calls []*batchedCall // inner calls before the calls whose arguments hold them
	row   int            // the row of the block the precomputed values are read for
}

// NewBatch returns a Batch over exprs, or nil if exprs hold no call that
// can be batched. exprs are not modified.
func NewBatch(exprs []sql.Expression) *Batch {
	b := &Batch{exprs: make([]sql.Expression, len(exprs))}
	for i, e := range exprs {
		// transform.Expr visits children first, so a call nested in the
		// arguments of another is in b.calls before it.
		ne, _, err := transform.Expr(e, func(e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
			if sc := newScoreCompare(e); sc != nil {
				return sc, transform.NewTree, nil
			}
			var c *detectorCall
			kind := callScore
			switch f := e.(type) {
			case *AnomalyScore:
				c = f.detectorCall
			case *IsAnomaly:
				c, kind = f.detectorCall, callIsAnomaly
			case *AnomalyPercentile:
				c, kind = f.detectorCall, callPercentile
			default:
				return e, transform.SameTree, nil
			}
			lit, ok := c.args[0].(*expression.Literal)
			if !ok {
				return e, transform.SameTree, nil
			}
			ref, ok := lit.Value().(string)
			if !ok {
				return e, transform.SameTree, nil
			}
			bc := &batchedCall{call: c, orig: e, ref: ref, kind: kind, batch: b}
			b.calls = append(b.calls, bc)
			return bc, transform.NewTree, nil
		})
		if err != nil {
			return nil
		}
		b.exprs[i] = ne
	}
	if len(b.calls) == 0 {
		return nil
	}
	return b
}

// Exprs returns the rewritten expressions, in the order given to NewBatch.
func (b *Batch) Exprs() []sql.Expression { return b.exprs }

// Score computes the batched calls' values for every row of rows, the
// block that Row then indexes. It fails only for errors of the whole
// block: a detector name that no longer resolves is left to the calls'
// row-by-row evaluation, which reports it.
func (b *Batch) Score(ctx *sql.Context, rows []sql.Row) error {
	for _, c := range b.calls {
		if err := c.score(ctx, rows); err != nil {
			return err
		}
	}
	return nil
}

// FeatureFields returns, for each batched call in order, the row
// positions its feature arguments read, when every feature argument of
// every batched call is a plain column reference; ok is false otherwise.
func (b *Batch) FeatureFields() (fields [][]int, ok bool) {
	for _, c := range b.calls {
		var f []int
		for _, a := range c.call.args[1:] {
			gf, isField := a.(*expression.GetField)
			if !isField {
				return nil, false
			}
			f = append(f, gf.Index())
		}
		fields = append(fields, f)
	}
	return fields, true
}

// Resolve looks up the detector of every batched call and returns the
// first lookup error (an unknown detector, a wrong feature count). A
// caller that scores with ScoreRecord, which fails the whole block on
// such an error, checks it first and otherwise scores rows with Score,
// which leaves the error to the rows that evaluate the call.
func (b *Batch) Resolve(ctx *sql.Context) error {
	for _, c := range b.calls {
		if _, err := c.call.model(ctx, c.ref); err != nil {
			return err
		}
	}
	return nil
}

// ScoreRecord is Score for a block held as an Arrow batch: call k's
// features are read from the columns cols[k] of rec (see FeatureFields),
// which must hold exactly the values the call's arguments would evaluate
// to. Unlike Score, a detector that cannot be resolved is an error here,
// since the block has no rows to evaluate the calls on one by one.
func (b *Batch) ScoreRecord(ctx *sql.Context, rec arrow.RecordBatch, cols [][]int) error {
	for k, c := range b.calls {
		clear(c.errs)
		m, err := c.call.model(ctx, c.ref)
		if err != nil {
			return err
		}
		c.model = m
		if c.scores, err = m.ScoreBatch(rec, cols[k], c.scores); err != nil {
			return err
		}
	}
	return nil
}

// Row selects row i of the block last given to Score.
func (b *Batch) Row(i int) { b.row = i }

// batchedCall is one detector call of a Batch: an sql.Expression that
// returns the call's value precomputed for the Batch's current row.
type batchedCall struct {
	call  *detectorCall
	orig  sql.Expression // the call as written, evaluated row by row when the block could not be
	ref   string
	kind  callKind
	batch *Batch

	model  *detectors.Model // nil: the block is evaluated row by row
	x      []float64        // the block's feature values, row-major
	scores []float64
	errs   map[int]error // rows whose arguments failed, by row of the block
}

// score fills c's values for rows.
func (c *batchedCall) score(ctx *sql.Context, rows []sql.Row) error {
	clear(c.errs)
	m, err := c.call.model(ctx, c.ref)
	if err != nil {
		c.model = nil // each row reports the error, as the call would
		return nil
	}
	c.model = m
	d := len(m.Features)
	n := len(rows)
	if cap(c.x) < n*d {
		c.x = make([]float64, n*d)
	}
	x := c.x[:n*d]
	for i, row := range rows {
		c.batch.row = i // calls nested in the arguments read row i
		if err := c.features(ctx, m, row, x[i*d:(i+1)*d]); err != nil {
			if c.errs == nil {
				c.errs = make(map[int]error)
			}
			c.errs[i] = err
			for j := range x[i*d : (i+1)*d] {
				x[i*d+j] = 0 // scored but never returned
			}
		}
	}
	if n == 0 {
		c.scores = c.scores[:0]
		return nil
	}
	c.scores, err = m.ScoreMatrix(mat.NewDense(n, d, x), c.scores)
	return err
}

// features evaluates the feature arguments of the call on row into x.
func (c *batchedCall) features(ctx *sql.Context, m *detectors.Model, row sql.Row, x []float64) error {
	for j, a := range c.call.args[1:] {
		v, err := a.Eval(ctx, row)
		if err != nil {
			return err
		}
		f, ok := ModelFeatureValue(m, j, v)
		if !ok {
			return errNotNumeric(c.call.name, j+2, valueText(v))
		}
		x[j] = f
	}
	return nil
}

// Eval implements sql.Expression: the call's value for the Batch's
// current row.
func (c *batchedCall) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	if c.model == nil {
		return c.orig.Eval(ctx, row)
	}
	s, err := c.current()
	if err != nil {
		return nil, err
	}
	switch c.kind {
	case callIsAnomaly:
		if c.model.IsAnomaly(s) {
			return int8(1), nil
		}
		return int8(0), nil
	case callPercentile:
		return percentile(c.call.name, c.ref, c.model, s) // anomaly_percentile.go
	}
	return s, nil
}

// callKind is the function of a batched call: what it makes of the score.
type callKind uint8

const (
	callScore      callKind = iota // anomaly_score: the score
	callIsAnomaly                  // is_anomaly: the score against the threshold
	callPercentile                 // anomaly_percentile: the score's training percentile
)

// current returns the precomputed score of the Batch's current row (c.model
// set), or the error of that row's arguments.
func (c *batchedCall) current() (float64, error) {
	i := c.batch.row
	if err := c.errs[i]; err != nil {
		return 0, err
	}
	if i >= len(c.scores) {
		return 0, fmt.Errorf("%s: row %d of a block of %d", c.call.name, i, len(c.scores))
	}
	return c.scores[i], nil
}

// Type implements sql.Expression.
func (c *batchedCall) Type() sql.Type { return c.orig.Type() }

// IsNullable implements sql.Expression.
func (c *batchedCall) IsNullable() bool { return c.orig.IsNullable() }

// Resolved implements sql.Expression.
func (c *batchedCall) Resolved() bool { return c.orig.Resolved() }

// String implements sql.Expression: the call as written.
func (c *batchedCall) String() string { return c.orig.String() }

// Children implements sql.Expression: none; the arguments are evaluated
// by Batch.Score.
func (c *batchedCall) Children() []sql.Expression { return nil }

// WithChildren implements sql.Expression.
func (c *batchedCall) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(c, len(children), 0)
	}
	return c, nil
}
