package engine

import (
	"fmt"
	"math"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// trainingLogFunction is the table function
//
//	SELECT * FROM detector_training_log('[db.]name')
//
// one row per epoch of the detector's training, in order: epoch,
// train_loss, validation_loss (NULL without the validation option),
// elapsed_seconds (since training started, at the end of the epoch),
// learning_rate (see detectors.EpochLog). For a detector being trained
// (CREATE [OR REPLACE] DETECTOR in progress, detector_training.go) the
// epochs so far; for a saved detector its persisted log, empty with a
// warning for a detector saved before the log was kept. An unknown
// detector is 1305, one that could not be loaded 1457, another argument
// count 1582; a NULL name gives no rows. It needs SELECT on the
// detector's database, as anomaly_score does.
type trainingLogFunction struct {
	tableFunctionNode
}

var (
	_ sql.TableFunction = (*trainingLogFunction)(nil)
	_ sql.ExecSourceRel = (*trainingLogFunction)(nil)
)

// trainingLogName is the table function's name.
const trainingLogName = "detector_training_log"

var trainingLogSchema = sql.Schema{
	{Name: "epoch", Type: types.Int64, Source: trainingLogName},
	{Name: "train_loss", Type: types.Float64, Source: trainingLogName},
	{Name: "validation_loss", Type: types.Float64, Source: trainingLogName, Nullable: true},
	{Name: "elapsed_seconds", Type: types.Float64, Source: trainingLogName},
	{Name: "learning_rate", Type: types.Float64, Source: trainingLogName},
}

// codeLogNotKept is the warning for a detector saved without its
// training log.
const codeLogNotKept = 1105 // ER_UNKNOWN_ERROR

// NewInstance implements sql.TableFunction: it checks the argument
// count; the name is evaluated in RowIter.
func (f *trainingLogFunction) NewInstance(_ *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	if len(args) != 1 {
		return nil, mysql.NewSQLError(1582, mysql.SSClientError,
			"Incorrect parameter count in the call to native function '%s': it takes a detector name, got %d argument(s)", trainingLogName, len(args))
	}
	return &trainingLogFunction{tableFunctionNode{svc: f.svc, db: db, args: args}}, nil
}

// Name implements sql.Nameable.
func (f *trainingLogFunction) Name() string { return trainingLogName }

// Description implements sql.TableFunction.
func (f *trainingLogFunction) Description() string {
	return "the training log of a detector, one row per epoch"
}

// WithDatabase implements sql.Databaser.
func (f *trainingLogFunction) WithDatabase(db sql.Database) (sql.Node, error) {
	nf := *f
	nf.db = db
	return &nf, nil
}

// WithExpressions implements sql.Expressioner.
func (f *trainingLogFunction) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	if len(exprs) != len(f.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(f, len(exprs), len(f.args))
	}
	nf := *f
	nf.args = exprs
	return &nf, nil
}

// Resolved implements sql.Node.
func (f *trainingLogFunction) Resolved() bool {
	for _, a := range f.args {
		if !a.Resolved() {
			return false
		}
	}
	return true
}

// Schema implements sql.Node.
func (f *trainingLogFunction) Schema() sql.Schema { return trainingLogSchema }

// WithChildren implements sql.Node.
func (f *trainingLogFunction) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(f, c)
}

// String implements sql.Node.
func (f *trainingLogFunction) String() string {
	args := make([]string, len(f.args))
	for i, a := range f.args {
		args[i] = a.String()
	}
	return fmt.Sprintf("%s(%s)", trainingLogName, strings.Join(args, ", "))
}

// RowIter implements sql.ExecSourceRel.
func (f *trainingLogFunction) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	v, err := f.args[0].Eval(ctx, row)
	if err != nil || v == nil {
		return sql.RowsToRowIter(), err
	}
	ref, _, err := types.LongText.Convert(ctx, v)
	if err != nil {
		return nil, err
	}
	epochs, kept, err := f.svc.trainingLog(ctx, ref.(string))
	if err != nil {
		return nil, err
	}
	if !kept {
		ctx.Warn(codeLogNotKept, "The training log of DETECTOR %s was not kept (it was created before anomalydb kept it)", ref)
	}
	rows := make([]sql.Row, len(epochs))
	for i, e := range epochs {
		var val interface{}
		if !math.IsNaN(e.ValidationLoss) {
			val = e.ValidationLoss
		}
		rows[i] = sql.NewRow(int64(e.Epoch), e.TrainLoss, val, e.ElapsedSeconds, e.LearningRate)
	}
	return sql.RowsToRowIter(rows...), nil
}

// trainingLog returns the training log of the detector ref ("name" or
// "db.name"): of its training in progress if there is one (also when
// CREATE OR REPLACE replaces a saved detector), else of the saved
// detector; kept is false for a detector saved without its log.
func (s *detectorService) trainingLog(ctx *sql.Context, ref string) (epochs []detectors.EpochLog, kept bool, err error) {
	db, name := "", ref
	if i := strings.IndexByte(ref, '.'); i >= 0 {
		db, name = ref[:i], ref[i+1:]
	}
	if db, name, err = resolveName(ctx, db, name); err != nil {
		return nil, false, err
	}
	if err := s.authorize(ctx, sql.PrivilegeType_Select, db, name); err != nil {
		return nil, false, err
	}
	s.mu.RLock()
	tr := s.trainingLocked(db, name)
	d, ok := s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	s.mu.RUnlock()
	switch {
	case tr != nil:
		return tr.log(), true, nil
	case !ok:
		return nil, false, errDetectorNotFound(ref)
	case d.loadErr != nil:
		return nil, false, errDetectorCorrupt(db, d.name, d.loadErr)
	case d.model.TrainingLog == nil:
		return nil, false, nil
	}
	return d.model.TrainingLog.Epochs, true, nil
}
