package engine_test

import (
	gosql "database/sql"
	"reflect"
	"strings"
	"testing"
)

// viewsSetup creates database vw with tables t and u and views v (over t)
// and vv (a view of v joined with u).
func viewsSetup(t *testing.T, ts *testServer) {
	t.Helper()
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE vw")
	mustExec(t, db, "CREATE TABLE vw.t (id INT PRIMARY KEY, x DOUBLE)")
	mustExec(t, db, "CREATE TABLE vw.u (id INT PRIMARY KEY, name VARCHAR(10))")
	mustExec(t, db, "INSERT INTO vw.t VALUES (1, 0.5), (2, 1.5), (3, 2.5)")
	mustExec(t, db, "INSERT INTO vw.u VALUES (1, 'a'), (3, 'c')")
	db = ts.open("vw")
	mustExec(t, db, "CREATE VIEW vw.v AS SELECT id, x * 2 AS x2 FROM vw.t WHERE x > 1")
	mustExec(t, db, "CREATE VIEW vw.vv AS SELECT v.id, v.x2, u.name FROM vw.v JOIN vw.u ON u.id = v.id")
}

// TestViewsQueryAndShow: views select, join with tables, nest, compare
// names case-insensitively, and are listed by SHOW FULL TABLES, SHOW
// CREATE VIEW and information_schema.VIEWS. Catches: GetViewDefinition
// looking names up case-sensitively (SELECT FROM V fails), AllViews
// returning nothing (no VIEW rows), or a CreateView that stores the SELECT
// text where the planner expects the CREATE VIEW statement (every SELECT
// from a view fails).
func TestViewsQueryAndShow(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	viewsSetup(t, ts)
	db := ts.open("vw")
	expectRows(t, db, "SELECT id, x2 FROM V ORDER BY id", [][]string{r("2", "3"), r("3", "5")})
	expectRows(t, db, "SELECT * FROM vv", [][]string{r("3", "5", "c")})
	expectRows(t, db, "SELECT t.id, v.x2 FROM t LEFT JOIN v ON v.id = t.id ORDER BY t.id",
		[][]string{r("1", "NULL"), r("2", "3"), r("3", "5")})
	expectRows(t, db, "SHOW FULL TABLES", [][]string{
		r("t", "BASE TABLE"), r("u", "BASE TABLE"), r("v", "VIEW"), r("vv", "VIEW")})
	got := queryRows(t, db, "SHOW CREATE VIEW v")
	if len(got) != 1 || got[0][0] != "v" || !strings.Contains(strings.ToLower(got[0][1]), "x * 2") {
		t.Errorf("SHOW CREATE VIEW v = %v", got)
	}
	got = queryRows(t, db, "SELECT table_name, view_definition FROM information_schema.views WHERE table_schema = 'vw' ORDER BY table_name")
	if len(got) != 2 || got[0][0] != "v" || got[1][0] != "vv" || !strings.Contains(got[0][1], "x * 2") {
		t.Errorf("information_schema.VIEWS = %v", got)
	}
}

// TestViewsDDLErrors: a view and a table cannot share a name (1050 both
// ways, in any case), CREATE VIEW of an existing view is 1050, CREATE OR
// REPLACE replaces, bad input (a syntax error, an unknown table) creates
// nothing, DROP VIEW of an unknown view is 1051 unless IF EXISTS, and a
// view whose table was dropped stays but fails with 1356. Catches: a
// storage CreateTable that does not look at the views (go-mysql-server
// checks only after creating the table, so CREATE TABLE v would leave a
// table behind), and a DropView that ignores a missing view.
func TestViewsDDLErrors(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	viewsSetup(t, ts)
	db := ts.open("vw")
	expectErr(t, db, "CREATE TABLE V (a INT)", 1050)
	expectErr(t, db, "CREATE TABLE v2 AS SELECT 1", 0) // sanity: CTAS works
	expectErr(t, db, "CREATE VIEW T AS SELECT 1", 1050)
	expectErr(t, db, "CREATE VIEW v AS SELECT 1", 1050)
	expectRows(t, db, "SHOW FULL TABLES LIKE 'v'", [][]string{r("v", "VIEW")})

	mustExec(t, db, "CREATE OR REPLACE VIEW V AS SELECT id FROM t WHERE id = 1")
	expectRows(t, db, "SELECT * FROM v", [][]string{r("1")})

	expectErr(t, db, "CREATE VIEW bad AS SELEC 1", 1064)
	expectErr(t, db, "CREATE VIEW bad AS SELECT * FROM nosuch", 1146)
	expectErr(t, db, "CREATE OR REPLACE VIEW v AS SELECT * FROM nosuch", 1146)
	expectRows(t, db, "SELECT * FROM v", [][]string{r("1")}) // the old definition stays
	expectRows(t, db, "SHOW FULL TABLES WHERE Table_type = 'VIEW'", [][]string{r("v", "VIEW"), r("vv", "VIEW")})

	expectErr(t, db, "DROP VIEW nosuch", 1051)
	mustExec(t, db, "DROP VIEW IF EXISTS nosuch")
	mustExec(t, db, "DROP TABLE u")
	expectErr(t, db, "SELECT * FROM vv", 1356)
	mustExec(t, db, "DROP VIEW VV")
	expectRows(t, db, "SHOW FULL TABLES WHERE Table_type = 'VIEW'", [][]string{r("v", "VIEW")})
}

// TestViewsSurviveRestart: views are on disk: after a restart they are
// listed and select as before, a dropped view stays dropped, and DROP
// DATABASE takes its views with it (a new database of the same name has
// none). Catches: views kept only in memory, a DROP VIEW that is not
// written, or views stored outside the database's directory.
func TestViewsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	viewsSetup(t, ts)
	db := ts.open("vw")
	mustExec(t, db, "CREATE VIEW gone AS SELECT 1 AS one")
	mustExec(t, db, "DROP VIEW gone")
	before := queryRows(t, db, "SHOW CREATE VIEW vv")
	ts.stop()

	ts = startServer(t, dir, false)
	db = ts.open("vw")
	expectRows(t, db, "SHOW FULL TABLES WHERE Table_type = 'VIEW'", [][]string{r("v", "VIEW"), r("vv", "VIEW")})
	expectRows(t, db, "SELECT * FROM vv", [][]string{r("3", "5", "c")})
	if got := queryRows(t, db, "SHOW CREATE VIEW vv"); !reflect.DeepEqual(got, before) {
		t.Errorf("SHOW CREATE VIEW after restart:\n got %v\nwant %v", got, before)
	}
	mustExec(t, db, "DROP DATABASE vw")
	mustExec(t, db, "CREATE DATABASE vw")
	mustExec(t, db, "CREATE TABLE vw.v (a INT)")
	expectRows(t, db, "SHOW FULL TABLES FROM vw", [][]string{r("v", "BASE TABLE")})
	ts.stop()

	db = startServer(t, dir, false).open("vw")
	expectRows(t, db, "SHOW FULL TABLES", [][]string{r("v", "BASE TABLE")})
}

// TestViewsWithoutCurrentDatabase: a view is used, shown and listed by
// its qualified name from a session with no current database or with
// another one: its unqualified tables are its own database's, SHOW CREATE
// VIEW and information_schema.VIEWS work (every view listed, whatever the
// session's database), the session's database stays NULL afterwards, and
// an unqualified table of the query itself is still 1046. A view created
// from another database keeps the tables of that database, as in MySQL.
// A renamed view works the same. All of it after a restart too. Catches:
// go-mysql-server's binding of a view asking for a current database ("no
// database selected"), a stored CREATE VIEW with an unqualified name (the
// same error when it is bound), a view created from database b over b.t
// that reads a.t once used, information_schema.VIEWS binding views in the
// session's database (views missing from it), the view's database left as
// the session's (DATABASE() is 'a').
func TestViewsWithoutCurrentDatabase(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE a", "CREATE DATABASE b",
		"CREATE TABLE a.t (id INT PRIMARY KEY, x INT)", "INSERT INTO a.t VALUES (1, 10), (2, 20)",
		"CREATE TABLE b.t (q INT)", "INSERT INTO b.t VALUES (99)")
	inA, inB := ts.open("a"), ts.open("b")
	mustExec(t, inA, "CREATE VIEW v AS SELECT id, x FROM t WHERE id > 1")
	mustExec(t, inA, "CREATE VIEW vv AS WITH c AS (SELECT 5 AS five) SELECT c.five, v.x FROM c, v")
	mustExec(t, inB, "CREATE VIEW a.v3 AS SELECT q FROM t") // b.t, as MySQL resolves it
	mustExec(t, db, "CREATE VIEW b.w AS SELECT id FROM a.t")

	check := func(where string) {
		t.Helper()
		for name, c := range map[string]*gosql.DB{"no database": db, "database a": inA, "database b": inB} {
			expectRows(t, c, "SELECT id, x FROM a.v", [][]string{r("2", "20")})
			expectRows(t, c, "SELECT five, x FROM a.vv", [][]string{r("5", "20")})
			expectRows(t, c, "SELECT q FROM a.v3", [][]string{r("99")})
			expectRows(t, c, "SELECT id FROM b.w ORDER BY id", [][]string{r("1"), r("2")})
			if got := queryRows(t, c, "SELECT table_schema, table_name FROM information_schema.views ORDER BY 1, 2"); !reflect.DeepEqual(got,
				[][]string{r("a", "v"), r("a", "v3"), r("a", "vv"), r("b", "w")}) {
				t.Errorf("%s, %s: information_schema.VIEWS lists %v", where, name, got)
			}
			if got := queryRows(t, c, "SHOW CREATE VIEW a.v"); len(got) != 1 || got[0][0] != "v" || !strings.Contains(got[0][1], "id > 1") {
				t.Errorf("%s, %s: SHOW CREATE VIEW a.v = %v", where, name, got)
			}
		}
		expectRows(t, db, "SELECT DATABASE()", [][]string{r("NULL")})
		expectErr(t, db, "SELECT * FROM a.v, t", 1046)
	}
	check("after CREATE VIEW")
	mustExec(t, db, "RENAME TABLE a.v TO a.v2")
	expectRows(t, db, "SELECT id, x FROM a.v2", [][]string{r("2", "20")})
	mustExec(t, db, "RENAME TABLE a.v2 TO a.v")
	ts.stop()
	ts = startServer(t, dir, false)
	db, inA, inB = ts.open(""), ts.open("a"), ts.open("b")
	check("after restart")
}
