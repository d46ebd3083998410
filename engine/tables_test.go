package engine_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// assertion is one query of a script with its expected rows or MySQL
// error number.
type assertion struct {
	query string
	rows  [][]string
	err   uint16
}

// script is a list of set-up statements and assertions run on one
// connection, in the style of go-mysql-server's script tests.
type script struct {
	name    string
	setup   []string
	asserts []assertion
}

func r(cells ...string) []string { return cells }

var tableScripts = []script{
	{
		name: "create, insert, select with filters, order and limit",
		setup: []string{
			"CREATE TABLE t (id INT PRIMARY KEY, name VARCHAR(20), score DOUBLE, f FLOAT, amount DECIMAL(10,2), big BIGINT, note TEXT, ok BOOLEAN, d DATE, dt DATETIME, ts TIMESTAMP)",
			"INSERT INTO t VALUES (1, 'a', 1.5, 0.5, 10.25, 10000000000, 'x', true, '2024-01-02', '2024-01-02 03:04:05', '2024-01-02 03:04:05'), (2, 'b', NULL, NULL, NULL, NULL, NULL, false, NULL, NULL, NULL), (3, 'c', 3.25, 2, -1.50, -5, 'z', NULL, '1999-12-31', '1999-12-31 23:59:59', NULL)",
		},
		asserts: []assertion{
			{query: "SELECT id, name, score, f, amount, big, note, ok, d, dt, ts FROM t ORDER BY id", rows: [][]string{
				r("1", "a", "1.5", "0.5", "10.25", "10000000000", "x", "1", "2024-01-02T00:00:00Z", "2024-01-02T03:04:05Z", "2024-01-02T03:04:05Z"),
				r("2", "b", "NULL", "NULL", "NULL", "NULL", "NULL", "0", "NULL", "NULL", "NULL"),
				r("3", "c", "3.25", "2", "-1.50", "-5", "z", "NULL", "1999-12-31T00:00:00Z", "1999-12-31T23:59:59Z", "NULL"),
			}},
			{query: "SELECT name FROM t WHERE score > 2 OR amount > 10", rows: [][]string{r("a"), r("c")}},
			{query: "SELECT id FROM t ORDER BY id DESC LIMIT 2", rows: [][]string{r("3"), r("2")}},
			{query: "SELECT COUNT(*), SUM(score), MAX(name) FROM t", rows: [][]string{r("3", "4.75", "c")}},
			{query: "INSERT INTO t (id, name) VALUES (4, 'd'), (1, 'dup')", err: 1062},
			{query: "SELECT COUNT(*) FROM t", rows: [][]string{r("3")}},
		},
	},
	{
		name: "update, delete, truncate",
		setup: []string{
			"CREATE TABLE u (id INT PRIMARY KEY, v DOUBLE)",
			"INSERT INTO u VALUES (1, 1), (2, 2), (3, 3), (4, 4)",
			"UPDATE u SET v = v * 10 WHERE id >= 3",
			"DELETE FROM u WHERE id = 2",
		},
		asserts: []assertion{
			{query: "SELECT id, v FROM u ORDER BY id", rows: [][]string{r("1", "1"), r("3", "30"), r("4", "40")}},
			{query: "UPDATE u SET id = 1 WHERE id = 3", err: 1062},
			{query: "SELECT id, v FROM u ORDER BY id", rows: [][]string{r("1", "1"), r("3", "30"), r("4", "40")}},
			{query: "TRUNCATE TABLE u", rows: nil},
			{query: "SELECT COUNT(*) FROM u", rows: [][]string{r("0")}},
			{query: "INSERT INTO u VALUES (7, 7)"},
			{query: "SELECT id, v FROM u", rows: [][]string{r("7", "7")}},
		},
	},
	{
		name: "tables without a key, joins, insert select, create table as select",
		setup: []string{
			"CREATE TABLE a (k INT, x DOUBLE)",
			"CREATE TABLE b (k INT, y VARCHAR(10))",
			"INSERT INTO a VALUES (1, 1.0), (1, 1.0), (2, 2.0)",
			"INSERT INTO b VALUES (1, 'one'), (2, 'two'), (3, 'three')",
			"DELETE FROM a WHERE k = 1 LIMIT 1",
			"CREATE TABLE c AS SELECT a.k, a.x, b.y FROM a JOIN b ON a.k = b.k",
			"INSERT INTO c SELECT k, 9, y FROM b WHERE k = 3",
		},
		asserts: []assertion{
			{query: "SELECT k, x, y FROM c ORDER BY k", rows: [][]string{r("1", "1", "one"), r("2", "2", "two"), r("3", "9", "three")}},
			{query: "SELECT b.y, COUNT(a.k) FROM b LEFT JOIN a ON a.k = b.k GROUP BY b.y ORDER BY b.y", rows: [][]string{r("one", "1"), r("three", "0"), r("two", "1")}},
			{query: "SHOW TABLES", rows: [][]string{r("a"), r("b"), r("c")}},
			{query: "DROP TABLE c"},
			{query: "SHOW TABLES", rows: [][]string{r("a"), r("b")}},
			{query: "SELECT * FROM c", err: 1146},
		},
	},
	{
		name: "insert ignore, replace, on duplicate key update",
		setup: []string{
			"CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(10))",
			"INSERT INTO k VALUES (1, 'a'), (2, 'b')",
			"INSERT IGNORE INTO k VALUES (2, 'dup'), (3, 'c')",
			"REPLACE INTO k VALUES (1, 'A')",
			"INSERT INTO k VALUES (3, 'x') ON DUPLICATE KEY UPDATE v = 'C'",
		},
		asserts: []assertion{
			{query: "SELECT id, v FROM k ORDER BY id", rows: [][]string{r("1", "A"), r("2", "b"), r("3", "C")}},
		},
	},
	{
		name: "on duplicate key update to NULL in a NOT NULL column",
		setup: []string{
			"CREATE TABLE nn (id INT PRIMARY KEY, v VARCHAR(10) NOT NULL)",
			"INSERT INTO nn VALUES (1, 'a'), (2, 'b')",
		},
		asserts: []assertion{
			{query: "INSERT INTO nn VALUES (1, 'x') ON DUPLICATE KEY UPDATE v = NULL", err: 1048},
			{query: "INSERT INTO nn VALUES (3, 'c'), (2, 'x') ON DUPLICATE KEY UPDATE v = NULL", err: 1048},
			{query: "SELECT id, v FROM nn ORDER BY id", rows: [][]string{r("1", "a"), r("2", "b")}},
		},
	},
	{
		// Scans read only the columns a query uses (sql.ProjectedTable);
		// every query shape must still see the right columns, and writes
		// the full rows.
		name: "projected scans and writes",
		setup: []string{
			"CREATE TABLE p (id INT PRIMARY KEY, a INT, b VARCHAR(10), c DOUBLE)",
			"INSERT INTO p VALUES (1, 3, 'x', 0.5), (2, 1, 'y', 1.5), (3, 2, 'z', 2.5), (4, 2, 'x', NULL)",
		},
		asserts: []assertion{
			{query: "SELECT b FROM p ORDER BY c DESC", rows: [][]string{r("z"), r("y"), r("x"), r("x")}},
			{query: "SELECT COUNT(*) FROM p WHERE a > 1", rows: [][]string{r("3")}},
			{query: "SELECT COUNT(*) FROM p", rows: [][]string{r("4")}},
			{query: "SELECT c, id FROM p WHERE b = 'x' ORDER BY id", rows: [][]string{r("0.5", "1"), r("NULL", "4")}},
			{query: "SELECT q.b, s.c FROM p q JOIN p s ON q.id = s.a WHERE s.id = 1", rows: [][]string{r("z", "0.5")}},
			{query: "SELECT id FROM p WHERE a = (SELECT MAX(a) FROM p)", rows: [][]string{r("1")}},
			{query: "SELECT s.b FROM (SELECT b, a FROM p) s WHERE s.a = 1", rows: [][]string{r("y")}},
			{query: "SELECT b, SUM(a) FROM p GROUP BY b ORDER BY b", rows: [][]string{r("x", "5"), r("y", "1"), r("z", "2")}},
			{query: "SELECT * FROM p WHERE id = 2", rows: [][]string{r("2", "1", "y", "1.5")}},
			{query: "SELECT x.a AS aa FROM p AS x WHERE x.c > 2", rows: [][]string{r("2")}},
			{query: "UPDATE p SET c = a * 10 WHERE b = 'x'"},
			{query: "DELETE FROM p WHERE a = 1"},
			{query: "REPLACE INTO p VALUES (3, 9, 'w', 9.5)"},
			{query: "INSERT INTO p SELECT id + 10, a, b, c FROM p WHERE c > 10"},
			{query: "SELECT id, a, b, c FROM p ORDER BY id", rows: [][]string{
				r("1", "3", "x", "30"), r("3", "9", "w", "9.5"), r("4", "2", "x", "20"), r("11", "3", "x", "30"), r("14", "2", "x", "20"),
			}},
			{query: "CREATE TABLE p2 AS SELECT b, c FROM p WHERE a > 2"},
			{query: "SELECT b, c FROM p2 ORDER BY c, b", rows: [][]string{r("w", "9.5"), r("x", "30"), r("x", "30")}},
			{query: "UPDATE p SET a = a + 1 WHERE id IN (SELECT id FROM p WHERE c > 25)"},
			{query: "DELETE p FROM p JOIN p2 ON p.b = p2.b WHERE p2.c < 10"},
			{query: "SELECT id, a, b, c FROM p ORDER BY id", rows: [][]string{
				r("1", "4", "x", "30"), r("4", "2", "x", "20"), r("11", "4", "x", "30"), r("14", "2", "x", "20"),
			}},
		},
	},
	{
		name: "describe",
		setup: []string{
			"CREATE TABLE d (id BIGINT NOT NULL PRIMARY KEY, name VARCHAR(32), amount DECIMAL(8,3))",
		},
		asserts: []assertion{
			{query: "DESCRIBE d", rows: [][]string{
				r("id", "bigint", "NO", "PRI", "NULL", ""),
				r("name", "varchar(32)", "YES", "", "NULL", ""),
				r("amount", "decimal(8,3)", "YES", "", "NULL", ""),
			}},
			{query: "INSERT INTO d (id, name) VALUES (NULL, 'x')", err: 1048},
		},
	},
}

func TestTableScripts(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.open("")
	for i, sc := range tableScripts {
		t.Run(sc.name, func(t *testing.T) {
			dbName := "s" + string(rune('a'+i))
			mustExec(t, admin, "CREATE DATABASE "+dbName)
			db := ts.open(dbName)
			for _, q := range sc.setup {
				mustExec(t, db, q)
			}
			for _, a := range sc.asserts {
				if a.err != 0 {
					expectErr(t, db, a.query, a.err)
					continue
				}
				if a.rows == nil && !strings.HasPrefix(strings.ToUpper(a.query), "SELECT") && !strings.HasPrefix(strings.ToUpper(a.query), "SHOW") && !strings.HasPrefix(strings.ToUpper(a.query), "DESCRIBE") {
					mustExec(t, db, a.query)
					continue
				}
				got := queryRows(t, db, a.query)
				if !reflect.DeepEqual(got, a.rows) && !(len(got) == 0 && len(a.rows) == 0) {
					t.Errorf("%s:\n got %v\nwant %v", a.query, got, a.rows)
				}
			}
		})
	}
}

// TestDataSurvivesRestart writes with every kind of statement, restarts
// the server on the same directory and reads everything back.
func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE keep")
	mustExec(t, db, "CREATE TABLE keep.t (id INT PRIMARY KEY, name VARCHAR(10), v DOUBLE)")
	mustExec(t, db, "INSERT INTO keep.t VALUES (1, 'one', 1.25), (2, 'two', NULL), (3, 'three', 3)")
	mustExec(t, db, "UPDATE keep.t SET v = 2.5 WHERE id = 2")
	mustExec(t, db, "DELETE FROM keep.t WHERE id = 3")
	mustExec(t, db, "CREATE DATABASE gone")
	mustExec(t, db, "CREATE TABLE gone.x (a INT)")
	mustExec(t, db, "DROP DATABASE gone")
	want := queryRows(t, db, "SELECT id, name, v FROM keep.t ORDER BY id")
	mustExec(t, db, "USE keep")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM t"); n != 2 {
		t.Fatalf("after USE keep: %d rows, want 2", n)
	}
	ts.stop()

	ts2 := startServer(t, dir, false)
	db2 := ts2.open("")
	got := queryRows(t, db2, "SELECT id, name, v FROM keep.t ORDER BY id")
	if !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Fatalf("after restart: %v, want %v", got, want)
	}
	dbs := queryRows(t, db2, "SHOW DATABASES")
	for _, d := range dbs {
		if d[0] == "gone" {
			t.Fatal("dropped database came back after restart")
		}
	}
	if n, _ := errNumber(t, db2, "INSERT INTO keep.t VALUES (1, 'again', 0)"); n != 1062 {
		t.Fatalf("duplicate key after restart: error %d, want 1062", n)
	}
}

// TestLoadData loads CSV files with LOAD DATA INFILE (server side) and
// LOAD DATA LOCAL INFILE (sent by the client), with \N as NULL.
func TestLoadData(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE ld")
	mustExec(t, db, "CREATE TABLE ld.t (id INT PRIMARY KEY, name VARCHAR(10), v DOUBLE)")
	path := filepath.Join(ts.fileDir(), "rows.csv") // server files are read from secure_file_priv
	if err := os.WriteFile(path, []byte("id,name,v\n1,one,1.5\n2,\\N,2.5\n3,three,\\N\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "LOAD DATA INFILE '"+path+"' INTO TABLE ld.t FIELDS TERMINATED BY ',' IGNORE 1 LINES")
	got := queryRows(t, db, "SELECT id, name, v FROM ld.t ORDER BY id")
	want := [][]string{r("1", "one", "1.5"), r("2", "NULL", "2.5"), r("3", "three", "NULL")}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("LOAD DATA INFILE: %v, want %v", got, want)
	}
	path2 := filepath.Join(t.TempDir(), "more.csv")
	if err := os.WriteFile(path2, []byte("id,name,v\n4,four,4\n5,five,5\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "LOAD DATA LOCAL INFILE '"+path2+"' INTO TABLE ld.t FIELDS TERMINATED BY ',' IGNORE 1 LINES")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM ld.t"); n != 5 {
		t.Fatalf("after LOAD DATA LOCAL: %d rows, want 5", n)
	}
	// A load that hits a duplicate key changes nothing.
	path3 := filepath.Join(ts.fileDir(), "dup.csv")
	if err := os.WriteFile(path3, []byte("id,name,v\n6,six,6\n1,again,1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, msg := errNumber(t, db, "LOAD DATA INFILE '"+path3+"' INTO TABLE ld.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"); n != 1062 {
		t.Fatalf("duplicate in LOAD DATA: error %d %s, want 1062", n, msg)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM ld.t"); n != 5 {
		t.Fatalf("failed LOAD DATA changed the table: %d rows, want 5", n)
	}
}
