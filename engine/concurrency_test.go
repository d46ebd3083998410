package engine_test

import (
	"fmt"
	"testing"
	"time"
)

// TestConcurrentClients runs writers and detector scoring on several
// connections at once, as BI tools do: every committed insert is there
// afterwards and no statement fails.
//
// It cannot hang: every statement runs on a connection with a deadline
// (openBounded), each writer stops at its first error and reports exactly
// one result on a channel with room for all of them, and the test waits
// for the writers with a timeout.
//
// Bugs caught: a lost or failed insert under concurrency, and a deadlock,
// e.g. storage/table.go "defer t.writeMu.Unlock()" deleted from AppendIf
// (the second insert into the table blocks forever): the test fails
// within stmtTimeout.
func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	admin := ts.openBounded("examples")
	mustExec(t, admin, "CREATE TABLE hits (id INT PRIMARY KEY, w INT, v DOUBLE)")
	trainThyroid(t, admin, "svdd")
	const writers, perWriter = 4, 25
	writer := func(w int) error {
		db, err := openDSNErr(ts.boundedDSN("examples"))
		if err != nil {
			return fmt.Errorf("writer %d: %w", w, err)
		}
		defer db.Close()
		for i := 0; i < perWriter; i++ {
			if _, err := db.Exec("INSERT INTO hits VALUES (?, ?, ?)", w*perWriter+i, w, float64(i)/2); err != nil {
				return fmt.Errorf("writer %d, insert %d: %w", w, i, explainTimeout(err))
			}
			if i%5 == 0 {
				var n int64
				if err := db.QueryRow("SELECT COUNT(*) FROM thyroid WHERE is_anomaly('svdd', f0, f1, f2, f3, f4, f5) = 1").Scan(&n); err != nil {
					return fmt.Errorf("writer %d, scoring: %w", w, explainTimeout(err))
				}
			}
		}
		return nil
	}
	results := make(chan error, writers)
	for w := 0; w < writers; w++ {
		go func(w int) { results <- writer(w) }(w)
	}
	// Each statement fails after stmtTimeout at most; this bounds the
	// whole run in case a client call ignores its deadline.
	deadline := time.After(3 * stmtTimeout)
	for range writers {
		select {
		case err := <-results:
			if err != nil {
				t.Error(err)
			}
		case <-deadline:
			t.Fatalf("writers still running after %v (deadlock?)", 3*stmtTimeout)
		}
	}
	if t.Failed() {
		return
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM hits"); n != writers*perWriter {
		t.Fatalf("%d rows after concurrent inserts, want %d", n, writers*perWriter)
	}
}
