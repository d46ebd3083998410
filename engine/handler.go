package engine

import (
	"context"
	"errors"
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
