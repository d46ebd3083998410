package engine_test

import (
	gosql "database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// parquetFiles counts the data files in a table's data directory.
func parquetFiles(t *testing.T, dir, db, table string) int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "warehouse", db, table, "data", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	return len(files)
}

// TestLargeInsertsStageTheirRows runs statements that append far more
// rows than the transaction may hold in memory (a spill threshold of 256
// KB): CREATE TABLE … AS SELECT, INSERT … SELECT into a table with a
// primary key, the same rolled back, and one failing on its last row.
// Their rows go to data files as they come (staged) and are committed as
// one snapshot; a rollback or a failure leaves no file and no row behind;
// reads in the transaction see the staged rows. Bugs caught: staged rows
// lost or duplicated at COMMIT, staged files left behind (or committed)
// by ROLLBACK or a failed statement, a key check that skips the staged
// rows, a scan in the transaction that does not see them.
func TestLargeInsertsStageTheirRows(t *testing.T) {
	defer engine.SetSpillBytes(256 << 10)()
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE g", "USE g", "CREATE TABLE src (id BIGINT PRIMARY KEY, v DOUBLE)")
	const rows = 100_000
	fillSrc(t, db, rows)
	sums := "SELECT COUNT(*), CAST(SUM(id) AS SIGNED), SUM(v) FROM "
	want := [][]string{r(fmt.Sprint(rows), fmt.Sprint(rows*(rows-1)/2), fmt.Sprint(float64(rows/1000)*(999*1000/2+500)))}

	mustExec(t, db, "CREATE TABLE scored AS SELECT id, v, v * 2 AS w FROM src")
	expectRows(t, db, sums+"scored", want)
	if n := len(showSnapshots(t, db, "scored")); n != 1 {
		t.Errorf("CREATE TABLE … AS SELECT made %d snapshots, want 1", n)
	}

	mustExec(t, db, "CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE)")
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec("INSERT INTO g.k SELECT id, v FROM g.src"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM g.k WHERE v = 999.5").Scan(&n); err != nil || n != rows/1000 {
		t.Errorf("the transaction's scan of its staged rows: %d, %v", n, err)
	}
	if _, err := tx.Exec("INSERT INTO g.k VALUES (77, 0)"); err == nil || !strings.Contains(err.Error(), "1062") {
		t.Errorf("duplicate of a staged row: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	expectRows(t, db, "SELECT COUNT(*) FROM k", [][]string{r("0")})
	if n := parquetFiles(t, dir, "g", "k"); n != 0 {
		t.Errorf("%d data files left by a rolled back INSERT … SELECT", n)
	}

	expectErr(t, db, "INSERT INTO k SELECT id, v FROM src UNION ALL SELECT 5, 0", 1062)
	expectRows(t, db, "SELECT COUNT(*) FROM k", [][]string{r("0")})
	if n := parquetFiles(t, dir, "g", "k"); n != 0 {
		t.Errorf("%d data files left by a failed INSERT … SELECT", n)
	}

	mustExec(t, db, "INSERT INTO k SELECT id, v FROM src")
	expectRows(t, db, sums+"k", want)
	before := parquetFiles(t, dir, "g", "k")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("g")
	expectRows(t, db, sums+"k", want)
	expectRows(t, db, sums+"scored", want)
	if after := parquetFiles(t, dir, "g", "k"); after != before || before < 2 {
		t.Errorf("data files of k: %d before the restart, %d after; want the same, several", before, after)
	}
}

// fillSrc inserts rows (i, i%1000 + 0.5) for i in [0, rows) into the
// current database's table src, 10,000 a statement.
func fillSrc(t *testing.T, db *gosql.DB, rows int) {
	t.Helper()
	for start := 0; start < rows; start += 10_000 {
		var b strings.Builder
		b.WriteString("INSERT INTO src VALUES ")
		for i := start; i < min(rows, start+10_000); i++ {
			if i > start {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d.5)", i, i%1000)
		}
		mustExec(t, db, b.String())
	}
}
