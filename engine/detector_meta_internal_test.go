package engine

import (
	"maps"
	"testing"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/detectors"
)

// TestCreateStatementParsesBack: the statement SHOW CREATE DETECTOR writes
// parses back, with the DETECTOR parser, to the same name, algorithm,
// options (values with quotes, backslashes, commas, spaces, numbers) and
// SELECT. Catches an option value quoted so that it reads back
// differently, and a name not quoted.
func TestCreateStatementParsesBack(t *testing.T) {
	opts := map[string]string{
		"a": "it's", "b": `back\slash`, "c": "8,4", "d": "1e-3", "e": " 2 ", "f": `"x"`, "g": "ünï", "h": "-7", "i": "", "seed": "42",
	}
	r := &detectors.Recipe{Query: "SELECT `x`, 'y;z' FROM t WHERE a = '?' -- c"}
	for _, k := range mapsKeys(opts) {
		r.Options = append(r.Options, detectors.RecipeOption{Name: k, Value: opts[k]})
	}
	m := &detectors.Model{Algorithm: "deep_svdd", Recipe: r, Options: map[string]string{"seed": "42"}}
	stmt, complete := createStatement("we`ird name", m)
	if !complete {
		t.Fatal("a model with a recipe gives an incomplete statement")
	}
	n, err := parseDetectorStatement(stmt, ast.ParserOptions{})
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	c, ok := n.(*createDetectorNode)
	if !ok {
		t.Fatalf("%s parsed to %T", stmt, n)
	}
	if c.name != "we`ird name" || c.algorithm != "deep_svdd" || c.selectSQL != r.Query || !maps.Equal(c.options, opts) {
		t.Fatalf("%s parsed back to %q %q %v %q", stmt, c.name, c.algorithm, c.options, c.selectSQL)
	}
}

// TestBindSelectText: the values bound to a prepared CREATE DETECTOR's
// SELECT are written in place of its ? (not those in strings, quoted
// names or comments) as literals of the same type. Catches a ? inside a
// string replaced, and a DOUBLE written as a DECIMAL literal.
func TestBindSelectText(t *testing.T) {
	when := time.Date(2024, 5, 6, 7, 8, 9, 500000000, time.UTC)
	vals := []sql.Expression{
		expression.NewLiteral(int64(-3), types.Int64),
		expression.NewLiteral(0.1, types.Float64),
		expression.NewLiteral("it's", types.LongText),
		expression.NewLiteral([]byte{0, 0xff}, types.LongBlob),
		expression.NewLiteral(decimal.RequireFromString("1.50"), types.MustCreateDecimalType(10, 2)),
		expression.NewLiteral(when, types.Datetime),
		expression.NewLiteral(nil, types.Null),
	}
	b := map[string]sql.Expression{}
	for i, v := range vals {
		b["v"+string(rune('1'+i))] = v
	}
	q := "SELECT '?', `?`, \"?\" /* ? */ FROM t WHERE a = ? AND b = ? AND c = ? AND d = ? AND e = ? AND f = ? AND g <=> ? # ?"
	got, err := bindSelectText(q, len(vals), b)
	want := "SELECT '?', `?`, \"?\" /* ? */ FROM t WHERE a = -3 AND b = 1e-01 AND c = 'it''s' AND d = X'00ff' AND e = 1.5 AND f = '2024-05-06 07:08:09.5' AND g <=> NULL # ?"
	if err != nil || got != want {
		t.Fatalf("bindSelectText:\n%s, %v\nwant\n%s", got, err, want)
	}
	if _, err := bindSelectText("SELECT 1", 1, b); err == nil {
		t.Fatal("one placeholder counted, none found: no error")
	}
}
