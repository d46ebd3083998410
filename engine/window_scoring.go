package engine

import (
	"context"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function/aggregation/window"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/functions"
)

// The window form of anomaly_score and is_anomaly (sequence detectors):
//
//	anomaly_score('d', f1, ..., fn) OVER (PARTITION BY p ORDER BY o)
//
// go-mysql-server's parser takes OVER only after a fixed list of function
// names, and its planner builds a window function only for a fixed list
// of names (LAG among them), looked up in the catalog, where the database
// provider's functions come before the built-ins. So, without forking
// either library:
//
//   - windowParser, when the parser rejects a statement, rewrites each
//     anomaly_score( or is_anomaly( whose call is followed by OVER into
//     lag('<marker>', and parses it again (markWindows). The marker is a
//     string literal no user writes: it names the function and the
//     rewrite. The column names of the statement stay as the user wrote
//     them (restoreWindowNames).
//   - windowFunction, the provider's LAG, builds functions.WindowScore for
//     a call whose first argument is the marker, and go-mysql-server's
//     own LAG, unchanged, for any other.
//
// The rewrite runs only for statements the parser rejects: statements
// that parse pay nothing.

// windowMarker starts the first argument of a rewritten call:
// windowMarker + function + ":" + the rewrite's number.
const windowMarker = "__anomalydb_window__:"

// windowParser wraps a parser with the rewrite above.
type windowParser struct {
	sql.Parser
}

// windowRewrite is one call rewritten by markWindows: the text at
// [start, end) of the original query (the function name through its
// opening parenthesis) became repl.
type windowRewrite struct {
	start, end int
	orig, repl string
}

// ParseSimple implements sql.Parser.
func (p windowParser) ParseSimple(query string) (ast.Statement, error) {
	stmt, err := p.Parser.ParseSimple(query)
	if err == nil {
		return stmt, nil
	}
	marked, rw := markWindows(query, false)
	if rw == nil {
		return stmt, err
	}
	mstmt, merr := p.Parser.ParseSimple(marked)
	if merr != nil {
		return stmt, err
	}
	return restoreWindowNames(mstmt, rw), nil
}

// Parse implements sql.Parser.
func (p windowParser) Parse(ctx *sql.Context, query string, multi bool) (ast.Statement, string, string, error) {
	stmt, parsed, rest, err := p.Parser.Parse(ctx, query, multi)
	if err == nil {
		return stmt, parsed, rest, nil
	}
	return p.fallback(ctx, query, ';', multi, sql.LoadSqlMode(ctx).ParserOptions(), stmt, parsed, rest, err)
}

// ParseWithOptions implements sql.Parser.
func (p windowParser) ParseWithOptions(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions) (ast.Statement, string, string, error) {
	stmt, parsed, rest, err := p.Parser.ParseWithOptions(ctx, query, delimiter, multi, options)
	if err == nil {
		return stmt, parsed, rest, nil
	}
	return p.fallback(ctx, query, delimiter, multi, options, stmt, parsed, rest, err)
}

// fallback is ParseWithOptions for a query the parser rejected with err.
// The parsed text it returns is the rewritten statement; the remainder
// (multi) is the original text after the statement.
func (p windowParser) fallback(ctx context.Context, query string, delimiter rune, multi bool, options ast.ParserOptions,
	stmt ast.Statement, parsed, rest string, err error) (ast.Statement, string, string, error) {
	s := sql.RemoveSpaceAndDelimiter(query, delimiter)
	marked, rw := markWindows(s, options.AnsiQuotes)
	if rw == nil {
		return stmt, parsed, rest, err
	}
	if multi {
		mstmt, ri, merr := p.Parser.ParseOneWithOptions(ctx, marked, options)
		if merr != nil {
			return stmt, parsed, rest, err
		}
		text, remainder := marked, ""
		if oi := originalOffset(ri, rw); ri != 0 && oi < len(s) {
			text, remainder = sql.RemoveSpaceAndDelimiter(marked[:ri], delimiter), s[oi:]
		}
		return restoreWindowNames(mstmt, rw), text, remainder, nil
	}
	mstmt, _, _, merr := p.Parser.ParseWithOptions(ctx, marked, delimiter, false, options)
	if merr != nil {
		return stmt, parsed, rest, err
	}
	return restoreWindowNames(mstmt, rw), marked, "", nil
}

// ParseOneWithOptions implements sql.Parser.
func (p windowParser) ParseOneWithOptions(ctx context.Context, query string, options ast.ParserOptions) (ast.Statement, int, error) {
	stmt, next, err := p.Parser.ParseOneWithOptions(ctx, query, options)
	if err == nil {
		return stmt, next, nil
	}
	marked, rw := markWindows(query, options.AnsiQuotes)
	if rw == nil {
		return stmt, next, err
	}
	mstmt, mnext, merr := p.Parser.ParseOneWithOptions(ctx, marked, options)
	if merr != nil {
		return stmt, next, err
	}
	return restoreWindowNames(mstmt, rw), originalOffset(mnext, rw), nil
}

// originalOffset maps an offset in the rewritten text to the original's
// (offsets that fall between rewrites, as statement ends do).
func originalOffset(i int, rw []windowRewrite) int {
	shift := 0
	for _, r := range rw {
		if r.start+shift >= i {
			break
		}
		shift += len(r.repl) - len(r.orig)
	}
	return i - shift
}

// markWindows returns query with each anomaly_score( or is_anomaly(
// whose call (to its balanced closing parenthesis) is followed by OVER
// replaced by lag('<marker>', , and the rewrites in order; nil if there
// is none. Strings, quoted identifiers and comments are skipped, as the
// parser's tokenizer skips them.
func markWindows(query string, ansiQuotes bool) (string, []windowRewrite) {
	lower := strings.ToLower(query)
	if !strings.Contains(lower, "over") || (!strings.Contains(lower, "anomaly_score") && !strings.Contains(lower, "is_anomaly")) {
		return query, nil
	}
	tkn := ast.NewStringTokenizer(query)
	if ansiQuotes {
		tkn = ast.NewStringTokenizerForAnsiQuotes(query)
	}
	type token struct {
		typ        int
		start, end int
		val        string
	}
	var toks []token
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
		toks = append(toks, token{typ: typ, start: end - len(val), end: end, val: string(val)})
	}
	var rw []windowRewrite
	for i := 0; i+1 < len(toks); i++ {
		t := toks[i]
		fn := strings.ToLower(t.val)
		if t.typ != ast.ID || (fn != "anomaly_score" && fn != "is_anomaly") || toks[i+1].typ != '(' ||
			t.start < 0 || !strings.EqualFold(query[t.start:t.end], t.val) {
			continue
		}
		depth, j := 0, i+1
		for ; j < len(toks); j++ {
			switch toks[j].typ {
			case '(':
				depth++
			case ')':
				depth--
			}
			if depth == 0 {
				break
			}
		}
		if j+1 >= len(toks) || toks[j+1].typ != ast.OVER {
			continue
		}
		end := toks[i+1].end
		rw = append(rw, windowRewrite{start: t.start, end: end, orig: query[t.start:end],
			repl: "lag('" + windowMarker + fn + ":" + strconv.Itoa(len(rw)) + "', "})
	}
	if rw == nil {
		return query, nil
	}
	var b strings.Builder
	at := 0
	for _, r := range rw {
		b.WriteString(query[at:r.start])
		b.WriteString(r.repl)
		at = r.end
	}
	b.WriteString(query[at:])
	return b.String(), rw
}

// restoreWindowNames puts the user's text back into the column names of
// stmt (an unaliased column is named by its text) and returns stmt.
func restoreWindowNames(stmt ast.Statement, rw []windowRewrite) ast.Statement {
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if a, ok := n.(*ast.AliasedExpr); ok && strings.Contains(a.InputExpression, windowMarker) {
			for _, r := range rw {
				a.InputExpression = strings.ReplaceAll(a.InputExpression, r.repl, r.orig)
			}
		}
		return true, nil
	}, stmt)
	return stmt
}

// windowFunction is the provider's LAG (see the top of this file), or
// nil, false for any other name.
func windowFunction(r functions.Resolver, name string) (sql.Function, bool) {
	if !strings.EqualFold(name, "lag") {
		return nil, false
	}
	return sql.FunctionN{Name: "lag", Fn: func(args ...sql.Expression) (sql.Expression, error) {
		if fn, ok := windowMarkerFunction(args); ok {
			return functions.NewWindowScore(fn, r, args[1:]...)
		}
		return window.NewLag(args...)
	}}, true
}

// windowMarkerFunction returns the function a rewritten call's marker
// names, if args start with a marker.
func windowMarkerFunction(args []sql.Expression) (string, bool) {
	if len(args) == 0 {
		return "", false
	}
	lit, ok := args[0].(*expression.Literal)
	if !ok {
		return "", false
	}
	s, ok := lit.Value().(string)
	if !ok || !strings.HasPrefix(s, windowMarker) {
		return "", false
	}
	fn, _, ok := strings.Cut(strings.TrimPrefix(s, windowMarker), ":")
	if !ok {
		return "", false
	}
	return fn, true
}

// Preparing statements with the window form.
//
// vitess parses the text of a COM_STMT_PREPARE before the handler sees
// it (see prepareListener) and rejects the window form, as it rejects
// WITH ROLLUP (rollup.go). prepareConn therefore sends it, in place of
// such a statement, the marked text (the same placeholders, which vitess
// counts) followed by the statement hex-encoded in a comment
// (disguiseWindows); handler.ComPrepare prepares the statement as the
// client wrote it (undisguiseWindows), which windowParser rewrites.

const windowDisguiseTag = " /* anomalydb window "

// disguiseWindows returns the text vitess parses in place of a statement
// with the window form, if query is one that vitess rejects.
func disguiseWindows(query string) (string, bool) {
	marked, rw := markWindows(query, false)
	if rw == nil {
		return "", false
	}
	if _, err := ast.Parse(query); err == nil {
		return "", false
	}
	if _, err := ast.Parse(marked); err != nil {
		return "", false
	}
	return marked + windowDisguiseTag + hex.EncodeToString([]byte(query)) + " */", true
}

// undisguiseWindows returns the statement that query disguises.
func undisguiseWindows(query string) (string, bool) {
	i := strings.LastIndex(query, windowDisguiseTag)
	if i < 0 || !strings.HasSuffix(query, " */") {
		return "", false
	}
	b, err := hex.DecodeString(query[i+len(windowDisguiseTag) : len(query)-len(" */")])
	if err != nil {
		return "", false
	}
	if marked, rw := markWindows(string(b), false); rw == nil || marked != query[:i] {
		return "", false
	}
	return string(b), true
}
