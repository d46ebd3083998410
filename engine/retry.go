package engine

import (
	"cmp"
	"errors"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"weak"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/anomalydb/anomalydb/storage"
)

// Internal retry of autocommit statements.
//
// Commits are optimistic (txn.go): a statement that rewrites a table
// (UPDATE, DELETE, REPLACE, INSERT … ON DUPLICATE KEY UPDATE) fails with
// 1213 (ER_LOCK_DEADLOCK) at its commit if another one committed to the
// table since the statement took its snapshot, which a stream of
// single-row INSERTs from other connections does every few milliseconds.
// MySQL would have made the statement wait for its row locks instead, so
// a statement that is a transaction of its own (autocommit, outside
// BEGIN … COMMIT) is not failed for that: the handler runs it again, at
// most maxStatementRetries times, from a fresh snapshot (its checks,
// duplicate keys included, run again). Before running it again it takes
// the commit gates of the tables whose commit it lost, exclusively: other
// connections' commits to those tables wait until it has finished (as
// they would wait for its locks in MySQL), so the retry does not lose the
// same race again. A statement is run again only when nothing of its
// result has reached the client, and never a LOAD DATA LOCAL (its file
// comes from the client once). Statements of explicit transactions keep
// getting 1213 at COMMIT, as in MySQL, and are retried by the client.
//
// Every commit (transaction.commit) holds the gates of the tables it
// writes shared, taken in gate order, so a retry waits for the commits
// in flight and blocks the ones after it. A retrying session's own
// commit does not wait for a gate it does not hold (TryRLock), so two
// retrying sessions never wait for each other.

// maxStatementRetries bounds how many times an autocommit statement that
// lost a commit race is run again.
const maxStatementRetries = 3

// commitGate orders commits to one table against a retrying statement.
type commitGate struct {
	id    uint64 // lock order
	rw    sync.RWMutex
	owner atomic.Pointer[session] // the session holding rw exclusively, if any
}

// gateRegistry keeps the commit gates by stored table; a gate goes away
// with its table.
type gateRegistry struct {
	mu   sync.Mutex
	next uint64
	m    map[weak.Pointer[storage.Table]]*commitGate
}

var gates = &gateRegistry{m: map[weak.Pointer[storage.Table]]*commitGate{}}

// gate returns st's commit gate, creating it on first use.
func (r *gateRegistry) gate(st *storage.Table) *commitGate {
	k := weak.Make(st)
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.m[k]
	if g == nil {
		r.next++
		g = &commitGate{id: r.next}
		r.m[k] = g
		runtime.AddCleanup(st, func(k weak.Pointer[storage.Table]) {
			r.mu.Lock()
			defer r.mu.Unlock()
			delete(r.m, k)
		}, k)
	}
	return g
}

// gatesOf returns the gates of tables, without duplicates, in lock order.
func gatesOf(tables []*storage.Table) []*commitGate {
	var gs []*commitGate
	for _, st := range tables {
		if g := gates.gate(st); !slices.Contains(gs, g) {
			gs = append(gs, g)
		}
	}
	slices.SortFunc(gs, func(a, b *commitGate) int { return cmp.Compare(a.id, b.id) })
	return gs
}

// enterCommit takes the gates of the tables a commit of s's transaction
// (s may be nil) writes, shared, and returns the function that releases
// them. Gates s holds are skipped; while s holds any, gates held by
// others are skipped too instead of waited for.
func enterCommit(s *session, tables []*storage.Table) (leave func()) {
	retrying := s != nil && s.holdsGates()
	var held []*commitGate
	for _, g := range gatesOf(tables) {
		switch {
		case s != nil && g.owner.Load() == s:
		case retrying:
			if g.rw.TryRLock() {
				held = append(held, g)
			}
		default:
			g.rw.RLock()
			held = append(held, g)
		}
	}
	return func() {
		for _, g := range held {
			g.rw.RUnlock()
		}
	}
}

// holdGates takes the gates of tables exclusively for s, waiting for the
// commits in flight, and returns the function that releases them.
func (s *session) holdGates(tables []*storage.Table) (release func()) {
	gs := gatesOf(tables)
	for _, g := range gs {
		g.rw.Lock()
		g.owner.Store(s)
	}
	s.mu.Lock()
	s.gates += len(gs)
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		s.gates -= len(gs)
		s.mu.Unlock()
		for _, g := range slices.Backward(gs) {
			g.owner.Store(nil)
			g.rw.Unlock()
		}
	}
}

func (s *session) holdsGates() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gates > 0
}

// noteLostRace records, for the handler, the tables of an autocommit
// statement's commit that failed with a write conflict.
func (s *session) noteLostRace(tables []*storage.Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lost = append(s.lost, tables...)
}

// takeLostRace returns and forgets what noteLostRace recorded.
func (s *session) takeLostRace() []*storage.Table {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lost
	s.lost = nil
	return l
}

// inAutocommit reports whether the next statement is a transaction of
// its own: autocommit is on, no BEGIN is open and no transaction holds
// changes or snapshots.
func (s *session) inAutocommit() bool {
	if s.GetIgnoreAutoCommit() {
		return false
	}
	// A nil context, as in statusFlags: an empty one costs a new session.
	v, err := s.GetSessionVariable(nil, sql.AutoCommitSessionVar)
	if err != nil {
		return false
	}
	if on, err := sql.ConvertToBool(nil, v); err != nil || !on {
		return false
	}
	tx, _ := s.GetTransaction().(*transaction)
	return tx == nil || !tx.touched()
}

// isWriteConflict reports whether err is ER_LOCK_DEADLOCK.
func isWriteConflict(err error) bool {
	var se *mysql.SQLError
	return errors.As(err, &se) && se.Num == mysql.ERLockDeadlock
}

// retryStatement runs a statement of connection c with run, and runs it
// again while it fails as an autocommit statement that lost a commit race
// (see the top of this file). run must call sent before it hands a result
// to the client.
func (h *handler) retryStatement(c *mysql.Conn, query string, run func(sent func()) error) error {
	s := h.sessions.get(c.ConnectionID)
	if s == nil || !s.inAutocommit() || isLoadDataLocal(query) {
		return run(func() {})
	}
	s.takeLostRace()
	var lost []*storage.Table
	for attempt := 0; ; attempt++ {
		delivered := false
		err := func() error {
			if len(lost) > 0 {
				defer s.holdGates(lost)() // released even if run panics
			}
			return run(func() { delivered = true })
		}()
		race := s.takeLostRace()
		if err == nil || delivered || len(race) == 0 || !isWriteConflict(err) || attempt == maxStatementRetries {
			return err
		}
		lost = append(lost, race...)
	}
}

// isLoadDataLocal reports whether query is a LOAD DATA LOCAL statement
// (a word test, looking past leading spaces and comments).
func isLoadDataLocal(query string) bool {
	words := strings.Fields(strings.ToUpper(skipSpaceAndComments(query)))
	if len(words) < 2 || words[0] != "LOAD" {
		return false
	}
	for _, w := range words[1:] {
		switch w {
		case "LOCAL":
			return true
		case "INFILE":
			return false
		}
	}
	return false
}

// sending wraps callback so that it calls sent first.
func sending(callback mysql.ResultSpoolFn, sent func()) mysql.ResultSpoolFn {
	return func(qr *sqltypes.Result, more bool) error {
		sent()
		return callback(qr, more)
	}
}
