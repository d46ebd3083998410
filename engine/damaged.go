package engine

import (
	"github.com/sirupsen/logrus"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// codeCrashed is MySQL's ER_CRASHED_ON_USAGE ("Table is marked as crashed
// and should be repaired"), the answer for a table whose files could not
// be read when the server started.
const codeCrashed = 1194

// damagedTable is how SQL sees a table the store loaded damaged (see
// storage.Table.Damage): it is listed (SHOW TABLES, information_schema,
// SHOW TABLE STATUS, with the damage as its comment), DESCRIBE shows its
// columns when its metadata could be read, DROP TABLE removes it, and
// every read or write fails with error 1194 naming the cause. The server
// and every other table are unaffected.
type damagedTable struct {
	db     string
	st     *storage.Table
	schema sql.Schema
}

var (
	_ sql.CommentedTable    = (*damagedTable)(nil)
	_ sql.InsertableTable   = (*damagedTable)(nil)
	_ sql.UpdatableTable    = (*damagedTable)(nil)
	_ sql.DeletableTable    = (*damagedTable)(nil)
	_ sql.ReplaceableTable  = (*damagedTable)(nil)
	_ sql.TruncateableTable = (*damagedTable)(nil)
)

func newDamagedTable(db string, st *storage.Table) *damagedTable {
	var sch sql.Schema
	if prop, ok := st.Properties()[columnsProperty]; ok {
		if pk, err := decodeSchema(st.Name(), prop); err == nil {
			sch = pk.Schema
		}
	}
	return &damagedTable{db: db, st: st, schema: sch}
}

// damageErr is error 1194 for a table found damaged, at startup or when
// its rows were first read (which Snapshot does), else nil.
func damageErr(st *storage.Table) error {
	if err := st.Damage(); err != nil {
		return mysql.NewSQLError(codeCrashed, mysql.SSUnknownSQLState, "%s", err.Error())
	}
	return nil
}

// err is the error every use of the table gets.
func (t *damagedTable) err() error { return damageErr(t.st) }

// Name implements sql.Nameable.
func (t *damagedTable) Name() string { return t.st.Name() }

// String implements fmt.Stringer.
func (t *damagedTable) String() string { return t.st.Name() }

// Schema implements sql.Table: the columns if they are known, else none.
func (t *damagedTable) Schema() sql.Schema { return t.schema }

// Collation implements sql.Table.
func (t *damagedTable) Collation() sql.CollationID { return sql.Collation_Default }

// Comment implements sql.CommentedTable (information_schema.TABLES'
// TABLE_COMMENT): the damage.
func (t *damagedTable) Comment() string { return t.st.Damage().Error() }

// Partitions implements sql.Table: error 1194.
func (t *damagedTable) Partitions(*sql.Context) (sql.PartitionIter, error) { return nil, t.err() }

// PartitionRows implements sql.Table: error 1194.
func (t *damagedTable) PartitionRows(*sql.Context, sql.Partition) (sql.RowIter, error) {
	return nil, t.err()
}

// Inserter implements sql.InsertableTable: every row fails with 1194.
func (t *damagedTable) Inserter(*sql.Context) sql.RowInserter { return damagedEditor{t} }

// Updater implements sql.UpdatableTable: every row fails with 1194.
func (t *damagedTable) Updater(*sql.Context) sql.RowUpdater { return damagedEditor{t} }

// Deleter implements sql.DeletableTable: every row fails with 1194.
func (t *damagedTable) Deleter(*sql.Context) sql.RowDeleter { return damagedEditor{t} }

// Replacer implements sql.ReplaceableTable: every row fails with 1194.
func (t *damagedTable) Replacer(*sql.Context) sql.RowReplacer { return damagedEditor{t} }

// Truncate implements sql.TruncateableTable: error 1194.
func (t *damagedTable) Truncate(*sql.Context) (int, error) { return 0, t.err() }

// damagedEditor refuses every change to a damaged table.
type damagedEditor struct{ t *damagedTable }

func (e damagedEditor) StatementBegin(*sql.Context)                 {}
func (e damagedEditor) DiscardChanges(*sql.Context, error) error    { return nil }
func (e damagedEditor) StatementComplete(*sql.Context) error        { return nil }
func (e damagedEditor) Close(*sql.Context) error                    { return nil }
func (e damagedEditor) Insert(*sql.Context, sql.Row) error          { return e.t.err() }
func (e damagedEditor) Update(*sql.Context, sql.Row, sql.Row) error { return e.t.err() }
func (e damagedEditor) Delete(*sql.Context, sql.Row) error          { return e.t.err() }

// showTableStatus builds SHOW TABLE STATUS as go-mysql-server does and
// fills the Comment column (always NULL there) of damaged tables with
// their damage.
type showTableStatus struct{}

// Build implements sql.NodeExecBuilder.
func (showTableStatus) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	show, ok := n.(*plan.ShowTableStatus)
	if !ok {
		return nil, nil
	}
	db, ok := ourDatabase(show.Database())
	if !ok {
		return nil, nil
	}
	iter, err := rowexec.DefaultBuilder.Build(ctx, n, row)
	if err != nil {
		return nil, err
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		name, _ := r[0].(string)
		if st, err := db.p.store.Table(db.name, name); err == nil && st.Damage() != nil {
			r[len(r)-1] = st.Damage().Error()
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// warnDamaged logs every table the store loaded damaged.
func warnDamaged(store *storage.Store) {
	for _, db := range store.Databases() {
		names, _ := store.Tables(db)
		for _, n := range names {
			if t, err := store.Table(db, n); err == nil && t.Damage() != nil {
				logrus.Warn(t.Damage())
			}
		}
	}
}
