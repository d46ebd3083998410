package engine

// RENAME TABLE and ALTER TABLE … RENAME TO, within a database and
// across databases.
//
// go-mysql-server plans both as a plan.RenameTable of the session's
// current database that keeps only the tables' names: `RENAME TABLE
// a.t TO b.t` renames t of the current database (or fails with "no
// database selected"), and `ALTER TABLE a.t RENAME TO u` from database
// b renames b.t. The parser (detectorParser) therefore hands both
// statements to the planner as injected statements of their own,
// renameTablesNode and alterRenameNode, which keep the qualified names;
// their privileges are checked as go-mysql-server checks RENAME (ALTER
// and DROP of the old table, CREATE and INSERT of the new one).
//
// A table renamed within its database is one metadata commit; moved to
// another database it is written anew there and dropped from its old
// one, atomically (storage/move.go: after a crash it is in exactly one of
// the two databases, with its rows, indexes, AUTO_INCREMENT counter and
// properties). Views are renamed within their database only (1450, as
// MySQL). RENAME TABLE with several pairs checks them all, in order,
// before it renames anything, so bad input changes nothing; it then
// renames pair by pair, each atomically.

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/storage"
)

// errNoSuchTable is MySQL's ER_NO_SUCH_TABLE.
func errNoSuchTable(db, name string) error {
	return mysql.NewSQLError(mysql.ERNoSuchTable, "42S02", "Table '%s.%s' doesn't exist", db, name)
}

// errTableExists is MySQL's ER_TABLE_EXISTS_ERROR.
func errTableExists(name string) error {
	return mysql.NewSQLError(mysql.ERTableExists, "42S01", "Table '%s' already exists", name)
}

// errUnknownDatabase is MySQL's ER_BAD_DB_ERROR.
func errUnknownDatabase(db string) error {
	return mysql.NewSQLError(mysql.ERBadDb, "42000", "Unknown database '%s'", db)
}

// damagedError is the error of a damaged table, nil for anything else.
func damagedError(t sql.Table) error {
	if d, ok := t.(*damagedTable); ok {
		return d.err()
	}
	return nil
}

// rewriteRenames returns stmt, or, for RENAME TABLE and an ALTER TABLE
// with a RENAME TO clause, the injected statement that runs it with its
// qualified names.
func rewriteRenames(stmt ast.Statement, prov *provider) ast.Statement {
	switch s := stmt.(type) {
	case *ast.DDL:
		if s.Action != ast.RenameStr || len(s.FromTables) == 0 || len(s.FromTables) != len(s.ToTables) {
			return stmt
		}
		n := &renameTablesNode{prov: prov}
		for i := range s.FromTables {
			n.pairs = append(n.pairs, renamePair{
				fromDB: s.FromTables[i].DbQualifier.String(), from: s.FromTables[i].Name.String(),
				toDB: s.ToTables[i].DbQualifier.String(), to: s.ToTables[i].Name.String(),
			})
		}
		return ast.InjectedStatement{Statement: n, Auth: s.Auth}
	case *ast.AlterTable:
		rename := -1
		for i, c := range s.Statements {
			if c.Action == ast.RenameStr && len(c.ToTables) == 1 {
				rename = i // the last one counts
			}
		}
		if rename < 0 || len(s.PartitionSpecs) > 0 {
			return stmt
		}
		c := s.Statements[rename]
		n := &alterRenameNode{prov: prov, db: s.Table.DbQualifier.String(), name: s.Table.Name.String(),
			toDB: c.ToTables[0].DbQualifier.String(), to: c.ToTables[0].Name.String()}
		var rest []*ast.DDL
		for _, o := range s.Statements {
			if o.Action != ast.RenameStr {
				rest = append(rest, o)
			}
		}
		if len(rest) > 0 {
			n.rest = &ast.AlterTable{Table: s.Table, Statements: rest, Auth: s.Auth}
		}
		return ast.InjectedStatement{Statement: n, Auth: c.Auth}
	}
	return stmt
}

// renamePair is one "a TO b" of RENAME TABLE; "" databases are the
// session's.
type renamePair struct {
	fromDB, from, toDB, to string
}

// renameTablesNode is RENAME TABLE a TO b [, c TO d]...
type renameTablesNode struct {
	prov  *provider
	pairs []renamePair
}

// alterRenameNode is an ALTER TABLE with a RENAME TO clause: the other
// clauses (rest, nil for none) run as go-mysql-server plans them, and the
// rename is part of the statement's one commit (alter_stage.go).
type alterRenameNode struct {
	prov     *provider
	db, name string
	toDB, to string
	rest     *ast.AlterTable
}

var (
	_ sql.ExecSourceRel = (*renameTablesNode)(nil)
	_ ast.Injectable    = (*renameTablesNode)(nil)
	_ sql.ExecSourceRel = (*alterRenameNode)(nil)
	_ ast.Injectable    = (*alterRenameNode)(nil)
)

// WithResolvedChildren implements ast.Injectable.
func (n *renameTablesNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// Resolved implements sql.Node.
func (n *renameTablesNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *renameTablesNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *renameTablesNode) WithChildren(c ...sql.Node) (sql.Node, error) { return withNoChildren(n, c) }

// IsReadOnly implements sql.Node.
func (n *renameTablesNode) IsReadOnly() bool { return false }

// Schema implements sql.Node.
func (n *renameTablesNode) Schema() sql.Schema { return types.OkResultSchema }

// String implements sql.Node.
func (n *renameTablesNode) String() string {
	parts := make([]string, len(n.pairs))
	for i, p := range n.pairs {
		parts[i] = qualified(p.fromDB, p.from) + " TO " + qualified(p.toDB, p.to)
	}
	return "RENAME TABLE " + strings.Join(parts, ", ")
}

func qualified(db, name string) string {
	if db == "" {
		return name
	}
	return db + "." + name
}

// WithResolvedChildren implements ast.Injectable.
func (n *alterRenameNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// Resolved implements sql.Node.
func (n *alterRenameNode) Resolved() bool { return true }

// Children implements sql.Node.
func (n *alterRenameNode) Children() []sql.Node { return nil }

// WithChildren implements sql.Node.
func (n *alterRenameNode) WithChildren(c ...sql.Node) (sql.Node, error) { return withNoChildren(n, c) }

// IsReadOnly implements sql.Node.
func (n *alterRenameNode) IsReadOnly() bool { return false }

// Schema implements sql.Node.
func (n *alterRenameNode) Schema() sql.Schema { return types.OkResultSchema }

// String implements sql.Node.
func (n *alterRenameNode) String() string {
	return "ALTER TABLE " + qualified(n.db, n.name) + " RENAME TO " + qualified(n.toDB, n.to)
}

// orCurrent returns db, or the session's database for "" (1046 if none).
func orCurrent(ctx *sql.Context, db string) (string, error) {
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return "", errNoDatabase()
	}
	return db, nil
}

// database returns our database named db (1049 if there is none).
func (p *provider) database(db string) (*database, error) {
	if !hasDatabase(p.store, db) {
		return nil, errUnknownDatabase(db)
	}
	return &database{p: p, name: canonicalDatabase(p.store, db)}, nil
}

// RowIter implements sql.ExecSourceRel.
func (n *alterRenameNode) RowIter(ctx *sql.Context, row sql.Row) (sql.RowIter, error) {
	db, err := orCurrent(ctx, n.db)
	if err != nil {
		return nil, err
	}
	toDB, err := orCurrent(ctx, n.toDB)
	if err != nil {
		return nil, err
	}
	d, err := n.prov.database(db)
	if err != nil {
		return nil, err
	}
	to, err := n.prov.database(toDB)
	if err != nil {
		return nil, err
	}
	if _, ok, err := n.prov.store.View(d.name, n.name); err == nil && ok {
		return nil, mysql.NewSQLError(1347, "HY000", "'%s.%s' is not BASE TABLE", d.name, n.name)
	}
	e := n.prov.svc.engine
	a := &alterStatements{exec: e.Analyzer.ExecBuilder}
	target := &renameTarget{db: to.name, name: n.to}
	if n.rest == nil {
		return a.run(ctx, d, n.name, nil, row, target)
	}
	// The other clauses, planned as go-mysql-server plans them.
	b := planbuilder.New(ctx, e.Analyzer.Catalog, e.EventScheduler, e.Parser)
	node, qFlags, err := b.BindOnly(n.rest, ast.String(n.rest), nil)
	if err != nil {
		return nil, err
	}
	analyzed, err := e.Analyzer.Analyze(ctx, node, nil, qFlags)
	if err != nil {
		return nil, err
	}
	iter, err := a.run(ctx, d, n.name, analyzed, row, target)
	if err != nil {
		return nil, err
	}
	if err := iter.Close(ctx); err != nil { // the clauses' results, all in already
		return nil, err
	}
	return okResult(), nil
}

// RowIter implements sql.ExecSourceRel.
func (n *renameTablesNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	type step struct {
		renamePair
		view bool
	}
	steps := make([]step, len(n.pairs))
	// Check every pair, in order, against the names as the pairs before
	// it leave them: kinds[db][name] is "table", "view" or "" (gone).
	kinds := map[string]map[string]string{}
	kindOf := func(db, name string) (string, error) {
		k := strings.ToLower(db)
		if kinds[k] == nil {
			kinds[k] = map[string]string{}
			tables, err := n.prov.store.Tables(db)
			if err != nil {
				return "", err
			}
			for _, t := range tables {
				kinds[k][strings.ToLower(t)] = "table"
			}
			views, err := n.prov.store.Views(db)
			if err != nil {
				return "", err
			}
			for _, v := range views {
				kinds[k][strings.ToLower(v.Name)] = "view"
			}
		}
		return kinds[k][strings.ToLower(name)], nil
	}
	for i, p := range n.pairs {
		var err error
		if p.fromDB, err = orCurrent(ctx, p.fromDB); err != nil {
			return nil, err
		}
		if p.toDB, err = orCurrent(ctx, p.toDB); err != nil {
			return nil, err
		}
		for _, db := range []string{p.fromDB, p.toDB} {
			if !hasDatabase(n.prov.store, db) {
				return nil, errUnknownDatabase(db)
			}
		}
		p.fromDB, p.toDB = canonicalDatabase(n.prov.store, p.fromDB), canonicalDatabase(n.prov.store, p.toDB)
		if err := storage.ValidateName("table", p.to); err != nil {
			return nil, errWrongTableName(p.to)
		}
		kind, err := kindOf(p.fromDB, p.from)
		if err != nil {
			return nil, err
		}
		if kind == "" {
			return nil, errNoSuchTable(p.fromDB, p.from)
		}
		sameName := strings.EqualFold(p.fromDB, p.toDB) && strings.EqualFold(p.from, p.to)
		if other, err := kindOf(p.toDB, p.to); err != nil {
			return nil, err
		} else if other != "" && !sameName {
			return nil, errTableExists(p.to)
		}
		if kind == "view" && !strings.EqualFold(p.fromDB, p.toDB) {
			return nil, mysql.NewSQLError(1450, "HY000", "Changing schema from '%s' to '%s' is not allowed.", p.fromDB, p.toDB)
		}
		kinds[strings.ToLower(p.fromDB)][strings.ToLower(p.from)] = ""
		kinds[strings.ToLower(p.toDB)][strings.ToLower(p.to)] = kind
		steps[i] = step{p, kind == "view"}
	}
	for _, st := range steps {
		if err := n.rename(ctx, st.renamePair, st.view); err != nil {
			return nil, err
		}
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}

// rename renames one checked pair.
func (n *renameTablesNode) rename(ctx *sql.Context, p renamePair, view bool) error {
	store := n.prov.store
	if view {
		v, ok, err := store.View(p.fromDB, p.from)
		if err != nil || !ok {
			return cmp.Or(err, errNoSuchTable(p.fromDB, p.from))
		}
		v.CreateStatement, err = renamedView(ctx, v, p.to)
		if err != nil {
			return err
		}
		v.Name = p.to
		return viewError(store.RenameView(p.fromDB, p.from, v), p)
	}
	st, err := store.Table(p.fromDB, p.from)
	if err != nil {
		return errNoSuchTable(p.fromDB, p.from)
	}
	a := storage.Alteration{NewName: p.to}
	if !strings.EqualFold(p.fromDB, p.toDB) {
		a.NewDB = p.toDB
	}
	err = store.AlterTable(p.fromDB, p.from, a)
	switch {
	case errors.Is(err, storage.ErrTableExists):
		return errTableExists(p.to)
	case errors.Is(err, storage.ErrDatabaseNotFound):
		return errUnknownDatabase(p.toDB)
	case errors.Is(err, storage.ErrTableNotFound):
		return errNoSuchTable(p.fromDB, p.from)
	case errors.Is(err, storage.ErrInvalidName):
		return errWrongTableName(p.to)
	case err != nil:
		return err
	}
	n.prov.indexes.forget(st)
	autoIncs.forget(st)
	return nil
}

// viewError gives a storage error of a view rename MySQL's number.
func viewError(err error, p renamePair) error {
	switch {
	case errors.Is(err, storage.ErrTableExists):
		return errTableExists(p.to)
	case errors.Is(err, storage.ErrViewNotFound):
		return errNoSuchTable(p.fromDB, p.from)
	}
	return err
}

// renamedView returns the CREATE VIEW statement of view v under the name
// to: the statement go-mysql-server parses when the view is used names
// the view.
func renamedView(ctx *sql.Context, v storage.View, to string) (string, error) {
	stmt, err := ast.ParseWithOptions(ctx, v.CreateStatement, sql.NewSqlModeFromString(v.SQLMode).ParserOptions())
	if err != nil {
		return "", fmt.Errorf("view %s: %w", v.Name, err)
	}
	ddl, ok := stmt.(*ast.DDL)
	if !ok || ddl.ViewSpec == nil {
		return "", fmt.Errorf("view %s: stored definition is not CREATE VIEW", v.Name)
	}
	var b strings.Builder
	b.WriteString("CREATE VIEW " + quoteIdent(to))
	if cols := ddl.ViewSpec.Columns; len(cols) > 0 {
		names := make([]string, len(cols))
		for i, c := range cols {
			names[i] = quoteIdent(c.String())
		}
		b.WriteString(" (" + strings.Join(names, ", ") + ")")
	}
	b.WriteString(" AS " + v.Definition)
	return b.String(), nil
}
