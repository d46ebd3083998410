package engine_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// TestRenameTableAcrossDatabases: RENAME TABLE a.t TO b.t2 and ALTER
// TABLE … RENAME TO another database move a table with its rows,
// indexes (UNIQUE still enforced), AUTO_INCREMENT counter (no id comes
// back) and definition, from a session with no current database too, and
// it stays moved after a restart; the old database no longer has it. A
// detector trained on the table keeps scoring as before (it holds its
// own data). A taken target name is 1050, a missing target database
// 1049, an unqualified name without a current database 1046, a view to
// another database 1450, and a RENAME TABLE of several pairs whose last
// pair is bad renames nothing. ALTER TABLE a.t RENAME TO a.t3 from
// database b renames a.t, not b.t. A swap through a temporary name works
// across databases. Catches: a rename that ignores the qualifiers (the
// table of the current database is renamed, or "no database selected"),
// a move that copies without dropping (two tables) or loses rows,
// indexes or the counter, pairs checked only as they are renamed.
func TestRenameTableAcrossDatabases(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	db.SetMaxOpenConns(1) // one session: USE below sticks
	mustExecAll(t, db,
		"CREATE DATABASE a", "CREATE DATABASE b",
		"CREATE TABLE a.t (id INT AUTO_INCREMENT PRIMARY KEY, x DOUBLE, code VARCHAR(8), UNIQUE KEY uc (code), KEY ix (x))",
		"CREATE TABLE b.t (q INT)", "INSERT INTO b.t VALUES (7)",
		"CREATE TABLE a.other (id INT PRIMARY KEY)", "INSERT INTO a.other VALUES (1)",
		"CREATE VIEW a.v AS SELECT 1 AS one")
	var vals []string
	for i := 1; i <= 40; i++ {
		vals = append(vals, fmt.Sprintf("(%g, 'c%d')", float64(i%9)/2, i))
	}
	mustExec(t, db, "INSERT INTO a.t (x, code) VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, "DELETE FROM a.t WHERE id = 40") // 40 was handed out: it must never come back
	mustExec(t, db, "CREATE DETECTOR a.d USING deep_svdd WITH (epochs = 1, seed = 1) AS SELECT x, id FROM a.t")
	score := queryRows(t, db, "SELECT anomaly_score('a.d', 1.5, 3)")

	tables := func() [][]string {
		return queryRows(t, db, "SELECT table_schema, table_name FROM information_schema.tables "+
			"WHERE table_schema IN ('a', 'b') ORDER BY table_schema, table_name")
	}
	before := tables()
	expectErr(t, db, "RENAME TABLE a.t TO b.t", 1050)
	expectErr(t, db, "RENAME TABLE a.t TO nodb.t", 1049)
	expectErr(t, db, "ALTER TABLE a.t RENAME TO nodb.t", 1049)
	expectErr(t, db, "ALTER TABLE a.t ADD COLUMN y INT, RENAME TO b.t", 1050)
	expectErr(t, db, "RENAME TABLE t TO u", 1046)
	expectErr(t, db, "ALTER TABLE a.t RENAME TO u", 1046)
	expectErr(t, db, "RENAME TABLE a.v TO b.v", 1450)
	expectErr(t, db, "RENAME TABLE a.t TO b.t2, a.other TO b.t", 1050)
	if got := tables(); !reflect.DeepEqual(got, before) {
		t.Fatalf("failed renames changed the tables: %v, want %v", got, before)
	}
	expectRows(t, db, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'a' AND table_name = 't'", [][]string{r("3")})

	// moved checks the table that was a.t under its name q.
	moved := func(where, schema, name string) {
		t.Helper()
		q := schema + "." + name
		expectRows(t, db, "SELECT COUNT(*), SUM(id), MAX(id) FROM "+q, [][]string{r("39", "780", "39")})
		expectRows(t, db, "SELECT id FROM "+q+" WHERE code = 'c17'", [][]string{r("17")})
		if got := queryRows(t, db, "SELECT index_name, column_name FROM information_schema.statistics "+
			"WHERE table_schema = ? AND table_name = ? ORDER BY index_name", schema, name); !reflect.DeepEqual(got,
			[][]string{r("ix", "x"), r("PRIMARY", "id"), r("uc", "code")}) {
			t.Errorf("%s: indexes of %s: %v", where, q, got)
		}
		if got := queryRows(t, db, "SELECT anomaly_score('a.d', 1.5, 3)"); !reflect.DeepEqual(got, score) {
			t.Errorf("%s: the detector scores %v, before the move %v", where, got, score)
		}
	}
	mustExec(t, db, "RENAME TABLE a.t TO b.t2")
	moved("after RENAME TABLE", "b", "t2")
	expectRows(t, db, "SHOW TABLES FROM a", [][]string{r("other"), r("v")})
	expectErr(t, db, "INSERT INTO b.t2 (x, code) VALUES (1, 'c5')", 1062)

	// ALTER TABLE … RENAME TO another database, with another clause;
	// an unqualified new name is in the session's database.
	mustExec(t, db, "USE b")
	mustExec(t, db, "ALTER TABLE t2 ADD COLUMN y INT DEFAULT 3, RENAME TO a.t")
	expectRows(t, db, "SELECT COUNT(*), SUM(y) FROM a.t", [][]string{r("39", "117")})
	mustExec(t, db, "ALTER TABLE a.t DROP COLUMN y")
	// From database b (which has a t of its own), the qualified table is
	// the one renamed.
	mustExec(t, db, "ALTER TABLE a.t RENAME TO a.t3")
	expectRows(t, db, "SELECT q FROM b.t", [][]string{r("7")})
	expectErr(t, db, "ALTER TABLE a.t3 RENAME TO t", 1050) // b.t
	mustExec(t, db, "ALTER TABLE a.t3 RENAME TO t2")
	moved("after ALTER TABLE … RENAME TO", "b", "t2")
	expectRows(t, db, "SHOW TABLES FROM b", [][]string{r("t"), r("t2")})
	// Swap b.t and b.t2 through a temporary name in another database.
	mustExec(t, db, "RENAME TABLE b.t2 TO a.tmp, b.t TO b.t2, a.tmp TO b.t")
	moved("after a swap", "b", "t")
	expectRows(t, db, "SELECT q FROM b.t2", [][]string{r("7")})

	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("")
	db.SetMaxOpenConns(1)
	moved("after restart", "b", "t")
	expectRows(t, db, "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema IN ('a', 'b') ORDER BY 1, 2",
		[][]string{r("a", "other"), r("a", "v"), r("b", "t"), r("b", "t2")})
	mustExec(t, db, "INSERT INTO b.t (x, code) VALUES (1, 'new')")
	if id := queryInt(t, db, "SELECT id FROM b.t WHERE code = 'new'"); id <= 40 {
		t.Errorf("after the moves the next AUTO_INCREMENT id is %d, which was used before", id)
	}
}
