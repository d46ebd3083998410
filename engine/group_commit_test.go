package engine_test

import (
	gosql "database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// together runs fn(i) for i in [0, n) on n goroutines released at the
// same moment and returns their errors. It cannot hang: fn must use
// connections of openBounded (each statement fails after stmtTimeout),
// and the wait itself has a deadline.
func together(t *testing.T, n int, fn func(i int) error) []error {
	t.Helper()
	start := make(chan struct{})
	type result struct {
		i   int
		err error
	}
	results := make(chan result, n)
	for i := range n {
		go func() {
			<-start
			results <- result{i, fn(i)}
		}()
	}
	close(start)
	errs := make([]error, n)
	deadline := time.After(3 * stmtTimeout)
	for range n {
		select {
		case r := <-results:
			errs[r.i] = r.err
		case <-deadline:
			t.Fatalf("goroutines still running after %v (deadlock?)", 3*stmtTimeout)
		}
	}
	return errs
}

// boundedConns opens n connections of their own to database db.
func boundedConns(ts *testServer, db string, n int) []*gosql.DB {
	conns := make([]*gosql.DB, n)
	for i := range conns {
		conns[i] = ts.openBounded(db)
	}
	return conns
}

// mysqlErrno returns the MySQL error number of err, 0 for nil and -1 for
// an error that is not a MySQL error.
func mysqlErrno(err error) int {
	if err == nil {
		return 0
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return -1
	}
	return int(me.Number)
}

// snapshotSeq returns the sequence number of the table's current Iceberg
// snapshot (0 for none): it grows by one with every commit of rows.
func snapshotSeq(t *testing.T, dataDir, db, table string) int64 {
	t.Helper()
	if cur := latestMetadata(t, dataDir, db, table).currentSnapshot(); cur != nil {
		return cur.Sequence
	}
	return 0
}

// TestConcurrentInsertsGroupCommit: connections inserting distinct single
// rows at the same time all succeed, every row is there exactly once with
// its values, and the rows took fewer Iceberg snapshots than statements:
// statements that arrive while a commit is in flight share the next one
// (storage/group.go). Catches: a lost or doubled row under group commit,
// rows of one statement committed with another's values, and a commit per
// statement (no grouping).
func TestConcurrentInsertsGroupCommit(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	admin := ts.openBounded("")
	mustExec(t, admin, "CREATE DATABASE gc")
	mustExec(t, admin, "CREATE TABLE gc.t (id BIGINT PRIMARY KEY, c INT, v DOUBLE)")
	seq0 := snapshotSeq(t, dir, "gc", "t")
	const conns, each = 8, 12
	dbs := boundedConns(ts, "gc", conns)
	errs := together(t, conns, func(c int) error {
		for i := range each {
			id := c*100 + i
			if _, err := dbs[c].Exec("INSERT INTO t VALUES (?, ?, ?)", id, c, float64(i)/4); err != nil {
				return fmt.Errorf("connection %d, row %d: %w", c, id, explainTimeout(err))
			}
		}
		return nil
	})
	for _, err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if t.Failed() {
		return
	}
	const rows = conns * each
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM gc.t"); n != rows {
		t.Fatalf("%d rows after %d concurrent inserts", n, rows)
	}
	if n := queryInt(t, admin, "SELECT COUNT(DISTINCT id) FROM gc.t"); n != rows {
		t.Fatalf("%d distinct ids of %d rows", n, rows)
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM gc.t WHERE c = FLOOR(id / 100) AND v = (id % 100) / 4 AND id % 100 < ?", each); n != rows {
		t.Fatalf("%d of %d rows hold the values inserted with their id", n, rows)
	}
	commits := snapshotSeq(t, dir, "gc", "t") - seq0
	t.Logf("%d single-row INSERTs from %d connections in %d snapshots", rows, conns, commits)
	if commits >= rows {
		t.Fatalf("%d INSERTs made %d snapshots: none was group-committed", rows, commits)
	}
}

// TestConcurrentDuplicateKeyInserts: in each round several connections
// insert the same primary key at the same moment while others insert keys
// of their own. Exactly one of the same-key INSERTs succeeds and the others
// fail with 1062 (ER_DUP_ENTRY); the other connections' rows, committed in
// the same groups, are all there. Catches: a group commit whose checks all
// see the contents before the group (two rows with one key), and a failed
// check that fails the other statements of its group.
func TestConcurrentDuplicateKeyInserts(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.openBounded("")
	mustExec(t, admin, "CREATE DATABASE gc")
	mustExec(t, admin, "CREATE TABLE gc.t (id BIGINT PRIMARY KEY, v INT)")
	const rounds, same, others = 6, 4, 4
	dbs := boundedConns(ts, "gc", same+others)
	winners := make([]int, rounds)
	for r := range rounds {
		errs := together(t, same+others, func(c int) error {
			if c < same {
				_, err := dbs[c].Exec("INSERT INTO t VALUES (?, ?)", r, c)
				return err
			}
			_, err := dbs[c].Exec("INSERT INTO t VALUES (?, ?)", 1000+r*10+c, c)
			return err
		})
		winners[r] = -1
		for c, err := range errs {
			switch n := mysqlErrno(err); {
			case c >= same && n != 0:
				t.Errorf("round %d: INSERT of a key of its own on connection %d: %v", r, c, explainTimeout(err))
			case c < same && n == 0:
				if winners[r] >= 0 {
					t.Errorf("round %d: key %d inserted by connections %d and %d", r, r, winners[r], c)
				}
				winners[r] = c
			case c < same && n != 1062:
				t.Errorf("round %d: INSERT of the same key on connection %d: %v, want error 1062", r, c, explainTimeout(err))
			}
		}
		if winners[r] < 0 {
			t.Errorf("round %d: no INSERT of key %d succeeded", r, r)
		}
	}
	if t.Failed() {
		return
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM gc.t"); n != rounds*(1+others) {
		t.Fatalf("%d rows, want %d", n, rounds*(1+others))
	}
	for r, c := range winners {
		if got := queryRows(t, admin, "SELECT v FROM gc.t WHERE id = ?", r); fmt.Sprint(got) != fmt.Sprintf("[[%d]]", c) {
			t.Errorf("key %d holds %v, want the row of connection %d", r, got, c)
		}
	}
}

// TestAutocommitUpdateWhileInserting: point UPDATEs by primary key in
// autocommit succeed while four connections keep inserting (each UPDATE
// loses its first commit race to an insert, and is run again, see
// engine/retry.go); afterwards every update and every acknowledged insert
// is there. With autocommit = 0 the same UPDATE still fails at COMMIT
// with 1213 when an insert committed since its snapshot, as in MySQL.
// Catches: autocommit UPDATEs failing with 1213 next to inserts (the
// state before the retry), an UPDATE that overwrites concurrent inserts,
// and a retry applied to an explicit transaction.
func TestAutocommitUpdateWhileInserting(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.openBounded("")
	mustExec(t, admin, "CREATE DATABASE gc")
	mustExec(t, admin, "CREATE TABLE gc.t (id BIGINT PRIMARY KEY, v INT)")
	var fill []any
	q := "INSERT INTO gc.t VALUES "
	for i := range 100 {
		if i > 0 {
			q += ", "
		}
		q += "(?, 0)"
		fill = append(fill, i)
	}
	mustExec(t, admin, q, fill...)

	const inserters, updates = 4, 15
	dbs := boundedConns(ts, "gc", inserters+1)
	var inserted [inserters]atomic.Int64
	stop := make(chan struct{})
	done := make(chan error, inserters)
	for c := range inserters {
		go func() {
			for i := 0; i < 10_000; i++ {
				select {
				case <-stop:
					done <- nil
					return
				default:
				}
				if _, err := dbs[c].Exec("INSERT INTO t VALUES (?, ?)", (c+1)*100_000+i, c); err != nil {
					done <- fmt.Errorf("inserter %d: %w", c, explainTimeout(err))
					return
				}
				inserted[c].Add(1)
			}
			done <- nil
		}()
	}
	stopped := false
	stopInserters := func() {
		if stopped {
			return
		}
		stopped = true
		close(stop)
		deadline := time.After(3 * stmtTimeout)
		for range inserters {
			select {
			case err := <-done:
				if err != nil {
					t.Error(err)
				}
			case <-deadline:
				t.Fatalf("inserters still running after %v (deadlock?)", 3*stmtTimeout)
			}
		}
	}
	defer stopInserters()
	// Wait until every inserter is committing.
	deadline := time.Now().Add(stmtTimeout)
	for c := range inserters {
		for inserted[c].Load() == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("inserter %d inserted nothing within %v", c, stmtTimeout)
			}
			time.Sleep(time.Millisecond)
		}
	}

	u := dbs[inserters]
	for k := range updates {
		res, err := u.Exec("UPDATE t SET v = v + 1 WHERE id = ?", k)
		if err != nil {
			t.Fatalf("UPDATE %d while inserting: %v (error %d)", k, explainTimeout(err), mysqlErrno(err))
		}
		if n, _ := res.RowsAffected(); n != 1 {
			t.Fatalf("UPDATE %d changed %d rows, want 1", k, n)
		}
	}

	// An explicit transaction still gets 1213 when an insert committed
	// since its snapshot.
	mustExec(t, u, "SET autocommit = 0")
	mustExec(t, u, "UPDATE t SET v = v + 100 WHERE id = 50")
	for before := inserted[0].Load(); inserted[0].Load() < before+2; {
		if time.Now().After(deadline.Add(stmtTimeout)) {
			t.Fatal("the inserters stopped inserting")
		}
		time.Sleep(time.Millisecond)
	}
	expectErr(t, u, "COMMIT", 1213)
	mustExec(t, u, "SET autocommit = 1")

	stopInserters()
	if t.Failed() {
		return
	}
	var acked int64
	for c := range inserters {
		acked += inserted[c].Load()
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM gc.t WHERE id >= 100000"); n != acked {
		t.Fatalf("%d inserted rows in the table, %d acknowledged", n, acked)
	}
	if got := queryRows(t, admin, "SELECT COUNT(*), SUM(v) FROM gc.t WHERE id < 100"); fmt.Sprint(got) != fmt.Sprintf("[[100 %d]]", updates) {
		t.Fatalf("first 100 rows: COUNT, SUM(v) = %v, want [[100 %d]]", got, updates)
	}
	if got := queryRows(t, admin, "SELECT COUNT(*) FROM gc.t WHERE id < ? AND v = 1", updates); fmt.Sprint(got) != fmt.Sprintf("[[%d]]", updates) {
		t.Fatalf("%v of the %d updated rows hold their update", got, updates)
	}
}

// TestCrashDuringGroupCommit kills the server binary with SIGKILL while
// eight connections insert rows three to a statement (so statements are
// group-committed), and checks after every restart that every
// acknowledged statement is there, that each statement's rows are all
// there or none, and that no row is there twice. Catches: a statement
// acknowledged before its group's snapshot was durable, and a group
// committed in part.
func TestCrashDuringGroupCommit(t *testing.T) {
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
	mustExec(t, db, "CREATE DATABASE gc")
	mustExec(t, db, "CREATE TABLE gc.t (id BIGINT PRIMARY KEY, stmt BIGINT, v DOUBLE)")
	db.Close()
	p.kill()

	const conns, kills = 8, 3
	var (
		mu    sync.Mutex
		acked = map[int64]bool{} // statements acknowledged (by number)
	)
	next := make([]int64, conns) // each connection's next statement number
	for c := range next {
		next[c] = int64(c) * 1_000_000
	}
	for kill := 0; ; kill++ {
		p := startProc(t, bin, dir)
		db := openDSN(t, "root:@tcp("+p.addr+")/gc")
		// Every statement s inserted ids 3s, 3s+1, 3s+2 with stmt = s.
		if n := queryInt(t, db, "SELECT COUNT(*) - COUNT(DISTINCT id) FROM t"); n != 0 {
			t.Fatalf("after %d kills: %d duplicate rows", kill, n)
		}
		if n := queryInt(t, db, "SELECT COUNT(*) FROM t WHERE FLOOR(id / 3) != stmt OR v != id / 2"); n != 0 {
			t.Fatalf("after %d kills: %d rows with values of another statement", kill, n)
		}
		found := map[int64]bool{}
		for _, r := range queryRows(t, db, "SELECT stmt, COUNT(*) FROM t GROUP BY stmt") {
			s, _ := strconv.ParseInt(r[0], 10, 64)
			if r[1] != "3" {
				t.Fatalf("after %d kills: statement %d has %s of its 3 rows: it was committed in part", kill, s, r[1])
			}
			found[s] = true
		}
		mu.Lock()
		for s := range acked {
			if !found[s] {
				t.Fatalf("after %d kills: acknowledged statement %d is lost", kill, s)
			}
		}
		t.Logf("after %d kills: %d statements committed, %d acknowledged", kill, len(found), len(acked))
		mu.Unlock()
		// Statements committed but not acknowledged are not sent again.
		for c := range next {
			for found[next[c]] {
				next[c]++
			}
		}
		if kill == kills {
			db.Close()
			p.kill()
			return
		}

		var wg sync.WaitGroup
		for c := range conns {
			cdb, err := openDSNErr("root:@tcp(" + p.addr + ")/gc")
			if err != nil {
				t.Fatal(err)
			}
			wg.Go(func() {
				defer cdb.Close()
				for ; ; next[c]++ {
					s := next[c]
					_, err := cdb.Exec("INSERT INTO t VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
						3*s, s, float64(3*s)/2, 3*s+1, s, float64(3*s+1)/2, 3*s+2, s, float64(3*s+2)/2)
					if err != nil {
						return
					}
					mu.Lock()
					acked[s] = true
					mu.Unlock()
				}
			})
		}
		time.Sleep(time.Duration(200+rng.IntN(800)) * time.Millisecond)
		p.kill()
		wg.Wait()
		db.Close()
	}
}
