package engine

import (
	"cmp"
	"errors"
	"regexp"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// Views are stored per database by the store (storage.View: the SELECT
// text, the CREATE VIEW statement the planner re-parses, and the SQL mode
// it was created under). Triggers and stored procedures are not stored
// yet: the database answers "there are none" to the planner's look-ups,
// and refuses to create them with a clear error.
var (
	_ sql.ViewDatabase            = (*database)(nil)
	_ sql.TriggerDatabase         = (*database)(nil)
	_ sql.StoredProcedureDatabase = (*database)(nil)
)

// replacingView matches a statement that may replace a view, CREATE OR
// REPLACE (VIEW), after optional comments. ctx.Query() is the statement
// being run, also in a multi-statement query (there it runs to the end of
// the query, which does not matter to an anchored match).
var replacingView = regexp.MustCompile(`(?is)^\s*(?:/\*.*?\*/\s*)*create\s+or\s+replace\b`)

// isReplacingView reports whether the statement running in ctx replaces a
// view. go-mysql-server runs CREATE OR REPLACE VIEW as DropView followed by
// CreateView; for those statements DropView does nothing and CreateView
// replaces the definition in one atomic write, so a crash or a failing
// CreateView never loses the old view.
func isReplacingView(ctx *sql.Context) bool {
	return ctx != nil && replacingView.MatchString(ctx.Query())
}

// CreateView implements sql.ViewDatabase. A view created from another
// database keeps the tables it names unqualified there, as MySQL does
// (view_scope.go, qualifyTables).
func (d *database) CreateView(ctx *sql.Context, name, selectStatement, createViewStmt string) error {
	if cur := ctx.GetCurrentDatabase(); cur != "" && !strings.EqualFold(cur, d.name) {
		if c, sel, ok := qualifyTables(createViewStmt, sql.LoadSqlMode(ctx).ParserOptions(), cur); ok {
			createViewStmt, selectStatement = c, sel
		}
	}
	v := storage.View{
		Name:            name,
		Definition:      selectStatement,
		CreateStatement: createViewStmt,
		SQLMode:         sql.LoadSqlMode(ctx).String(),
	}
	err := d.p.store.SaveView(d.name, v, isReplacingView(ctx))
	switch {
	case errors.Is(err, storage.ErrViewExists):
		return sql.ErrExistingView.New(d.name, name)
	case errors.Is(err, storage.ErrTableExists):
		return sql.ErrTableAlreadyExists.New(name)
	}
	return err
}

// DropView implements sql.ViewDatabase.
func (d *database) DropView(ctx *sql.Context, name string) error {
	if isReplacingView(ctx) {
		if _, ok, err := d.p.store.View(d.name, name); err != nil || !ok {
			return cmp.Or(err, error(sql.ErrViewDoesNotExist.New(d.name, name)))
		}
		return nil // CreateView replaces it
	}
	err := d.p.store.DeleteView(d.name, name)
	if errors.Is(err, storage.ErrViewNotFound) {
		return sql.ErrViewDoesNotExist.New(d.name, name)
	}
	return err
}

// GetViewDefinition implements sql.ViewDatabase. go-mysql-server binds
// the definition next, for which a session without a current database
// shows this one (view_scope.go).
func (d *database) GetViewDefinition(ctx *sql.Context, name string) (sql.ViewDefinition, bool, error) {
	v, ok, err := d.p.store.View(d.name, name)
	if err != nil || !ok {
		return sql.ViewDefinition{}, false, err
	}
	setViewScope(ctx, d.name)
	def := viewDefinition(v)
	def.CreateViewStatement = qualifiedView(def.CreateViewStatement, d.name)
	return def, true, nil
}

// AllViews implements sql.ViewDatabase. information_schema.VIEWS binds
// each statement in the session's current database, not in the view's:
// for a session in another database, or in none, the statement's tables
// are qualified with the view's database (view_scope.go).
func (d *database) AllViews(ctx *sql.Context) ([]sql.ViewDefinition, error) {
	views, err := d.p.store.Views(d.name)
	if err != nil {
		return nil, err
	}
	cur := ""
	if ctx != nil {
		cur = ctx.GetCurrentDatabase()
	}
	out := make([]sql.ViewDefinition, len(views))
	for i, v := range views {
		out[i] = viewDefinition(v)
		if !strings.EqualFold(cur, d.name) {
			if c, _, ok := qualifyTables(v.CreateStatement, sql.NewSqlModeFromString(v.SQLMode).ParserOptions(), d.name); ok {
				out[i].CreateViewStatement = c
			}
		}
		out[i].CreateViewStatement = qualifiedView(out[i].CreateViewStatement, d.name)
	}
	return out, nil
}

// nameErrors turn go-mysql-server's messages about table and view names,
// which it sends as error 1105, into MySQL's errors: the pattern matches
// the message (sql.ErrTableAlreadyExists, sql.ErrExistingView,
// sql.ErrViewDoesNotExist, sql.ErrInvalidRefInView) and captures the name.
var nameErrors = []struct {
	re     *regexp.Regexp
	code   int
	state  string
	format string
}{
	// CREATE VIEW over a table's name formats the plan node: "CreateView(t)\n".
	{regexp.MustCompile(`(?s)^table with name (?:CreateView\()?(.+?)(?:\)\s*)? already exists$`), mysql.ERTableExists, "42S01", "Table '%s' already exists"},
	{regexp.MustCompile(`^the view (?:[^.]+\.)?(.+) already exists$`), mysql.ERTableExists, "42S01", "Table '%s' already exists"},
	{regexp.MustCompile(`^the view (.+) does not exist$`), mysql.ERBadTable, "42S02", "Unknown table '%s'"},
	{regexp.MustCompile(`^View '(.+?)' references invalid table\(s\)`), 1356, "HY000",
		"View '%s' references invalid table(s) or column(s) or function(s) or definer/invoker of view lack rights to use them"},
}

// asNameError returns the MySQL error for se, an error 1105 of
// go-mysql-server, if nameErrors knows its message, and nil otherwise.
func asNameError(se *mysql.SQLError) *mysql.SQLError {
	for _, ne := range nameErrors {
		if m := ne.re.FindStringSubmatch(se.Message); m != nil {
			return mysql.NewSQLError(ne.code, ne.state, ne.format, m[1])
		}
	}
	return nil
}

func viewDefinition(v storage.View) sql.ViewDefinition {
	return sql.ViewDefinition{
		Name:                v.Name,
		TextDefinition:      v.Definition,
		CreateViewStatement: v.CreateStatement,
		SqlMode:             v.SQLMode,
	}
}

// GetTriggers implements sql.TriggerDatabase.
func (d *database) GetTriggers(*sql.Context) ([]sql.TriggerDefinition, error) { return nil, nil }

// CreateTrigger implements sql.TriggerDatabase.
func (d *database) CreateTrigger(*sql.Context, sql.TriggerDefinition) error {
	return sql.ErrUnsupportedFeature.New("CREATE TRIGGER")
}

// DropTrigger implements sql.TriggerDatabase.
func (d *database) DropTrigger(_ *sql.Context, name string) error {
	return sql.ErrTriggerDoesNotExist.New(name)
}

// GetStoredProcedure implements sql.StoredProcedureDatabase.
func (d *database) GetStoredProcedure(*sql.Context, string) (sql.StoredProcedureDetails, bool, error) {
	return sql.StoredProcedureDetails{}, false, nil
}

// GetStoredProcedures implements sql.StoredProcedureDatabase.
func (d *database) GetStoredProcedures(*sql.Context) ([]sql.StoredProcedureDetails, error) {
	return nil, nil
}

// SaveStoredProcedure implements sql.StoredProcedureDatabase.
func (d *database) SaveStoredProcedure(*sql.Context, sql.StoredProcedureDetails) error {
	return sql.ErrUnsupportedFeature.New("CREATE PROCEDURE")
}

// DropStoredProcedure implements sql.StoredProcedureDatabase.
func (d *database) DropStoredProcedure(_ *sql.Context, name string) error {
	return sql.ErrStoredProcedureDoesNotExist.New(name)
}
