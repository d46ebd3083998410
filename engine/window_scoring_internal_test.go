package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// TestMarkWindows checks which calls the window rewrite marks: only
// anomaly_score( and is_anomaly( calls followed, after their balanced
// closing parenthesis, by OVER; never text in strings or comments. Bugs
// caught: a plain call rewritten (it would become a LAG without OVER),
// nested parentheses ending the call early, a string rewritten.
func TestMarkWindows(t *testing.T) {
	for _, c := range []struct {
		q    string
		want string // "" for no rewrite
	}{
		{"SELECT anomaly_score('d', x) FROM t", ""},
		{"SELECT 'anomaly_score(1) over' FROM t", ""},
		{"SELECT anomaly_score('d', x) /* OVER */ FROM t", ""},
		{"SELECT Anomaly_Score ('d', ABS(x), (y)) OVER (ORDER BY t) FROM t",
			"SELECT lag('" + windowMarker + "anomaly_score:0', 'd', ABS(x), (y)) OVER (ORDER BY t) FROM t"},
		{"SELECT anomaly_score('d', x), is_anomaly('d', 'anomaly_score(') OVER w FROM t WINDOW w AS (ORDER BY t)",
			"SELECT anomaly_score('d', x), lag('" + windowMarker + "is_anomaly:0', 'd', 'anomaly_score(') OVER w FROM t WINDOW w AS (ORDER BY t)"},
	} {
		got, rw := markWindows(c.q, false)
		if c.want == "" {
			if rw != nil || got != c.q {
				t.Errorf("%s: rewritten to %s", c.q, got)
			}
			continue
		}
		if got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.q, got, c.want)
		}
	}
}

// TestWindowParserStatements checks the parser side of the window form:
// the statement parses, its column keeps the user's text, and in a
// multi-statement query the next statement starts where it does in the
// user's text. Bugs caught: offsets of the rewritten text used for the
// remainder (the next statement cut or shifted by the rewrite's length),
// the column named after the LAG.
func TestWindowParserStatements(t *testing.T) {
	p := windowParser{sql.GlobalParser}
	q := "SELECT anomaly_score('d', x)  OVER (ORDER BY t), is_anomaly('d', x) OVER (ORDER BY t) AS f FROM t; SELECT 2"
	stmt, _, rest, err := p.ParseWithOptions(context.Background(), q, ';', true, ast.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(rest) != "SELECT 2" {
		t.Fatalf("remainder %q", rest)
	}
	sel, ok := stmt.(*ast.Select)
	if !ok {
		t.Fatalf("parsed %T", stmt)
	}
	if got := sel.SelectExprs[0].(*ast.AliasedExpr).InputExpression; got != "anomaly_score('d', x)  OVER (ORDER BY t)" {
		t.Fatalf("column name %q", got)
	}
	_, next, err := p.ParseOneWithOptions(context.Background(), q, ast.ParserOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(strings.TrimSpace(q[next:]), "SELECT 2") || strings.Contains(q[next:], "FROM t") {
		t.Fatalf("the next statement starts at %d: %q", next, q[next:])
	}
	if _, err := p.ParseSimple("SELECT anomaly_score('d', x) OVER (ORDER BY t) FROM"); err == nil {
		t.Fatal("an incomplete statement parsed")
	}
}

// FuzzMarkWindows checks that the window rewrite never panics and that
// its rewrites are where it says: each replaced text is an anomaly_score(
// or is_anomaly( of the query, and the rewritten text maps back to the
// query (restoring each rewrite gives the query again).
func FuzzMarkWindows(f *testing.F) {
	for _, s := range []string{
		"SELECT anomaly_score('d', x) OVER (ORDER BY t) FROM t",
		"SELECT is_anomaly('d', (x)) OVER w, anomaly_score( 'e', y ) over () FROM t WINDOW w AS ()",
		"SELECT anomaly_score(", "anomaly_score() OVER", "SELECT 'is_anomaly(' OVER",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, q string) {
		marked, rw := markWindows(q, false)
		if rw == nil {
			if marked != q {
				t.Fatalf("no rewrite but %q became %q", q, marked)
			}
			return
		}
		var b strings.Builder
		at := 0
		for _, r := range rw {
			if r.start < at || r.end > len(q) || q[r.start:r.end] != r.orig {
				t.Fatalf("rewrite %+v is not in %q", r, q)
			}
			if fn := strings.ToLower(strings.TrimRight(strings.TrimSpace(strings.TrimSuffix(r.orig, "(")), " \t\n")); fn != "anomaly_score" && fn != "is_anomaly" {
				t.Fatalf("rewrote %q", r.orig)
			}
			b.WriteString(q[at:r.start])
			b.WriteString(r.orig)
			at = r.end
		}
		b.WriteString(q[at:])
		if b.String() != q {
			t.Fatalf("rewrites do not tile %q", q)
		}
		if restored := strings.NewReplacer(pairs(rw)...).Replace(marked); restored != q {
			t.Fatalf("restoring %q gives %q, not %q", marked, restored, q)
		}
	})
}

// pairs returns the (replacement, original) pairs of rw for a
// strings.Replacer.
func pairs(rw []windowRewrite) []string {
	var out []string
	for _, r := range rw {
		out = append(out, r.repl, r.orig)
	}
	return out
}
