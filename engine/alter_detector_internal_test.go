package engine

import (
	"context"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// TestParseAlterDetector: ALTER DETECTOR statements parse into their
// node (names, setting, value text, placeholder), alone, with comments,
// quoting and a second statement; malformed ones are syntax errors (1064)
// naming no node. Bugs caught: ALTER DETECTOR left to the MySQL parser
// (isDetectorStatement), a ? not counted (a prepared ALTER would read no
// value), the value's text altered before it is checked.
func TestParseAlterDetector(t *testing.T) {
	p := &detectorParser{Parser: sql.GlobalParser}
	for _, c := range []struct {
		q                        string
		db, name, setting, value string
		param                    bool
	}{
		{"ALTER DETECTOR d SET contamination = 0.02", "", "d", "contamination", "0.02", false},
		{"alter detector `db 1`.`a``b` set THRESHOLD = -3.5e2;", "db 1", "a`b", "threshold", "-3.5e2", false},
		{"/* c */ ALTER DETECTOR d -- x\n SET threshold = '1.5'", "", "d", "threshold", "1.5", false},
		{"ALTER DETECTOR d SET contamination = ?", "", "d", "contamination", "", true},
		{"ALTER DETECTOR d SET contamination = NULL", "", "d", "contamination", "NULL", false},
	} {
		for _, q := range []string{c.q, c.q + "; SELECT 1"} {
			stmt, _, _, err := p.ParseWithOptions(context.Background(), q, ';', true, ast.ParserOptions{})
			if err != nil {
				t.Fatalf("%q: %v", q, err)
			}
			n, ok := stmt.(ast.InjectedStatement).Statement.(*alterDetectorNode)
			if !ok {
				t.Fatalf("%q: parsed to %T", q, stmt.(ast.InjectedStatement).Statement)
			}
			if n.db != c.db || n.name != c.name || n.setting != c.setting || n.value != c.value || n.param != c.param {
				t.Fatalf("%q: %+v", q, n)
			}
		}
		if want := map[bool]int{true: 1}[c.param]; countPlaceholders(c.q) != want {
			t.Fatalf("%q: %d placeholders, want %d", c.q, countPlaceholders(c.q), want)
		}
	}
	for _, q := range []string{
		"ALTER DETECTOR", "ALTER DETECTOR d", "ALTER DETECTOR d SET", "ALTER DETECTOR d SET epochs = 3",
		"ALTER DETECTOR d SET contamination", "ALTER DETECTOR d SET contamination 0.1",
		"ALTER DETECTOR d SET contamination = ", "ALTER DETECTOR d SET contamination = 0.1, threshold = 1",
		"ALTER DETECTOR d SET contamination = 0.1 x", "ALTER DETECTOR d.e.f SET threshold = 1",
	} {
		stmt, err := p.ParseSimple(q)
		if sqlErrorNumber(err) != 1064 || stmt != nil {
			t.Errorf("%q: %v, %v; want error 1064", q, stmt, err)
		}
	}
}
