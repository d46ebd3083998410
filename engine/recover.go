package engine

import (
	"errors"
	"runtime/debug"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"

	"github.com/anomalydb/anomalydb/detectors"
)

// Panics in statements.
//
// A panic while the server runs a client's command (a query, a prepare,
// an execute, LOAD DATA, a detector statement or function) is a bug of
// the server; it must cost the client that statement, not the
// connection, and never the server. Vitess, which calls the handler,
// closes the connection on a panic; go-mysql-server recovers only the
// panics of the goroutines that read a result's rows ("handler caught
// panic: ..."), and package detectors raises those of its own
// goroutines again in the goroutine that started them (WorkerPanic).
//
// handler.recoverPanic, deferred by each command of the handler, makes
// every such panic error 1105 (ER_UNKNOWN_ERROR), "Internal error: ...",
// logs it at error level with its stack (go-mysql-server keeps none of
// the panics it recovered), and rolls back the session's open
// transaction: the statement may have stopped half way through its
// changes, and under autocommit go-mysql-server has already rolled them
// back (session.CommandEnd). The connection stays usable.

// recoverPanic is deferred by the handler's commands with the command's
// name and a pointer to its error result; see above.
func (h *handler) recoverPanic(c *mysql.Conn, command string, err *error) {
	r := recover()
	var value any
	switch {
	case r != nil:
		value = r
		log := logrus.WithField("connection", c.ConnectionID)
		if wp, ok := r.(*detectors.WorkerPanic); ok {
			log.Errorf("panic in %s (in a worker goroutine): %v\n%s\nraised again at:\n%s", command, wp.Value, wp.Stack, debug.Stack())
		} else {
			log.Errorf("panic in %s: %v\n%s", command, r, debug.Stack())
		}
	case caughtPanic(*err) != "":
		value = caughtPanic(*err)
		logrus.WithField("connection", c.ConnectionID).Errorf("panic in %s, recovered by go-mysql-server (stack not kept): %v", command, value)
	default:
		return
	}
	h.rollback(c)
	*err = mysql.NewSQLError(mysql.ERUnknownError, mysql.SSUnknownSQLState,
		"Internal error: %v; the statement failed and any open transaction was rolled back", value)
}

// caughtPanicPrefix starts the message of a panic that go-mysql-server
// recovered in a goroutine of a query.
const caughtPanicPrefix = "handler caught panic: "

// caughtPanic returns the panic value's text of an error of
// go-mysql-server that reports a recovered panic, "" for other errors.
func caughtPanic(err error) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	var se *mysql.SQLError
	if errors.As(err, &se) {
		msg = se.Message
	}
	i := strings.Index(msg, caughtPanicPrefix)
	if i < 0 {
		return ""
	}
	return msg[i+len(caughtPanicPrefix):]
}

// rollback ends the open transaction of c's session, if any, without
// committing it.
func (h *handler) rollback(c *mysql.Conn) {
	s := h.sessions.get(c.ConnectionID)
	if s == nil {
		return
	}
	if tx, ok := s.GetTransaction().(*transaction); ok {
		tx.release()
	}
	s.SetTransaction(nil)
	s.SetIgnoreAutoCommit(false)
}
