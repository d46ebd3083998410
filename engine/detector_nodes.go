package engine

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"
)

// createDetectorNode is CREATE DETECTOR [IF NOT EXISTS] [db.]name USING
// algorithm [WITH (...)] AS SELECT ....
type createDetectorNode struct {
	svc         *detectorService
	db, name    string
	ifNotExists bool
	orReplace   bool // CREATE OR REPLACE DETECTOR (detector_meta.go)
	algorithm   string
	options     map[string]string
	selectSQL   string
	query       string // the statement, for errors

	// Placeholders (see parseDetector): the options whose value is ?,
	// then the ? of the SELECT.
	optionParams []string
	selectParams int
	// The SELECT's bound values, by its own placeholder names (v1, …).
	selectBindings map[string]sql.Expression
	unbound        bool // a ? has no value: the statement was not prepared
}

// dropDetectorNode is DROP DETECTOR [IF EXISTS] [db.]name.
type dropDetectorNode struct {
	svc      *detectorService
	db, name string
	ifExists bool
}

// showDetectorsNode is SHOW DETECTORS [FROM db] [LIKE pattern | WHERE expr].
type showDetectorsNode struct {
	svc       *detectorService
	db        string
	like      *string // the pattern, nil for none
	likeParam bool    // LIKE ?
	unbound   bool    // the ? has no value: the statement was not prepared
	query     string  // the statement, for errors

	// WHERE expr (detector_meta.go): its text, its ? placeholders and
	// the values bound to them (v1, …).
	where         string
	whereParams   int
	whereBindings map[string]sql.Expression
}

var (
	_ detectorNode = (*createDetectorNode)(nil)
	_ detectorNode = (*dropDetectorNode)(nil)
	_ detectorNode = (*showDetectorsNode)(nil)
)

func (n *createDetectorNode) setService(s *detectorService) { n.svc = s }
func (n *dropDetectorNode) setService(s *detectorService)   { n.svc = s }
func (n *showDetectorsNode) setService(s *detectorService)  { n.svc = s }

func (n *createDetectorNode) params() int { return len(n.optionParams) + n.selectParams }
func (n *dropDetectorNode) params() int   { return 0 }
func (n *showDetectorsNode) params() int {
	if n.likeParam {
		return 1
	}
	return n.whereParams
}

// WithResolvedChildren implements ast.Injectable: children are the
// values bound to the placeholders (see parseDetector), BindVars where
// none is bound (the statement being prepared, or run unprepared).
func (n *createDetectorNode) WithResolvedChildren(children []any) (any, error) {
	if len(children) != n.params() {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), n.params())
	}
	if len(children) == 0 {
		return n, nil
	}
	nn := *n
	nn.options = maps.Clone(n.options)
	for i, key := range n.optionParams {
		v, bound, err := boundText(children[i])
		if err != nil {
			return nil, fmt.Errorf("option %s: %w", key, err)
		}
		nn.options[key] = v
		nn.unbound = nn.unbound || !bound
	}
	if n.selectParams > 0 {
		nn.selectBindings = map[string]sql.Expression{}
		for k := range n.selectParams {
			e, ok := children[len(n.optionParams)+k].(sql.Expression)
			if !ok {
				return nil, fmt.Errorf("placeholder %d: unexpected %T", len(n.optionParams)+k+1, children[len(n.optionParams)+k])
			}
			if _, isVar := e.(*expression.BindVar); isVar {
				nn.unbound = true
			}
			nn.selectBindings[fmt.Sprintf("v%d", k+1)] = e
		}
	}
	return &nn, nil
}

// WithResolvedChildren implements ast.Injectable.
func (n *dropDetectorNode) WithResolvedChildren([]any) (any, error) { return n, nil }

// WithResolvedChildren implements ast.Injectable: the value bound to LIKE
// ?, if any.
func (n *showDetectorsNode) WithResolvedChildren(children []any) (any, error) {
	if len(children) != n.params() {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(children), n.params())
	}
	if len(children) == 0 {
		return n, nil
	}
	if n.whereParams > 0 {
		return n.withWhereBindings(children)
	}
	nn := *n
	v, bound, err := boundText(children[0])
	if err != nil {
		return nil, fmt.Errorf("LIKE: %w", err)
	}
	nn.like, nn.unbound = &v, !bound
	return &nn, nil
}

// boundText is the value bound to a placeholder as the text a DETECTOR
// statement would hold in its place (numbers in their shortest decimal
// form); bound is false for a placeholder without a value.
func boundText(child any) (text string, bound bool, err error) {
	switch e := child.(type) {
	case *expression.BindVar:
		return "", false, nil
	case *expression.Literal:
		switch v := e.Value().(type) {
		case nil:
			return "", true, errors.New("the value is NULL")
		case string:
			return v, true, nil
		case []byte:
			return string(v), true, nil
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64), true, nil
		case float32:
			return strconv.FormatFloat(float64(v), 'g', -1, 32), true, nil
		case decimal.Decimal:
			return v.String(), true, nil
		case time.Time:
			return v.Format("2006-01-02 15:04:05.999999"), true, nil
		default:
			return fmt.Sprint(v), true, nil
		}
	}
	return "", false, fmt.Errorf("unexpected value %v", child)
}

// errUnbound is the error of a DETECTOR statement run with a ? but no
// value for it (not prepared), as MySQL answers a ? outside a prepared
// statement: a syntax error at the ?.
func errUnbound(query string) error {
	pos := strings.IndexByte(query, '?')
	return errSyntax(query, pos, "a ? placeholder needs a prepared statement")
}

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
	if n.unbound {
		return nil, errUnbound(n.query)
	}
	if err := n.svc.authorize(ctx, sql.PrivilegeType_Create, n.db, n.name); err != nil {
		return nil, err
	}
	if n.orReplace { // it may drop the detector it replaces
		if err := n.svc.authorize(ctx, sql.PrivilegeType_Drop, n.db, n.name); err != nil {
			return nil, err
		}
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
	// rows_read: the rows the training SELECT returned; training_rows is
	// how many of them were trained on, a seeded sample of at most the
	// max_train_rows option (detectors/row_sampler.go).
	{Name: "rows_read", Type: types.Int64, Nullable: true},
	// training_snapshots: the snapshots the training SELECT read,
	// "db.t@<snapshot id>,…" (training_reads.go); NULL if none or unknown.
	{Name: "training_snapshots", Type: types.LongText, Nullable: true},
	// epoch, epochs, loss (detector_training.go): the last epoch run, the
	// epochs planned (fewer run with early stopping) and the last epoch's
	// training loss; while it trains (status "training") so far. NULL
	// for a detector saved before its training log was kept.
	{Name: "epoch", Type: types.Int64, Nullable: true},
	{Name: "epochs", Type: types.Int64, Nullable: true},
	{Name: "loss", Type: types.Float64, Nullable: true},
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
	if n.unbound {
		return nil, errUnbound(n.query)
	}
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
	if n.where != "" {
		return n.showWhereRows(ctx, canonicalDatabase(n.svc.store, db)) // detector_meta.go
	}
	var match func(string) bool
	if n.like != nil {
		match = likeMatcher(*n.like)
	}
	return sql.RowsToRowIter(n.svc.detectorRows(db, match)...), nil
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

// likeMatcher returns the test of SHOW DETECTORS LIKE pattern: % matches
// any characters, _ one, \ escapes the next; detector names compare
// case-insensitively, as they are looked up.
func likeMatcher(pattern string) func(string) bool {
	var re strings.Builder
	re.WriteString("(?is)^")
	rs := []rune(pattern)
	for i := 0; i < len(rs); i++ {
		switch c := rs[i]; {
		case c == '\\' && i+1 < len(rs):
			i++
			re.WriteString(regexp.QuoteMeta(string(rs[i])))
		case c == '%':
			re.WriteString(".*")
		case c == '_':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	re.WriteString("$")
	r := regexp.MustCompile(re.String())
	return r.MatchString
}
