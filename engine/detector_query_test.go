package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDetectorQueryMustBeSelect: the text after CREATE DETECTOR ... AS is
// parsed before anything runs, and anything but a read-only query is a
// syntax error (1064) that changes nothing: no row deleted or added, no
// table dropped or created, no file or variable written, no detector.
// The bug it catches: the AS text was handed to the planner and executed,
// so AS DELETE FROM t deleted every row before failing.
func TestDetectorQueryMustBeSelect(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db,
		"CREATE DATABASE q",
		"USE q",
		"CREATE TABLE victim (id INT PRIMARY KEY, x DOUBLE)",
		"INSERT INTO victim VALUES (1, 1.5), (2, 2.5), (3, 3.5)",
	)
	out := filepath.Join(t.TempDir(), "out")
	cases := []struct{ name, as string }{
		{"delete", "DELETE FROM victim"},
		{"drop table", "DROP TABLE victim"},
		{"insert", "INSERT INTO victim VALUES (4, 4.5)"},
		{"insert select", "INSERT INTO victim SELECT id + 10, x FROM victim"},
		{"update", "UPDATE victim SET x = 0"},
		{"replace", "REPLACE INTO victim VALUES (1, 0)"},
		{"truncate", "TRUNCATE TABLE victim"},
		{"create table", "CREATE TABLE made (x DOUBLE)"},
		{"create table as select", "CREATE TABLE made AS SELECT x FROM victim"},
		{"with delete", "WITH c AS (SELECT 1) DELETE FROM victim"},
		{"into outfile", "SELECT x FROM victim INTO OUTFILE '" + out + "'"},
		{"into dumpfile", "SELECT x FROM victim LIMIT 1 INTO DUMPFILE '" + out + "'"},
		{"into variable", "SELECT x FROM victim LIMIT 1 INTO @v"},
		{"union into outfile", "SELECT x FROM victim UNION SELECT x FROM victim INTO OUTFILE '" + out + "'"},
		{"second statement", "SELECT x FROM victim; DROP TABLE victim"},
		{"call", "CALL nothing()"},
		{"set", "SET @v = 1"},
	}
	want := [][]string{{"1", "1.5"}, {"2", "2.5"}, {"3", "3.5"}}
	for _, c := range cases {
		q := "CREATE DETECTOR d USING autoencoder WITH (epochs = 1) AS " + c.as
		msg := expectErr(t, db, q, 1064)
		if !strings.Contains(msg, "SELECT") {
			t.Errorf("%s: the error does not say a SELECT is needed: %s", c.name, msg)
		}
		if got := queryRows(t, db, "SELECT id, x FROM victim ORDER BY id"); !equalRows(got, want) {
			t.Fatalf("%s: CREATE DETECTOR ... AS %s changed the table: %v", c.name, c.as, got)
		}
		if got := queryRows(t, db, "SHOW TABLES"); len(got) != 1 || got[0][0] != "victim" {
			t.Fatalf("%s: tables are now %v", c.name, got)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Fatalf("%s: %s was written (%v)", c.name, out, err)
		}
		if got := queryRows(t, db, "SELECT @v"); got[0][0] != "NULL" {
			t.Fatalf("%s: @v was set to %s", c.name, got[0][0])
		}
		if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 0 {
			t.Fatalf("%s: a detector was created: %v", c.name, got)
		}
	}

	// Read-only queries in every shape still train.
	for i, as := range []string{
		"SELECT x FROM victim",
		"SELECT id, x FROM victim FOR UPDATE",
		"WITH c AS (SELECT x FROM victim) SELECT x FROM c",
		"SELECT x FROM victim UNION ALL SELECT x + 1 FROM victim",
		"(SELECT x FROM victim) UNION (SELECT x FROM victim) ORDER BY x",
		"SELECT x FROM victim WHERE x > (SELECT MIN(x) FROM victim);",
		"TABLE victim",
		"VALUES ROW(1, 2), ROW(3, 4), ROW(5, 7)",
		"SELECT x FROM victim INTERSECT SELECT x FROM victim",
		"SELECT x FROM victim EXCEPT SELECT x FROM victim WHERE id = 1",
	} {
		name := "ok" + string(rune('a'+i))
		mustExec(t, db, "CREATE DETECTOR "+name+" USING autoencoder WITH (epochs = 1) AS "+as)
	}
}

// TestDetectorQueryHugeOptions: an option that would size the model
// beyond the server's memory is a clear 1210 (naming the option) before
// anything is allocated, and the server keeps answering. The bug it
// catches: rff_dim = 1e9 ended the process with "out of memory".
func TestDetectorQueryHugeOptions(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db,
		"CREATE DATABASE q",
		"USE q",
		"CREATE TABLE pts (x DOUBLE, y DOUBLE)",
		"INSERT INTO pts VALUES (1, 2), (2, 3), (3, 1), (4, 4)",
	)
	cases := []struct{ query, option string }{
		{"CREATE DETECTOR d USING ae_1svm WITH (rff_dim = 1000000000) AS SELECT x, y FROM pts", "rff_dim"},
		{"CREATE DETECTOR d USING ae_1svm WITH (rff_dim = 65536, hidden = '4096') AS SELECT x, y FROM pts", "rff_dim"},
		{"CREATE DETECTOR d USING randnet WITH (ensemble = 1000000000) AS SELECT x, y FROM pts", "ensemble"},
		{"CREATE DETECTOR d USING autoencoder WITH (hidden = '" + strings.TrimSuffix(strings.Repeat("4096,", 30), ",") + "') AS SELECT x, y FROM pts", "hidden"},
	}
	for _, c := range cases {
		msg := expectErr(t, db, c.query, 1210)
		if !strings.Contains(msg, c.option) {
			t.Errorf("%s: the error does not name %s: %s", c.query, c.option, msg)
		}
		if got := queryRows(t, db, "SELECT 1"); len(got) != 1 || got[0][0] != "1" {
			t.Fatalf("after %s: SELECT 1 gave %v", c.query, got)
		}
	}
	if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 0 {
		t.Fatalf("a detector was created: %v", got)
	}
}
