package engine

// Inspection and lifecycle of detectors:
//
//	DESCRIBE DETECTOR [db.]name            (also DESC DETECTOR)
//	SHOW CREATE DETECTOR [db.]name
//	SHOW DETECTORS [{FROM | IN} db] WHERE expr
//	RENAME DETECTOR [db.]name TO [db.]name
//	CREATE OR REPLACE DETECTOR …           (parser.go, detector_service.go)
//	information_schema.DETECTORS
//
// They are parsed with the other DETECTOR statements (parser.go calls
// isDetectorMetaStatement and parseMetaStatement) and run as injected
// plan nodes, like them.

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/storage"
)

// isDetectorMetaStatement reports whether query is DESCRIBE DETECTOR,
// SHOW CREATE DETECTOR, RENAME DETECTOR or CREATE OR REPLACE DETECTOR, by
// its leading words. "DESCRIBE detector" with nothing after it describes
// a table named detector, as in MySQL.
func isDetectorMetaStatement(query string) bool {
	w := leadingWordsN(query, 4)
	switch {
	case (w[0].text == "DESCRIBE" || w[0].text == "DESC") && w[1].text == "DETECTOR":
		l := &lexer{src: query, pos: w[1].end}
		l.skipSpace()
		return l.pos < len(query) && query[l.pos] != ';'
	case w[0].text == "SHOW" && w[1].text == "CREATE" && w[2].text == "DETECTOR",
		w[0].text == "RENAME" && w[1].text == "DETECTOR",
		w[0].text == "CREATE" && w[1].text == "OR" && w[2].text == "REPLACE" && w[3].text == "DETECTOR":
		return true
	}
	return false
}

// leadingWord is a word at the start of a statement, upper-cased, and
// the offset just after it.
type leadingWord struct {
	text string
	end  int
}

// leadingWordsN returns the first n words of query ("" past the last
// word), skipping white space and comments.
func leadingWordsN(query string, n int) []leadingWord {
	l := &lexer{src: query}
	words := make([]leadingWord, n)
	for i := range n {
		l.skipSpace()
		start := l.pos
		for l.pos < len(query) && isIdentPart(rune(query[l.pos])) {
			l.pos++
		}
		if l.pos == start {
			break
		}
		words[i] = leadingWord{strings.ToUpper(query[start:l.pos]), l.pos}
	}
	return words
}

// peekAt returns the token k places ahead (the end token past the last).
func (p *parser) peekAt(k int) token { return p.toks[min(p.i+k, len(p.toks)-1)] }

// parseMetaStatement parses DESCRIBE DETECTOR, SHOW CREATE DETECTOR and
// RENAME DETECTOR; ok is false for any other statement, which the caller
// parses. lexErr is the statement's lexical error, if any, which takes
// precedence over a syntax error found after it.
func (p *parser) parseMetaStatement(lexErr func() error) (n detectorNode, ok bool, err error) {
	defer func() {
		if err != nil {
			err = orLex(lexErr(), err)
		}
	}()
	switch t := p.peek(); {
	case (kw(t, "DESCRIBE") || kw(t, "DESC")) && kw(p.peekAt(1), "DETECTOR"):
		p.next()
		p.next()
		d := &describeDetectorNode{}
		if d.db, d.name, err = p.qualifiedName(); err != nil {
			return nil, true, err
		}
		return d, true, p.end()
	case kw(t, "SHOW") && kw(p.peekAt(1), "CREATE") && kw(p.peekAt(2), "DETECTOR"):
		p.next()
		p.next()
		p.next()
		s := &showCreateDetectorNode{}
		if s.db, s.name, err = p.qualifiedName(); err != nil {
			return nil, true, err
		}
		return s, true, p.end()
	case kw(t, "RENAME") && kw(p.peekAt(1), "DETECTOR"):
		p.next()
		p.next()
		r := &renameDetectorNode{}
		if r.fromDB, r.from, err = p.qualifiedName(); err != nil {
			return nil, true, err
		}
		if err := p.expectKeyword("TO"); err != nil {
			return nil, true, err
		}
		if r.toDB, r.to, err = p.qualifiedName(); err != nil {
			return nil, true, err
		}
		if err := checkDetectorName(r.to); err != nil {
			return nil, true, err
		}
		if t := p.peek(); t.kind == 'p' && t.text == "," {
			return nil, true, p.fail("RENAME DETECTOR renames one detector")
		}
		return r, true, p.end()
	}
	return nil, false, nil
}

// parseShowWhere parses the WHERE of SHOW DETECTORS … WHERE expr, the
// next token: expr is the rest of the statement, checked with the MySQL
// parser (a syntax error is 1064 there) and run at execution against the
// columns of SHOW DETECTORS (showWhereRows). The lexer of DETECTOR
// statements need not know its characters.
func (p *parser) parseShowWhere(n *showDetectorsNode, options ast.ParserOptions) error {
	w := p.next()
	after := p.query[w.pos+len("WHERE"):]
	start := len(p.query) - len(strings.TrimLeftFunc(after, isSpaceRune))
	expr := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(after), ";"))
	if expr == "" {
		return errSyntax(p.query, len(p.query), "expected an expression after WHERE")
	}
	params, err := checkShowWhere(expr, options)
	if err != nil {
		return errSyntax(p.query, start, err.Error())
	}
	n.where, n.whereParams = expr, params
	return nil
}

func isSpaceRune(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }

// checkShowWhere returns an error unless expr is one expression as the
// MySQL parser reads a WHERE clause (nothing after it: no ORDER BY,
// LIMIT, UNION, …), and otherwise the number of its ? placeholders.
func checkShowWhere(expr string, options ast.ParserOptions) (int, error) {
	stmt, err := ast.ParseWithOptions(context.Background(), "SELECT * FROM detectors WHERE "+expr, options)
	if err != nil {
		return 0, fmt.Errorf("SHOW DETECTORS … WHERE needs an expression: %s", vitessMessage(err))
	}
	sel, ok := stmt.(*ast.Select)
	if !ok || sel.Where == nil || sel.GroupBy != nil || sel.Having != nil || sel.Window != nil ||
		sel.OrderBy != nil || sel.Limit != nil || sel.Lock != "" || sel.Into != nil {
		return 0, errors.New("SHOW DETECTORS … WHERE takes one expression and nothing after it")
	}
	params := 0
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if v, ok := n.(*ast.SQLVal); ok && v.Type == ast.ValArg {
			params++
		}
		return true, nil
	}, sel.Where)
	return params, nil
}

// withWhereBindings is WithResolvedChildren of SHOW DETECTORS … WHERE
// with placeholders: children are the values bound to them (BindVars
// when none is bound).
func (n *showDetectorsNode) withWhereBindings(children []any) (any, error) {
	nn := *n
	nn.whereBindings = map[string]sql.Expression{}
	for k, c := range children {
		e, ok := c.(sql.Expression)
		if !ok {
			return nil, fmt.Errorf("placeholder %d: unexpected %T", k+1, c)
		}
		if _, isVar := e.(*expression.BindVar); isVar {
			nn.unbound = true
		}
		nn.whereBindings[fmt.Sprintf("v%d", k+1)] = e
	}
	return &nn, nil
}

// showWhereBinding is the bind variable the rows of SHOW DETECTORS …
// WHERE are filtered to the database with (a name vitess never gives a
// ? placeholder, which it numbers v1, v2, …).
const showWhereBinding = "anomalydb_show_db"

// showWhereRows runs SHOW DETECTORS FROM db WHERE expr: the rows of
// information_schema.DETECTORS of db, under the column names of SHOW
// DETECTORS, that expr selects, as MySQL's SHOW TABLES … WHERE does.
func (n *showDetectorsNode) showWhereRows(ctx *sql.Context, db string) (sql.RowIter, error) {
	query := showWhereQuery(n.where)
	bindings := map[string]sql.Expression{showWhereBinding: expression.NewLiteral(db, types.LongText)}
	for k, v := range n.whereBindings {
		bindings[k] = v
	}
	e := n.svc.engine
	b := planbuilder.New(ctx, e.Analyzer.Catalog, e.EventScheduler, e.Parser)
	b.SetBindingsWithExpr(bindings)
	parsed, _, _, qFlags, err := b.Parse(query, nil, false)
	if err != nil {
		return nil, err
	}
	plan, err := e.Analyzer.Analyze(ctx, parsed, nil, qFlags)
	if err != nil {
		return nil, err
	}
	return rowexec.DefaultBuilder.Build(ctx, plan, nil)
}

// showWhereQuery is the query SHOW DETECTORS … WHERE where runs: the
// database is the bind variable showWhereBinding; the ? of where are
// numbered v1, v2, … as in the statement.
func showWhereQuery(where string) string {
	cols := make([]string, len(showDetectorsSchema))
	for i, c := range showDetectorsSchema {
		cols[i] = infoSchemaColumn(c.Name) + " AS " + quoteIdent(c.Name)
	}
	return fmt.Sprintf("SELECT * FROM (SELECT %s FROM information_schema.%s WHERE DETECTOR_SCHEMA = :%s) AS detectors WHERE %s",
		strings.Join(cols, ", "), detectorsTableName, showWhereBinding, where)
}

// detectorRows returns the rows of SHOW DETECTORS FROM db, by name, for
// the detectors whose names match (every one if match is nil): the saved
// detectors and the trainings in progress (detector_training.go); a
// detector being replaced (CREATE OR REPLACE) has both rows, the saved
// one first.
func (s *detectorService) detectorRows(db string, match func(string) bool) []sql.Row {
	var rows []sql.Row
	for _, d := range s.list(db) {
		if match != nil && !match(d.name) {
			continue
		}
		m := d.model
		if m == nil {
			rows = append(rows, sql.NewRow(d.name, nil, nil, nil, "error: "+d.loadErr.Error(), nil, nil, nil, nil, nil, nil, nil))
			continue
		}
		var source interface{}
		if m.Source != "" {
			source = m.Source
		}
		var epoch, epochs, loss interface{}
		if l := m.TrainingLog; l != nil {
			epoch, epochs = int64(l.EpochsRun), int64(l.PlannedEpochs)
			if len(l.Epochs) > 0 {
				loss = l.Epochs[len(l.Epochs)-1].TrainLoss
			}
		}
		rows = append(rows, sql.NewRow(
			d.name, m.Algorithm, strings.Join(m.Features, ","), int64(m.TrainingRows),
			"ready", m.TrainSeconds, m.CreatedAt.UTC().Truncate(time.Second), m.RowsRead, source,
			epoch, epochs, loss,
		))
	}
	if training := s.trainingRows(db, match); len(training) > 0 {
		rows = append(rows, training...)
		sort.SliceStable(rows, func(i, j int) bool { return rows[i][0].(string) < rows[j][0].(string) })
	}
	return rows
}

// information_schema.DETECTORS lists the detectors of every database on
// which the user has SELECT (what SHOW DETECTORS FROM that database
// needs): DETECTOR_SCHEMA, then the columns of SHOW DETECTORS upper-cased,
// name as DETECTOR_NAME.
const detectorsTableName = "DETECTORS"

// infoSchemaColumn is the information_schema.DETECTORS column of a SHOW
// DETECTORS column.
func infoSchemaColumn(showColumn string) string {
	if showColumn == "name" {
		return "DETECTOR_NAME"
	}
	return strings.ToUpper(showColumn)
}

// detectorsTableSchema is the schema of information_schema.DETECTORS.
func detectorsTableSchema() sql.Schema {
	name := func(col string) *sql.Column {
		return &sql.Column{Name: col, Type: types.MustCreateString(sqltypes.VarChar, 64, sql.Collation_Information_Schema_Default),
			Source: detectorsTableName, DatabaseSource: sql.InformationSchemaDatabaseName}
	}
	sch := sql.Schema{name("DETECTOR_SCHEMA")}
	for _, c := range showDetectorsSchema {
		col := *c
		col.Name, col.Source, col.DatabaseSource = infoSchemaColumn(c.Name), detectorsTableName, sql.InformationSchemaDatabaseName
		if c.Name == "name" {
			col = *name(col.Name)
		}
		sch = append(sch, &col)
	}
	return sch
}

// infoSchemaRows is the reader of information_schema.DETECTORS.
func (s *detectorService) infoSchemaRows(ctx *sql.Context, _ sql.Catalog) (sql.RowIter, error) {
	var rows []sql.Row
	for _, db := range s.store.Databases() {
		if s.authorize(ctx, sql.PrivilegeType_Select, db, "") != nil {
			continue
		}
		for _, r := range s.detectorRows(db, nil) {
			rows = append(rows, append(sql.Row{db}, r...))
		}
	}
	return sql.RowsToRowIter(rows...), nil
}

// infoSchemaWithDetectors is go-mysql-server's information_schema
// database with the table DETECTORS added.
type infoSchemaWithDetectors struct {
	sql.Database
	svc    *detectorService
	schema sql.Schema
}

// withDetectorsTable returns is, information_schema, with the table
// DETECTORS of svc's detectors.
func withDetectorsTable(is sql.Database, svc *detectorService) sql.Database {
	return infoSchemaWithDetectors{Database: is, svc: svc, schema: detectorsTableSchema()}
}

// GetTableInsensitive implements sql.Database. DETECTORS is a new table
// each time: the planner assigns it the catalog of the query.
func (d infoSchemaWithDetectors) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	if strings.EqualFold(name, detectorsTableName) {
		return &information_schema.InformationSchemaTable{TableName: detectorsTableName, TableSchema: d.schema, Reader: d.svc.infoSchemaRows}, true, nil
	}
	return d.Database.GetTableInsensitive(ctx, name)
}

// GetTableNames implements sql.Database.
func (d infoSchemaWithDetectors) GetTableNames(ctx *sql.Context) ([]string, error) {
	names, err := d.Database.GetTableNames(ctx)
	return append(names, detectorsTableName), err
}

// describeDetectorNode is DESCRIBE DETECTOR [db.]name.
type describeDetectorNode struct {
	svc      *detectorService
	db, name string
}

// showCreateDetectorNode is SHOW CREATE DETECTOR [db.]name.
type showCreateDetectorNode struct {
	svc      *detectorService
	db, name string
}

// renameDetectorNode is RENAME DETECTOR [db.]from TO [db.]to.
type renameDetectorNode struct {
	svc          *detectorService
	fromDB, from string
	toDB, to     string
}

var (
	_ detectorNode = (*describeDetectorNode)(nil)
	_ detectorNode = (*showCreateDetectorNode)(nil)
	_ detectorNode = (*renameDetectorNode)(nil)
)

func (n *describeDetectorNode) setService(s *detectorService)   { n.svc = s }
func (n *showCreateDetectorNode) setService(s *detectorService) { n.svc = s }
func (n *renameDetectorNode) setService(s *detectorService)     { n.svc = s }

// params implements detectorNode: names are never placeholders.
func (n *describeDetectorNode) params() int   { return 0 }
func (n *showCreateDetectorNode) params() int { return 0 }
func (n *renameDetectorNode) params() int     { return 0 }

// WithResolvedChildren implements ast.Injectable.
func (n *describeDetectorNode) WithResolvedChildren([]any) (any, error)   { return n, nil }
func (n *showCreateDetectorNode) WithResolvedChildren([]any) (any, error) { return n, nil }
func (n *renameDetectorNode) WithResolvedChildren([]any) (any, error)     { return n, nil }

// Resolved implements sql.Node.
func (n *describeDetectorNode) Resolved() bool   { return true }
func (n *showCreateDetectorNode) Resolved() bool { return true }
func (n *renameDetectorNode) Resolved() bool     { return true }

// Children implements sql.Node.
func (n *describeDetectorNode) Children() []sql.Node   { return nil }
func (n *showCreateDetectorNode) Children() []sql.Node { return nil }
func (n *renameDetectorNode) Children() []sql.Node     { return nil }

// WithChildren implements sql.Node.
func (n *describeDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// WithChildren implements sql.Node.
func (n *showCreateDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// WithChildren implements sql.Node.
func (n *renameDetectorNode) WithChildren(c ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, c)
}

// IsReadOnly implements sql.Node.
func (n *describeDetectorNode) IsReadOnly() bool   { return true }
func (n *showCreateDetectorNode) IsReadOnly() bool { return true }
func (n *renameDetectorNode) IsReadOnly() bool     { return false }

// String implements sql.Node.
func (n *describeDetectorNode) String() string   { return "DESCRIBE DETECTOR " + n.name }
func (n *showCreateDetectorNode) String() string { return "SHOW CREATE DETECTOR " + n.name }
func (n *renameDetectorNode) String() string {
	return "RENAME DETECTOR " + n.from + " TO " + n.to
}

// describeDetectorSchema: one row per property, in a fixed order (see
// describeRows).
var describeDetectorSchema = sql.Schema{
	{Name: "property", Type: types.LongText},
	{Name: "value", Type: types.LongText, Nullable: true},
}

// showCreateDetectorSchema is shaped like SHOW CREATE TABLE's.
var showCreateDetectorSchema = sql.Schema{
	{Name: "Detector", Type: types.LongText},
	{Name: "Create Detector", Type: types.LongText},
}

// Schema implements sql.Node.
func (n *describeDetectorNode) Schema() sql.Schema   { return describeDetectorSchema }
func (n *showCreateDetectorNode) Schema() sql.Schema { return showCreateDetectorSchema }
func (n *renameDetectorNode) Schema() sql.Schema     { return types.OkResultSchema }

// lookupInfo returns the named detector (db "" for the current
// database) with its database's stored name, for a user with SELECT on
// the database: 1305 if there is none, 1457 if it could not be loaded.
func (s *detectorService) lookupInfo(ctx *sql.Context, db, name string) (detectorInfo, string, error) {
	db, name, err := resolveName(ctx, db, name)
	if err != nil {
		return detectorInfo{}, "", err
	}
	if err := s.authorize(ctx, sql.PrivilegeType_Select, db, name); err != nil {
		return detectorInfo{}, "", err
	}
	canon := canonicalDatabase(s.store, db)
	if canon == "" {
		return detectorInfo{}, "", sql.ErrDatabaseNotFound.New(db)
	}
	s.mu.RLock()
	d, ok := s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	var notFound error
	if !ok {
		notFound = s.notFoundLocked(db, name, name) // detector_training.go
	}
	s.mu.RUnlock()
	switch {
	case !ok:
		return d, "", notFound
	case d.loadErr != nil:
		return d, "", errDetectorCorrupt(canon, d.name, d.loadErr)
	}
	return d, canon, nil
}

// RowIter implements sql.ExecSourceRel. It needs SELECT on the database,
// as SHOW DETECTORS and anomaly_score do.
func (n *describeDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	d, db, err := n.svc.lookupInfo(ctx, n.db, n.name)
	if err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(describeRows(db, d.name, d.model)...), nil
}

// describeRows are the rows of DESCRIBE DETECTOR: the detector's
// properties (a sequence detector's order_by and partition_by, NULL for
// none, after training_query), then option.<name> for every option with defaults filled
// in (sorted by name), then feature.<name>.mean and feature.<name>.scale
// for every feature in scoring order (for a detector with string, date
// or time features, first feature.<name>.encoding, and no mean and scale
// for a categorical feature). Numbers are in their shortest
// exact decimal form; NULL is a value not recorded.
func describeRows(db, name string, m *detectors.Model) []sql.Row {
	var query, snapshots interface{}
	if m.Recipe != nil {
		query = m.Recipe.Query
	}
	if m.Source != "" {
		snapshots = m.Source
	}
	// The current contamination (ALTER DETECTOR … SET contamination may
	// have changed it); NULL after an explicit threshold.
	var contamination interface{}
	if m.Contamination > 0 {
		contamination = formatFloat(m.Contamination)
	}
	rows := []sql.Row{
		{"name", name},
		{"database", db},
		{"algorithm", m.Algorithm},
		{"status", "ready"},
		{"features", strings.Join(m.Features, ",")},
		{"threshold", formatFloat(m.Threshold)},
		{"contamination", contamination},
		{"training_rows", strconv.Itoa(m.TrainingRows)},
		{"rows_read", strconv.FormatInt(m.RowsRead, 10)},
		{"train_seconds", formatFloat(m.TrainSeconds)},
		{"train_loss", formatFloat(m.TrainLoss)},
		{"validation_loss", formatFloat(m.ValidationLoss)},
		{"created_at", m.CreatedAt.UTC().Format("2006-01-02 15:04:05")},
		{"format_version", strconv.Itoa(m.FormatVersion)},
		{"training_snapshots", snapshots},
		{"training_query", query},
	}
	if seq := recipeSequence(m); seq.orderBy != "" { // sequence_training.go
		var part interface{}
		if seq.partitionBy != "" {
			part = seq.partitionBy
		}
		rows = append(rows, sql.Row{"order_by", seq.orderBy}, sql.Row{"partition_by", part})
	}
	for _, k := range mapsKeys(m.Options) {
		rows = append(rows, sql.Row{"option." + k, m.Options[k]})
	}
	mean, scale := m.Preprocessing()
	enc := m.Encoding()
	for i, f := range m.Features {
		j := i
		if enc != nil {
			// A detector with string, date or time features: each
			// feature's encoding, and the statistics of its value
			// (a categorical feature's one-hot columns have none to show).
			c := enc.Columns()[i]
			rows = append(rows, sql.Row{"feature." + f + ".encoding", m.DescribeEncoding(i)})
			if c.Kind == detectors.KindCategorical {
				continue
			}
			j, _ = enc.Span(i)
		}
		rows = append(rows, sql.Row{"feature." + f + ".mean", formatFloat(mean[j])}, sql.Row{"feature." + f + ".scale", formatFloat(scale[j])})
	}
	return rows
}

// mapsKeys returns the keys of m, sorted.
func mapsKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// formatFloat is v in its shortest decimal form that reads back as v,
// or nil (NULL) for NaN, a value not recorded.
func formatFloat(v float64) interface{} {
	if math.IsNaN(v) {
		return nil
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// RowIter implements sql.ExecSourceRel. It needs SELECT on the database.
func (n *showCreateDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	d, _, err := n.svc.lookupInfo(ctx, n.db, n.name)
	if err != nil {
		return nil, err
	}
	stmt, complete := createStatement(d.name, d.model)
	if !complete {
		ctx.Warn(codeRecipeNotStored, "The training SELECT of DETECTOR %s was not stored (it was created before anomalydb kept it): the statement cannot recreate it", d.name)
	}
	return sql.RowsToRowIter(sql.NewRow(d.name, stmt)), nil
}

// codeRecipeNotStored is the warning of SHOW CREATE DETECTOR for a
// detector whose training SELECT was not stored.
const codeRecipeNotStored = 1105 // ER_UNKNOWN_ERROR

// createStatement returns the CREATE DETECTOR statement that recreates
// the detector name: its algorithm, the options the user gave (the seed
// added if not given, with its value) and its training SELECT. Run on
// the same data, it makes a detector with bit-identical scores. For a
// detector created before the SELECT was stored (complete false), the
// statement lists every option with its value and says, in place of the
// SELECT, that it was not stored: running it is a syntax error, never a
// detector trained on other rows.
func createStatement(name string, m *detectors.Model) (stmt string, complete bool) {
	var opts []detectors.RecipeOption
	if m.Recipe != nil {
		opts = slices.Clone(m.Recipe.Options)
		if !slices.ContainsFunc(opts, func(o detectors.RecipeOption) bool { return o.Name == "seed" }) {
			opts = append(opts, detectors.RecipeOption{Name: "seed", Value: m.Options["seed"]})
			slices.SortFunc(opts, func(a, b detectors.RecipeOption) int { return strings.Compare(a.Name, b.Name) })
		}
	} else {
		for _, k := range mapsKeys(m.Options) {
			opts = append(opts, detectors.RecipeOption{Name: k, Value: m.Options[k]})
		}
	}
	var b strings.Builder
	b.WriteString("CREATE DETECTOR " + quoteIdent(name) + " USING " + m.Algorithm + " WITH (")
	for i, o := range opts {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(o.Name + " = " + optionLiteral(o.Value))
	}
	b.WriteString(") AS ")
	if m.Recipe == nil {
		b.WriteString("/* the training SELECT of this detector was not stored (it was created before anomalydb kept it; " +
			"neither was its label column, if it had one) */")
		return b.String(), false
	}
	b.WriteString(m.Recipe.Query)
	return b.String(), true
}

// plainNumber matches the option values written without quotes.
var plainNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$`)

// optionLiteral writes an option value as the DETECTOR parser reads it
// back: a number as it is, anything else as a quoted string.
func optionLiteral(v string) string {
	if plainNumber.MatchString(v) {
		return v
	}
	return sqlQuote(v)
}

// sqlQuote writes s as a single-quoted SQL string that reads back as
// s (in the default sql_mode, where a backslash escapes).
func sqlQuote(s string) string {
	return "'" + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), "'", "''") + "'"
}

// recipe returns what CREATE DETECTOR keeps of itself: the options as
// given (label included, values bound to placeholders in place of the
// ?), sorted by name, and the training SELECT with the values bound to
// its placeholders written in. Should the placeholders not be found
// where vitess counted them, the SELECT is kept with its ?, so that the
// statement SHOW CREATE DETECTOR shows fails (1064) rather than trains
// on other rows.
func (n *createDetectorNode) recipe() *detectors.Recipe {
	r := &detectors.Recipe{}
	for _, k := range mapsKeys(n.options) {
		r.Options = append(r.Options, detectors.RecipeOption{Name: k, Value: n.options[k]})
	}
	q, err := bindSelectText(n.selectSQL, n.selectParams, n.selectBindings)
	if err != nil {
		q = n.selectSQL
	}
	r.Query = q
	return r
}

// bindSelectText returns query with its params ? placeholders (outside
// strings, quoted identifiers and comments) replaced by the SQL literals
// of the values bound to them (v1, v2, … in order).
func bindSelectText(query string, params int, bindings map[string]sql.Expression) (string, error) {
	if params == 0 {
		return query, nil
	}
	var b strings.Builder
	k := 0
	for i := 0; i < len(query); {
		c := query[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(query, i, false)
			b.WriteString(query[i:j])
			i = j
		case c == '#' || isDashComment(query[i:]) || strings.HasPrefix(query[i:], "/*"):
			j := len(query)
			if strings.HasPrefix(query[i:], "/*") {
				if e := strings.Index(query[i+2:], "*/"); e >= 0 {
					j = i + 2 + e + 2
				}
			} else if nl := strings.IndexByte(query[i:], '\n'); nl >= 0 {
				j = i + nl + 1
			}
			b.WriteString(query[i:j])
			i = j
		case c == '?':
			k++
			lit, err := sqlLiteral(bindings[fmt.Sprintf("v%d", k)])
			if err != nil {
				return "", fmt.Errorf("placeholder %d: %w", k, err)
			}
			b.WriteString(lit)
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	if k != params {
		return "", fmt.Errorf("found %d placeholders in the training SELECT, want %d", k, params)
	}
	return b.String(), nil
}

// sqlLiteral writes a bound value as a SQL literal of the same value and
// type: a DOUBLE in exponent form (a decimal literal would be DECIMAL),
// bytes in hexadecimal, a time as a quoted string.
func sqlLiteral(e sql.Expression) (string, error) {
	lit, ok := e.(*expression.Literal)
	if !ok {
		return "", fmt.Errorf("unexpected value %v", e)
	}
	switch v := lit.Value().(type) {
	case nil:
		return "NULL", nil
	case string:
		return sqlQuote(v), nil
	case []byte:
		return "X'" + hex.EncodeToString(v) + "'", nil
	case float64:
		return strconv.FormatFloat(v, 'e', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(v), 'e', -1, 64), nil
	case decimal.Decimal:
		return v.String(), nil
	case time.Time:
		return sqlQuote(v.Format("2006-01-02 15:04:05.999999")), nil
	case bool:
		if v {
			return "TRUE", nil
		}
		return "FALSE", nil
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v), nil
	default:
		return sqlQuote(fmt.Sprint(v)), nil
	}
}

// RowIter implements sql.ExecSourceRel. It needs what DROP DETECTOR
// needs on the detector's database and what CREATE DETECTOR needs on
// the target's (DROP and CREATE), and commits the open transaction
// first, as DDL does.
func (n *renameDetectorNode) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Drop, n.fromDB, n.from); err != nil {
		return nil, err
	}
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Create, n.toDB, n.to); err != nil {
		return nil, err
	}
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	if err := n.svc.rename(ctx, n); err != nil {
		return nil, err
	}
	return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))), nil
}

// rename renames a detector, on disk (atomically and durably, see
// storage.RenameDetector) and in memory. Scoring calls that already hold
// the model finish with it; later ones find it only under its new name.
// A rename onto another detector's name is 1304, of an unknown detector
// 1305; renaming a detector to its own name in another case changes the
// case.
func (s *detectorService) rename(ctx *sql.Context, n *renameDetectorNode) error {
	fromDB, from, err := resolveName(ctx, n.fromDB, n.from)
	if err != nil {
		return err
	}
	toDB, to, err := resolveName(ctx, n.toDB, n.to)
	if err != nil {
		return err
	}
	if !hasDatabase(s.store, fromDB) {
		return sql.ErrDatabaseNotFound.New(fromDB)
	}
	if !hasDatabase(s.store, toDB) {
		return sql.ErrDatabaseNotFound.New(toDB)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fk, tk := strings.ToLower(fromDB), strings.ToLower(toDB)
	d, ok := s.byDB[fk][strings.ToLower(from)]
	if !ok {
		return s.notFoundLocked(fromDB, from, from)
	}
	self := fk == tk && strings.EqualFold(from, to)
	if _, taken := s.byDB[tk][strings.ToLower(to)]; taken && !(self && d.name != to) {
		return errDetectorExists(to)
	}
	if tr := s.trainingLocked(toDB, to); tr != nil { // detector_training.go
		return errBeingTrained(tr)
	}
	err = s.store.RenameDetector(fromDB, d.name, toDB, to)
	switch {
	case errors.Is(err, storage.ErrDetectorExists):
		return errDetectorExists(to)
	case errors.Is(err, storage.ErrDetectorNotFound):
		return errDetectorNotFound(from)
	case err != nil:
		return err
	}
	delete(s.byDB[fk], strings.ToLower(from))
	d.name = to
	s.byDBLocked(toDB)[strings.ToLower(to)] = d
	s.gen.Add(1)
	return nil
}
