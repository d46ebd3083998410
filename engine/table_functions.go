package engine

// Table functions: SELECT ... FROM f(args). go-mysql-server asks the
// database provider for them by name (sql.TableFunctionProvider) while it
// builds a statement's plan, and calls NewInstance with the arguments;
// the node NewInstance returns is the table, executed by its RowIter.
//
// detect_anomalies (detect_anomalies.go) and evaluate_detector
// (evaluate_detector.go) read an input named by a string argument: a
// stored table or view ('t', 'db.t') or a query ('SELECT ...'). The input
// is planned as a query of its own, run as the user (so it needs SELECT
// on what it reads), inside the statement, its transaction included.
// detector_training_log (detector_training_log.go) reads a detector's
// training log.

import (
	"context"
	"fmt"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/detectors"
)

var _ sql.TableFunctionProvider = (*provider)(nil)

// tableFunctions returns anomalydb's table functions, bound to p's
// detectors. Each is a prototype whose NewInstance makes the node of one
// call.
func (p *provider) tableFunctions() []sql.TableFunction {
	return []sql.TableFunction{
		&trainingLogFunction{tableFunctionNode{svc: p.svc}},
		&detectAnomalies{tableFunctionNode: tableFunctionNode{svc: p.svc}},
		&evaluateDetector{tableFunctionNode{svc: p.svc}},
	}
}

// tableFunctionNode is what the nodes of anomalydb's table functions
// share: the detectors, the current database and the call's arguments,
// and the sql.Node methods that do not depend on the function. Each
// function's node embeds it.
type tableFunctionNode struct {
	svc  *detectorService
	db   sql.Database
	args []sql.Expression
}

// Database implements sql.Databaser.
func (n *tableFunctionNode) Database() sql.Database { return n.db }

// Expressions implements sql.Expressioner: the arguments.
func (n *tableFunctionNode) Expressions() []sql.Expression { return n.args }

// Children implements sql.Node: a table function has none.
func (n *tableFunctionNode) Children() []sql.Node { return nil }

// IsReadOnly implements sql.Node.
func (n *tableFunctionNode) IsReadOnly() bool { return true }

// TableFunction implements sql.TableFunctionProvider.
func (p *provider) TableFunction(_ *sql.Context, name string) (sql.TableFunction, bool) {
	for _, f := range p.tableFunctions() {
		if strings.EqualFold(f.Name(), name) {
			return f, true
		}
	}
	return nil, false
}

// WithTableFunctions implements sql.TableFunctionProvider. The set of
// table functions is fixed (tableFunctions); this is never called by the
// engine.
func (p *provider) WithTableFunctions(...sql.TableFunction) (sql.TableFunctionProvider, error) {
	return nil, fmt.Errorf("anomalydb's table functions cannot be replaced")
}

// errTableFunctionArgs is MySQL's 1582 for a call with the wrong number
// of arguments.
func errTableFunctionArgs(fn, want string, got int) error {
	return mysql.NewSQLError(1582, mysql.SSClientError,
		"Incorrect parameter count in the call to native function '%s': it takes %s, got %d argument(s)", fn, want, got)
}

// stringArg evaluates argument pos (1-based) of table function fn, which
// must be a non-NULL string that does not depend on a row: a literal, a
// user variable, an expression of them. param is true, and s empty, for
// a ? placeholder of a statement being prepared (its value comes with
// EXECUTE, when the plan is built again).
func stringArg(ctx *sql.Context, fn string, pos int, e sql.Expression) (s string, param bool, err error) {
	if _, ok := e.(*expression.BindVar); ok {
		return "", true, nil
	}
	var bad string
	transform.InspectExpr(e, func(e sql.Expression) bool {
		switch e.(type) {
		case *expression.GetField, *expression.BindVar:
			bad = e.String()
		}
		return bad != ""
	})
	if bad != "" {
		return "", false, errWrongArguments("%s: argument %d must be a constant string, not %s", fn, pos, bad)
	}
	v, err := e.Eval(ctx, nil)
	if err != nil {
		return "", false, err
	}
	switch v := v.(type) {
	case string:
		return v, false, nil
	case []byte:
		return string(v), false, nil
	case nil:
		return "", false, errWrongArguments("%s: argument %d is NULL", fn, pos)
	}
	return "", false, errWrongArguments("%s: argument %d must be a string, not %v", fn, pos, v)
}

// tableInput is the input of a table function, planned: the table or
// query its argument names.
type tableInput struct {
	text string   // the argument as given
	plan sql.Node // analyzed
}

// schema returns the input's columns.
func (in *tableInput) schema() sql.Schema { return in.plan.Schema() }

// planInput plans the input text of table function fn: a table or view
// name ([db.]name, either part in backquotes) is read as SELECT * FROM
// it; anything else must be one read-only query (checkInputQuery). The
// query is built as the user (1142 without SELECT on what it reads) and
// analyzed; errors are the query's own (1146 for an unknown table, 1054
// for an unknown column, ...).
func planInput(ctx *sql.Context, svc *detectorService, fn, text string) (*tableInput, error) {
	opts := sql.LoadSqlMode(ctx).ParserOptions()
	query := text
	if db, name, ok := tableName(text, opts.AnsiQuotes); ok {
		query = "SELECT * FROM " + quoteName(name)
		if db != "" {
			query = "SELECT * FROM " + quoteName(db) + "." + quoteName(name)
		}
	} else if err := checkInputQuery(fn, text, opts); err != nil {
		return nil, err
	}
	e := svc.engine
	b := planbuilder.New(ctx, e.Analyzer.Catalog, e.EventScheduler, e.Parser)
	parsed, _, _, qFlags, err := b.Parse(query, nil, false)
	if err != nil {
		return nil, err
	}
	analyzed, err := e.Analyzer.Analyze(ctx, parsed, nil, qFlags)
	if err != nil {
		return nil, err
	}
	return &tableInput{text: text, plan: analyzed}, nil
}

// quoteName is an identifier in backquotes.
func quoteName(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// tableName reports whether text is a table name, name or db.name
// (white space around the parts is ignored), each part either plain (letters, digits, '_', '$', characters
// beyond ASCII) or in backquotes (double quotes too with ANSI_QUOTES),
// and returns its parts unquoted. A plain word that starts a query
// (SELECT, WITH, VALUES, TABLE) is not a name.
func tableName(text string, ansiQuotes bool) (db, name string, ok bool) {
	s := strings.TrimSpace(text)
	var parts []string
	for {
		part, rest, ok := identPart(s, ansiQuotes)
		if !ok {
			return "", "", false
		}
		parts = append(parts, part)
		if rest == "" {
			break
		}
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != '.' || len(parts) == 2 {
			return "", "", false
		}
		s = strings.TrimSpace(rest[1:])
	}
	if len(parts) == 1 {
		switch strings.ToUpper(strings.TrimSpace(text)) {
		case "SELECT", "WITH", "VALUES", "TABLE":
			return "", "", false
		}
		return "", parts[0], true
	}
	return parts[0], parts[1], true
}

// identPart splits the identifier at the start of s from the rest.
func identPart(s string, ansiQuotes bool) (part, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if q := s[0]; q == '`' || ansiQuotes && q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] != q {
				b.WriteByte(s[i])
				continue
			}
			if i+1 < len(s) && s[i+1] == q { // a doubled quote
				b.WriteByte(q)
				i++
				continue
			}
			return b.String(), s[i+1:], b.Len() > 0
		}
		return "", "", false
	}
	i := 0
	for i < len(s) {
		c := s[i]
		if !(c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80) {
			break
		}
		i++
	}
	return s[:i], s[i:], i > 0
}

// checkInputQuery returns error 1064 unless query is one read-only query
// (as the training query of CREATE DETECTOR ... AS, checkTrainingQuery):
// a SELECT, also with WITH, UNION/INTERSECT/EXCEPT, VALUES or TABLE,
// without INTO and without ? placeholders (the query is not a prepared
// statement of its own). It is parsed before anything runs, so no other
// statement (DELETE, DROP TABLE, a second statement, ...) runs.
func checkInputQuery(fn, query string, opts ast.ParserOptions) error {
	fail := func(format string, args ...interface{}) error {
		return errSyntax(query, 0, fn+": "+fmt.Sprintf(format, args...))
	}
	stmt, err := ast.ParseWithOptions(context.Background(), query, opts)
	if err != nil {
		return fail("the input must be a table name or one SELECT query: %s", vitessMessage(err))
	}
	sel, ok := stmt.(ast.SelectStatement)
	if !ok {
		return fail("the input must be a table name or a SELECT query, not a %s statement", statementKind(stmt, query))
	}
	into := sel.GetInto() != nil
	params := false
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		switch n := n.(type) {
		case *ast.Into:
			if n != nil {
				into = true
			}
		case *ast.SQLVal:
			if n.Type == ast.ValArg {
				params = true
			}
		}
		return !into && !params, nil
	}, stmt)
	switch {
	case into:
		return fail("the input query cannot have INTO (OUTFILE, DUMPFILE or variables)")
	case params:
		return fail("the input query cannot have ? placeholders; write the values in it")
	}
	return nil
}

// columnIndex returns the position of the column named name in sch (case
// insensitive), or -1.
func columnIndex(sch sql.Schema, name string) int {
	for i, c := range sch {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

// featureColumns returns the positions in the input's columns sch of the
// features of detector m (named ref), in the detector's order: each
// feature is the column of its name. A missing one is error 1054 naming
// it.
func featureColumns(fn string, m *detectors.Model, sch sql.Schema) ([]int, error) {
	pos := make([]int, len(m.Features))
	for j, f := range m.Features {
		pos[j] = columnIndex(sch, f)
		if pos[j] < 0 {
			return nil, errBadField(f, fn+" input")
		}
	}
	return pos, nil
}

// checkColumnNames returns MySQL's 1060 if two of the input's columns
// sch, or one of them and one of extra, have the same name (case
// insensitive): a column of the result could not be told from the other.
func checkColumnNames(sch sql.Schema, extra ...string) error {
	seen := make(map[string]bool, len(sch)+len(extra))
	for _, c := range sch {
		k := strings.ToLower(c.Name)
		if seen[k] {
			return errDupColumn(c.Name)
		}
		seen[k] = true
	}
	for _, name := range extra {
		if seen[strings.ToLower(name)] {
			return errDupColumn(name)
		}
	}
	return nil
}

func errDupColumn(name string) error {
	return mysql.NewSQLError(mysql.ERDupFieldName, "42S21", "Duplicate column name '%s'", name)
}
