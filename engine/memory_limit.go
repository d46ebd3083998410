package engine

// The server's memory limit (serve --max-memory).
//
// Most statements stream: scans read data files through a bounded cache,
// large inserts stage their rows to disk, training samples its rows.
// Some must hold what they read until they are done: ORDER BY without an
// index (the sort), GROUP BY and DISTINCT (their groups), an UPDATE or
// DELETE that changes rows in every data file (the files it rewrites).
// Without a limit such a statement on a table larger than memory grows
// until the kernel kills the server, and every connection with it. With
// one, it fails with MySQL's error 1037 (out of memory) and the server
// goes on:
//   - Go's garbage collector is told the limit (debug.SetMemoryLimit, a
//     soft limit), so that garbage does not count against it;
//   - go-mysql-server's row caches (sort, GROUP BY, DISTINCT, window
//     functions, subquery results) ask memoryLimit before each row: past
//     nine tenths of the limit in live heap, after a collection, they
//     fail the statement;
//   - the engine's own buffers that grow with a statement (the data
//     files an UPDATE or DELETE rewrites) ask checkMemory.
// Memory outside the heap (stacks, the runtime's own) is not counted;
// the limit is a budget for statements, not a cap on the process.

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
)

// codeOutOfMemory is MySQL's ER_OUTOFMEMORY.
const codeOutOfMemory = 1037

// memoryLimit implements go-mysql-server's sql.Reporter for its memory
// manager: MaxMemory is the point past which its caches refuse rows, and
// UsedMemory the heap in use, read at most every few milliseconds while
// far below it (a row cache asks for every row).
type memoryLimit struct {
	limit  uint64 // the server's limit (--max-memory)
	refuse uint64 // nine tenths of it: past this live heap, statements fail

	sample atomic.Uint64 // heap objects at the last reading
	at     atomic.Int64  // when, in UnixNano
}

// heapObjects is the runtime metric read: live heap objects and dead ones
// not yet swept.
const heapObjects = "/memory/classes/heap/objects:bytes"

// newMemoryLimit returns the limit of limit bytes and makes it the
// runtime's soft memory limit, unless GOMEMLIMIT set one.
func newMemoryLimit(limit int64) *memoryLimit {
	m := &memoryLimit{limit: uint64(limit), refuse: uint64(limit) / 10 * 9}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(limit)
	}
	return m
}

// MaxMemory implements sql.Reporter.
func (m *memoryLimit) MaxMemory() uint64 { return m.refuse }

// UsedMemory implements sql.Reporter: the heap objects in bytes. Below
// half the limit a reading up to 5 ms old is reused; nearer, every call
// reads the runtime (cheap: no stop of the world).
func (m *memoryLimit) UsedMemory() uint64 {
	now := time.Now().UnixNano()
	if v := m.sample.Load(); v < m.refuse/2 && now-m.at.Load() < int64(5*time.Millisecond) {
		return v
	}
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	v := s[0].Value.Uint64()
	m.sample.Store(v)
	m.at.Store(now)
	return v
}

// check returns error 1037 when the live heap is past the refusal point
// after a collection, else nil.
func (m *memoryLimit) check() error {
	if m == nil || m.UsedMemory() < m.refuse {
		return nil
	}
	runtime.GC()
	if m.UsedMemory() < m.refuse {
		return nil
	}
	return m.err()
}

// err is the error of a statement refused for memory.
func (m *memoryLimit) err() error {
	return mysql.NewSQLError(codeOutOfMemory, "HY001",
		"Out of memory: the statement needs more than the server's memory limit allows (%s, --max-memory); "+
			"add a LIMIT, an index for ORDER BY, or a WHERE that selects fewer rows, or restart the server with a larger --max-memory", byteSize(m.limit))
}

// serverMemory is the limit of the running server (nil: none), read by
// checkMemory.
var serverMemory atomic.Pointer[memoryLimit]

// checkMemory returns error 1037 when the server is past its memory limit
// (see memoryLimit.check); the engine's buffers that grow with a
// statement call it as they grow.
func checkMemory() error { return serverMemory.Load().check() }

// asMemoryError turns go-mysql-server's "no memory available" (a row
// cache refused a row, error 1105) into error 1037.
func asMemoryError(err error) error {
	m := serverMemory.Load()
	if m == nil || err == nil {
		return err
	}
	if sql.ErrNoMemoryAvailable.Is(err) {
		return m.err()
	}
	if se, ok := err.(*mysql.SQLError); ok && se.Num == mysql.ERUnknownError && se.Message == sql.ErrNoMemoryAvailable.New().Error() {
		return m.err()
	}
	return err
}

// byteSize formats n bytes as the flags write them (512M, 2G).
func byteSize(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dG", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dM", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}
