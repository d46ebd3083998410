package engine

// Views used from a session without a current database.
//
// go-mysql-server binds a view's definition in the view's own database
// (planbuilder resolveView: unqualified names inside it are the view's
// database's), but first asks for the session's current database
// (Builder.currentDb in bindOnlyWithDatabase), which fails with "no
// database selected" when there is none: SELECT * FROM a.v, SHOW CREATE
// VIEW a.v and information_schema.VIEWS failed without a USE. For that
// one question the session answers with the view's database:
// GetViewDefinition sets it (only when the session has no database), and
// the catalog's next lookup of a database, which is the builder's
// question itself, clears it. It is also cleared when the statement
// starts running (clearViewScope in execOverrides) and when the command
// ends, so no statement ever runs with it.
//
// The stored CREATE VIEW statement, which the builder binds, names the
// view with its database (qualifiedView), so that binding it needs no
// current database either.
//
// The builder keeps the answer for the rest of the statement's planning,
// where go-mysql-server uses it only for names that have no database of
// their own in a few DDL statements (CREATE VIEW's name, for one);
// unqualified table names of the statement still need a current database
// (1046), as in MySQL.

import (
	"context"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"
)

// GetCurrentDatabase implements sql.Session: the current database, or,
// while a view is being bound for a session without one, the view's (see
// above).
func (s *session) GetCurrentDatabase() string {
	if db := s.BaseSession.GetCurrentDatabase(); db != "" {
		return db
	}
	if p := s.viewDB.Load(); p != nil {
		return *p
	}
	return ""
}

// setViewScope makes db the database the session of ctx answers while a
// view of db is bound, if the session has none of its own.
func setViewScope(ctx *sql.Context, db string) {
	if ctx == nil {
		return
	}
	if s, ok := ctx.Session.(*session); ok && s.BaseSession.GetCurrentDatabase() == "" {
		s.viewDB.Store(&db)
	}
}

// clearViewScope ends what setViewScope began.
func clearViewScope(ctx *sql.Context) {
	if ctx == nil {
		return
	}
	if s, ok := ctx.Session.(*session); ok && s.viewDB.Load() != nil {
		s.viewDB.Store(nil)
	}
}

// qualifiedView returns the CREATE VIEW statement stmt with the view's
// name qualified by db, unless it is qualified already; the rest of the
// text is kept as it is. A statement it cannot read is returned
// unchanged.
func qualifiedView(stmt, db string) string {
	i := viewKeyword(stmt)
	if i < 0 {
		return stmt
	}
	j := skipBlank(stmt, i)
	if j >= len(stmt) {
		return stmt
	}
	end := j
	switch {
	case stmt[j] == '`':
		end = skipQuoted(stmt, j, false)
	default:
		for end < len(stmt) && isIdentPart(rune(stmt[end])) {
			end++
		}
	}
	if end == j {
		return stmt
	}
	if k := skipBlank(stmt, end); k < len(stmt) && stmt[k] == '.' {
		return stmt // db.name already
	}
	return stmt[:j] + quoteIdent(db) + "." + stmt[j:]
}

// viewKeyword returns the index just after the keyword VIEW of a CREATE
// VIEW statement (outside quotes and comments), or -1.
func viewKeyword(stmt string) int {
	for i := 0; i < len(stmt); {
		c := stmt[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			i = skipQuoted(stmt, i, false)
		case c == '#' || isDashComment(stmt[i:]) || strings.HasPrefix(stmt[i:], "/*"):
			i = skipBlank(stmt, i)
		case isIdentStart(rune(c)):
			j := i
			for j < len(stmt) && isIdentPart(rune(stmt[j])) {
				j++
			}
			if strings.EqualFold(stmt[i:j], "VIEW") {
				return j
			}
			i = j
		default:
			i++
		}
	}
	return -1
}

// skipBlank returns the index of the first character at or
// after i that is neither white space nor in a comment.
func skipBlank(s string, i int) int {
	l := &lexer{src: s, pos: i}
	l.skipSpace()
	return l.pos
}

// qualifyTables returns the CREATE VIEW statement stmt, created in a
// session whose current database is cur for a view of another database,
// with every unqualified table of its SELECT qualified by cur: MySQL
// resolves them in the current database when the view is created and
// keeps them so, while go-mysql-server would resolve them in the view's
// database whenever the view is used. It returns the new statement and
// its SELECT (formatted by the parser), or ok false when there is nothing
// to qualify (or the statement does not parse, which CREATE VIEW then
// reports).
func qualifyTables(stmt string, options ast.ParserOptions, cur string) (create, selectText string, ok bool) {
	parsed, err := ast.ParseWithOptions(context.Background(), stmt, options)
	if err != nil {
		return "", "", false
	}
	ddl, isDDL := parsed.(*ast.DDL)
	if !isDDL || ddl.ViewSpec == nil || ddl.ViewSpec.ViewExpr == nil {
		return "", "", false
	}
	ctes := map[string]bool{}
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		if c, isCTE := n.(*ast.CommonTableExpr); isCTE && c != nil && c.AliasedTableExpr != nil {
			ctes[strings.ToLower(c.As.String())] = true
		}
		return true, nil
	}, ddl.ViewSpec.ViewExpr)
	changed := false
	_ = ast.Walk(func(n ast.SQLNode) (bool, error) {
		t, isTable := n.(*ast.AliasedTableExpr)
		if !isTable || t == nil {
			return true, nil
		}
		if tn, isName := t.Expr.(ast.TableName); isName && tn.DbQualifier.IsEmpty() && !ctes[strings.ToLower(tn.Name.String())] {
			tn.DbQualifier = ast.NewTableIdent(cur)
			t.Expr = tn
			changed = true
		}
		return true, nil
	}, ddl.ViewSpec.ViewExpr)
	if !changed {
		return "", "", false
	}
	return ast.String(ddl), ast.String(ddl.ViewSpec.ViewExpr), true
}
