package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// createDetectorNode is CREATE DETECTOR [IF NOT EXISTS] [db.]name USING
// algorithm [WITH (...)] AS SELECT ....
type createDetectorNode struct {
	svc         *detectorService
	db, name    string
	ifNotExists bool
	algorithm   string
	options     map[string]string
	selectSQL   string
}

// dropDetectorNode is DROP DETECTOR [IF EXISTS] [db.]name.
type dropDetectorNode struct {
	svc      *detectorService
	db, name string
	ifExists bool
}

// showDetectorsNode is SHOW DETECTORS [FROM db].
type showDetectorsNode struct {
	svc *detectorService
	db  string
}

var (
	_ detectorNode = (*createDetectorNode)(nil)
	_ detectorNode = (*dropDetectorNode)(nil)
	_ detectorNode = (*showDetectorsNode)(nil)
)

func (n *createDetectorNode) setService(s *detectorService) { n.svc = s }
func (n *dropDetectorNode) setService(s *detectorService)   { n.svc = s }
func (n *showDetectorsNode) setService(s *detectorService)  { n.svc = s }

// WithResolvedChildren implements ast.Injectable.
func (n *createDetectorNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// WithResolvedChildren implements ast.Injectable.
func (n *dropDetectorNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// WithResolvedChildren implements ast.Injectable.
func (n *showDetectorsNode) WithResolvedChildren([]any) (any, error) { return n, nil }

func withNoChildren(n sql.Node, children []sql.Node) (sql.Node, error) {
	if len(children) != 0 {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), 0)
	}
	return n, nil
}

// Resolved implements sql.Node.
func (n *createDetectorNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *createDetectorNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *createDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// IsReadOnly implements sql.Node.
func (n *createDetectorNode) IsReadOnly() bool { return false }

// Schema implements sql.Node.
func (n *createDetectorNode) Schema() sql.Schema { return types.OkResultSchema }

// String implements sql.Node.
func (n *createDetectorNode) String() string {
	return fmt.Sprintf("CREATE DETECTOR %s USING %s", n.name, n.algorithm)
}

// RowIter implements sql.ExecSourceRel: it trains the detector.
func (n *createDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Create, n.db, n.name); err != nil {
		return nil, err
	}
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	rows, err := n.svc.create(ctx, n)
	if err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(rows))), nil
}

// Resolved implements sql.Node.
func (n *dropDetectorNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *dropDetectorNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *dropDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) { return withNoChildren(n, c) }

// IsReadOnly implements sql.Node.
func (n *dropDetectorNode) IsReadOnly() bool { return false }

// Schema implements sql.Node.
func (n *dropDetectorNode) Schema() sql.Schema { return types.OkResultSchema }

// String implements sql.Node.
func (n *dropDetectorNode) String() string { return "DROP DETECTOR " + n.name }

// RowIter implements sql.ExecSourceRel.
func (n *dropDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Drop, n.db, n.name); err != nil {
		return nil, err
	}
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	if err := n.svc.drop(ctx, n); err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}

var showDetectorsSchema = sql.Schema{
	{Name: "name", Type: types.LongText},
	{Name: "algorithm", Type: types.LongText, Nullable: true},
	{Name: "features", Type: types.LongText, Nullable: true},
	{Name: "training_rows", Type: types.Int64, Nullable: true},
	{Name: "status", Type: types.LongText},
	{Name: "train_seconds", Type: types.Float64, Nullable: true},
	{Name: "created_at", Type: types.Datetime, Nullable: true},
	// training_snapshots: the snapshots the training SELECT read,
	// "db.t@<snapshot id>,…" (training_reads.go); NULL if none or unknown.
	{Name: "training_snapshots", Type: types.LongText, Nullable: true},
}

// Resolved implements sql.Node.
func (n *showDetectorsNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *showDetectorsNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *showDetectorsNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// IsReadOnly implements sql.Node.
func (n *showDetectorsNode) IsReadOnly() bool { return true }

// Schema implements sql.Node.
func (n *showDetectorsNode) Schema() sql.Schema { return showDetectorsSchema }

// String implements sql.Node.
func (n *showDetectorsNode) String() string { return "SHOW DETECTORS" }

// RowIter implements sql.ExecSourceRel.
func (n *showDetectorsNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	db := n.db
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return nil, errNoDatabase()
	}
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Select, db, ""); err != nil {
		return nil, err
	}
	if !hasDatabase(n.svc.store, db) {
		return nil, sql.ErrDatabaseNotFound.New(db)
	}
	var rows []sql.Row
	for _, d := range n.svc.list(db) {
		m := d.model
		if m == nil {
			rows = append(rows, sql.NewRow(d.name, nil, nil, nil, "error: "+d.loadErr.Error(), nil, nil, nil))
			continue
		}
		var source interface{}
		if m.Source != "" {
			source = m.Source
		}
		rows = append(rows, sql.NewRow(
			d.name, m.Algorithm, strings.Join(m.Features, ","), int64(m.TrainingRows),
			"ready", m.TrainSeconds, m.CreatedAt.UTC().Truncate(time.Second), source,
		))
	}
	return sql.RowsToRowIter(rows...), nil
}

// implicitCommit commits the statement's open transaction before a
// DETECTOR statement changes the catalog, as MySQL does before DDL, and
// ends the explicit transaction (autocommit applies again).
func implicitCommit(ctx *sql.Context) error {
	tx := txOf(ctx)
	if tx == nil {
		return nil
	}
	ctx.SetIgnoreAutoCommit(false)
	return tx.commit()
}
