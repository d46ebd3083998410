package engine_test

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestUpdateDeleteWritePositionDeletes runs a server whose data files
// hold 64 KB of rows, fills a table with a primary key and one without
// (20,000 rows, a dozen files each), and checks that a single-row UPDATE
// or DELETE, found through the key or by its values, commits a snapshot
// that rewrites no data file: one position delete file deleting one row,
// and for an UPDATE one new data file of one row (merge-on-read,
// storage/deletes.go); and that the contents are right, in the
// transaction that made the change, after ROLLBACK, and after a restart
// (which reads the delete files). Bugs caught: a rewrite of a data file
// or of the whole table; a row found in the wrong segment or deleted at
// the wrong position; an updated row lost or duplicated; delete files
// ignored after a restart.
func TestUpdateDeleteWritePositionDeletes(t *testing.T) {
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
	base := map[string]string{} // the snapshot before the changes
	for _, table := range []string{"k", "h"} {
		snaps := showSnapshots(t, db, table)
		base[table] = snaps[len(snaps)-1].id()
	}
	lastChange := func(table string) map[string]int {
		md := latestMetadata(t, dir, "w", table)
		out := map[string]int{}
		for _, s := range md.Snapshots {
			if md.Current != nil && s.ID == *md.Current {
				for _, k := range []string{"added-records", "deleted-records", "added-data-files", "deleted-data-files", "added-position-deletes", "added-position-delete-files"} {
					out[k], _ = strconv.Atoi(s.Summary[k])
				}
			}
		}
		return out
	}
	for _, c := range []struct {
		table, stmt string
		added       int
	}{
		{"k", "UPDATE k SET v = -1 WHERE id = 12345", 1},
		{"k", "DELETE FROM k WHERE id = 777", 0},
		{"h", "UPDATE h SET v = -1 WHERE id = 12345", 1},
		{"h", "DELETE FROM h WHERE id = 777", 0},
	} {
		mustExec(t, db, c.stmt)
		want := map[string]int{"added-records": c.added, "added-data-files": c.added, "added-position-deletes": 1, "added-position-delete-files": 1,
			"deleted-records": 0, "deleted-data-files": 0}
		if got := lastChange(c.table); !maps.Equal(got, want) {
			t.Errorf("%s: the snapshot summary counts %v; want %v (one position delete, no data file rewritten)", c.stmt, got, want)
		}
	}
	check := func(when string) {
		t.Helper()
		for _, table := range []string{"k", "h"} {
			// First (after a restart, before any scan): COUNT(*) from the
			// snapshot's metadata, which must subtract the deletes.
			expectRows(t, db, "SELECT COUNT(*) FROM "+table, [][]string{r(fmt.Sprint(rows - 1))})
			if snaps := showSnapshots(t, db, table); snaps[len(snaps)-1].total() != fmt.Sprint(rows-1) {
				t.Errorf("%s: SHOW SNAPSHOTS gives the current snapshot of %s %s rows, want %d", when, table, snaps[len(snaps)-1].total(), rows-1)
			}
			// Point lookups (through the index on k) and the scan.
			expectRows(t, db, fmt.Sprintf("SELECT id FROM %s WHERE id IN (776, 777, 778) ORDER BY id", table), [][]string{r("776"), r("778")})
			expectRows(t, db, fmt.Sprintf("SELECT COUNT(*), SUM(v = -1), SUM(id = 777), CAST(SUM(id) AS SIGNED), MIN(v) FROM %s", table),
				[][]string{r(fmt.Sprint(rows-1), "1", "0", fmt.Sprint(rows*(rows-1)/2-777), "-1")})
			expectRows(t, db, fmt.Sprintf("SELECT id, v, s FROM %s WHERE id IN (12344, 12345, 12346) ORDER BY id", table),
				[][]string{r("12344", "12344.5", "s4"), r("12345", "-1", "s5"), r("12346", "12346.5", "s6")})
			// The snapshot before the changes, without their deletes.
			expectRows(t, db, fmt.Sprintf("SELECT COUNT(*), SUM(id = 777), SUM(v = -1) FROM %s AS OF %s", table, base[table]), [][]string{r(fmt.Sprint(rows), "1", "0")})
			expectRows(t, db, fmt.Sprintf("SELECT v FROM %s AS OF %s WHERE id = 12345", table, base[table]), [][]string{r("12345.5")})
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
