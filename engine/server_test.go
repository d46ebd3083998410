package engine_test

import (
	gosql "database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/anomalydb/anomalydb/engine"
)

// testServer is a real anomalydb server on a random loopback port over a
// data directory on disk.
type testServer struct {
	t    testing.TB
	srv  *engine.Server
	done chan error
}

// repoRoot is the repository root (tests run in engine/).
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}

func startServer(t testing.TB, dir string, examples bool) *testServer {
	t.Helper()
	cfg := engine.Config{Addr: "127.0.0.1:0", DataDir: dir, Quiet: true}
	if examples {
		cfg.ExamplesDir = filepath.Join(repoRoot(), "testdata")
	}
	// NewServer opens the store and loads the examples; a deadlock there
	// fails the test instead of hanging it.
	type started struct {
		srv *engine.Server
		err error
	}
	ch := make(chan started, 1)
	go func() {
		srv, err := engine.NewServer(cfg)
		ch <- started{srv, err}
	}()
	var srv *engine.Server
	select {
	case s := <-ch:
		if s.err != nil {
			t.Fatalf("starting server: %v", s.err)
		}
		srv = s.srv
	case <-time.After(startTimeout):
		t.Fatalf("the server did not start within %v (deadlock?)", startTimeout)
	}
	ts := &testServer{t: t, srv: srv, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve() }()
	t.Cleanup(ts.stop)
	return ts
}

// startTimeout bounds how long startServer waits for NewServer (a few
// seconds with the examples, more under the race detector).
const startTimeout = 60 * time.Second

// stopTimeout bounds how long stop waits for the server to close, so that
// a deadlocked server fails the test instead of hanging its cleanup.
const stopTimeout = 10 * time.Second

func (ts *testServer) stop() {
	if ts.srv == nil {
		return
	}
	srv := ts.srv
	ts.srv = nil
	closed := make(chan struct{})
	go func() {
		srv.Close()
		<-ts.done
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(stopTimeout):
		ts.t.Errorf("the server did not stop within %v (deadlock?)", stopTimeout)
	}
}

// open connects with the MySQL driver; db may be empty.
func (ts *testServer) open(db string) *gosql.DB {
	ts.t.Helper()
	return openDSN(ts.t, fmt.Sprintf("root:@tcp(%s)/%s?parseTime=true&allowAllFiles=true", ts.srv.Addr(), db))
}

// stmtTimeout bounds each statement on the connections of boundedDSN.
// Statements of the tests that use them take milliseconds; the bound is
// wide for slow machines and the race detector.
const stmtTimeout = 10 * time.Second

// boundedDSN is the DSN of a connection on which a statement that blocks
// (a server deadlock) fails with a timeout after stmtTimeout: tests of
// concurrent clients use it so that they fail within seconds on such a
// bug instead of hanging until go test's timeout.
func (ts *testServer) boundedDSN(db string) string {
	return fmt.Sprintf("root:@tcp(%s)/%s?parseTime=true&allowAllFiles=true&timeout=5s&readTimeout=%s&writeTimeout=%[3]s",
		ts.srv.Addr(), db, stmtTimeout)
}

// explainTimeout adds a hint to the error of a statement on a connection
// of boundedDSN that got no answer in time (the driver reports "invalid
// connection" after logging the i/o timeout).
func explainTimeout(err error) error {
	if errors.Is(err, mysql.ErrInvalidConn) {
		return fmt.Errorf("%w (no answer within %v: deadlock?)", err, stmtTimeout)
	}
	return err
}

// openBounded is open with boundedDSN.
func (ts *testServer) openBounded(db string) *gosql.DB {
	ts.t.Helper()
	return openDSN(ts.t, ts.boundedDSN(db))
}

func openDSN(t testing.TB, dsn string) *gosql.DB {
	t.Helper()
	db, err := openDSNErr(dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openDSNErr connects and pings with one connection, so that USE and
// warnings behave as in a client session.
func openDSNErr(dsn string) (*gosql.DB, error) {
	db, err := gosql.Open("mysql", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return db, nil
}

func mustExec(t *testing.T, db *gosql.DB, q string, args ...interface{}) gosql.Result {
	t.Helper()
	res, err := db.Exec(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return res
}

// mustExecAll runs statements in order, failing t at the first error.
func mustExecAll(t *testing.T, db *gosql.DB, stmts ...string) {
	t.Helper()
	for _, q := range stmts {
		mustExec(t, db, q)
	}
}

// queryRows returns all rows of q as strings (NULL as "NULL").
func queryRows(t *testing.T, db *gosql.DB, q string, args ...interface{}) [][]string {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out [][]string
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]interface{}, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = v.String
			} else {
				row[i] = "NULL"
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

func queryFloat(t *testing.T, db *gosql.DB, q string, args ...interface{}) float64 {
	t.Helper()
	var f float64
	if err := db.QueryRow(q, args...).Scan(&f); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return f
}

func queryInt(t *testing.T, db *gosql.DB, q string, args ...interface{}) int64 {
	t.Helper()
	var n int64
	if err := db.QueryRow(q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// errNumber runs q and returns the MySQL error number it fails with
// (0 when it succeeds).
func errNumber(t *testing.T, db *gosql.DB, q string) (uint16, string) {
	t.Helper()
	rows, err := db.Query(q)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	if err == nil {
		return 0, ""
	}
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		t.Fatalf("%s: not a MySQL error: %v", q, err)
	}
	return me.Number, me.Message
}

// expectErr runs query and reports a test error unless it fails with the
// MySQL error number code. It returns the error message.
func expectErr(t *testing.T, db *gosql.DB, query string, code uint16) string {
	t.Helper()
	n, msg := errNumber(t, db, query)
	if n != code {
		t.Errorf("%q gave error %d (%s), want %d", query, n, msg, code)
	}
	return msg
}
