package engine_test

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// stopBound is how soon a cancelled statement must return. Uncancelled,
// each statement of TestLongStatementsStop runs for minutes, so the bound
// catches a loop that ignores cancellation without failing on a loaded
// machine.
const stopBound = 15 * time.Second

// runAsync runs q on db and returns a channel with its error and how long
// it took.
func runAsync(ctx context.Context, db *gosql.DB, q string) <-chan error {
	done := make(chan error, 1)
	go func() {
		rows, err := db.QueryContext(ctx, q)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		done <- err
	}()
	return done
}

// waitErr waits for a statement started by runAsync and returns its MySQL
// error number (0 for none, 1 for a non-MySQL error).
func waitErr(t *testing.T, what string, done <-chan error) (uint16, error) {
	t.Helper()
	select {
	case err := <-done:
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			return me.Number, err
		}
		if err != nil {
			return 1, err
		}
		return 0, nil
	case <-time.After(stopBound):
		t.Fatalf("%s: still running %v after it was stopped", what, stopBound)
		return 0, nil
	}
}

// running reports whether a statement containing marker is in the
// process list.
func running(t *testing.T, db *gosql.DB, marker string) bool {
	t.Helper()
	return queryInt(t, db, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE ? AND ID <> CONNECTION_ID()", "%"+marker+"%") > 0
}

// TestLongStatementsStop: KILL QUERY, max_execution_time and a client that
// disconnects stop a training (CREATE DETECTOR) and a long scoring scan
// within seconds, over TCP against the real binary; a stopped training
// creates no detector, and the server keeps serving.
func TestLongStatementsStop(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	p := startProc(t, bin, t.TempDir())
	dsn := "root:@tcp(" + p.addr + ")/k"
	admin := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, admin,
		"CREATE DATABASE k",
		"CREATE TABLE k.t (id INT PRIMARY KEY, a DOUBLE, b DOUBLE)")
	var vals []string
	for i := 0; i < 2000; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d)", i, i%13, i%7))
	}
	mustExec(t, admin, "INSERT INTO k.t VALUES "+strings.Join(vals, ","))
	mustExec(t, admin, "CREATE DETECTOR k.quick USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT a, b FROM k.t")
	// Hours of training, and a scan of 8e9 rows, unless stopped.
	train := func(name string) string {
		return "CREATE DETECTOR k." + name + " USING autoencoder WITH (epochs = 100000, seed = 1) AS SELECT a, b FROM k.t"
	}
	const score = "SELECT SUM(anomaly_score('k.quick', x.a, y.b)) FROM k.t x, k.t y, k.t z"

	for _, c := range []struct {
		name, query string
		code        uint16
	}{
		{"kill-training", train("killed"), 1317},
		{"kill-scoring", score + " /* kill-scoring */", 1317},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := openDSN(t, dsn)
			id := queryInt(t, db, "SELECT CONNECTION_ID()")
			done := runAsync(context.Background(), db, c.query)
			time.Sleep(time.Second)
			mustExec(t, admin, fmt.Sprintf("KILL QUERY %d", id))
			if n, err := waitErr(t, c.name, done); n != c.code {
				t.Errorf("got %v, want error %d", err, c.code)
			}
			expectRows(t, db, "SELECT 1", [][]string{r("1")}) // the connection lives on
		})
	}

	t.Run("max_execution_time", func(t *testing.T) {
		db := openDSN(t, dsn)
		mustExec(t, db, "SET SESSION max_execution_time = 1000")
		for _, q := range []string{train("timed"), score + " /* timed */"} {
			if n, err := waitErr(t, q, runAsync(context.Background(), db, q)); n != 3024 {
				t.Errorf("%s: got %v, want error 3024", q, err)
			}
		}
		mustExec(t, db, "SET SESSION max_execution_time = 0")
		expectRows(t, db, "SELECT COUNT(*) FROM k.t", [][]string{r("2000")})
	})

	t.Run("disconnect", func(t *testing.T) {
		for _, q := range []string{train("dropped") + " /* dropped-training */", score + " /* dropped-scoring */"} {
			marker := q[strings.LastIndex(q, "/* ")+3 : len(q)-3]
			db, err := gosql.Open("mysql", dsn)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := runAsync(ctx, db, q)
			time.Sleep(time.Second)
			if !running(t, admin, marker) {
				t.Fatalf("%s is not running: %v", marker, queryRows(t, admin, "SELECT ID, INFO FROM information_schema.PROCESSLIST"))
			}
			cancel() // the driver closes the connection
			<-done
			db.Close()
			deadline := time.Now().Add(stopBound)
			for running(t, admin, marker) {
				if time.Now().After(deadline) {
					t.Fatalf("%s still runs %v after its client disconnected", marker, stopBound)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
	})

	for _, row := range queryRows(t, admin, "SHOW DETECTORS FROM k") {
		if row[0] != "quick" {
			t.Errorf("a stopped training left detector %s", row[0])
		}
	}
}
