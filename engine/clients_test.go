package engine_test

import (
	"bytes"
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// clientTimeout bounds each client's session, a guard against hangs: a
// session takes 1 to 20 s on two shared cores, most of it in its bulk
// paths of 100,000 rows.
const clientTimeout = 3 * time.Minute

// TestClients is the client compatibility suite: each common MySQL client
// runs a scripted session over TCP against the real binary, started with
// the examples loaded. Every session creates, lists and drops a detector,
// scores with placeholders, rolls back a transaction and checks that its
// insert is gone, and loads a quoted CSV; the other clients' sessions
// also load 100,000 rows through their bulk paths and compare the table
// with what they sent (Go's driver loads 200,000 rows in
// TestCrashDuringLoadData). The scripts are in clients/ (see
// clients/README.md); the Go session is here.
//
// A client whose tool is missing fails the test when CI is set or
// ANOMALYDB_CLIENTS=1 (make test installs them with make clients-deps),
// and is skipped otherwise.
func TestClients(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs external clients")
	}
	bin := buildBinary(t)
	p := startProc(t, bin, t.TempDir(), "--examples", filepath.Join(repoRoot(), "testdata"))
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(repoRoot(), "clients")
	python := "/usr/bin/python3" // Debian's, which has the Debian packages
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}

	t.Run("go-sql-driver", func(t *testing.T) { goClientSession(t, p.addr) })
	t.Run("mariadb-cli", func(t *testing.T) {
		requireTool(t, "the mariadb or mysql client", lookAny("mariadb", "mysql"))
		requireTool(t, "mariadb-dump or mysqldump", lookAny("mariadb-dump", "mysqldump"))
		runClient(t, "bash", filepath.Join(dir, "mariadb.sh"), host, port)
	})
	t.Run("pymysql", func(t *testing.T) {
		requireTool(t, "python3-pymysql", pythonImports(python, "pymysql"))
		runClient(t, python, filepath.Join(dir, "dbapi.py"), "pymysql", host, port)
	})
	t.Run("mysqlclient", func(t *testing.T) {
		requireTool(t, "python3-mysqldb", pythonImports(python, "MySQLdb"))
		runClient(t, python, filepath.Join(dir, "dbapi.py"), "mysqldb", host, port)
	})
	t.Run("sqlalchemy-pandas", func(t *testing.T) {
		requireTool(t, "python3-sqlalchemy, python3-pandas and python3-pymysql",
			pythonImports(python, "sqlalchemy", "pandas", "pymysql"))
		runClient(t, python, filepath.Join(dir, "sqlalchemy_pandas.py"), host, port)
	})
	t.Run("node-mysql2", func(t *testing.T) {
		_, err := os.Stat(filepath.Join(dir, "node_modules", "mysql2", "package.json"))
		requireTool(t, "node and clients/node_modules/mysql2 (npm ci in clients/)", lookAny("node") && err == nil)
		runClient(t, "node", filepath.Join(dir, "mysql2.js"), host, port)
	})
}

// requireTool fails the test when a client's tool is missing and CI or
// ANOMALYDB_CLIENTS=1 is set, and skips it otherwise.
func requireTool(t *testing.T, what string, present bool) {
	t.Helper()
	if present {
		return
	}
	msg := what + " is not installed: run make clients-deps"
	if os.Getenv("CI") != "" || os.Getenv("ANOMALYDB_CLIENTS") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg + " (a missing client fails the test when CI or ANOMALYDB_CLIENTS=1 is set)")
}

func lookAny(names ...string) bool {
	for _, n := range names {
		if _, err := exec.LookPath(n); err == nil {
			return true
		}
	}
	return false
}

func pythonImports(python string, modules ...string) bool {
	return exec.Command(python, "-c", "import "+strings.Join(modules, ", ")).Run() == nil
}

// runClient runs one client's script with a timeout, logs its output and
// fails the test, naming every failed check, if it exits non-zero.
func runClient(t *testing.T, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	cmd.WaitDelay = 5 * time.Second // a child that keeps the pipe open
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s (%.1f s):\n%s", strings.Join(append([]string{name}, args...), " "), time.Since(start).Seconds(), out.String())
	if ctx.Err() != nil {
		t.Fatalf("timed out after %v", clientTimeout)
	}
	if err != nil {
		var fails []string
		for _, line := range strings.Split(out.String(), "\n") {
			if strings.HasPrefix(line, "FAIL") {
				fails = append(fails, line)
			}
		}
		t.Fatalf("%v; failed checks:\n%s", err, strings.Join(fails, "\n"))
	}
}

// goClientSession is the session of Go's database/sql with
// go-sql-driver/mysql: server-side prepared statements for every query
// with arguments (the driver's default), a pool, and LOAD DATA LOCAL.
func goClientSession(t *testing.T, addr string) {
	const dbName = "c_go"
	setup := openDSN(t, "root:@tcp("+addr+")/")
	mustExec(t, setup, "DROP DATABASE IF EXISTS "+dbName)
	mustExec(t, setup, "CREATE DATABASE "+dbName)
	db, err := gosql.Open("mysql", "root:@tcp("+addr+")/"+dbName)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	// interpolateParams=true: the driver substitutes arguments itself and
	// sends text queries.
	idb, err := gosql.Open("mysql", "root:@tcp("+addr+")/"+dbName+"?interpolateParams=true")
	if err != nil {
		t.Fatal(err)
	}
	defer idb.Close()

	// check runs one named check; a failure is reported and the next
	// check still runs.
	check := func(name string, fn func() error) {
		t.Helper()
		if err := fn(); err != nil {
			t.Errorf("FAIL %s: %v", name, err)
			return
		}
		t.Logf("ok   %s", name)
	}
	exec := func(db interface {
		Exec(string, ...any) (gosql.Result, error)
	}, q string, args ...any) error {
		if _, err := db.Exec(q, args...); err != nil {
			return fmt.Errorf("%s %v => %w", q, args, err)
		}
		return nil
	}
	ids := func(q interface {
		Query(string, ...any) (*gosql.Rows, error)
	}) ([]int, error) {
		rows, err := q.Query("SELECT id FROM tx ORDER BY id")
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []int
		for rows.Next() {
			var id int
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			out = append(out, id)
		}
		return out, rows.Err()
	}
	same := func(got, want any) error {
		if !reflect.DeepEqual(got, want) {
			return fmt.Errorf("got %v, want %v", got, want)
		}
		return nil
	}

	// --- detector ---
	check("CREATE DETECTOR; SHOW DETECTORS lists it", func() error {
		if err := exec(db, "CREATE DETECTOR d USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT f0, f1, f2 FROM examples.thyroid"); err != nil {
			return err
		}
		var name, algo, feats, status string
		var n, read, epoch, epochs int
		var secs, loss float64
		var created, reads string
		if err := db.QueryRow("SHOW DETECTORS").Scan(&name, &algo, &feats, &n, &status, &secs, &created, &read, &reads, &epoch, &epochs, &loss); err != nil {
			return fmt.Errorf("SHOW DETECTORS => %w", err)
		}
		if !strings.HasPrefix(reads, "examples.thyroid@") {
			return fmt.Errorf("SHOW DETECTORS training_snapshots = %q, want examples.thyroid@<snapshot id>", reads)
		}
		return same([]any{name, algo, feats, n, status, read, epoch, epochs}, []any{"d", "autoencoder", "f0,f1,f2", 3772, "ready", 3772, 2, 2})
	})
	var f [3]float64
	var want float64
	check("score of row id = ? (prepared)", func() error {
		q := "SELECT f0, f1, f2, anomaly_score('d', f0, f1, f2) FROM examples.thyroid WHERE id = ?"
		if err := db.QueryRow(q, 7).Scan(&f[0], &f[1], &f[2], &want); err != nil {
			return fmt.Errorf("%s => %w", q, err)
		}
		return nil
	})
	score := func(db *gosql.DB, q string, args ...any) error {
		var got float64
		if err := db.QueryRow(q, args...).Scan(&got); err != nil {
			return fmt.Errorf("%s %v => %w", q, args, err)
		}
		if got != want {
			return fmt.Errorf("%s %v = %v, want the row's score %v", q, args, got, want)
		}
		return nil
	}
	check("anomaly_score('d', ?, ?, ?) prepared, float64 arguments", func() error {
		return score(db, "SELECT anomaly_score('d', ?, ?, ?)", f[0], f[1], f[2])
	})
	check("anomaly_score(?, ?, ?, ?) prepared, the name as an argument", func() error {
		return score(db, "SELECT anomaly_score(?, ?, ?, ?)", "d", f[0], f[1], f[2])
	})
	check("anomaly_score('d', ?, ?, ?) with interpolateParams=true", func() error {
		return score(idb, "SELECT anomaly_score('d', ?, ?, ?)", f[0], f[1], f[2])
	})
	check("anomaly_score('d', ?, ?, ?) prepared, numeric strings (the values scanned into strings)", func() error {
		var s [3]string
		if err := db.QueryRow("SELECT f0, f1, f2 FROM examples.thyroid WHERE id = 7").Scan(&s[0], &s[1], &s[2]); err != nil {
			return err
		}
		return score(db, "SELECT anomaly_score('d', ?, ?, ?)", s[0], s[1], s[2])
	})
	check("DROP DETECTOR; scoring it is error 1305", func() error {
		if err := exec(db, "DROP DETECTOR d"); err != nil {
			return err
		}
		var x float64
		err := db.QueryRow("SELECT anomaly_score('d', ?, ?, ?)", 1.0, 2.0, 3.0).Scan(&x)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1305 {
			return fmt.Errorf("want error 1305, got %v", err)
		}
		return nil
	})

	// --- transactions ---
	check("BeginTx; INSERT; Rollback undoes it, unseen by other connections", func() error {
		if err := exec(db, "CREATE TABLE tx (id INT PRIMARY KEY, v VARCHAR(16))"); err != nil {
			return err
		}
		if err := exec(db, "INSERT INTO tx VALUES (?, ?)", 1, "kept"); err != nil {
			return err
		}
		tx, err := db.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		if err := exec(tx, "INSERT INTO tx VALUES (?, ?)", 2, "undone"); err != nil {
			return err
		}
		if got, err := ids(tx); err != nil || !reflect.DeepEqual(got, []int{1, 2}) {
			return fmt.Errorf("inside the transaction: ids %v, %v; want [1 2]", got, err)
		}
		if got, err := ids(db); err != nil || !reflect.DeepEqual(got, []int{1}) {
			return fmt.Errorf("another connection: ids %v, %v; want [1]", got, err)
		}
		if err := tx.Rollback(); err != nil {
			return fmt.Errorf("ROLLBACK => %w", err)
		}
		got, err := ids(db)
		if err != nil {
			return err
		}
		return same(got, []int{1})
	})
	check("SAVEPOINT; ROLLBACK TO SAVEPOINT; Commit", func() error {
		tx, err := db.BeginTx(context.Background(), nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{"INSERT INTO tx VALUES (?, ?)", []any{3, "kept"}},
			{"SAVEPOINT sp", nil},
			{"INSERT INTO tx VALUES (?, ?)", []any{4, "undone"}},
			{"ROLLBACK TO SAVEPOINT sp", nil},
		} {
			if err := exec(tx, q.sql, q.args...); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("COMMIT => %w", err)
		}
		got, err := ids(db)
		if err != nil {
			return err
		}
		return same(got, []int{1, 3})
	})

	// --- LOAD DATA LOCAL of a quoted CSV ---
	csv := filepath.Join(repoRoot(), "clients", "quoted.csv")
	mysql.RegisterLocalFile(csv)
	defer mysql.DeregisterLocalFile(csv)
	check("LOAD DATA LOCAL INFILE of a quoted CSV", func() error {
		if err := exec(db, "CREATE TABLE quoted (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)"); err != nil {
			return err
		}
		return exec(db, "LOAD DATA LOCAL INFILE '"+csv+"' INTO TABLE quoted FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' IGNORE 1 LINES")
	})
	check(`quoted CSV rows (commas, "", newline, UTF-8, empty string, \N)`, func() error {
		rows, err := db.Query("SELECT id, name, note, x FROM quoted ORDER BY id")
		if err != nil {
			return err
		}
		defer rows.Close()
		var got []string
		for rows.Next() {
			var id int
			var name, note string
			var x gosql.NullFloat64
			if err := rows.Scan(&id, &name, &note, &x); err != nil {
				return err
			}
			got = append(got, fmt.Sprintf("%d|%q|%q|%v", id, name, note, x))
		}
		return same(got, []string{
			`1|"Smith, John"|"said \"hi\""|{1.5 true}`,
			`2|"two\nlines"|"plain"|{-2.25 true}`,
			`3|"Zürich"|""|{0 false}`,
			`4|"\"quoted\""|"a,b,\"c\""|{4000 true}`,
		})
	})
	mustExec(t, setup, "DROP DATABASE IF EXISTS "+dbName)
}
