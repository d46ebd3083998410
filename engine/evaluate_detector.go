package engine

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/functions"
)

// evaluateDetector is the table function evaluate_detector('detector',
// 'input', 'label'): one row measuring the detector against the known
// labels of the input (a table, a view or a SELECT, as for
// detect_anomalies), in the column named by the third argument: 1 =
// anomaly, 0 = normal, NULL = unknown (the row is skipped, with a
// warning that counts them). The features are the input's columns of the
// detector's feature names, scored as detect_anomalies scores them; the
// metrics are detectors.Evaluate's with the detector's current
// threshold.
//
// The input streams through scoring; what is kept is a score and a label
// per labelled row (16 bytes; the AUCs sort them all), counted against
// the server's memory limit (error 1037 beyond it).
type evaluateDetector struct {
	tableFunctionNode
}

var (
	_ sql.TableFunction = (*evaluateDetector)(nil)
	_ sql.ExecSourceRel = (*evaluateDetector)(nil)
)

const evaluateDetectorName = "evaluate_detector"

// evaluationSchema is the one row's columns.
var evaluationSchema = func() sql.Schema {
	col := func(name string, t sql.Type, nullable bool) *sql.Column {
		return &sql.Column{Name: name, Type: t, Nullable: nullable, Source: evaluateDetectorName}
	}
	return sql.Schema{
		col("rows", types.Int64, false),
		col("anomalies", types.Int64, false),
		col("auc_roc", types.Float64, false),
		col("auc_pr", types.Float64, false),
		col("precision_at_n", types.Float64, false),
		col("recall_at_threshold", types.Float64, false),
		col("precision_at_threshold", types.Float64, true),
		col("f1_at_threshold", types.Float64, false),
		col("best_f1", types.Float64, false),
		col("best_f1_threshold", types.Float64, false),
	}
}()

// Name implements sql.Nameable.
func (n *evaluateDetector) Name() string { return evaluateDetectorName }

// NewInstance implements sql.TableFunction: it checks that there are
// three arguments, each a constant string or a ? of a statement being
// prepared. The detector, the input and the label are checked when the
// statement runs (RowIter).
func (n *evaluateDetector) NewInstance(ctx *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	if len(args) != 3 {
		return nil, errTableFunctionArgs(evaluateDetectorName, "a detector name, an input (a table name or a SELECT) and a label column name", len(args))
	}
	for i, a := range args {
		if _, _, err := stringArg(ctx, evaluateDetectorName, i+1, a); err != nil {
			return nil, err
		}
	}
	return &evaluateDetector{tableFunctionNode{svc: n.svc, db: db, args: args}}, nil
}

// Schema implements sql.Node.
func (n *evaluateDetector) Schema() sql.Schema { return evaluationSchema }

// RowIter implements sql.ExecSourceRel: it scores the input and returns
// the evaluation's one row. Errors: 1305 unknown detector; the input's
// own (1146, 1054, ..., and 1064 for an input that is not one SELECT);
// 1054 for a feature or the label column missing from the input; 1210
// for a label other than 0, 1 or NULL, a label column that is one of the
// features, or labelled rows that are not of both classes.
func (n *evaluateDetector) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	var vals [3]string
	for i, a := range n.args {
		v, param, err := stringArg(ctx, evaluateDetectorName, i+1, a)
		if err != nil {
			return nil, err
		}
		if param {
			return nil, errWrongArguments("%s: no value for the ? of argument %d", evaluateDetectorName, i+1)
		}
		vals[i] = v
	}
	ref, text, label := vals[0], vals[1], vals[2]
	m, err := n.svc.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	in, err := planInput(ctx, n.svc, evaluateDetectorName, text)
	if err != nil {
		return nil, err
	}
	sch := in.schema()
	if err := checkColumnNames(sch); err != nil {
		return nil, err
	}
	feats, err := featureColumns(evaluateDetectorName, m, sch)
	if err != nil {
		return nil, err
	}
	lc := columnIndex(sch, label)
	if lc < 0 {
		return nil, errBadField(label, evaluateDetectorName+" input")
	}
	for _, f := range feats {
		if f == lc {
			return nil, errWrongArguments("%s: the label column '%s' is a feature of DETECTOR %s", evaluateDetectorName, label, ref)
		}
	}
	labels, scores, skipped, err := labelledScores(ctx, n.svc, in, m, feats, lc)
	if err != nil {
		return nil, err
	}
	if skipped > 0 {
		ctx.Warn(mysql.ERBadNullError, "%s: %d row(s) with a NULL label in column '%s' were skipped", evaluateDetectorName, skipped, sch[lc].Name)
	}
	ev, err := detectors.Evaluate(labels, scores, m.Threshold)
	switch {
	case errors.Is(err, detectors.ErrOneClass):
		return nil, errWrongArguments("%s: the labels in column '%s' must include both 1 (anomaly) and 0 (normal): %v", evaluateDetectorName, sch[lc].Name, err)
	case err != nil:
		return nil, err
	}
	var precision interface{}
	if !math.IsNaN(ev.PrecisionAtThreshold) {
		precision = ev.PrecisionAtThreshold
	}
	return sql.RowsToRowIter(sql.Row{
		int64(ev.Rows), int64(ev.Anomalies), ev.AUCROC, ev.AUCPR, ev.PrecisionAtN,
		ev.RecallAtThreshold, precision, ev.F1AtThreshold, ev.BestF1, ev.BestF1Threshold,
	}), nil
}

// labelledScores scores the input and returns the label (0 or 1) and the
// score of every row whose label (column lc) is not NULL, and how many
// were NULL.
func labelledScores(ctx *sql.Context, svc *detectorService, in *tableInput, m *detectors.Model, feats []int, lc int) (labels, scores []float64, skipped int64, err error) {
	var rows sql.RowIter
	if _, seq := m.Sequence(); seq {
		rows, err = newSequenceRows(ctx, svc, in, m, feats, evaluateDetectorName) // detect_sequence.go
	} else {
		rows, err = newScoredRows(ctx, svc, in, m, feats, evaluateDetectorName)
	}
	if err != nil {
		return nil, nil, 0, err
	}
	defer rows.Close(ctx)
	sch := in.schema()
	w := len(sch)
	for {
		row, err := rows.Next(ctx)
		if err == io.EOF {
			return labels, scores, skipped, nil
		}
		if err != nil {
			return nil, nil, 0, err
		}
		l, ok := functions.FeatureValue(row[lc])
		switch {
		case ok && math.IsNaN(l):
			skipped++
			continue
		case !ok || l != 0 && l != 1:
			return nil, nil, 0, errWrongArguments("%s: the label column '%s' must hold 0 (normal), 1 (anomaly) or NULL, not %s", evaluateDetectorName, sch[lc].Name, labelText(row[lc]))
		}
		labels = append(labels, l)
		scores = append(scores, row[w].(float64))
		if len(labels)%(64*1024) == 0 {
			if err := checkMemory(); err != nil {
				return nil, nil, 0, err
			}
		}
	}
}

func labelText(v interface{}) string {
	if b, ok := v.([]byte); ok {
		return "'" + string(b) + "'"
	}
	if s, ok := v.(string); ok {
		return "'" + s + "'"
	}
	return fmt.Sprint(v)
}

// Resolved implements sql.Resolvable.
func (n *evaluateDetector) Resolved() bool { return true }

// String implements fmt.Stringer.
func (n *evaluateDetector) String() string {
	return fmt.Sprintf("%s(%s, %s, %s)", evaluateDetectorName, n.args[0], n.args[1], n.args[2])
}

// WithChildren implements sql.Node.
func (n *evaluateDetector) WithChildren(children ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, children)
}

// WithExpressions implements sql.Expressioner.
func (n *evaluateDetector) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	if len(exprs) != len(n.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(exprs), len(n.args))
	}
	c := *n
	c.args = exprs
	return &c, nil
}

// WithDatabase implements sql.Databaser.
func (n *evaluateDetector) WithDatabase(db sql.Database) (sql.Node, error) {
	c := *n
	c.db = db
	return &c, nil
}
