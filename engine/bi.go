package engine

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
)

// What BI tools (DBeaver, Metabase, Grafana, Superset, Tableau) read when
// they connect: the read-only database performance_schema with the
// variable and status tables, and the system databases in
// information_schema.SCHEMATA as MySQL lists them.

const perfSchemaName = "performance_schema"

// systemSchemas is the database provider the analyzer sees: the store's
// databases, plus performance_schema, plus (in AllDatabases, which
// information_schema reads) go-mysql-server's mysql database.
type systemSchemas struct {
	*provider
	mysql sql.Database // set once the analyzer has made it
}

// Database implements sql.DatabaseProvider.
func (s *systemSchemas) Database(ctx *sql.Context, name string) (sql.Database, error) {
	if strings.EqualFold(name, perfSchemaName) {
		return perfSchema{noObjects{perfSchemaName}}, nil
	}
	return s.provider.Database(ctx, name)
}

// HasDatabase implements sql.DatabaseProvider.
func (s *systemSchemas) HasDatabase(ctx *sql.Context, name string) bool {
	return strings.EqualFold(name, perfSchemaName) || s.provider.HasDatabase(ctx, name)
}

// AllDatabases implements sql.DatabaseProvider.
func (s *systemSchemas) AllDatabases(ctx *sql.Context) []sql.Database {
	dbs := s.provider.AllDatabases(ctx)
	if s.mysql != nil {
		dbs = append(dbs, mysqlSchema{s.mysql, noObjects{"mysql"}})
	}
	return append(dbs, perfSchema{noObjects{perfSchemaName}})
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (s *systemSchemas) CreateDatabase(ctx *sql.Context, name string) error {
	if strings.EqualFold(name, perfSchemaName) {
		return sql.ErrDatabaseExists.New(name)
	}
	return s.provider.CreateDatabase(ctx, name)
}

// CreateCollatedDatabase implements sql.CollatedDatabaseProvider.
func (s *systemSchemas) CreateCollatedDatabase(ctx *sql.Context, name string, _ sql.CollationID) error {
	return s.CreateDatabase(ctx, name)
}

// DropDatabase implements sql.MutableDatabaseProvider: the system
// databases cannot be dropped (MySQL's 1044).
func (s *systemSchemas) DropDatabase(ctx *sql.Context, name string) error {
	if strings.EqualFold(name, perfSchemaName) || strings.EqualFold(name, "mysql") {
		return denyDatabase(ctx, name)
	}
	return s.provider.DropDatabase(ctx, name)
}

// mysqlSchema is go-mysql-server's mysql database as information_schema
// lists it: a database without views, triggers or routines (the
// analyzer reaches the database itself by name, not through this).
type mysqlSchema struct {
	sql.Database
	noObjects
}

// Name implements sql.Nameable.
func (m mysqlSchema) Name() string { return m.Database.Name() }

// noObjects is a system database's empty set of views, triggers and
// stored routines; creating one is refused with MySQL's 1044.
type noObjects struct{ db string }

var (
	_ sql.ViewDatabase            = perfSchema{}
	_ sql.TriggerDatabase         = perfSchema{}
	_ sql.StoredProcedureDatabase = perfSchema{}
	_ sql.ViewDatabase            = mysqlSchema{}
	_ sql.TriggerDatabase         = mysqlSchema{}
	_ sql.StoredProcedureDatabase = mysqlSchema{}
)

// CreateView implements sql.ViewDatabase: refused (1044).
func (o noObjects) CreateView(ctx *sql.Context, _, _, _ string) error { return denyDatabase(ctx, o.db) }

// DropView implements sql.ViewDatabase.
func (o noObjects) DropView(_ *sql.Context, name string) error {
	return sql.ErrViewDoesNotExist.New(o.db, name)
}

// GetViewDefinition implements sql.ViewDatabase: there are no views.
func (noObjects) GetViewDefinition(*sql.Context, string) (sql.ViewDefinition, bool, error) {
	return sql.ViewDefinition{}, false, nil
}

// AllViews implements sql.ViewDatabase.
func (noObjects) AllViews(*sql.Context) ([]sql.ViewDefinition, error) { return nil, nil }

// GetTriggers implements sql.TriggerDatabase: there are none.
func (noObjects) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

// CreateTrigger implements sql.TriggerDatabase: refused (1044).
func (o noObjects) CreateTrigger(ctx *sql.Context, _ sql.TriggerDefinition) error {
	return denyDatabase(ctx, o.db)
}

// DropTrigger implements sql.TriggerDatabase.
func (noObjects) DropTrigger(_ *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (noObjects) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (noObjects) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase: refused (1044).
func (o noObjects) SaveStoredProcedure(ctx *sql.Context, _ sql.StoredProcedureDetails) error {
	return denyDatabase(ctx, o.db)
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (noObjects) DropStoredProcedure(_ *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}

// showDatabases builds SHOW DATABASES without listing mysql twice
// (go-mysql-server adds it to AllDatabases, which now holds it).
type showDatabases struct{}

// Build implements sql.NodeExecBuilder.
func (showDatabases) Build(ctx *sql.Context, n sql.Node, _ sql.Row) (sql.RowIter, error) {
	sd, ok := n.(*plan.ShowDatabases)
	if !ok {
		return nil, nil
	}
	seen := map[string]bool{}
	var rows []sql.Row
	for _, db := range sd.Catalog.AllDatabases(ctx) {
		if !seen[db.Name()] {
			seen[db.Name()] = true
			rows = append(rows, sql.Row{db.Name()})
		}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0].(string) < rows[j][0].(string) })
	return sql.RowsToRowIter(rows...), nil
}

// perfSchema is the read-only performance_schema: the tables BI tools
// read for the server's variables and status.
type perfSchema struct{ noObjects }

var (
	_ sql.Database     = perfSchema{}
	_ sql.TableCreator = perfSchema{}
	_ sql.TableDropper = perfSchema{}
)

// denyDatabase is MySQL's answer to creating an object in a system
// database: ER_DBACCESS_DENIED_ERROR (1044).
func denyDatabase(ctx *sql.Context, name string) error {
	return mysql.NewSQLError(mysql.ERDBAccessDenied, "42000", "Access denied for user '%s'@'%s' to database '%s'", ctx.Client().User, ctx.Client().Address, strings.ToLower(name))
}

// CreateTable implements sql.TableCreator: refused (1044).
func (perfSchema) CreateTable(ctx *sql.Context, _ string, _ sql.PrimaryKeySchema, _ sql.CollationID, _ string) error {
	return denyDatabase(ctx, perfSchemaName)
}

// DropTable implements sql.TableDropper: refused (1142).
func (perfSchema) DropTable(ctx *sql.Context, name string) error {
	return perfDenied{"DROP", strings.ToLower(name)}.err(ctx)
}

// perfTables are performance_schema's tables, by name.
var perfTables = map[string]func(ctx *sql.Context) map[string]interface{}{
	"global_variables":  func(*sql.Context) map[string]interface{} { return sql.SystemVariables.GetAllGlobalVariables() },
	"session_variables": func(ctx *sql.Context) map[string]interface{} { return ctx.GetAllSessionVariables() },
	"global_status":     func(*sql.Context) map[string]interface{} { return statusValues(sql.StatusVariables.NewGlobalMap()) },
	"session_status": func(ctx *sql.Context) map[string]interface{} {
		vars := sql.StatusVariables.NewGlobalMap()
		for name, v := range ctx.Session.GetAllStatusVariables(ctx) {
			vars[name] = v
		}
		return statusValues(vars)
	},
}

func statusValues(m map[string]sql.StatusVarValue) map[string]interface{} {
	out := make(map[string]interface{}, len(m))
	for k, v := range m {
		out[k] = v.Value()
	}
	return out
}

// Name implements sql.Nameable.
func (perfSchema) Name() string { return perfSchemaName }

// GetTableInsensitive implements sql.Database.
func (perfSchema) GetTableInsensitive(_ *sql.Context, name string) (sql.Table, bool, error) {
	name = strings.ToLower(name)
	if _, ok := perfTables[name]; !ok {
		return nil, false, nil
	}
	return perfTable{name: name}, true, nil
}

// GetTableNames implements sql.Database.
func (perfSchema) GetTableNames(*sql.Context) ([]string, error) {
	var names []string
	for n := range perfTables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// perfTable is one performance_schema table: VARIABLE_NAME, VARIABLE_VALUE.
type perfTable struct{ name string }

var (
	_ sql.InsertableTable   = perfTable{}
	_ sql.UpdatableTable    = perfTable{}
	_ sql.DeletableTable    = perfTable{}
	_ sql.TruncateableTable = perfTable{}
	_ sql.ReplaceableTable  = perfTable{}
)

// Name implements sql.Nameable.
func (t perfTable) Name() string { return t.name }

// String implements fmt.Stringer.
func (t perfTable) String() string { return t.name }

// Schema implements sql.Table.
func (t perfTable) Schema() sql.Schema {
	return sql.Schema{
		{Name: "VARIABLE_NAME", Type: types.MustCreateString(sqltypes.VarChar, 64, sql.Collation_utf8mb4_0900_ai_ci), Source: t.name, DatabaseSource: perfSchemaName},
		{Name: "VARIABLE_VALUE", Type: types.MustCreateString(sqltypes.VarChar, 1024, sql.Collation_utf8mb4_0900_ai_ci), Source: t.name, DatabaseSource: perfSchemaName, Nullable: true},
	}
}

// Collation implements sql.Table.
func (perfTable) Collation() sql.CollationID { return sql.Collation_utf8mb4_0900_ai_ci }

// Partitions implements sql.Table.
func (perfTable) Partitions(*sql.Context) (sql.PartitionIter, error) {
	return sql.PartitionsToPartitionIter(perfPartition{}), nil
}

// PartitionRows implements sql.Table: the variables sorted by name, their
// values as SHOW VARIABLES shows them.
func (t perfTable) PartitionRows(ctx *sql.Context, _ sql.Partition) (sql.RowIter, error) {
	vars := perfTables[t.name](ctx)
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	rows := make([]sql.Row, len(names))
	for i, n := range names {
		var v interface{}
		if vars[n] != nil {
			v = fmt.Sprint(vars[n])
		}
		rows[i] = sql.Row{n, v}
	}
	return sql.RowsToRowIter(rows...), nil
}

type perfPartition struct{}

// Key implements sql.Partition.
func (perfPartition) Key() []byte { return []byte("performance_schema") }

// Truncate implements sql.TruncateableTable: refused like MySQL, which
// needs the DROP privilege for TRUNCATE (1142).
func (t perfTable) Truncate(ctx *sql.Context) (int, error) {
	return 0, perfDenied{"DROP", t.name}.err(ctx)
}

// Inserter implements sql.InsertableTable; every row fails.
func (t perfTable) Inserter(*sql.Context) sql.RowInserter { return perfDenied{"INSERT", t.name} }

// Replacer implements sql.ReplaceableTable; every row fails.
func (t perfTable) Replacer(*sql.Context) sql.RowReplacer { return perfDenied{"INSERT", t.name} }

// Updater implements sql.UpdatableTable; every row fails.
func (t perfTable) Updater(*sql.Context) sql.RowUpdater { return perfDenied{"UPDATE", t.name} }

// Deleter implements sql.DeletableTable; every row fails.
func (t perfTable) Deleter(*sql.Context) sql.RowDeleter { return perfDenied{"DELETE", t.name} }

// perfDenied refuses every write with MySQL's ER_TABLEACCESS_DENIED_ERROR
// (1142), as MySQL answers root for these tables.
type perfDenied struct{ cmd, table string }

func (d perfDenied) err(ctx *sql.Context) error {
	return mysql.NewSQLError(1142, "42000", "%s command denied to user '%s'@'%s' for table '%s'", d.cmd, ctx.Client().User, ctx.Client().Address, d.table)
}

// StatementBegin implements sql.EditOpenerCloser.
func (perfDenied) StatementBegin(*sql.Context) {}

// DiscardChanges implements sql.EditOpenerCloser.
func (perfDenied) DiscardChanges(*sql.Context, error) error { return nil }

// StatementComplete implements sql.EditOpenerCloser.
func (perfDenied) StatementComplete(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (d perfDenied) Insert(ctx *sql.Context, _ sql.Row) error { return d.err(ctx) }

// Update implements sql.RowUpdater.
func (d perfDenied) Update(ctx *sql.Context, _, _ sql.Row) error { return d.err(ctx) }

// Delete implements sql.RowDeleter.
func (d perfDenied) Delete(ctx *sql.Context, _ sql.Row) error { return d.err(ctx) }

// Close implements sql.Closer.
func (perfDenied) Close(*sql.Context) error { return nil }

// toolVariables are MySQL 8 system variables that BI tools and
// connectors read and go-mysql-server lacks, with MySQL 8's values for a
// server without TLS, until tlsVariables (tls.go) sets them to YES once
// the server's TLS is set up. None can be SET.
func toolVariables() []sql.SystemVariable {
	var out []sql.SystemVariable
	for _, nv := range [][2]string{
		{"have_ssl", "DISABLED"},
		{"have_openssl", "DISABLED"},
	} {
		if _, _, ok := sql.SystemVariables.GetGlobal(nv[0]); !ok {
			out = append(out, constantVariable(nv[0], nv[1]))
		}
	}
	return out
}

// explainAnalyze answers EXPLAIN ANALYZE with its plan in one row, as
// MySQL does and as indexDDL answers EXPLAIN FORMAT=TREE: go-mysql-server
// returns a row per line, which its server refuses (1105, "max1Row
// iterator returned more than one row") for a statement known to return
// at most one row (a point lookup, an aggregate without GROUP BY).
type explainAnalyze struct{}

// Build implements sql.NodeExecBuilder.
func (explainAnalyze) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	d, ok := n.(*plan.DescribeQuery)
	if !ok || !d.Format.Analyze {
		return nil, nil
	}
	iter, err := rowexec.DefaultBuilder.Build(ctx, d, r)
	if err != nil {
		return nil, err
	}
	rows, err := sql.RowIterToRows(ctx, iter)
	if err != nil {
		return nil, err
	}
	lines := make([]string, 0, len(rows))
	for _, row := range rows {
		lines = append(lines, fmt.Sprint(row[0]))
	}
	return sql.RowsToRowIter(sql.NewRow(strings.Join(lines, "\n"))), nil
}
