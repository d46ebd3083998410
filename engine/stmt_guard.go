package engine

// Statement guards: a statement stops when its client goes away, and a
// SELECT or CREATE DETECTOR stops at max_execution_time. go-mysql-server
// stops a statement on KILL QUERY, and notices a closed socket only while
// it streams result rows; a training (CREATE DETECTOR) or an aggregate
// over a long scan sends none until it ends, so without this a client
// that disconnects leaves it running for hours.

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/vitess/go/mysql"
)

// peerCheckEvery is how often a running statement checks that its client
// is still connected (first after this long, so short statements never do).
const peerCheckEvery = 500 * time.Millisecond

// MySQL's numbers for a stopped statement.
const (
	codeQueryInterrupted = 1317 // ER_QUERY_INTERRUPTED (KILL QUERY)
	codeQueryTimeout     = 3024 // ER_QUERY_TIMEOUT (max_execution_time)
)

// stmtGuard is the context of one statement.
type stmtGuard struct {
	ctx     context.Context
	cancel  context.CancelFunc
	mu      sync.Mutex
	timer   *time.Timer // the next check of the client's socket
	stopped bool
}

// guard derives the context of a statement of connection c from ctx: it
// is cancelled when the client closes its socket and, for a query that
// max_execution_time applies to, when the session's max_execution_time
// (milliseconds, 0 = none) passes. done stops the guard and returns err
// as MySQL reports a stopped statement: 3024 at max_execution_time, 1317
// when it was cancelled otherwise (KILL QUERY, a closed client). done
// may be called more than once.
func (h *handler) guard(ctx context.Context, c *mysql.Conn, query string) (context.Context, func(error) error) {
	g := &stmtGuard{}
	var ms int64
	if timeLimited(query) {
		ms = h.maxExecutionTime(c)
	}
	if ms > 0 {
		g.ctx, g.cancel = context.WithTimeout(ctx, time.Duration(ms)*time.Millisecond)
	} else {
		g.ctx, g.cancel = context.WithCancel(ctx)
	}
	if sock := socketOf(c.Conn); sock != nil {
		var check func()
		check = func() {
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.stopped || g.ctx.Err() != nil {
				return
			}
			if peerGone(sock) { // client_gone_linux.go
				g.cancel()
				return
			}
			g.timer.Reset(peerCheckEvery)
		}
		g.mu.Lock()
		g.timer = time.AfterFunc(peerCheckEvery, check)
		g.mu.Unlock()
	}
	return g.ctx, g.done
}

func (g *stmtGuard) done(err error) error {
	g.mu.Lock()
	g.stopped = true
	if g.timer != nil {
		g.timer.Stop()
	}
	g.mu.Unlock()
	timedOut := errors.Is(g.ctx.Err(), context.DeadlineExceeded)
	g.cancel()
	if err == nil {
		return nil
	}
	if timedOut {
		return mysql.NewSQLError(codeQueryTimeout, "HY000", "Query execution was interrupted, maximum statement execution time exceeded")
	}
	if errors.Is(err, context.Canceled) || strings.Contains(err.Error(), context.Canceled.Error()) {
		return mysql.NewSQLError(codeQueryInterrupted, "70100", "Query execution was interrupted")
	}
	return err
}

// maxExecutionTime is the session's max_execution_time in milliseconds.
func (h *handler) maxExecutionTime(c *mysql.Conn) int64 {
	s := h.sessions.get(c.ConnectionID)
	if s == nil {
		return 0
	}
	// A nil context, as in inAutocommit: an empty one costs a new session
	// (a sixth of a point SELECT's CPU time).
	v, err := s.GetSessionVariable(nil, "max_execution_time")
	if err != nil {
		return 0
	}
	switch n := v.(type) {
	case int64:
		return n
	case int:
		return int64(n)
	case uint64:
		return int64(n)
	case int32:
		return int64(n)
	}
	return 0
}

// timeLimited reports whether max_execution_time applies to query: a
// SELECT (as in MySQL, which limits read-only SELECTs), and CREATE
// DETECTOR, whose training is a long read.
func timeLimited(query string) bool {
	q := strings.ToUpper(skipSpaceAndComments(query))
	switch {
	case strings.HasPrefix(q, "SELECT"), strings.HasPrefix(q, "("):
		return true
	case strings.HasPrefix(q, "WITH"):
		// A CTE before UPDATE or DELETE is a write, which MySQL does not
		// limit (a word test: a string that holds the word errs towards
		// not limiting).
		for _, w := range strings.FieldsFunc(q, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r == '_') }) {
			if w == "UPDATE" || w == "DELETE" || w == "INSERT" || w == "REPLACE" {
				return false
			}
		}
		return true
	case strings.HasPrefix(q, "CREATE"):
		rest := strings.Fields(q)
		for _, w := range rest[1:] {
			if w == "DETECTOR" {
				return true
			}
			if w != "OR" && w != "REPLACE" {
				return false
			}
		}
	}
	return false
}

// skipSpaceAndComments drops leading white space and comments.
func skipSpaceAndComments(q string) string {
	for {
		q = strings.TrimLeft(q, " \t\r\n")
		switch {
		case strings.HasPrefix(q, "/*") && !strings.HasPrefix(q, "/*!"):
			end := strings.Index(q[2:], "*/")
			if end < 0 {
				return ""
			}
			q = q[end+4:]
		case strings.HasPrefix(q, "#"), strings.HasPrefix(q, "-- "):
			end := strings.IndexByte(q, '\n')
			if end < 0 {
				return ""
			}
			q = q[end+1:]
		default:
			return q
		}
	}
}

// socketOf returns the socket under a client connection: c itself, or
// what a TLS connection, prepareConn or packetLimitConn (which only read)
// wraps: the one to write to and watch.
func socketOf(c net.Conn) net.Conn {
	for {
		switch w := c.(type) {
		case *tls.Conn:
			c = w.NetConn()
		case *prepareConn:
			c = w.Conn
		case *packetLimitConn:
			c = w.Conn
		case interface{ NetConn() net.Conn }:
			c = w.NetConn()
		default:
			return c
		}
	}
}
