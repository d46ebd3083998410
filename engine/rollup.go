package engine

import (
	"context"
	"encoding/hex"
	"errors"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// GROUP BY ... WITH ROLLUP.
//
// The MySQL parser of go-mysql-server does not know WITH ROLLUP. When it
// rejects a statement that holds the words WITH ROLLUP, rollupParser
// parses it again with each WITH ROLLUP replaced by a marker grouping
// column (markRollup), and rewrites each SELECT whose GROUP BY ends with
// the marker into an equivalent query (rewriteRollupSelect):
//
//	SELECT c1 AS <name1>, ... FROM (
//	    SELECT <exprs>, <hidden sort keys> FROM ... WHERE ... GROUP BY g1, ..., gn HAVING ...
//	    UNION ALL
//	    SELECT <exprs, gn as NULL>, ... GROUP BY g1, ..., g(n-1) HAVING ...
//	    ...
//	    UNION ALL
//	    SELECT <exprs, g1..gn as NULL>, ... HAVING ... AND COUNT(*) > 0
//	) AS __rollup ORDER BY <the query's ORDER BY>, <MySQL's rollup order> LIMIT ...
//
// Each level re-runs the aggregates over the base rows. Outside
// aggregates and subqueries, the rolled-up grouping expressions read
// NULL and GROUPING(...) is a constant; HAVING is evaluated per level
// with the same substitution, as MySQL evaluates it on the
// super-aggregate rows. Without an ORDER BY, rows come out as MySQL
// sends them: groups in ascending order, each followed by its
// super-aggregate row, the grand total last. The statement is then
// printed (sqlparser.String) and parsed again, so that the statement
// and its text agree.

// rollupMarker is the grouping column that stands for WITH ROLLUP. The
// text that replaces "WITH ROLLUP" is "," + rollupMarker, padded with
// spaces to the length of what it replaces, so that positions in the
// text (the start of the next statement of a multi-statement query) do
// not change.
const rollupMarker = "__rollup__"

// errNoRollup means the statement is not one that WITH ROLLUP makes
// valid: the parser's own error stands.
var errNoRollup = errors.New("no rollup")

// rollupParser wraps go-mysql-server's parser: a statement that it
// rejects and that holds WITH ROLLUP is rewritten as described above.
// Statements that parse pay nothing.
type rollupParser struct {
	sql.Parser
}

// ParseSimple implements sql.Parser.
func (p rollupParser) ParseSimple(query string) (ast.Statement, error) {
	stmt, err := p.Parser.ParseSimple(query)
	if err == nil {
		return stmt, nil
	}
	marked, ok := markRollup(query, false)
	if !ok {
		return stmt, err
	}
	mstmt, merr := p.Parser.ParseSimple(marked)
	if merr != nil {
		return stmt, err
	}
	text, rerr := rewriteRollup(context.Background(), mstmt, ast.ParserOptions{})
	if rerr != nil {
		return stmt, rollupError(rerr, err)
	}
	return p.reparse(context.Background(), text, ';', ast.ParserOptions{})
}

// Parse implements sql.Parser.
func (p rollupParser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	stmt, parsed, rest, err := p.Parser.Parse(ctx, query, multi)
	if err == nil {
		return stmt, parsed, rest, nil
	}
	return p.fallback(ctx, query, ';', multi, sql.LoadSqlMode(ctx).ParserOptions(), stmt, parsed, rest, err)
}

// ParseWithOptions implements sql.Parser.
func (p rollupParser) ParseWithOptions(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	stmt, parsed, rest, err := p.Parser.ParseWithOptions(ctx, query, delimiter, multi, options)
	if err == nil {
		return stmt, parsed, rest, nil
	}
	return p.fallback(ctx, query, delimiter, multi, options, stmt, parsed, rest, err)
}

// fallback is ParseWithOptions for a query the parser rejected with err.
func (p rollupParser) fallback(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions,
	stmt ast.Statement, parsed, rest string, err error) (ast.Statement, string, string, error) {
	s := sql.RemoveSpaceAndDelimiter(query, delimiter)
	marked, ok := markRollup(s, options.AnsiQuotes)
	if !ok {
		return stmt, parsed, rest, err
	}
	var mstmt ast.Statement
	var merr error
	remainder := ""
	if multi {
		var ri int
		mstmt, ri, merr = p.Parser.ParseOneWithOptions(ctx, marked, options)
		if merr == nil && ri != 0 && ri < len(s) {
			remainder = s[ri:]
		}
	} else {
		mstmt, _, _, merr = p.Parser.ParseWithOptions(ctx, marked, delimiter, false, options)
	}
	if merr != nil {
		return stmt, parsed, rest, err
	}
	text, rerr := rewriteRollup(ctx, mstmt, options)
	if rerr != nil {
		return stmt, parsed, rest, rollupError(rerr, err)
	}
	nstmt, nerr := p.reparse(ctx, text, delimiter, options)
	if nerr != nil {
		return nil, "", "", nerr
	}
	return nstmt, text, remainder, nil
}

// ParseOneWithOptions implements sql.Parser.
func (p rollupParser) ParseOneWithOptions(ctx context.Context, query string, options ast.ParserOptions) (ast.Statement, int, error) {
	stmt, next, err := p.Parser.ParseOneWithOptions(ctx, query, options)
	if err == nil {
		return stmt, next, nil
	}
	marked, ok := markRollup(query, options.AnsiQuotes)
	if !ok {
		return stmt, next, err
	}
	mstmt, mnext, merr := p.Parser.ParseOneWithOptions(ctx, marked, options)
	if merr != nil {
		return stmt, next, err
	}
	text, rerr := rewriteRollup(ctx, mstmt, options)
	if rerr != nil {
		return stmt, next, rollupError(rerr, err)
	}
	nstmt, nerr := p.reparse(ctx, text, ';', options)
	if nerr != nil {
		return nil, 0, nerr
	}
	return nstmt, mnext, nil
}

// reparse parses the rewritten text. It fails only if sqlparser.String
// printed something its parser does not read back.
func (p rollupParser) reparse(ctx context.Context, text string, delimiter rune, options ast.ParserOptions) (ast.Statement, error) {
	stmt, _, _, err := p.Parser.ParseWithOptions(ctx, text, delimiter, false, options)
	if err != nil {
		return nil, errRollupUnsupported("WITH ROLLUP on this query")
	}
	return stmt, nil
}

// rollupError is the error of a statement with WITH ROLLUP that could
// not be rewritten: the parser's own (parseErr) if WITH ROLLUP is not
// where it belongs.
func rollupError(err, parseErr error) error {
	if errors.Is(err, errNoRollup) {
		return parseErr
	}
	return err
}

func errRollupUnsupported(what string) error {
	return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000", "This version of MySQL doesn't yet support '%s'", what)
}

// rollupErrorRE matches the text go-mysql-server makes of an error of
// rollupParser, which it reports as a syntax error (1105).
var rollupErrorRE = regexp.MustCompile(`^((?:This version of MySQL doesn't yet support '|Argument #\d+ of GROUPING function ).*) \(errno (1235|3580)\) \(sqlstate (\w+)\)$`)

// asRollupError returns the error of rollupParser that se reports, or
// nil.
func asRollupError(se *mysql.SQLError) *mysql.SQLError {
	m := rollupErrorRE.FindStringSubmatch(se.Message)
	if m == nil {
		return nil
	}
	code, _ := strconv.Atoi(m[2])
	return mysql.NewSQLError(code, m[3], "%s", m[1])
}

// markRollup returns query with each WITH ROLLUP (two tokens, comments
// between them allowed) replaced by ", __rollup__" of the same length,
// and whether there was one.
func markRollup(query string, ansiQuotes bool) (string, bool) {
	if !strings.Contains(strings.ToLower(query), "rollup") {
		return query, false
	}
	tkn := ast.NewStringTokenizer(query)
	if ansiQuotes {
		tkn = ast.NewStringTokenizerForAnsiQuotes(query)
	}
	var b []byte
	with := -1 // start of a WITH just before
	for {
		typ, val := tkn.Scan()
		if typ == 0 || typ == ast.LEX_ERROR {
			break
		}
		if typ == ast.COMMENT {
			continue
		}
		// Position is one past the character after the token.
		end := tkn.Position - 1
		start := end - len(val)
		exact := start >= 0 && end <= len(query) && strings.EqualFold(query[start:end], string(val))
		switch {
		case typ == ast.ID && exact && with >= 0 && strings.EqualFold(string(val), "rollup"):
			if b == nil {
				b = []byte(query)
			}
			repl := "," + rollupMarker
			if end-with < len(repl) {
				return query, false
			}
			copy(b[with:end], repl+strings.Repeat(" ", end-with-len(repl)))
			with = -1
		case typ == ast.WITH && exact:
			with = start
		default:
			with = -1
		}
	}
	if b == nil {
		return query, false
	}
	return string(b), true
}

// rewriteRollup rewrites each SELECT of stmt whose GROUP BY ends with the
// marker and returns the text of the statement.
func rewriteRollup(ctx context.Context, stmt ast.Statement, options ast.ParserOptions) (string, error) {
	var sels []*ast.Select
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if s, ok := n.(*ast.Select); ok && len(s.GroupBy) > 1 && isRollupMarker(s.GroupBy[len(s.GroupBy)-1]) {
			sels = append(sels, s)
		}
		return true, nil
	}, stmt)
	if len(sels) == 0 {
		return "", errNoRollup
	}
	switch stmt.(type) {
	case *ast.Select, *ast.SetOp, *ast.ParenSelect:
	default:
		return "", errRollupUnsupported("WITH ROLLUP outside a SELECT statement")
	}
	// Inner SELECTs first (Walk lists a node before what it contains):
	// a SELECT's rewrite prints its subqueries.
	for i := len(sels) - 1; i >= 0; i-- {
		r := &rollupRewriter{ctx: ctx, options: options, sel: sels[i]}
		ns, err := r.rewrite()
		if err != nil {
			return "", err
		}
		*sels[i] = *ns
	}
	// A rewritten SELECT in a UNION needs parentheses for its ORDER BY.
	rewritten := map[*ast.Select]bool{}
	for _, s := range sels {
		rewritten[s] = true
	}
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if so, ok := n.(*ast.SetOp); ok {
			for _, side := range []*ast.SelectStatement{&so.Left, &so.Right} {
				if s, ok := (*side).(*ast.Select); ok && rewritten[s] {
					*side = &ast.ParenSelect{Select: s}
				}
			}
		}
		return true, nil
	}, stmt)
	text := ast.String(stmt)
	if strings.Contains(strings.ToLower(text), rollupMarker) {
		return "", errNoRollup // a WITH ROLLUP elsewhere than after a GROUP BY
	}
	return text, nil
}

func isRollupMarker(e ast.Expr) bool {
	c, ok := e.(*ast.ColName)
	return ok && c.Qualifier.IsEmpty() && strings.EqualFold(c.Name.String(), rollupMarker)
}

// rollupRewriter rewrites one SELECT ... GROUP BY ... WITH ROLLUP.
type rollupRewriter struct {
	ctx     context.Context
	options ast.ParserOptions
	sel     *ast.Select
	exprs   []*ast.AliasedExpr // the select list
	names   []string           // the result's column names
	groups  []ast.Expr         // GROUP BY, positions and aliases resolved
}

// Names of the columns of the derived table.
func rollupCol(i int) string   { return "__rollup_c" + strconv.Itoa(i) }
func rollupOrder(i int) string { return "__rollup_o" + strconv.Itoa(i) }
func rollupGroup(i int) string { return "__rollup_g" + strconv.Itoa(i) }
func rollupLevel(i int) string { return "__rollup_r" + strconv.Itoa(i) }

func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

func (r *rollupRewriter) rewrite() (*ast.Select, error) {
	sel := r.sel
	switch {
	case sel.QueryOpts.Distinct:
		return nil, errRollupUnsupported("DISTINCT with WITH ROLLUP")
	case sel.QueryOpts.SQLCalcFoundRows:
		return nil, errRollupUnsupported("SQL_CALC_FOUND_ROWS with WITH ROLLUP")
	case sel.Into != nil:
		return nil, errRollupUnsupported("INTO with WITH ROLLUP")
	case len(sel.Window) > 0 || hasWindow(sel):
		return nil, errRollupUnsupported("window functions with WITH ROLLUP")
	}
	for _, se := range sel.SelectExprs {
		ae, ok := se.(*ast.AliasedExpr)
		if !ok {
			return nil, errRollupUnsupported("'*' in the select list with WITH ROLLUP")
		}
		r.exprs = append(r.exprs, ae)
		r.names = append(r.names, columnName(ae))
	}
	for _, g := range sel.GroupBy[:len(sel.GroupBy)-1] {
		e, err := r.resolveGroup(g)
		if err != nil {
			return nil, err
		}
		r.groups = append(r.groups, e)
	}
	n := len(r.groups)

	// ORDER BY: a column of the result, or a hidden column.
	var outerOrder []string
	var hidden []ast.Expr
	for _, o := range sel.OrderBy {
		dir := " asc"
		if strings.EqualFold(o.Direction, ast.DescScr) {
			dir = " desc"
		}
		i, err := r.resultColumn(o.Expr, "order clause")
		if err != nil {
			return nil, err
		}
		if i >= 0 {
			outerOrder = append(outerOrder, quoteIdent(rollupCol(i))+dir)
			continue
		}
		e, err := r.expandAliases(o.Expr, false)
		if err != nil {
			return nil, err
		}
		outerOrder = append(outerOrder, quoteIdent(rollupOrder(len(hidden)))+dir)
		hidden = append(hidden, e)
	}
	// MySQL's order: by each grouping column, its super-aggregate rows
	// after its detail rows.
	for i := 0; i < n; i++ {
		outerOrder = append(outerOrder, quoteIdent(rollupLevel(i))+" asc", quoteIdent(rollupGroup(i))+" asc")
	}

	var having ast.Expr
	if sel.Having != nil && sel.Having.Expr != nil {
		var err error
		if having, err = r.expandAliases(sel.Having.Expr, true); err != nil {
			return nil, err
		}
	}

	var branches []string
	for k := 0; k <= n; k++ { // k grouping columns rolled up
		kept := n - k
		rolled := func(j int) bool { return j >= kept }
		b := &ast.Select{From: sel.From, Where: sel.Where}
		for i, ae := range r.exprs {
			e, err := r.substitute(ae.Expr, rolled)
			if err != nil {
				return nil, err
			}
			b.SelectExprs = append(b.SelectExprs, &ast.AliasedExpr{Expr: e, As: ast.NewColIdent(rollupCol(i))})
		}
		for i, h := range hidden {
			e, err := r.substitute(h, rolled)
			if err != nil {
				return nil, err
			}
			b.SelectExprs = append(b.SelectExprs, &ast.AliasedExpr{Expr: e, As: ast.NewColIdent(rollupOrder(i))})
		}
		for j, g := range r.groups {
			var e, lvl ast.Expr = &ast.NullVal{}, ast.NewIntVal([]byte("1"))
			if !rolled(j) {
				var err error
				if e, err = r.clone(g); err != nil {
					return nil, err
				}
				lvl = ast.NewIntVal([]byte("0"))
				b.GroupBy = append(b.GroupBy, e)
				if e, err = r.clone(g); err != nil {
					return nil, err
				}
			}
			b.SelectExprs = append(b.SelectExprs,
				&ast.AliasedExpr{Expr: e, As: ast.NewColIdent(rollupGroup(j))},
				&ast.AliasedExpr{Expr: lvl, As: ast.NewColIdent(rollupLevel(j))})
		}
		var cond ast.Expr
		if having != nil {
			e, err := r.substitute(having, rolled)
			if err != nil {
				return nil, err
			}
			cond = &ast.ParenExpr{Expr: e}
		}
		if kept == 0 {
			// The grand total of no rows is no row, as in MySQL.
			nonEmpty, err := r.parseExpr("count(*) > 0")
			if err != nil {
				return nil, err
			}
			if cond == nil {
				cond = nonEmpty
			} else {
				cond = &ast.AndExpr{Left: cond, Right: nonEmpty}
			}
		}
		if cond != nil {
			b.Having = &ast.Where{Type: ast.HavingStr, Expr: cond}
		}
		branches = append(branches, ast.String(b))
	}

	var q strings.Builder
	if sel.With != nil {
		q.WriteString(ast.String(sel.With))
		q.WriteString(" ")
	}
	q.WriteString("select ")
	for i, name := range r.names {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteString(quoteIdent(rollupCol(i)) + " as " + quoteIdent(name))
	}
	q.WriteString(" from (")
	q.WriteString(strings.Join(branches, " union all "))
	q.WriteString(") as `__rollup` order by ")
	q.WriteString(strings.Join(outerOrder, ", "))
	if sel.Limit != nil {
		q.WriteString(ast.String(sel.Limit))
	}
	q.WriteString(sel.Lock)
	stmt, err := ast.ParseWithOptions(r.ctx, q.String(), r.options)
	if err != nil {
		return nil, errRollupUnsupported("WITH ROLLUP on this query")
	}
	ns, ok := stmt.(*ast.Select)
	if !ok {
		return nil, errRollupUnsupported("WITH ROLLUP on this query")
	}
	return ns, nil
}

// columnName is the name MySQL gives the column of a select expression:
// its alias, a column's name, or the expression as written.
func columnName(ae *ast.AliasedExpr) string {
	if !ae.As.IsEmpty() {
		return ae.As.String()
	}
	if c, ok := ae.Expr.(*ast.ColName); ok {
		return c.Name.String()
	}
	if ae.InputExpression != "" {
		return ae.InputExpression
	}
	return ast.String(ae.Expr)
}

// hasWindow reports whether the select list, HAVING or ORDER BY of sel
// calls a window function.
func hasWindow(sel *ast.Select) bool {
	found := false
	visit := func(n ast.SQLNode) (bool, error) {
		switch x := n.(type) {
		case *ast.Subquery:
			return false, nil
		case *ast.FuncExpr:
			if x.Over != nil {
				found = true
			}
		}
		return !found, nil
	}
	_ = ast.Walk(visit, sel.SelectExprs, sel.OrderBy)
	if sel.Having != nil {
		_ = ast.Walk(visit, sel.Having)
	}
	return found
}

// resultColumn returns the index of the result column that an ORDER BY
// item names (a position, an alias or a selected column), or -1.
func (r *rollupRewriter) resultColumn(e ast.Expr, clause string) (int, error) {
	if v, ok := e.(*ast.SQLVal); ok && v.Type == ast.IntVal {
		p, err := strconv.Atoi(string(v.Val))
		if err != nil || p < 1 || p > len(r.exprs) {
			return -1, errBadField(string(v.Val), clause)
		}
		return p - 1, nil
	}
	c, ok := e.(*ast.ColName)
	if !ok || !c.Qualifier.IsEmpty() {
		return -1, nil
	}
	for i, ae := range r.exprs {
		if !ae.As.IsEmpty() && ae.As.Equal(c.Name) {
			return i, nil
		}
	}
	for i, ae := range r.exprs {
		if sc, ok := ae.Expr.(*ast.ColName); ok && ae.As.IsEmpty() && sc.Name.Equal(c.Name) {
			return i, nil
		}
	}
	return -1, nil
}

// resolveGroup returns the expression a GROUP BY item stands for: a
// position or the alias of a select expression (unless the alias is the
// name of the column it selects) means that expression.
func (r *rollupRewriter) resolveGroup(g ast.Expr) (ast.Expr, error) {
	if v, ok := g.(*ast.SQLVal); ok && v.Type == ast.IntVal {
		p, err := strconv.Atoi(string(v.Val))
		if err != nil || p < 1 || p > len(r.exprs) {
			return nil, errBadField(string(v.Val), "group statement")
		}
		return r.exprs[p-1].Expr, nil
	}
	if c, ok := g.(*ast.ColName); ok && c.Qualifier.IsEmpty() {
		for _, ae := range r.exprs {
			if ae.As.IsEmpty() || !ae.As.Equal(c.Name) {
				continue
			}
			if sc, ok := ae.Expr.(*ast.ColName); ok && sc.Name.Equal(c.Name) {
				break
			}
			return ae.Expr, nil
		}
	}
	return g, nil
}

// group returns the index of the grouping expression e is, or -1.
func (r *rollupRewriter) group(e ast.Expr) int {
	for j, g := range r.groups {
		if sameExpr(e, g) {
			return j
		}
	}
	return -1
}

// sameExpr reports whether a and b are the same expression; columns
// match by name when one of them is unqualified.
func sameExpr(a, b ast.Expr) bool {
	ca, okA := a.(*ast.ColName)
	cb, okB := b.(*ast.ColName)
	if okA || okB {
		return okA && okB && ca.Name.Equal(cb.Name) &&
			(ca.Qualifier.IsEmpty() || cb.Qualifier.IsEmpty() || strings.EqualFold(ca.Qualifier.Name.String(), cb.Qualifier.Name.String()))
	}
	return strings.EqualFold(ast.String(a), ast.String(b))
}

// aggregates are the aggregate functions: their arguments read the base
// rows, so a rolled-up grouping column in them is not NULL.
var aggregates = map[string]bool{
	"avg": true, "bit_and": true, "bit_or": true, "bit_xor": true, "count": true,
	"json_arrayagg": true, "json_objectagg": true, "max": true, "min": true,
	"std": true, "stddev": true, "stddev_pop": true, "stddev_samp": true, "sum": true,
	"var_pop": true, "var_samp": true, "variance": true, "group_concat": true,
}

// clone returns a copy of e, by printing and parsing it.
func (r *rollupRewriter) clone(e ast.Expr) (ast.Expr, error) {
	return r.parseExpr(ast.String(e))
}

func (r *rollupRewriter) parseExpr(text string) (ast.Expr, error) {
	stmt, err := ast.ParseWithOptions(r.ctx, "select "+text, r.options)
	if err == nil {
		if s, ok := stmt.(*ast.Select); ok && len(s.SelectExprs) == 1 {
			if ae, ok := s.SelectExprs[0].(*ast.AliasedExpr); ok {
				return ae.Expr, nil
			}
		}
	}
	return nil, errRollupUnsupported("WITH ROLLUP with the expression " + text)
}

// replaceIn replaces, in a copy of e, each node that pick returns a
// replacement for (pick is not called below a replaced node, nor where
// descend says no).
func (r *rollupRewriter) replaceIn(e ast.Expr, pick func(ast.Expr) (ast.Expr, bool, error)) (ast.Expr, error) {
	c, err := r.clone(e)
	if err != nil {
		return nil, err
	}
	type replacement struct{ from, to ast.Expr }
	var reps []replacement
	var perr error
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		x, ok := n.(ast.Expr)
		if !ok || perr != nil {
			return perr == nil, nil
		}
		to, descend, err := pick(x)
		if err != nil {
			perr = err
			return false, nil
		}
		if to != nil {
			if reflect.ValueOf(x).Kind() != reflect.Ptr {
				perr = errRollupUnsupported("WITH ROLLUP with the expression " + ast.String(x))
				return false, nil
			}
			reps = append(reps, replacement{x, to})
			return false, nil
		}
		return descend, nil
	}, c)
	if perr != nil {
		return nil, perr
	}
	for _, rp := range reps {
		c = ast.ReplaceExpr(c, rp.from, rp.to)
	}
	// Every replacement must have taken (ReplaceExpr skips node types it
	// does not know).
	left := false
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if x, ok := n.(ast.Expr); ok && reflect.ValueOf(x).Kind() == reflect.Ptr {
			for _, rp := range reps {
				if x == rp.from {
					left = true
				}
			}
		}
		return !left, nil
	}, c)
	if left {
		return nil, errRollupUnsupported("WITH ROLLUP with the expression " + ast.String(e))
	}
	return c, nil
}

// substitute returns e for the level where the grouping expressions
// that rolled reports are rolled up: those read NULL, and GROUPING(...)
// is the constant it has on that level.
func (r *rollupRewriter) substitute(e ast.Expr, rolled func(int) bool) (ast.Expr, error) {
	return r.replaceIn(e, func(x ast.Expr) (ast.Expr, bool, error) {
		switch f := x.(type) {
		case *ast.Subquery:
			return nil, false, nil
		case *ast.GroupConcatExpr:
			return nil, false, nil
		case *ast.FuncExpr:
			name := strings.ToLower(f.Name.String())
			if f.Qualifier.IsEmpty() && name == "grouping" {
				bits := 0
				for i, a := range f.Exprs {
					ae, ok := a.(*ast.AliasedExpr)
					j := -1
					if ok {
						j = r.group(ae.Expr)
					}
					if j < 0 {
						return nil, false, mysql.NewSQLError(3580, "HY000", "Argument #%d of GROUPING function is not in GROUP BY", i+1)
					}
					bits <<= 1
					if rolled(j) {
						bits |= 1
					}
				}
				return ast.NewIntVal([]byte(strconv.Itoa(bits))), false, nil
			}
			if f.Qualifier.IsEmpty() && aggregates[name] {
				return nil, false, nil
			}
		}
		if j := r.group(x); j >= 0 {
			if rolled(j) {
				return &ast.NullVal{}, false, nil
			}
			return nil, false, nil
		}
		return nil, true, nil
	})
}

// expandAliases replaces, in e, each unqualified column that is the
// alias of a select expression by that expression, as MySQL resolves
// names in HAVING and ORDER BY; in HAVING (groupsFirst) a grouping column
// of that name wins.
func (r *rollupRewriter) expandAliases(e ast.Expr, groupsFirst bool) (ast.Expr, error) {
	return r.replaceIn(e, func(x ast.Expr) (ast.Expr, bool, error) {
		switch c := x.(type) {
		case *ast.Subquery:
			return nil, false, nil
		case *ast.ColName:
			if !c.Qualifier.IsEmpty() || groupsFirst && r.group(c) >= 0 {
				return nil, false, nil
			}
			for _, ae := range r.exprs {
				if ae.As.IsEmpty() || !ae.As.Equal(c.Name) {
					continue
				}
				if sc, ok := ae.Expr.(*ast.ColName); ok && sc.Name.Equal(c.Name) {
					return nil, false, nil
				}
				to, err := r.clone(ae.Expr)
				if err != nil {
					return nil, false, err
				}
				return &ast.ParenExpr{Expr: to}, false, nil
			}
			return nil, false, nil
		}
		return nil, true, nil
	})
}

// Preparing statements with WITH ROLLUP.
//
// vitess parses the text of a COM_STMT_PREPARE before the handler sees
// it (see prepareListener), and rejects WITH ROLLUP. prepareConn
// therefore sends it, in place of such a statement, the marked text
// (same placeholders, which vitess counts) followed by the statement
// hex-encoded in a comment (disguiseRollup); handler.ComPrepare prepares
// the statement as the client wrote it (undisguiseRollup), which the
// parser rewrites.

const rollupDisguiseTag = " /* anomalydb rollup "

// disguiseRollup returns the text vitess parses in place of a statement
// with WITH ROLLUP, if query is one that vitess rejects.
func disguiseRollup(query string) (string, bool) {
	marked, ok := markRollup(query, false)
	if !ok {
		return "", false
	}
	if _, err := ast.Parse(query); err == nil {
		return "", false
	}
	if _, err := ast.Parse(marked); err != nil {
		return "", false
	}
	return marked + rollupDisguiseTag + hex.EncodeToString([]byte(query)) + " */", true
}

// undisguiseRollup returns the statement that query disguises.
func undisguiseRollup(query string) (string, bool) {
	i := strings.LastIndex(query, rollupDisguiseTag)
	if i < 0 || !strings.HasSuffix(query, " */") {
		return "", false
	}
	b, err := hex.DecodeString(query[i+len(rollupDisguiseTag) : len(query)-len(" */")])
	if err != nil {
		return "", false
	}
	if marked, ok := markRollup(string(b), false); !ok || marked != query[:i] {
		return "", false
	}
	return string(b), true
}
