package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/sirupsen/logrus"
)

// Connections, as MySQL 8 admits them:
//
//   - max_connections (default 151, SET GLOBAL takes effect for the next
//     connection): a connection beyond max_connections + 1 is refused
//     before the handshake with error 1040 "Too many connections"; the
//     one extra is kept for an account with SUPER or CONNECTION_ADMIN,
//     and anyone else who takes it is refused with 1040 after the login.
//     go-mysql-server's own limit (vitess's MaxConns) makes clients wait
//     instead, so it is left off.
//   - connect_timeout (default 10 s): the handshake, TLS included, must be
//     done within it; a client that sends nothing is disconnected then.
//   - require_secure_transport: a login over plain TCP with the right
//     password fails with 3159.
//   - repeated failed logins from one address are delayed (login_delay.go).
//
// connections also keeps the open connections and whether each runs a
// statement, for a clean shutdown (shutdown.go).
type connections struct {
	mdb     *mysql_db.MySQLDb // for the extra connection's privileges
	procs   sql.ProcessList   // to cancel statements at shutdown
	logins  *loginDelays
	closing chan struct{} // closed when the shutdown begins

	mu       sync.Mutex
	live     int                   // admitted, not yet closed
	conns    map[uint32]*connState // from NewConnection to ConnectionClosed
	draining bool                  // no statement may start
	killing  bool                  // running statements are being cancelled
	empty    chan struct{}         // closed once draining with no connection left
}

// connState is one open connection.
type connState struct {
	raw  net.Conn // the client's socket, under TLS if any
	busy bool     // a statement runs
}

// MySQL's errors for connections that vitess does not name.
const (
	erConCount                = 1040 // ER_CON_COUNT_ERROR
	ssConCount                = "08004"
	erSecureTransportRequired = 3159 // ER_SECURE_TRANSPORT_REQUIRED
)

// Defaults of the connection variables (MySQL's).
const (
	defaultMaxConnections = 151
	defaultConnectTimeout = 10 * time.Second
)

func newConnections(mdb *mysql_db.MySQLDb, procs sql.ProcessList) *connections {
	return &connections{
		mdb:     mdb,
		procs:   procs,
		logins:  newLoginDelays(),
		closing: make(chan struct{}),
		conns:   map[uint32]*connState{},
		empty:   make(chan struct{}),
	}
}

// setConnectionVariables sets max_connections, connect_timeout and
// require_secure_transport from cfg (zero values: MySQL's defaults) and
// adds the connection_control variables. Values out of MySQL's ranges
// (max_connections 1 to 100000, connect_timeout 2 s to a year in whole
// seconds) are errors.
func setConnectionVariables(cfg Config) error {
	sql.SystemVariables.AddSystemVariables(loginDelayVariables())
	ctx := sql.NewEmptyContext()
	maxConns := int64(cfg.MaxConnections)
	if maxConns == 0 {
		maxConns = defaultMaxConnections
	}
	if err := sql.SystemVariables.SetGlobal(ctx, "max_connections", maxConns); err != nil {
		return fmt.Errorf("max connections: %w", err)
	}
	timeout := cfg.ConnectTimeout
	if timeout == 0 {
		timeout = defaultConnectTimeout
	}
	if timeout%time.Second != 0 {
		return fmt.Errorf("connect timeout %v: not a whole number of seconds", timeout)
	}
	if err := sql.SystemVariables.SetGlobal(ctx, "connect_timeout", int64(timeout/time.Second)); err != nil {
		return fmt.Errorf("connect timeout: %w", err)
	}
	secure := int8(0)
	if cfg.RequireSecureTransport {
		secure = 1
	}
	return sql.SystemVariables.SetGlobal(ctx, "require_secure_transport", secure)
}

// listener wraps the server's listener with admission and the handshake
// deadline.
func (cs *connections) listener(l net.Listener) net.Listener {
	return connListener{Listener: l, cs: cs}
}

// connListener admits connections (see connections).
type connListener struct {
	net.Listener
	cs *connections
}

// Accept implements net.Listener. Errors other than a closed listener
// (too many open files, a connection reset before it was accepted) are
// logged and accepting goes on: vitess stops accepting for good at the
// first error.
func (l connListener) Accept() (net.Conn, error) {
	var backoff time.Duration
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			logrus.Warnf("accepting a connection: %v (retrying in %v)", err, backoff)
			select {
			case <-time.After(backoff):
			case <-l.cs.closing:
			}
			continue
		}
		backoff = 0
		if !l.cs.admit() {
			go refuseConnection(c)
			continue
		}
		_ = c.SetDeadline(time.Now().Add(connectTimeout()))
		return c, nil
	}
}

// admit counts a new connection unless max_connections + 1 are open.
func (cs *connections) admit() bool {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if int64(cs.live) > globalInt("max_connections", defaultMaxConnections) {
		return false
	}
	cs.live++
	return true
}

// refuseConnection answers a connection that max_connections leaves no
// room for with MySQL's error packet in place of the handshake (no SQL
// state: the client has not said it speaks protocol 4.1) and closes it.
func refuseConnection(c net.Conn) {
	defer c.Close()
	sql.StatusVariables.IncrementGlobal("Connection_errors_max_connections", 1)
	msg := "Too many connections"
	n := 3 + len(msg)
	pkt := append([]byte{byte(n), byte(n >> 8), byte(n >> 16), 0, 0xff, byte(erConCount & 0xff), byte(erConCount >> 8)}, msg...)
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write(pkt)
}

// connectTimeout is @@connect_timeout.
func connectTimeout() time.Duration {
	return time.Duration(globalInt("connect_timeout", int64(defaultConnectTimeout/time.Second))) * time.Second
}

// requireSecureTransport is @@require_secure_transport.
func requireSecureTransport() bool {
	_, v, ok := sql.SystemVariables.GetGlobal("require_secure_transport")
	if !ok {
		return false
	}
	on, err := sql.ConvertToBool(nil, v)
	return err == nil && on
}

// auth wraps the server's authentication with the login's connection
// checks (see connections).
func (cs *connections) auth(as mysql.AuthServer) mysql.AuthServer {
	inner := as.AuthMethods()
	a := &connAuth{AuthServer: as, methods: make([]mysql.AuthMethod, len(inner))}
	for i, m := range inner {
		a.methods[i] = connMethod{AuthMethod: m, cs: cs}
	}
	return a
}

// connAuth is the AuthServer of auth.
type connAuth struct {
	mysql.AuthServer
	methods []mysql.AuthMethod
}

// AuthMethods implements mysql.AuthServer.
func (a *connAuth) AuthMethods() []mysql.AuthMethod { return a.methods }

// connMethod is one auth method of connAuth.
type connMethod struct {
	mysql.AuthMethod
	cs *connections
}

// HandleAuthPluginData implements mysql.AuthMethod: the password check,
// after the delay that earlier failures from the client's address call
// for, then the checks of a login with the right password.
func (m connMethod) HandleAuthPluginData(c *mysql.Conn, user string, serverData, clientData []byte, remote net.Addr) (mysql.Getter, error) {
	delay, end := m.cs.logins.begin(remoteHost(remote))
	if delay > 0 {
		// What is left of the handshake (the password check may ask the
		// client again, then the answer) gets connect_timeout after the
		// delay.
		_ = c.Conn.SetDeadline(time.Now().Add(delay + connectTimeout()))
		sql.StatusVariables.IncrementGlobal("Connection_control_delay_generated", 1)
		select {
		case <-time.After(delay):
		case <-m.cs.closing:
		}
	}
	g, err := m.AuthMethod.HandleAuthPluginData(c, user, serverData, clientData, remote)
	var se *mysql.SQLError
	switch {
	case err == nil:
		end(loginOK)
	case errors.As(err, &se) && se.Num == mysql.ERAccessDeniedError:
		end(loginFailed)
	default:
		end(loginOther)
	}
	if err != nil {
		return nil, err
	}
	if err := m.cs.afterLogin(c, g); err != nil {
		return nil, err
	}
	_ = c.Conn.SetDeadline(time.Time{})
	return g, nil
}

// afterLogin checks a login whose password was right: TLS if required,
// the extra connection's privilege; then it splices the TLS reader
// (tls.go).
func (cs *connections) afterLogin(c *mysql.Conn, g mysql.Getter) error {
	if requireSecureTransport() && !c.TLSEnabled() {
		return mysql.NewSQLError(erSecureTransportRequired, mysql.SSUnknownSQLState,
			"Connections using insecure transport are prohibited while --require_secure_transport=ON.")
	}
	cs.mu.Lock()
	over := int64(cs.live) > globalInt("max_connections", defaultMaxConnections)
	cs.mu.Unlock()
	if over && !cs.isAdmin(g) {
		sql.StatusVariables.IncrementGlobal("Connection_errors_max_connections", 1)
		return mysql.NewSQLError(erConCount, ssConCount, "Too many connections")
	}
	return spliceTLSReader(c)
}

// isAdmin reports whether the account of a login may take the connection
// reserved beyond max_connections: SUPER or CONNECTION_ADMIN.
func (cs *connections) isAdmin(g mysql.Getter) bool {
	u, ok := g.(sql.MysqlConnectionUser)
	if !ok || cs.mdb == nil {
		return false
	}
	rd := cs.mdb.Reader()
	defer rd.Close()
	entry := cs.mdb.GetUser(rd, u.User, u.Host, false)
	if entry == nil {
		return false
	}
	return entry.IsSuperUser || entry.PrivilegeSet.Has(sql.PrivilegeType_Super) || entry.PrivilegeSet.HasDynamic("connection_admin")
}

// remoteHost is the address that failed logins are counted by.
func remoteHost(a net.Addr) string {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.IP.String()
	}
	if a == nil || a.Network() == "unix" {
		return "localhost"
	}
	if h, _, err := net.SplitHostPort(a.String()); err == nil {
		return h
	}
	return a.String()
}

// handler wraps the server's protocol handler: it keeps the open
// connections and their statements (see connections).
func (cs *connections) handler(h mysql.Handler) mysql.Handler {
	return &connHandler{Handler: h, cs: cs}
}

// connHandler is the handler of handler.
type connHandler struct {
	mysql.Handler
	cs *connections
}

// NewConnection implements mysql.Handler.
func (h *connHandler) NewConnection(c *mysql.Conn) {
	h.Handler.NewConnection(c)
	h.cs.opened(c)
}

// ConnectionClosed implements mysql.Handler.
func (h *connHandler) ConnectionClosed(c *mysql.Conn) {
	h.Handler.ConnectionClosed(c)
	h.cs.closed(c)
}

// ComQuery implements mysql.Handler.
func (h *connHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	end, err := h.cs.begin(c)
	if err != nil {
		return err
	}
	defer end()
	return h.cs.killed(h.Handler.ComQuery(ctx, c, query, callback))
}

// ComMultiQuery implements mysql.Handler. Each statement of the query is
// one statement for the shutdown: none starts once it has begun.
func (h *connHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	end, err := h.cs.begin(c)
	if err != nil {
		return "", err
	}
	defer end()
	rest, err := h.Handler.ComMultiQuery(ctx, c, query, callback)
	return rest, h.cs.killed(err)
}

// ComPrepare implements mysql.Handler.
func (h *connHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	end, err := h.cs.begin(c)
	if err != nil {
		return nil, err
	}
	defer end()
	fields, err := h.Handler.ComPrepare(ctx, c, query, prepare)
	return fields, h.cs.killed(err)
}

// ComStmtExecute implements mysql.Handler.
func (h *connHandler) ComStmtExecute(ctx context.Context, c *mysql.Conn, prepare *mysql.PrepareData, callback func(*sqltypes.Result) error) error {
	end, err := h.cs.begin(c)
	if err != nil {
		return err
	}
	defer end()
	return h.cs.killed(h.Handler.ComStmtExecute(ctx, c, prepare, callback))
}

// opened registers c, whose socket is c.Conn when the connection begins
// (the inner handler has unwrapped it).
func (cs *connections) opened(c *mysql.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	st := &connState{raw: c.Conn}
	cs.conns[c.ConnectionID] = st
	if cs.draining {
		closeRead(st.raw)
	}
}

// closed forgets c and frees its place.
func (cs *connections) closed(c *mysql.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.conns, c.ConnectionID)
	cs.live--
	cs.signalEmpty()
}

// errShutdown refuses a statement once the shutdown has begun.
var errShutdown = mysql.NewSQLError(mysql.ERServerShutdown, mysql.SSServerShutdown, "Server shutdown in progress")

// begin marks c as running a statement, unless the shutdown has begun;
// the caller calls end when the statement has ended. It runs in c's
// goroutine. (A client that goes away stops its statement: see
// stmt_guard.go.)
func (cs *connections) begin(c *mysql.Conn) (end func(), err error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.draining {
		return nil, errShutdown
	}
	st := cs.conns[c.ConnectionID]
	if st == nil {
		return func() {}, nil
	}
	st.busy = true
	return func() { cs.end(c) }, nil
}

// killed returns, for the error of a statement that the shutdown
// cancelled, MySQL's error for it: 1053 "Server shutdown in progress"
// (go-mysql-server reports 1105 "context canceled"). Other errors pass.
func (cs *connections) killed(err error) error {
	if err == nil {
		return nil
	}
	cs.mu.Lock()
	killing := cs.killing
	cs.mu.Unlock()
	var se *mysql.SQLError
	if killing && (errors.Is(err, context.Canceled) || strings.Contains(err.Error(), context.Canceled.Error()) ||
		errors.As(err, &se) && se.Num == mysql.ERQueryInterrupted) {
		return errShutdown
	}
	return err
}

// end marks c's statement as ended. Once the shutdown has begun, the
// connection ends after its answer is sent: the next read finds the end
// of input.
func (cs *connections) end(c *mysql.Conn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	st := cs.conns[c.ConnectionID]
	if st == nil {
		return
	}
	st.busy = false
	if cs.draining {
		closeRead(st.raw)
	}
}

// closeRead ends the reading side of a socket: a read blocked on it, or
// the next one, returns io.EOF, while writes still go out. A socket that
// cannot do that is closed.
func closeRead(c net.Conn) {
	if cr, ok := c.(interface{ CloseRead() error }); ok && cr.CloseRead() == nil {
		return
	}
	_ = c.Close()
}
