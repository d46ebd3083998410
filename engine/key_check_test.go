package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestInsertKeyChecksThroughTheIndex fills a table with a BIGINT primary
// key and a UNIQUE DOUBLE column over 40,000 rows in several data files,
// then checks the key checks of INSERT, which search the table's sorted
// index for the committed rows: a duplicate of a row in the middle of
// the table is 1062 naming the value, a new key is accepted, a duplicate of
// a row the transaction inserted itself is 1062, and a row committed by
// another session after the transaction began is no duplicate at
// statement time but fails the COMMIT (the commit's re-check). Bugs
// caught: an index search that misses (a duplicate accepted), one that
// finds neighbours (a new key refused), rows newer than the base taken
// for base rows, a COUNT(*) that does not fix the transaction's
// snapshot (REPEATABLE READ: its first read does).
func TestInsertKeyChecksThroughTheIndex(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE k", "USE k",
		"CREATE TABLE t (id BIGINT PRIMARY KEY, f DOUBLE, n INT, UNIQUE KEY uf (f))")
	const rows, per = 40_000, 5_000
	for start := 0; start < rows; start += per {
		var b strings.Builder
		b.WriteString("INSERT INTO t VALUES ")
		for i := start; i < start+per; i++ {
			if i > start {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d.25, %d)", 3*i, i, i%7)
		}
		mustExec(t, db, b.String())
	}
	if msg := expectErr(t, db, "INSERT INTO t VALUES (60000, -1, 0)", 1062); !strings.Contains(msg, "primary key given: [60000]") {
		t.Errorf("duplicate primary key: %q", msg)
	}
	if msg := expectErr(t, db, "INSERT INTO t VALUES (-5, 31234.25, 0)", 1062); !strings.Contains(msg, "unique key given: [31234.25]") {
		t.Errorf("duplicate UNIQUE DOUBLE: %q", msg)
	}
	// Neighbours of existing keys are new keys.
	mustExec(t, db, "INSERT INTO t VALUES (60001, 31234.5, 0), (59999, 31234.125, 0)")
	expectRows(t, db, "SELECT COUNT(*) FROM t", [][]string{r(fmt.Sprint(rows + 2))})

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM k.t").Scan(&n); err != nil { // fixes the transaction's snapshot
		t.Fatal(err)
	}
	other := ts.open("k")
	mustExec(t, other, "INSERT INTO t VALUES (-20, -20.5, 0)")
	if _, err := tx.Exec("INSERT INTO k.t VALUES (-10, -10.5, 0)"); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO k.t VALUES (-10, -11.5, 0)"); err == nil || !strings.Contains(err.Error(), "1062") {
		t.Errorf("duplicate of the transaction's own row: %v", err)
	}
	if _, err := tx.Exec("INSERT INTO k.t VALUES (3, -3.5, 0)"); err == nil || !strings.Contains(err.Error(), "1062") {
		t.Errorf("duplicate of a base row after another commit: %v", err)
	}
	if _, err := tx.Exec("INSERT INTO k.t VALUES (-20, -21.5, 0)"); err != nil {
		t.Errorf("a row committed after the transaction began is not yet a duplicate: %v", err)
	}
	if err := tx.Commit(); err == nil || !strings.Contains(err.Error(), "1062") {
		t.Errorf("COMMIT of a duplicate of a row committed since: %v", err)
	}
	expectRows(t, db, "SELECT COUNT(*) FROM t WHERE id < 0", [][]string{r("1")})
}
