package engine_test

import (
	"fmt"
	"sync"
	"testing"
)

// TestConcurrentClients runs writers and detector scoring on several
// connections at once, as BI tools do: every committed insert is there
// afterwards and no statement fails.
func TestConcurrentClients(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	admin := ts.open("examples")
	mustExec(t, admin, "CREATE TABLE hits (id INT PRIMARY KEY, w INT, v DOUBLE)")
	trainThyroid(t, admin, "svdd")
	const writers, perWriter = 4, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter+writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			db, err := openDSNErr(fmt.Sprintf("root:@tcp(%s)/examples", ts.srv.Addr()))
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for i := 0; i < perWriter; i++ {
				if _, err := db.Exec("INSERT INTO hits VALUES (?, ?, ?)", w*perWriter+i, w, float64(i)/2); err != nil {
					errs <- err
				}
				if i%5 == 0 {
					var n int64
					if err := db.QueryRow("SELECT COUNT(*) FROM thyroid WHERE is_anomaly('svdd', f0, f1, f2, f3, f4, f5) = 1").Scan(&n); err != nil {
						errs <- err
					}
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := queryInt(t, admin, "SELECT COUNT(*) FROM hits"); n != writers*perWriter {
		t.Fatalf("%d rows after concurrent inserts, want %d", n, writers*perWriter)
	}
}
