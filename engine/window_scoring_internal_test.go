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
