package engine

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// handler wraps go-mysql-server's protocol handler where its answers
// differ from MySQL's in ways that clients notice:
//
//   - Syntax errors reach clients as MySQL error 1064 (ER_PARSE_ERROR),
//     the number MySQL clients and BI tools expect; go-mysql-server
//     reports them as the generic 1105.
//   - The status flags of the handshake and of every OK and EOF packet
//     carry SERVER_STATUS_AUTOCOMMIT and SERVER_STATUS_IN_TRANS as the
//     session has them (see statusFlags). PyMySQL and mysqlclient read
//     the autocommit flag to decide whether to send SET autocommit = 0.
//   - OK packets carry no info text: vitess writes it as '#' followed by
//     the text, which a client with CLIENT_SESSION_TRACK (libmariadb: the
//     mariadb CLI, DBD::MariaDB, ...) reads as a length-encoded string, so
//     that a short info ("Statement prepared") ends the packet early and
//     the client fails with 2027 (malformed packet).
//   - DETECTOR statements can be prepared (COM_STMT_PREPARE): see
//     prepareListener for how they get past vitess's parser.
//   - A multi-statement query stops at the first statement that fails.
//   - A panic in a command is error 1105 for it, not a lost connection
//     (recover.go).
//   - An autocommit statement that fails with 1213 because its commit lost
//     a race is run again instead (retry.go).
type handler struct {
	mysql.Handler
	sessions *connSessions
}

func newHandler(h mysql.Handler, sessions *connSessions) *handler {
	return &handler{Handler: h, sessions: sessions}
}

// NewConnection implements mysql.Handler. The handshake, written next,
// and the OK packet of the login carry the status flags set here: the
// session does not exist yet, so they are the global autocommit's.
func (h *handler) NewConnection(c *mysql.Conn) {
	unwrapConn(c)
	h.Handler.NewConnection(c)
	c.StatusFlags &^= mysql.ServerStatusAutocommit | mysql.ServerInTransaction
	if globalAutocommit() {
		c.StatusFlags |= mysql.ServerStatusAutocommit
	}
}

// ConnectionClosed implements mysql.Handler.
func (h *handler) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	h.sessions.forget(c.ConnectionID)
}

// ComQuery implements mysql.Handler.
func (h *handler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (rerr error) {
	defer h.recoverPanic(c, "query", &rerr) // recover.go
	ctx, done := h.guard(ctx, c, query)     // stmt_guard.go
	defer done(nil)                         // stops the guard after a panic too
	// retry.go: an autocommit statement that lost a commit race runs again.
	err := done(h.retryStatement(c, query, func(sent func()) error {
		return h.Handler.ComQuery(ctx, c, query, h.spool(c, sending(callback, sent)))
	}))
	h.setStatus(c)
	return asParseError(asMemoryError(err))
}

// ComMultiQuery implements mysql.Handler. A statement that fails ends
// the query, as in MySQL: vitess, after writing the error, would run the
// statements after it, whose results the client no longer reads.
func (h *handler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (_ string, rerr error) {
	defer h.recoverPanic(c, "query", &rerr) // recover.go
	ctx, done := h.guard(ctx, c, query)     // stmt_guard.go
	defer done(nil)                         // stops the guard after a panic too
	var rest string
	// retry.go: an autocommit statement that lost a commit race runs again.
	err := done(h.retryStatement(c, query, func(sent func()) (err error) {
		rest, err = h.Handler.ComMultiQuery(ctx, c, query, h.spool(c, sending(callback, sent)))
		return err
	}))
	h.setStatus(c)
	if err != nil {
		rest = ""
	}
	return rest, asParseError(asMemoryError(err))
}

// ComPrepare implements mysql.Handler. A DETECTOR statement arrives here
// in the disguise prepareListener gave it; it is prepared (and later
// executed: PrepareStmt) as the client wrote it.
func (h *handler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) (_ []*querypb.Field, rerr error) {
	defer h.recoverPanic(c, "prepare", &rerr) // recover.go
	if orig, ok := undisguise(query); ok {
		query = orig
		prepare.PrepareStmt = orig
	} else if orig, ok := undisguiseRollup(query); ok { // rollup.go
		query = orig
		prepare.PrepareStmt = orig
	} else if orig, ok := undisguiseWindows(query); ok { // window_scoring.go
		query = orig
		prepare.PrepareStmt = orig
	}
	f, err := h.Handler.ComPrepare(ctx, c, query, prepare)
	return f, asParseError(err)
}

// ComStmtExecute implements mysql.Handler.
func (h *handler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) (rerr error) {
	defer h.recoverPanic(c, "execute", &rerr)         // recover.go
	ctx, done := h.guard(ctx, c, prepare.PrepareStmt) // stmt_guard.go
	defer done(nil)                                   // stops the guard after a panic too
	// retry.go: an autocommit statement that lost a commit race runs again.
	err := h.retryStatement(c, prepare.PrepareStmt, func(sent func()) error {
		return h.Handler.ComStmtExecute(ctx, c, prepare, func(qr *sqltypes.Result) error {
			sent()
			if len(qr.Fields) == 0 { // vitess writes the OK packet in callback
				h.setStatus(c)
			}
			return callback(qr)
		})
	})
	err = done(err)
	h.setStatus(c)
	return asMemoryError(err)
}

// ComResetConnection implements mysql.Handler.
func (h *handler) ComResetConnection(c *mysql.Conn) error {
	err := h.Handler.ComResetConnection(c)
	h.setStatus(c)
	return err
}

// spool wraps the result callback of a text-protocol query: an OK
// packet, which vitess writes in the callback, gets the session's status
// flags and no info text (see handler).
func (h *handler) spool(c *mysql.Conn, callback mysql.ResultSpoolFn) mysql.ResultSpoolFn {
	return func(qr *sqltypes.Result, more bool) error {
		if len(qr.Fields) == 0 {
			h.setStatus(c)
			if qr.Info != "" {
				ok := *qr
				ok.Info = ""
				qr = &ok
			}
		}
		return callback(qr, more)
	}
}

// setStatus sets the autocommit and in-transaction bits of c's status
// flags from its session; the other bits (cursor, more results) are
// vitess's.
func (h *handler) setStatus(c *mysql.Conn) {
	s := h.sessions.get(c.ConnectionID)
	if s == nil {
		return
	}
	c.StatusFlags = c.StatusFlags&^(mysql.ServerStatusAutocommit|mysql.ServerInTransaction) | s.statusFlags()
}

// statusFlags returns the SERVER_STATUS_AUTOCOMMIT and
// SERVER_STATUS_IN_TRANS bits of the session's state, as MySQL sets them
// in its OK and EOF packets: autocommit as @@autocommit; in a transaction
// from BEGIN (START TRANSACTION) to its end, and, with autocommit = 0,
// from the first statement that reads or writes a table to COMMIT or
// ROLLBACK.
func (s *session) statusFlags() uint16 {
	auto := true
	if v, err := s.GetSessionVariable(nil, "autocommit"); err == nil {
		if on, err := sql.ConvertToBool(nil, v); err == nil {
			auto = on
		}
	}
	var f uint16
	if auto {
		f |= mysql.ServerStatusAutocommit
	}
	if tx, ok := s.GetTransaction().(*transaction); ok && (s.GetIgnoreAutoCommit() || !auto && tx.touched()) {
		f |= mysql.ServerInTransaction
	}
	return f
}

// touched reports whether a statement of the transaction read or wrote a
// table.
func (tx *transaction) touched() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return len(tx.order) > 0
}

// globalAutocommit is @@GLOBAL.autocommit, which new sessions start with.
func globalAutocommit() bool {
	_, v, ok := sql.SystemVariables.GetGlobal("autocommit")
	if !ok {
		return true
	}
	on, err := sql.ConvertToBool(nil, v)
	return err != nil || on
}

// connSessions finds the session of a connection: go-mysql-server's
// session manager keeps it unexported.
type connSessions struct {
	m sync.Map // connection ID → *session
}

// build is the server's session builder: sessionBuilder, remembered.
func (cs *connSessions) build(ctx context.Context, conn *mysql.Conn, addr string) (sql.Session, error) {
	s, err := sessionBuilder(ctx, conn, addr)
	if err != nil {
		return nil, err
	}
	if ss, ok := s.(*session); ok {
		cs.m.Store(conn.ConnectionID, ss)
	}
	return s, nil
}

func (cs *connSessions) get(id uint32) *session {
	s, _ := cs.m.Load(id)
	ss, _ := s.(*session)
	return ss
}

func (cs *connSessions) forget(id uint32) { cs.m.Delete(id) }

// asParseError renumbers syntax errors to 1064.
func asParseError(err error) error {
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) || se.Num != mysql.ERUnknownError {
		return err
	}
	msg := se.Message
	switch {
	case strings.HasPrefix(msg, "You have an error in your SQL syntax"):
		msg = strings.TrimSuffix(msg, " (errno 1064) (sqlstate 42000)")
	case strings.HasPrefix(msg, "bind variable not provided"):
		// A ? outside a prepared statement: MySQL's parser refuses it.
		msg = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '?' at line 1"
	case strings.HasPrefix(msg, "syntax error at position"):
		// vitess: "syntax error at position 7 near 'SELEKT'"
		near := ""
		if i := strings.Index(msg, " near '"); i >= 0 {
			near = strings.TrimSuffix(msg[i+len(" near '"):], "'")
		}
		msg = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '" + near + "' at line 1"
	case msg == "no database selected":
		return mysql.NewSQLError(mysql.ERNoDb, mysql.SSNoDB, "No database selected")
	default:
		if de := asDetectorParseError(se); de != nil { // parser.go
			return de
		}
		if ne := asNameError(se); ne != nil { // database_objects.go
			return ne
		}
		if re := asRollupError(se); re != nil { // rollup.go
			return re
		}
		return err
	}
	return mysql.NewSQLError(mysql.ERParseError, "42000", "%s", msg)
}

// accessDenied wraps go-mysql-server's authentication so that a login
// fails as it does on MySQL, with error 1045 (ER_ACCESS_DENIED_ERROR)
// "Access denied for user 'u'@'host' (using password: YES|NO)":
//
//   - For a user that does not exist, every go-mysql-server auth method
//     declines the user, and vitess then ends the handshake with its
//     client-side code 2012 ("No authentication methods available"), which
//     the Go driver reports as 2012 and other clients as a malformed
//     packet (2027). Here mysql_native_password also takes a user that no
//     method takes: the client answers its challenge and the password
//     check finds no such user and fails with 1045.
//   - go-mysql-server's 1045 message names neither the client's host nor
//     whether a password was sent; it is rewritten in MySQL's words.
type accessDenied struct {
	mysql.AuthServer
	methods []mysql.AuthMethod
}

func newAccessDenied(as mysql.AuthServer) *accessDenied {
	inner := as.AuthMethods()
	a := &accessDenied{AuthServer: as, methods: make([]mysql.AuthMethod, len(inner))}
	for i, m := range inner {
		a.methods[i] = deniedMethod{AuthMethod: m, all: inner}
	}
	return a
}

// AuthMethods implements mysql.AuthServer.
func (a *accessDenied) AuthMethods() []mysql.AuthMethod { return a.methods }

// deniedMethod is one auth method of accessDenied.
type deniedMethod struct {
	mysql.AuthMethod
	all []mysql.AuthMethod // the unwrapped methods of the server
}

// HandleUser implements mysql.AuthMethod: mysql_native_password takes
// users that no method takes (unknown users), so that they are refused
// by its password check rather than by a broken handshake.
func (m deniedMethod) HandleUser(c *mysql.Conn, user string) bool {
	if m.AuthMethod.HandleUser(c, user) {
		return true
	}
	if m.Name() != mysql.MysqlNativePassword {
		return false
	}
	for _, other := range m.all {
		if other.HandleUser(c, user) {
			return false
		}
	}
	return true
}

// HandleAuthPluginData implements mysql.AuthMethod.
func (m deniedMethod) HandleAuthPluginData(c *mysql.Conn, user string, serverData, clientData []byte, remote net.Addr) (mysql.Getter, error) {
	g, err := m.AuthMethod.HandleAuthPluginData(c, user, serverData, clientData, remote)
	var se *mysql.SQLError
	if err == nil || !errors.As(err, &se) || se.Num != mysql.ERAccessDeniedError {
		return g, err
	}
	host := remote.String()
	if h, _, serr := net.SplitHostPort(host); serr == nil {
		host = h
	}
	if remote.Network() == "unix" {
		host = "localhost"
	}
	using := "NO"
	if len(bytes.TrimRight(clientData, "\x00")) > 0 {
		using = "YES"
	}
	return nil, mysql.NewSQLError(mysql.ERAccessDeniedError, mysql.SSAccessDeniedError,
		"Access denied for user '%s'@'%s' (using password: %s)", user, host, using)
}

// Preparing DETECTOR statements.
//
// vitess parses the text of every COM_STMT_PREPARE with its own MySQL
// parser, to count the placeholders, before it calls the handler, and
// answers a syntax error itself when that fails; the server's parser
// (detectorParser), which knows DETECTOR statements, never sees them.
// prepareListener therefore rewrites, on the wire, the COM_STMT_PREPARE
// of a DETECTOR statement into a SELECT that vitess parses, with the
// statement hex-encoded in a comment (disguise); handler.ComPrepare takes
// it out again (undisguise) and prepares the statement itself. The
// disguise holds as many ? as the statement has placeholders (parser.go),
// so that vitess reports their number in its answer and reads that many
// values at each execution.

const (
	disguiseHead   = "SELECT NULL"
	disguiseParam  = ", ?"
	disguiseMark   = " /* anomalydb detector statement "
	disguisePrefix = disguiseHead + disguiseMark // of a statement without placeholders
	disguiseSuffix = " */"
)

// disguise returns the text vitess parses in place of a DETECTOR
// statement.
func disguise(query string) string {
	return disguiseHead + strings.Repeat(disguiseParam, countPlaceholders(query)) + disguiseMark + hex.EncodeToString([]byte(query)) + disguiseSuffix
}

// undisguise returns the DETECTOR statement that query disguises.
func undisguise(query string) (string, bool) {
	h, ok := strings.CutPrefix(query, disguiseHead)
	if !ok {
		return "", false
	}
	for strings.HasPrefix(h, disguiseParam) {
		h = h[len(disguiseParam):]
	}
	if h, ok = strings.CutPrefix(h, disguiseMark); !ok {
		return "", false
	}
	h, ok = strings.CutSuffix(h, disguiseSuffix)
	if !ok {
		return "", false
	}
	b, err := hex.DecodeString(h)
	if err != nil || !isDetectorStatement(string(b)) {
		return "", false
	}
	return string(b), true
}

// prepareListener hands out connections whose client packets pass
// through prepareConn.
type prepareListener struct {
	net.Listener
}

// Accept implements net.Listener.
func (l prepareListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &prepareConn{Conn: c}, nil
}

// unwrapConn makes c write to, and be watched on, the client's socket
// itself, while its buffered reader, made from the prepareConn when the
// connection was accepted, keeps reading through it. go-mysql-server
// notices that a client went away during a long query by inspecting
// c.Conn, which it must find to be a *net.TCPConn.
func unwrapConn(c *mysql.Conn) {
	if pc, ok := c.Conn.(*prepareConn); ok {
		c.Conn = socketOf(pc) // stmt_guard.go
	}
}

// MySQL packet framing, client to server.
const (
	packetHeader = 4        // 3-byte little-endian payload length, 1-byte sequence number
	maxPayload   = 0xffffff // a payload this long continues in the next packet
)

// prepareConn reads the client's packets and disguises each
// COM_STMT_PREPARE of a DETECTOR statement; every other byte passes
// unchanged. A command is a packet with sequence number 0, except where
// the sequence of a transfer of several packets (LOAD DATA LOCAL's file,
// a payload over 16 MB) wraps from 255 to 0. Only a packet that holds
// exactly a COM_STMT_PREPARE of a DETECTOR statement is changed, so bytes
// that are not MySQL packets (TLS, were it enabled) pass unchanged.
type prepareConn struct {
	net.Conn
	in, out []byte // read from Conn and not yet framed; framed, for Read
	pass    int    // bytes of the current packet still to pass through
	prevSeq byte   // sequence number of the previous packet
	prevLen int    // payload length of the previous packet
	err     error  // the read error to return once out is drained
}

// Read implements net.Conn.
func (c *prepareConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.err != nil {
			return 0, c.err
		}
		if len(c.in) == 0 && c.pass > 0 {
			// The rest of a packet that passes: no need to copy it.
			if len(p) > c.pass {
				p = p[:c.pass]
			}
			n, err := c.Conn.Read(p)
			c.pass -= n
			return n, err
		}
		if c.frame() {
			continue
		}
		var buf [4096]byte
		n, err := c.Conn.Read(buf[:])
		c.in = append(c.in, buf[:n]...)
		if err != nil {
			// Hand over what is left as it is, then the error.
			c.out, c.in, c.err = append(c.out, c.in...), nil, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// frame moves what it can from in to out and reports whether it moved
// anything; false means it needs more input.
func (c *prepareConn) frame() bool {
	if c.pass > 0 {
		k := min(c.pass, len(c.in))
		c.out = append(c.out, c.in[:k]...)
		c.in, c.pass = c.in[k:], c.pass-k
		return k > 0
	}
	if len(c.in) < packetHeader {
		return false
	}
	n := int(c.in[0]) | int(c.in[1])<<8 | int(c.in[2])<<16
	seq := c.in[3]
	payload := c.in[packetHeader:]
	command := seq == 0 && !(c.prevSeq == 255 && c.prevLen > 0) && n > 0 && n < maxPayload
	if command {
		// Is it a COM_STMT_PREPARE? Then it is needed whole.
		if len(payload) < 1 || payload[0] == mysql.ComPrepare && len(payload) < n {
			return false
		}
	}
	c.prevSeq, c.prevLen = seq, n
	if command && payload[0] == mysql.ComPrepare {
		query := string(payload[1:n])
		c.in = c.in[packetHeader+n:]
		if d := disguise(query); isDetectorStatement(query) && 1+len(d) < maxPayload {
			query = d
		} else if d, ok := disguiseRollup(query); ok && 1+len(d) < maxPayload { // rollup.go
			query = d
		} else if d, ok := disguiseWindows(query); ok && 1+len(d) < maxPayload { // window_scoring.go
			query = d
		}
		c.out = appendPacket(c.out, seq, mysql.ComPrepare, query)
		return true
	}
	c.pass = packetHeader + n
	return c.frame()
}

// appendPacket appends a packet of one command byte and text to dst.
func appendPacket(dst []byte, seq, command byte, text string) []byte {
	n := 1 + len(text)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq, command)
	return append(dst, text...)
}
