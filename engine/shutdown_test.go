package engine_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// TestShutdownConcurrentClients shuts the server down (in process, so
// that make test runs it under the race detector) while clients run
// statements, sit idle and keep connecting: statements running at the
// start finish and commit within the grace period, later ones fail with
// 1053 or find the connection closed, and the store is closed cleanly.
// Bugs caught: a data race between the shutdown and the connections'
// goroutines; Shutdown returning while a statement still runs (the
// committed count is short); statements started after the shutdown
// began.
func TestShutdownConcurrentClients(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	admin := ts.open("")
	mustExecAll(t, admin, "CREATE DATABASE s", "CREATE TABLE s.t (a INT)")

	const running = 4
	var wg sync.WaitGroup
	errs := make(chan error, running)
	for i := 0; i < running; i++ {
		db := ts.open("s")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := db.Exec(fmt.Sprintf("INSERT INTO t SELECT %d + SLEEP(1) /* running */", i))
			errs <- err
		}()
	}
	deadline := time.Now().Add(20 * time.Second)
	for queryInt(t, admin, "SELECT COUNT(*) FROM information_schema.processlist WHERE info LIKE '%/* running */%' AND info NOT LIKE '%processlist%'") < running {
		if time.Now().After(deadline) {
			t.Fatal("the statements do not show in the process list")
		}
		time.Sleep(10 * time.Millisecond)
	}
	idle := ts.open("s")
	stopDialing := make(chan struct{})
	dialed := make(chan struct{})
	go func() { // clients that keep connecting during the shutdown
		defer close(dialed)
		for {
			select {
			case <-stopDialing:
				return
			default:
			}
			if db, err := openDSNErr(ts.boundedDSN("s")); err == nil {
				db.Exec("SELECT 1")
				db.Close()
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := ts.srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	close(stopDialing)
	<-dialed
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a statement running when the shutdown began: %v", err)
		}
	}
	_, err := idle.Exec("SELECT 1")
	var me *mysql.MySQLError
	if err == nil || errors.As(err, &me) && me.Number != 1053 {
		t.Errorf("a statement after the shutdown: %v, want 1053 or a closed connection", err)
	}
	if !storage.ClosedCleanly(dir) {
		t.Fatal("no clean-shutdown marker after Shutdown")
	}
	ts2 := startServer(t, dir, false)
	if n := queryInt(t, ts2.open("s"), "SELECT COUNT(*) FROM t"); n != running {
		t.Errorf("%d rows after restart, want %d", n, running)
	}
}
