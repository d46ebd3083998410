package engine_test

import (
	gosql "database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// TestMultiTableCommitSurvivesRestart: a transaction that inserts into
// two tables and updates one of them commits both, and a restart shows
// both. Catches: a multi-table commit that publishes in memory only, or
// that leaves one of its tables out.
func TestMultiTableCommitSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	root := ts.open("")
	mustExecAll(t, root,
		"CREATE DATABASE mt",
		"CREATE TABLE mt.a (id INT PRIMARY KEY)",
		"CREATE TABLE mt.b (id INT PRIMARY KEY, v INT)",
		"INSERT INTO mt.b VALUES (1, 0)",
	)

	s := ts.session("mt")
	mustExec(t, s, "BEGIN")
	mustExec(t, s, "INSERT INTO a VALUES (1), (2)")
	mustExec(t, s, "INSERT INTO b VALUES (2, 0)")
	mustExec(t, s, "UPDATE b SET v = v + 10")
	mustExec(t, s, "COMMIT")
	want := map[string]string{"a": "[[1] [2]]", "b": "[[1 10] [2 10]]"}
	check := func(db *gosql.DB, when string) {
		t.Helper()
		for tbl, w := range want {
			if got := fmt.Sprint(queryRows(t, db, "SELECT * FROM mt."+tbl+" ORDER BY id")); got != w {
				t.Fatalf("%s %s: %s, want %s", tbl, when, got, w)
			}
		}
	}
	check(root, "after COMMIT")
	ts.stop()
	check(startServer(t, dir, false).open(""), "after a restart")
}

// TestMultiTableCommitConflictChangesNothing: when the second table of a
// transaction cannot be committed (another session committed to it
// meanwhile: 1213 for an UPDATE, 1062 for a duplicate key), COMMIT fails
// with that error and the first table is not changed either. Catches:
// committing the tables one after another (the first stays committed).
func TestMultiTableCommitConflictChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		second string // the transaction's change to b, after its insert into a
		other  string // committed by another session before COMMIT
		code   uint16
		b      string // b afterwards
	}{
		{"update conflict", "UPDATE b SET v = 1 WHERE id = 1", "INSERT INTO b VALUES (2, 0)", 1213, "[[1 0] [2 0]]"},
		{"duplicate key", "INSERT INTO b VALUES (5, 1)", "INSERT INTO b VALUES (5, 0)", 1062, "[[1 0] [5 0]]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := startServer(t, t.TempDir(), false)
			root := ts.open("")
			mustExec(t, root, "CREATE DATABASE mt")
			mustExec(t, root, "CREATE TABLE mt.a (id INT PRIMARY KEY)")
			mustExec(t, root, "CREATE TABLE mt.b (id INT PRIMARY KEY, v INT)")
			mustExec(t, root, "INSERT INTO mt.b VALUES (1, 0)")

			s := ts.session("mt")
			mustExec(t, s, "BEGIN")
			mustExec(t, s, "INSERT INTO a VALUES (1)") // a is touched first
			mustExec(t, s, tc.second)
			mustExec(t, root, "USE mt")
			mustExec(t, root, tc.other)
			_, err := s.Exec("COMMIT")
			var me *mysql.MySQLError
			if !errors.As(err, &me) || me.Number != tc.code {
				t.Fatalf("COMMIT: %v, want error %d", err, tc.code)
			}
			if got := fmt.Sprint(queryRows(t, root, "SELECT * FROM mt.a")); got != "[]" {
				t.Fatalf("a after the failed COMMIT: %s, want no rows", got)
			}
			if got := fmt.Sprint(queryRows(t, root, "SELECT * FROM mt.b ORDER BY id")); got != tc.b {
				t.Fatalf("b after the failed COMMIT: %s, want %s", got, tc.b)
			}
		})
	}
}

// TestCrashDuringMultiTableCommit kills the server binary with SIGKILL
// while a client runs transactions that each insert one row into a and
// one into b (and every third also updates the new row of b, which
// rewrites b), and checks after every restart that a and b hold the same
// ids, at least every acknowledged one, with every update applied.
// Catches: a crash between two tables' commits leaving the first
// committed, where users see it: kill -9 of the real server.
func TestCrashDuringMultiTableCommit(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ANOMALYDB_ENGINE_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (set ANOMALYDB_ENGINE_CRASH_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 0))

	p := startProc(t, bin, dir)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExec(t, db, "CREATE DATABASE mt")
	mustExec(t, db, "CREATE TABLE mt.a (id INT PRIMARY KEY)")
	mustExec(t, db, "CREATE TABLE mt.b (id INT PRIMARY KEY, v INT)")
	db.Close()
	p.kill()

	acked := 0 // transactions acknowledged so far: ids [0, acked)
	const kills = 6
	for kill := 0; ; kill++ {
		p := startProc(t, bin, dir)
		db := openDSN(t, "root:@tcp("+p.addr+")/mt")
		n := int(queryInt(t, db, "SELECT COUNT(*) FROM a"))
		if n < acked {
			t.Fatalf("after %d kills: %d transactions found, %d were acknowledged", kill, n, acked)
		}
		if m := queryInt(t, db, "SELECT COUNT(*) FROM b"); m != int64(n) {
			t.Fatalf("after %d kills: a has %d rows but b %d: a transaction was cut in half", kill, n, m)
		}
		if m := queryInt(t, db, "SELECT COUNT(*) FROM a JOIN b ON a.id = b.id"); m != int64(n) {
			t.Fatalf("after %d kills: a and b hold different ids (%d in common of %d)", kill, m, n)
		}
		if m := queryInt(t, db, "SELECT COUNT(*) FROM b WHERE v != IF(id % 3 = 2, id + 1000000, id)"); m != 0 {
			t.Fatalf("after %d kills: %d rows of b miss their update", kill, m)
		}
		t.Logf("after %d kills: %d transactions committed, %d acknowledged", kill, n, acked)
		acked = n
		if kill == kills {
			db.Close()
			p.kill()
			return
		}

		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := n; ; i++ {
				tx, err := db.Begin()
				if err != nil {
					return
				}
				_, err = tx.Exec("INSERT INTO a VALUES (?)", i)
				if err == nil {
					_, err = tx.Exec("INSERT INTO b VALUES (?, ?)", i, i)
				}
				if err == nil && i%3 == 2 {
					_, err = tx.Exec("UPDATE b SET v = v + 1000000 WHERE id = ?", i)
				}
				if err == nil {
					err = tx.Commit()
				} else {
					_ = tx.Rollback()
				}
				if err != nil {
					return
				}
				acked = i + 1
			}
		}()
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		p.kill()
		<-done
		db.Close()
	}
}
