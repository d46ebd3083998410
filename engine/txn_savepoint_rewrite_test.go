package engine_test

import (
	"fmt"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestSpillSavepointsAndRewrite: transactions that stage rows (a 256 KB
// insert buffer) and set savepoints, roll back to them, switch to
// overwrite mode and commit keep exactly their rows, also after a
// restart, and leave no file behind.
func TestSpillSavepointsAndRewrite(t *testing.T) {
	defer engine.SetSpillBytes(256 << 10)()
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE g", "USE g", "CREATE TABLE src (id BIGINT PRIMARY KEY, v DOUBLE)")
	const rows = 60_000
	fillSrc(t, db, rows)
	sums := "SELECT COUNT(*), CAST(SUM(id) AS SIGNED) FROM "
	sum := func(lo, hi int) [][]string {
		return [][]string{r(fmt.Sprint(hi-lo), fmt.Sprint((hi-1)*hi/2-(lo-1)*lo/2))}
	}
	mustExec(t, db, "CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE)")

	// 1. savepoint between two spilling statements, rolled back to.
	tx, _ := db.Begin()
	for _, q := range []string{
		"INSERT INTO g.k SELECT id, v FROM g.src WHERE id < 30000",
		"SAVEPOINT s",
		"INSERT INTO g.k SELECT id, v FROM g.src WHERE id >= 30000",
		"ROLLBACK TO SAVEPOINT s",
		"INSERT INTO g.k SELECT id, v FROM g.src WHERE id >= 30000 AND id < 40000",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	expectRows(t, db, sums+"k", sum(0, 40000))
	mustExec(t, db, "DELETE FROM k")

	// 2. spill, savepoint, DELETE (overwrite mode), rollback to, commit.
	tx, _ = db.Begin()
	for _, q := range []string{
		"INSERT INTO g.k SELECT id, v FROM g.src",
		"SAVEPOINT s",
		"DELETE FROM g.k WHERE id = 5",
		"ROLLBACK TO SAVEPOINT s",
		"INSERT INTO g.k VALUES (100000, 1)",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want := sum(0, rows)
	want[0][0] = fmt.Sprint(rows + 1)
	want[0][1] = fmt.Sprint((rows-1)*rows/2 + 100000)
	expectRows(t, db, sums+"k", want)
	mustExec(t, db, "DELETE FROM k")

	// 3. spill then DELETE of a spilled row and UPDATE of another, commit.
	tx, _ = db.Begin()
	for _, q := range []string{
		"INSERT INTO g.k SELECT id, v FROM g.src",
		"DELETE FROM g.k WHERE id = 5",
		"UPDATE g.k SET id = 100005 WHERE id = 6",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	want = [][]string{r(fmt.Sprint(rows-1), fmt.Sprint((rows-1)*rows/2-5-6+100005))}
	expectRows(t, db, sums+"k", want)
	before := parquetFiles(t, dir, "g", "k")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("g")
	expectRows(t, db, sums+"k", want)
	if after := parquetFiles(t, dir, "g", "k"); after != before {
		t.Errorf("data files of k: %d before restart, %d after (leaked files removed by Open)", before, after)
	}
}

// TestUndoAddAfterKeyAll: ROLLBACK TO SAVEPOINT in overwrite mode after
// the base rows were keyed by value (keyAll) leaves the row-by-value map
// pointing at the right rows (a later DELETE removes the row it names).
func TestUndoAddAfterKeyAll(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE g", "USE g",
		"CREATE TABLE n (id BIGINT, u BIGINT UNIQUE, s VARCHAR(8))",
		"INSERT INTO n VALUES (1, 1, 'a'), (2, NULL, 'b'), (3, NULL, 'c')")
	tx, _ := db.Begin()
	for _, q := range []string{
		"DELETE FROM g.n WHERE id = 1",
		"SAVEPOINT s",
		"INSERT INTO g.n VALUES (2, NULL, 'b')",
		"DELETE FROM g.n WHERE id = 3",
		"ROLLBACK TO SAVEPOINT s",
		"INSERT INTO g.n VALUES (9, NULL, 'z')",
		"DELETE FROM g.n WHERE id = 2",
	} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	expectRows(t, db, "SELECT id, s FROM n ORDER BY id", [][]string{r("3", "c"), r("9", "z")})
}
