package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestLargeTransaction writes more rows in one transaction than are kept
// as rows (they are packed into Arrow batches, see insertLog): the
// transaction reads them back (scans, aggregates, a point lookup), a
// duplicate of a packed row is 1062, ROLLBACK TO SAVEPOINT inside and
// between packed batches restores exactly the rows before it, an UPDATE
// of a packed row works, and COMMIT stores exactly the rows the
// transaction saw. Catches: packed rows missing from the transaction's
// view or from the commit, keys of packed rows forgotten or kept after a
// rollback, a truncation that drops the wrong rows.
func TestLargeTransaction(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE lt",
		"CREATE TABLE lt.t (id INT PRIMARY KEY, v DOUBLE, s VARCHAR(20))")
	db := ts.session("lt")
	insert := func(from, to int) {
		t.Helper()
		for lo := from; lo < to; lo += 5000 {
			var vals []string
			for i := lo; i < min(lo+5000, to); i++ {
				vals = append(vals, fmt.Sprintf("(%d, %d.5, 's%d')", i, i, i))
			}
			mustExec(t, db, "INSERT INTO t VALUES "+strings.Join(vals, ","))
		}
	}
	// sum of v = i + 0.5 over [0, n)
	sumTo := func(n int) string { return fmt.Sprintf("%d", n*(n-1)/2+n/2) }
	mustExec(t, db, "BEGIN")
	insert(0, 40000)
	expectRows(t, db, "SELECT COUNT(*), CAST(SUM(v) - 0.5 * (COUNT(*) % 2) AS SIGNED) FROM t", [][]string{r("40000", sumTo(40000))})
	expectRows(t, db, "SELECT s FROM t WHERE id = 12345", [][]string{r("s12345")})
	expectErr(t, db, "INSERT INTO t VALUES (100, 0, 'dup')", 1062)
	mustExec(t, db, "SAVEPOINT a")
	insert(40000, 70000)
	mustExec(t, db, "SAVEPOINT b")
	insert(70000, 75000)
	expectRows(t, db, "SELECT COUNT(*) FROM t", [][]string{r("75000")})
	mustExec(t, db, "ROLLBACK TO SAVEPOINT b")
	expectRows(t, db, "SELECT COUNT(*), MAX(id) FROM t", [][]string{r("70000", "69999")})
	mustExec(t, db, "ROLLBACK TO SAVEPOINT a")
	expectRows(t, db, "SELECT COUNT(*), MAX(id) FROM t", [][]string{r("40000", "39999")})
	// The keys of the rolled-back rows are free again, the others not.
	insert(40000, 40010)
	expectErr(t, db, "INSERT INTO t VALUES (39999, 0, 'dup')", 1062)
	expectRows(t, root, "SELECT COUNT(*) FROM lt.t", [][]string{r("0")}) // not committed yet
	mustExec(t, db, "UPDATE t SET s = 'changed' WHERE id = 20000")
	mustExec(t, db, "COMMIT")
	expectRows(t, root, "SELECT COUNT(*), MAX(id) FROM lt.t", [][]string{r("40010", "40009")})
	expectRows(t, root, "SELECT s FROM lt.t WHERE id IN (19999, 20000, 40009) ORDER BY id", [][]string{r("s19999"), r("changed"), r("s40009")})
}
