package engine

// SHOW SNAPSHOTS {FROM | IN} [db.]table [{FROM | IN} db]: the Iceberg
// snapshots a table keeps, which SELECT … FROM table AS OF <snapshot_id>
// reads. MySQL has no such statement; it is parsed with the DETECTOR
// statements (parser.go) and shaped like SHOW COLUMNS.

import (
	"encoding/json"
	"errors"
	"strconv"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/anomalydb/anomalydb/storage"
)

// showSnapshotsNode is SHOW SNAPSHOTS FROM [db.]table.
type showSnapshotsNode struct {
	svc       *detectorService
	db, table string
}

var _ detectorNode = (*showSnapshotsNode)(nil)

// showSnapshotsSchema: one row per kept snapshot, oldest first.
// committed_at is in the session time zone, with Iceberg's millisecond
// precision, so that AS OF '<committed_at>' reads that snapshot.
var showSnapshotsSchema = sql.Schema{
	{Name: "snapshot_id", Type: types.Int64},
	{Name: "parent_id", Type: types.Int64, Nullable: true},
	{Name: "committed_at", Type: types.MustCreateDatetimeType(sqltypes.Datetime, 3)},
	{Name: "operation", Type: types.LongText},
	{Name: "total_rows", Type: types.Int64, Nullable: true},
	{Name: "added_rows", Type: types.Int64, Nullable: true},
	{Name: "deleted_rows", Type: types.Int64, Nullable: true},
	{Name: "is_current", Type: types.Boolean},
	{Name: "summary", Type: types.LongText},
}

// parseShowSnapshots parses the rest of SHOW SNAPSHOTS, after the two
// words.
func (p *parser) parseShowSnapshots() (*showSnapshotsNode, error) {
	n := &showSnapshotsNode{}
	if !kw(p.peek(), "FROM") && !kw(p.peek(), "IN") {
		return nil, p.fail("expected FROM table")
	}
	p.next()
	first, err := p.ident("table name")
	if err != nil {
		return nil, err
	}
	n.table = first
	if t := p.peek(); t.kind == 'p' && t.text == "." {
		p.next()
		if n.table, err = p.ident("table name after '.'"); err != nil {
			return nil, err
		}
		n.db = first
	}
	if kw(p.peek(), "FROM") || kw(p.peek(), "IN") {
		p.next()
		if n.db, err = p.ident("database name"); err != nil {
			return nil, err
		}
	}
	return n, p.end()
}

func (n *showSnapshotsNode) setService(s *detectorService) { n.svc = s }

// params implements detectorNode: SHOW SNAPSHOTS takes no placeholders.
func (n *showSnapshotsNode) params() int { return 0 }

// WithResolvedChildren implements ast.Injectable.
func (n *showSnapshotsNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// Resolved implements sql.Node.
func (n *showSnapshotsNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *showSnapshotsNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *showSnapshotsNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// IsReadOnly implements sql.Node.
func (n *showSnapshotsNode) IsReadOnly() bool { return true }

// Schema implements sql.Node.
func (n *showSnapshotsNode) Schema() sql.Schema { return showSnapshotsSchema }

// String implements sql.Node.
func (n *showSnapshotsNode) String() string { return "SHOW SNAPSHOTS FROM " + n.table }

// RowIter implements sql.ExecSourceRel. It needs the SELECT privilege on
// the table (1142 without it), as reading the snapshots would.
func (n *showSnapshotsNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	db := n.db
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return nil, errNoDatabase()
	}
	if err := n.authorize(ctx, db); err != nil {
		return nil, err
	}
	name := db
	if db = canonicalDatabase(n.svc.store, db); db == "" {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	st, err := n.svc.store.Table(db, n.table)
	if errors.Is(err, storage.ErrTableNotFound) {
		return nil, sql.ErrTableNotFound.New(n.table)
	}
	if err != nil {
		return nil, err
	}
	if st.Damage() != nil {
		return nil, newDamagedTable(db, st).err()
	}
	infos, err := st.Snapshots()
	if err != nil {
		return nil, err
	}
	rows := make([]sql.Row, len(infos))
	for i, in := range infos {
		at, err := sessionWallClock(ctx, in.CommittedAt)
		if err != nil {
			return nil, err
		}
		summary, err := json.Marshal(in.Summary)
		if err != nil {
			return nil, err
		}
		var parent interface{}
		if in.ParentID >= 0 {
			parent = in.ParentID
		}
		var total interface{}
		if n, ok := in.TotalRows(); ok {
			total = n
		}
		rows[i] = sql.NewRow(in.ID, parent, at, in.Operation, total,
			summaryCount(in.Summary, "added-records"), summaryCount(in.Summary, "deleted-records"), in.Current, string(summary))
	}
	return sql.RowsToRowIter(rows...), nil
}

// summaryCount is a count of an Iceberg snapshot summary, 0 when absent
// (Iceberg leaves out counts that are zero).
func summaryCount(summary map[string]string, key string) int64 {
	n, _ := strconv.ParseInt(summary[key], 10, 64)
	return n
}

// authorize requires the SELECT privilege on the table (or its database,
// or globally).
func (n *showSnapshotsNode) authorize(ctx *sql.Context, db string) error {
	if n.svc.engine == nil || n.svc.engine.Analyzer.Catalog.MySQLDb == nil {
		return nil
	}
	mdb := n.svc.engine.Analyzer.Catalog.MySQLDb
	op := sql.NewPrivilegedOperation(sql.PrivilegeCheckSubject{Database: db, Table: n.table}, sql.PrivilegeType_Select)
	if !mdb.Enabled() || mdb.UserHasPrivileges(ctx, op) {
		return nil
	}
	return errTableDenied(ctx, "SELECT", "table '"+n.table+"'")
}
