package engine

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"

	"github.com/dolthub/vitess/go/mysql"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
)

// syntaxErrorHandler wraps go-mysql-server's protocol handler so that
// syntax errors reach clients as MySQL error 1064 (ER_PARSE_ERROR), the
// number MySQL clients and BI tools expect; go-mysql-server reports them
// as the generic 1105.
type syntaxErrorHandler struct {
	mysql.Handler
}

func wrapHandler(h mysql.Handler) (mysql.Handler, error) {
	return syntaxErrorHandler{Handler: h}, nil
}

// ComQuery implements mysql.Handler.
func (h syntaxErrorHandler) ComQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) error {
	return asParseError(h.Handler.ComQuery(ctx, c, query, callback))
}

// ComMultiQuery implements mysql.Handler.
func (h syntaxErrorHandler) ComMultiQuery(ctx context.Context, c *mysql.Conn, query string, callback mysql.ResultSpoolFn) (string, error) {
	rest, err := h.Handler.ComMultiQuery(ctx, c, query, callback)
	return rest, asParseError(err)
}

// ComPrepare implements mysql.Handler.
func (h syntaxErrorHandler) ComPrepare(ctx context.Context, c *mysql.Conn, query string, prepare *mysql.PrepareData) ([]*querypb.Field, error) {
	f, err := h.Handler.ComPrepare(ctx, c, query, prepare)
	return f, asParseError(err)
}

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
	case strings.HasPrefix(msg, "syntax error at position"):
		// vitess: "syntax error at position 7 near 'SELEKT'"
		near := ""
		if i := strings.Index(msg, " near '"); i >= 0 {
			near = strings.TrimSuffix(msg[i+len(" near '"):], "'")
		}
		msg = "You have an error in your SQL syntax; check the manual that corresponds to your MySQL server version for the right syntax to use near '" + near + "' at line 1"
	default:
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
