package engine_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestUpdateDeleteRewriteOnlyTheirFiles runs a server whose data files
// hold 64 KB of rows, fills a table with a primary key and one without
// (20,000 rows, a dozen files each), and checks that a single-row UPDATE
// or DELETE, found through the key or by its values, commits a snapshot
// that replaces one file (its rows: about a dozenth of the table, not the
// table), and that the contents are right, in the transaction that made
// the change, after ROLLBACK, and after a restart. Bugs caught: a
// rewrite of the whole table; a changed file kept or an unchanged one
// dropped; a row found in the wrong segment; an updated row lost or
// duplicated.
func TestUpdateDeleteRewriteOnlyTheirFiles(t *testing.T) {
	dir := t.TempDir()
	start := func() *testServer {
		return startServerConfig(t, engine.Config{DataDir: dir, DataFileBytes: 64 << 10})
	}
	ts := start()
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE w", "USE w",
		"CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE, s VARCHAR(8))",
		"CREATE TABLE h (id BIGINT, v DOUBLE, s VARCHAR(8))")
	const rows = 20_000
	for _, table := range []string{"k", "h"} {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s VALUES ", table)
		for i := range rows {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d.5, 's%d')", i, i, i%10)
		}
		mustExec(t, db, b.String())
	}
	lastChange := func(table string) (added, deleted int) {
		md := latestMetadata(t, dir, "w", table)
		for _, s := range md.Snapshots {
			if md.Current != nil && s.ID == *md.Current {
				added, _ = strconv.Atoi(s.Summary["added-records"])
				deleted, _ = strconv.Atoi(s.Summary["deleted-records"])
			}
		}
		return added, deleted
	}
	for _, c := range []struct{ table, stmt string }{
		{"k", "UPDATE k SET v = -1 WHERE id = 12345"},
		{"k", "DELETE FROM k WHERE id = 777"},
		{"h", "UPDATE h SET v = -1 WHERE id = 12345"},
		{"h", "DELETE FROM h WHERE id = 777"},
	} {
		mustExec(t, db, c.stmt)
		added, deleted := lastChange(c.table)
		if deleted == 0 || deleted > rows/5 || added > deleted {
			t.Errorf("%s: the snapshot added %d and deleted %d records; want the rows of one file of the %d", c.stmt, added, deleted, rows)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, table := range []string{"k", "h"} {
			expectRows(t, db, fmt.Sprintf("SELECT COUNT(*), SUM(v = -1), SUM(id = 777), CAST(SUM(id) AS SIGNED), MIN(v) FROM %s", table),
				[][]string{r(fmt.Sprint(rows-1), "1", "0", fmt.Sprint(rows*(rows-1)/2-777), "-1")})
			expectRows(t, db, fmt.Sprintf("SELECT id, v, s FROM %s WHERE id IN (12344, 12345, 12346) ORDER BY id", table),
				[][]string{r("12344", "12344.5", "s4"), r("12345", "-1", "s5"), r("12346", "12346.5", "s6")})
		}
	}
	check("after the changes")

	// In a transaction: the changes are seen by it, not by others, and
	// ROLLBACK leaves nothing.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE w.k SET v = -2 WHERE id = 5", "DELETE FROM w.k WHERE id = 6", "INSERT INTO w.k VALUES (6, 6, 'again')", "UPDATE w.k SET s = 'x' WHERE id = 6"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n, six int
	if err := tx.QueryRow("SELECT COUNT(*), SUM(s = 'x') FROM w.k WHERE id IN (5, 6) AND v < 7").Scan(&n, &six); err != nil || n != 2 || six != 1 {
		t.Errorf("inside the transaction: %d rows, %d updated twice, %v", n, six, err)
	}
	if _, err := tx.Exec("UPDATE w.k SET id = 7 WHERE id = 5"); err == nil || !strings.Contains(err.Error(), "1062") {
		t.Errorf("an UPDATE to a key of a row it did not read: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	check("after ROLLBACK")

	ts.stop()
	ts = start()
	db = ts.open("w")
	check("after a restart")
}
