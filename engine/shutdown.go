package engine

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/anomalydb/anomalydb/storage"
)

// cancelWait bounds how long Shutdown waits, after cancelling the
// statements still running, for them to end before it closes the store
// under them (a write they then attempt fails; one under way is waited
// for by the store).
const cancelWait = 5 * time.Second

// Shutdown stops the server cleanly, as MySQL does on SIGTERM:
//
//  1. It stops accepting connections.
//  2. Connections that run no statement are closed (a transaction they
//     left open is rolled back, as on any lost connection), and no new
//     statement starts: one sent now fails with 1053 "Server shutdown in
//     progress".
//  3. Running statements may finish until ctx is done; each connection
//     closes once its answer is sent.
//  4. Then the statements still running are cancelled (as by KILL
//     QUERY: their transactions roll back, nothing is half committed;
//     their clients get 1053), and waited for up to cancelWait.
//  5. The store is closed, which records the clean shutdown (the next
//     start skips the recovery sweep).
//
// Shutdown returns the store's Close error. Calls after the first wait
// for it and return its result.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutdownOnce.Do(func() { s.shutdownErr = s.shutdown(ctx) })
	return s.shutdownErr
}

// Close is Shutdown without a grace period: running statements are
// cancelled at once. Every committed statement is already durable; Close
// loses nothing committed.
func (s *Server) Close() error {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return s.Shutdown(ctx)
}

func (s *Server) shutdown(ctx context.Context) error {
	_ = s.srv.Close() // the listener: vitess's accept loop ends, and Serve returns
	if running := s.conns.drain(); running > 0 {
		if d, ok := ctx.Deadline(); ok && ctx.Err() == nil {
			logrus.Infof("shutdown: waiting up to %v for %d running statements", time.Until(d).Round(time.Millisecond), running)
		}
	}
	if !s.conns.wait(ctx) {
		left := s.conns.cancel(cancelWait)
		if left > 0 {
			logrus.Warnf("shutdown: %d statements still running %v after being cancelled; closing the store under them", left, cancelWait)
		}
	}
	return s.store.Close()
}

// drain begins the shutdown of the connections: no statement starts from
// now on, and idle connections end. It returns the number of statements
// running.
func (cs *connections) drain() (running int) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.draining {
		return 0
	}
	cs.draining = true
	close(cs.closing)
	for _, st := range cs.conns {
		if st.busy {
			running++
		} else {
			closeRead(st.raw)
		}
	}
	cs.signalEmpty()
	return running
}

// signalEmpty closes cs.empty once draining leaves no connection; cs.mu
// is held.
func (cs *connections) signalEmpty() {
	if !cs.draining || len(cs.conns) > 0 {
		return
	}
	select {
	case <-cs.empty:
	default:
		close(cs.empty)
	}
}

// wait waits until every connection has ended, or ctx is done; it
// reports whether they all ended.
func (cs *connections) wait(ctx context.Context) bool {
	select {
	case <-cs.empty:
		return true
	default:
	}
	select {
	case <-cs.empty:
		return true
	case <-ctx.Done():
		return false
	}
}

// cancel cancels the running statements, again every 100 ms (a
// statement that had not reached the process list when it was cancelled
// is caught the next time), until every connection has ended or bound
// has passed; it returns the number of connections still open then.
func (cs *connections) cancel(bound time.Duration) int {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	cs.mu.Lock()
	cs.killing = true
	cs.mu.Unlock()
	for {
		cs.mu.Lock()
		for id, st := range cs.conns {
			if st.busy {
				cs.procs.Kill(id)
			} else {
				closeRead(st.raw) // a connection still in its login
			}
		}
		cs.mu.Unlock()
		select {
		case <-cs.empty:
			return 0
		case <-deadline.C:
			cs.mu.Lock()
			defer cs.mu.Unlock()
			return len(cs.conns)
		case <-tick.C:
		}
	}
}

// logPreviousShutdown says, before the store opens the data directory,
// whether the server that used it last shut down cleanly (info) or not
// (a warning: the store then sweeps for files of interrupted commits).
// A new data directory says nothing.
func logPreviousShutdown(dataDir string, fresh bool) {
	switch {
	case fresh:
	case storage.ClosedCleanly(dataDir):
		logrus.Infof("%s was shut down cleanly: no recovery sweep", dataDir)
	default:
		logrus.Warnf("%s was not shut down cleanly (crash, kill -9 or power loss): sweeping it for files of interrupted commits", dataDir)
	}
}
