package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestDetectorQuotedNames: DETECTOR statements quote identifiers as MySQL
// does, over TCP: `we“ird; name` is the detector we`ird; name, under
// ANSI_QUOTES "an""si" is an"si and "b\" the column b\, and a ';' or a
// backslash inside a quoted identifier does not end a statement of a
// multi-statement query. A name the store cannot save a detector under
// is refused before the training query runs. Catches (found by
// FuzzDetectorNames) a lexer that ends a quoted identifier at the first
// backtick (`a“b` was a syntax error), one that reads "..." as a string
// under ANSI_QUOTES, a statement splitter that reads \" as an escaped
// quote under ANSI_QUOTES, and a name checked only after training (1105
// from the store instead of 1103).
func TestDetectorQuotedNames(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE q", "USE q", "CREATE TABLE t (a DOUBLE, `b\\` DOUBLE)")
	var values []string
	for i := 0; i < 64; i++ {
		values = append(values, fmt.Sprintf("(%d, %d)", i%8, i%5))
	}
	mustExec(t, db, "INSERT INTO t VALUES "+strings.Join(values, ", "))
	multi := openDSN(t, fmt.Sprintf("root:@tcp(%s)/q?multiStatements=true", ts.srv.Addr()))

	mustExec(t, db, "CREATE DETECTOR `we``ird; name` USING deep_svdd WITH (epochs = 1, hidden = '4') AS SELECT a, `b\\` FROM t")
	mustExec(t, multi, `SET SESSION sql_mode = 'ANSI_QUOTES'; `+
		`CREATE DETECTOR "an""si" USING deep_svdd WITH (epochs = 1, "hidden" = '4') AS SELECT "a", "b\" FROM t; `+
		`SET SESSION sql_mode = DEFAULT`)
	got := queryRows(t, db, "SHOW DETECTORS")
	if len(got) != 2 || got[0][0] != `an"si` || got[1][0] != "we`ird; name" || got[0][2] != `a,b\` {
		t.Fatalf("SHOW DETECTORS: %v", got)
	}
	queryFloat(t, db, "SELECT anomaly_score('we`ird; name', 1, 2)")
	queryFloat(t, db, `SELECT anomaly_score('an"si', 1, 2)`)

	// Checked before the query runs: it names a missing table (1146).
	if msg := expectErr(t, db, "CREATE DETECTOR `a\\b` USING deep_svdd AS SELECT a FROM nowhere", 1103); msg != `Incorrect detector name 'a\b': contains a path separator` {
		t.Errorf("1103 says %q", msg)
	}
	expectErr(t, db, "CREATE DETECTOR `"+strings.Repeat("x", 65)+"` USING deep_svdd AS SELECT a FROM nowhere", 1059)

	mustExec(t, multi, "DROP DETECTOR `we``ird; name`; DROP DETECTOR `an\"si`")
	if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 0 {
		t.Fatalf("SHOW DETECTORS after dropping both: %v", got)
	}
}
