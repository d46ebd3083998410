package engine_test

import (
	gosql "database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// session opens a pool of exactly one connection, so that every
// statement runs in the same server session (transactions are per
// session). Closing it closes the connection.
func (ts *testServer) session(db string) *gosql.DB {
	ts.t.Helper()
	c := ts.open(db)
	c.SetMaxOpenConns(1)
	c.SetMaxIdleConns(1)
	c.SetConnMaxLifetime(0)
	return c
}

func countRows(t *testing.T, db *gosql.DB, table string) int64 {
	t.Helper()
	return queryInt(t, db, "SELECT COUNT(*) FROM "+table)
}

// TestTransactionIsolationAndRollback: a transaction sees its own
// INSERT, UPDATE and DELETE, other sessions see none of them, and
// ROLLBACK leaves nothing. Catches: a ROLLBACK that does not discard (the
// editor committing at statement end), scans that ignore the
// transaction's rows, or writes that reach storage before COMMIT.
func TestTransactionIsolationAndRollback(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v DOUBLE)",
		"INSERT INTO tx.t VALUES (1, 10), (2, 20), (3, 30)",
	)

	a, b := ts.session("tx"), ts.session("tx")
	mustExec(t, a, "START TRANSACTION")
	mustExec(t, a, "INSERT INTO t VALUES (4, 40), (5, 50)")
	mustExec(t, a, "UPDATE t SET v = v + 1 WHERE id <= 2")
	mustExec(t, a, "DELETE FROM t WHERE id = 3")
	if got := queryRows(t, a, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 11] [2 21] [4 40] [5 50]]" {
		t.Fatalf("inside the transaction (primary-key order, an index scan): %v", got)
	}
	if got := queryRows(t, a, "SELECT SUM(v) FROM t WHERE v > 0"); fmt.Sprint(got) != "[[122]]" {
		t.Fatalf("inside the transaction (a table scan): %v", got)
	}
	if got := queryRows(t, b, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 10] [2 20] [3 30]]" {
		t.Fatalf("another session sees uncommitted changes: %v", got)
	}
	mustExec(t, a, "ROLLBACK")
	for name, db := range map[string]*gosql.DB{"own": a, "other": b} {
		if got := queryRows(t, db, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 10] [2 20] [3 30]]" {
			t.Fatalf("%s session after ROLLBACK: %v", name, got)
		}
	}
	// ROLLBACK and COMMIT without a transaction are harmless.
	mustExec(t, a, "ROLLBACK")
	mustExec(t, a, "COMMIT")
}

// TestTransactionCommitAcrossTables: COMMIT publishes every table's
// changes; before it, nothing is visible, and after a restart everything
// is. Catches: a commit that writes only the first table, or that does not
// publish at all.
func TestTransactionCommitAcrossTables(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.a (id INT PRIMARY KEY)",
		"CREATE TABLE tx.b (id INT PRIMARY KEY)",
	)

	s := ts.session("tx")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO a VALUES (1), (2)")
	mustExec(t, s, "INSERT INTO b VALUES (7)")
	mustExec(t, s, "INSERT INTO a SELECT id + 10 FROM b")
	if n := countRows(t, root, "tx.a") + countRows(t, root, "tx.b"); n != 0 {
		t.Fatalf("%d rows visible before COMMIT", n)
	}
	mustExec(t, s, "COMMIT")
	if got := queryRows(t, root, "SELECT id FROM tx.a ORDER BY id"); fmt.Sprint(got) != "[[1] [2] [17]]" {
		t.Fatalf("a after COMMIT: %v", got)
	}
	if n := countRows(t, root, "tx.b"); n != 1 {
		t.Fatalf("b after COMMIT: %d rows", n)
	}
	ts.stop()
	ts2 := startServer(t, dir, false)
	if n := countRows(t, ts2.open(""), "tx.a"); n != 3 {
		t.Fatalf("a after restart: %d rows", n)
	}
}

// TestAutocommitOff: with autocommit = 0 (the default of PyMySQL,
// mysqlclient and SQLAlchemy) statements stay private until COMMIT, and a
// connection closed without COMMIT leaves nothing. Catches: ignoring
// autocommit, or a lost connection whose writes are kept.
func TestAutocommitOff(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT)",
	)

	s := ts.session("tx")
	mustExec(t, s, "SET autocommit = 0")
	mustExec(t, s, "INSERT INTO t VALUES (1)")
	mustExec(t, s, "INSERT INTO t VALUES (2)")
	if n := countRows(t, root, "tx.t"); n != 0 {
		t.Fatalf("%d rows visible without COMMIT", n)
	}
	mustExec(t, s, "COMMIT")
	if n := countRows(t, root, "tx.t"); n != 2 {
		t.Fatalf("%d rows after COMMIT, want 2", n)
	}
	mustExec(t, s, "INSERT INTO t VALUES (3)")
	s.Close() // the connection ends with the transaction open
	if n := countRows(t, root, "tx.t"); n != 2 {
		t.Fatalf("%d rows after the connection closed mid-transaction, want 2", n)
	}
}

// TestReadOnlyTransaction: START TRANSACTION READ ONLY refuses writes
// with MySQL's 1792. Catches: a read-only transaction accepting INSERT.
func TestReadOnlyTransaction(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT)",
	)
	s := ts.session("tx")
	mustExec(t, s, "START TRANSACTION READ ONLY")
	expectErr(t, s, "INSERT INTO t VALUES (1)", 1792)
	mustExec(t, s, "COMMIT")
	mustExec(t, s, "INSERT INTO t VALUES (1)")
	if n := countRows(t, root, "tx.t"); n != 1 {
		t.Fatalf("%d rows, want 1", n)
	}
}

// TestSavepointsAndStatementAtomicity: ROLLBACK TO SAVEPOINT undoes what
// followed the savepoint, a failing statement inside a transaction undoes
// only itself, and an unknown savepoint is 1305. Catches: an undo log
// that undoes too much or too little.
func TestSavepointsAndStatementAtomicity(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO tx.t VALUES (1, 1)",
	)

	s := ts.session("tx")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO t VALUES (2, 2)")
	mustExec(t, s, "SAVEPOINT sp1")
	mustExec(t, s, "INSERT INTO t VALUES (3, 3)")
	mustExec(t, s, "UPDATE t SET v = 100 WHERE id = 1")
	mustExec(t, s, "SAVEPOINT sp2")
	mustExec(t, s, "DELETE FROM t WHERE id = 2")
	mustExec(t, s, "ROLLBACK TO SAVEPOINT sp2")
	if got := queryRows(t, s, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 100] [2 2] [3 3]]" {
		t.Fatalf("after ROLLBACK TO sp2: %v", got)
	}
	mustExec(t, s, "ROLLBACK TO sp1")
	if got := queryRows(t, s, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 1] [2 2]]" {
		t.Fatalf("after ROLLBACK TO sp1: %v", got)
	}
	expectErr(t, s, "ROLLBACK TO sp2", 1305) // deleted by rolling back to sp1
	// A statement that fails half-way leaves the transaction as it was.
	expectErr(t, s, "INSERT INTO t VALUES (4, 4), (1, 5)", 1062)
	mustExec(t, s, "INSERT INTO t VALUES (5, 5)")
	mustExec(t, s, "COMMIT")
	if got := queryRows(t, root, "SELECT id, v FROM tx.t ORDER BY id"); fmt.Sprint(got) != "[[1 1] [2 2] [5 5]]" {
		t.Fatalf("after COMMIT: %v", got)
	}
}

// TestWriteConflictIs1213: two transactions that rewrite the same table:
// the later committer gets 1213 and none of its changes survive; the
// session can go on. Catches: a lost update (the second rewrite
// overwriting the first).
func TestWriteConflictIs1213(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO tx.t VALUES (1, 0), (2, 0)",
	)

	a, b := ts.session("tx"), ts.session("tx")
	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "UPDATE t SET v = 1 WHERE id = 1")
	mustExec(t, b, "UPDATE t SET v = 2 WHERE id = 2")
	mustExec(t, a, "COMMIT")
	expectErr(t, b, "COMMIT", 1213)
	if got := queryRows(t, root, "SELECT id, v FROM tx.t ORDER BY id"); fmt.Sprint(got) != "[[1 1] [2 0]]" {
		t.Fatalf("after the conflict: %v", got)
	}
	mustExec(t, b, "UPDATE t SET v = 2 WHERE id = 2") // autocommit again
	if got := queryRows(t, root, "SELECT v FROM tx.t WHERE id = 2"); fmt.Sprint(got) != "[[2]]" {
		t.Fatalf("retry after the conflict: %v", got)
	}
}

// TestDetectorStatementCommitsImplicitly: a DETECTOR statement inside a
// transaction commits it first, as MySQL does for DDL, and trains on the
// transaction's rows. Catches: training on a snapshot without them, or
// leaving them uncommitted.
func TestDetectorStatementCommitsImplicitly(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (a DOUBLE, b DOUBLE)",
	)
	s := ts.session("tx")
	mustExec(t, s, "BEGIN")
	var vals []string
	for i := 0; i < 50; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d)", i, i%7))
	}
	mustExec(t, s, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	mustExec(t, s, "CREATE DETECTOR d USING autoencoder WITH (epochs = 1) AS SELECT a, b FROM t")
	if n := countRows(t, root, "tx.t"); n != 50 {
		t.Fatalf("%d rows after the implicit commit, want 50", n)
	}
	if got := queryRows(t, root, "SHOW DETECTORS FROM tx"); len(got) != 1 || got[0][3] != "50" {
		t.Fatalf("SHOW DETECTORS: %v", got)
	}
	mustExec(t, s, "ROLLBACK") // nothing left to roll back
	if n := countRows(t, root, "tx.t"); n != 50 {
		t.Fatalf("%d rows after ROLLBACK, want 50", n)
	}
}

// TestLoadDataLocalIsOneStatement: LOAD DATA LOCAL (run by
// go-mysql-server in IGNORE mode, with a checkpoint per row) commits one
// snapshot, is undone whole by ROLLBACK inside a transaction, and loads
// thousands of rows quickly. Catches: per-row commits.
func TestLoadDataLocalIsOneStatement(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE ld",
		"CREATE TABLE ld.t (id INT PRIMARY KEY, v DOUBLE)",
	)
	path := filepath.Join(t.TempDir(), "rows.csv")
	var b strings.Builder
	const n = 20000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "%d,%d.5\n", i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	load := "LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE t FIELDS TERMINATED BY ','"
	s := ts.session("ld")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, load)
	if got := countRows(t, s, "t"); got != n {
		t.Fatalf("inside the transaction: %d rows, want %d", got, n)
	}
	mustExec(t, s, "ROLLBACK")
	if got := countRows(t, root, "ld.t"); got != 0 {
		t.Fatalf("after ROLLBACK: %d rows", got)
	}
	if md := latestMetadata(t, dir, "ld", "t"); md.currentSnapshot() != nil {
		t.Fatalf("ROLLBACK left a snapshot")
	}
	mustExec(t, s, load)
	cur := latestMetadata(t, dir, "ld", "t").currentSnapshot()
	if cur == nil || cur.Sequence != 1 || cur.Summary["total-records"] != fmt.Sprint(n) {
		t.Fatalf("after the load: snapshot %+v, want sequence 1 with %d rows", cur, n)
	}
}

// TestDeleteAllInTransaction: go-mysql-server runs a DELETE without WHERE
// as a truncation; inside a transaction it must stay private and be
// undone by ROLLBACK. Catches: Truncate writing storage directly.
func TestDeleteAllInTransaction(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO tx.t VALUES (1, 1), (2, 2), (3, 3)",
	)
	s := ts.session("tx")
	mustExec(t, s, "BEGIN")
	if res := mustExec(t, s, "DELETE FROM t"); func() int64 { n, _ := res.RowsAffected(); return n }() != 3 {
		t.Fatal("DELETE FROM t did not report 3 rows")
	}
	if n := countRows(t, s, "t"); n != 0 {
		t.Fatalf("inside the transaction: %d rows, want 0", n)
	}
	if n := countRows(t, root, "tx.t"); n != 3 {
		t.Fatalf("another session sees %d rows before COMMIT, want 3", n)
	}
	mustExec(t, s, "ROLLBACK")
	if n := countRows(t, root, "tx.t"); n != 3 {
		t.Fatalf("after ROLLBACK: %d rows, want 3", n)
	}
	mustExec(t, s, "DELETE FROM t") // autocommit
	if n := countRows(t, root, "tx.t"); n != 0 {
		t.Fatalf("after an autocommitted DELETE: %d rows, want 0", n)
	}
}

// TestDDLCommitsOpenTransactionFirst: TRUNCATE TABLE and DROP TABLE
// commit the open transaction before they run, as MySQL does. Catches:
// go-mysql-server's implicit commit running after the DDL (a truncation
// that keeps the transaction's rows, a DROP that loses another table's).
func TestDDLCommitsOpenTransactionFirst(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.a (id INT PRIMARY KEY)",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v INT)",
	)
	s := ts.session("tx")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO t VALUES (9, 9)")
	mustExec(t, s, "TRUNCATE TABLE t")
	if n := countRows(t, root, "tx.t"); n != 0 {
		t.Fatalf("after TRUNCATE: %d rows, want 0", n)
	}
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO a VALUES (1)")
	mustExec(t, s, "INSERT INTO t VALUES (9, 9)")
	mustExec(t, s, "DROP TABLE t")
	if n := countRows(t, root, "tx.a"); n != 1 {
		t.Fatalf("after DROP TABLE in the transaction: a has %d rows, want 1", n)
	}
}

// TestFailedAutocommitStatementEndsTransaction: after a statement fails
// under autocommit, the next one sees other sessions' commits. Catches:
// the failed statement's transaction (and its old snapshot) being reused.
func TestFailedAutocommitStatementEndsTransaction(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE tx",
		"CREATE TABLE tx.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO tx.t VALUES (1, 1)",
	)
	a := ts.session("tx")
	expectErr(t, a, "INSERT INTO t VALUES (1, 1)", 1062)
	mustExec(t, root, "INSERT INTO tx.t VALUES (2, 2)")
	if n := queryInt(t, a, "SELECT COUNT(*) FROM t WHERE v > 0"); n != 2 {
		t.Fatalf("after the failed statement: %d rows seen, want 2", n)
	}
	mustExec(t, a, "UPDATE t SET v = 5 WHERE id = 1") // no false 1213
}
