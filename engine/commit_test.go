package engine_test

import (
	gosql "database/sql"
	"errors"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// interleave runs stmt on conn a while another connection commits
// concurrent between the statement's first row change and its completion.
// stmt must call GET_LOCK('started', 10) while producing its first row
// and GET_LOCK('gate', 10) while producing its second one: the first row
// change (which fixes the statement's base snapshot) happens before the
// other connection commits, the statement completes after it.
// interleave returns the MySQL error number stmt failed with (0 if none).
// a and b come from openBounded, so that a deadlock fails the test within
// seconds instead of hanging it.
func interleave(t *testing.T, a, b *gosql.DB, stmt, concurrent string) uint16 {
	t.Helper()
	if n := queryInt(t, b, "SELECT GET_LOCK('gate', 10)"); n != 1 {
		t.Fatalf("GET_LOCK('gate') = %d", n)
	}
	done := make(chan error, 1)
	go func() {
		_, err := a.Exec(stmt)
		done <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for queryRows(t, b, "SELECT IS_USED_LOCK('started')")[0][0] == "NULL" {
		if time.Now().After(deadline) {
			t.Fatal("statement never took lock 'started'")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The statement changes its first row right after taking 'started',
	// then blocks on 'gate' until it is released below.
	time.Sleep(100 * time.Millisecond)
	mustExec(t, b, concurrent)
	queryRows(t, b, "SELECT RELEASE_LOCK('gate')")
	select {
	case err := <-done:
		if err == nil {
			return 0
		}
		var me *mysql.MySQLError
		if !errors.As(err, &me) {
			t.Fatalf("%s: not a MySQL error: %v", stmt, explainTimeout(err))
		}
		return me.Number
	case <-time.After(20 * time.Second):
		t.Fatal("statement did not complete")
		return 0
	}
}

// TestRewriteRetriedOnInterleavedCommit: an autocommit UPDATE whose base
// snapshot is changed by another connection's commit during the
// statement loses the commit race, and is run again from the new
// snapshot instead of failing with 1213 (retry.go): the row committed
// meanwhile is updated too, and nothing is lost. Inside BEGIN … COMMIT the
// same interleaving fails the COMMIT with 1213 (ER_LOCK_DEADLOCK) and
// changes nothing; the other commit stays. Catches: an autocommit UPDATE
// that fails with 1213, one retried against the old snapshot (row 3 keeps
// v = 0) or one whose lost commit overwrote the interleaved insert.
func TestRewriteRetriedOnInterleavedCommit(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.open("")
	mustExec(t, admin, "CREATE DATABASE cc")
	a, b := ts.openBounded("cc"), ts.openBounded("cc")
	mustExec(t, a, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	mustExec(t, a, "INSERT INTO t VALUES (1, 0), (2, 0)")
	const update = "UPDATE t SET v = v + IF(id = 1, GET_LOCK('started', 10), GET_LOCK('gate', 10))"
	if n := interleave(t, a, b, update, "INSERT INTO t VALUES (3, 0)"); n != 0 {
		t.Fatalf("autocommit UPDATE with an interleaved commit gave error %d, want success", n)
	}
	got := queryRows(t, b, "SELECT id, v FROM t ORDER BY id")
	want := [][]string{{"1", "1"}, {"2", "1"}, {"3", "1"}}
	if !equalRows(got, want) {
		t.Fatalf("after the retried UPDATE: %v, want %v", got, want)
	}

	queryRows(t, a, "SELECT RELEASE_ALL_LOCKS()")
	mustExec(t, a, "BEGIN")
	if n := interleave(t, a, b, update, "INSERT INTO t VALUES (4, 0)"); n != 0 {
		t.Fatalf("UPDATE in a transaction gave error %d before COMMIT", n)
	}
	expectErr(t, a, "COMMIT", 1213)
	got = queryRows(t, b, "SELECT id, v FROM t ORDER BY id")
	want = [][]string{{"1", "1"}, {"2", "1"}, {"3", "1"}, {"4", "0"}}
	if !equalRows(got, want) {
		t.Fatalf("after the failed COMMIT: %v, want %v", got, want)
	}
	// Without interference the same statement commits.
	mustExec(t, a, "UPDATE t SET v = v + 1")
	if n := queryInt(t, a, "SELECT SUM(v) FROM t"); n != 7 {
		t.Fatalf("SUM(v) = %d after UPDATE, want 7", n)
	}
}

// TestAppendRechecksKeysOnInterleavedCommit: an INSERT whose key was
// inserted by another connection after the statement took its base
// snapshot fails with error 1062 and inserts none of its rows.
func TestAppendRechecksKeysOnInterleavedCommit(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.open("")
	mustExec(t, admin, "CREATE DATABASE cc")
	a, b := ts.openBounded("cc"), ts.openBounded("cc")
	mustExec(t, a, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	mustExec(t, a, "INSERT INTO t VALUES (1, 0)")
	mustExec(t, a, "CREATE TABLE s (id INT)")
	mustExec(t, a, "INSERT INTO s VALUES (10), (5)")
	n := interleave(t, a, b,
		"INSERT INTO t SELECT id, IF(id = 10, GET_LOCK('started', 10), GET_LOCK('gate', 10)) FROM s",
		"INSERT INTO t VALUES (5, 7)")
	if n != 1062 {
		t.Fatalf("INSERT of a key committed meanwhile gave error %d, want 1062", n)
	}
	got := queryRows(t, b, "SELECT id, v FROM t ORDER BY id")
	want := [][]string{{"1", "0"}, {"5", "7"}}
	if !equalRows(got, want) {
		t.Fatalf("after the failed INSERT: %v, want %v", got, want)
	}
	// A concurrent commit of other keys does not fail the statement.
	queryRows(t, a, "SELECT RELEASE_ALL_LOCKS()")
	mustExec(t, a, "DELETE FROM s WHERE id = 5")
	mustExec(t, a, "INSERT INTO s VALUES (6)")
	n = interleave(t, a, b,
		"INSERT INTO t SELECT id, IF(id = 10, GET_LOCK('started', 10), GET_LOCK('gate', 10)) FROM s",
		"INSERT INTO t VALUES (8, 8)")
	if n != 0 {
		t.Fatalf("INSERT next to a concurrent commit of other keys gave error %d", n)
	}
	got = queryRows(t, b, "SELECT id, v FROM t ORDER BY id")
	want = [][]string{{"1", "0"}, {"5", "7"}, {"6", "1"}, {"8", "8"}, {"10", "1"}}
	if !equalRows(got, want) {
		t.Fatalf("after the INSERT: %v, want %v", got, want)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for j := range a[i] {
			if a[i][j] != b[i][j] {
				return false
			}
		}
	}
	return true
}
