package engine

import (
	"fmt"
	"io"
	"os"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// loadFile is LOAD_FILE(name), go-mysql-server's function with the
// server's fileAccess: the file's bytes when the current user has the
// FILE privilege, the resolved path lies in secure_file_priv and outside
// the data directory, the file is a regular file and not longer than
// max_allowed_packet; NULL otherwise, and for a NULL name (MySQL's rules,
// which report no error).
type loadFile struct {
	files *fileAccess
	name  sql.Expression
}

var (
	_ sql.FunctionExpression = (*loadFile)(nil)
	_ sql.CollationCoercible = (*loadFile)(nil)
)

func newLoadFile(files *fileAccess, name sql.Expression) sql.Expression {
	return &loadFile{files: files, name: name}
}

// FunctionName implements sql.FunctionExpression.
func (l *loadFile) FunctionName() string { return "load_file" }

// Description implements sql.FunctionExpression.
func (l *loadFile) Description() string {
	return "returns the contents of a server file in secure_file_priv, or NULL."
}

// Resolved implements sql.Expression.
func (l *loadFile) Resolved() bool { return l.name.Resolved() }

// String implements sql.Expression.
func (l *loadFile) String() string { return fmt.Sprintf("%s(%s)", l.FunctionName(), l.name) }

// Type implements sql.Expression.
func (l *loadFile) Type() sql.Type { return types.LongBlob }

// IsNullable implements sql.Expression.
func (l *loadFile) IsNullable() bool { return true }

// CollationCoercibility implements sql.CollationCoercible.
func (*loadFile) CollationCoercibility(*sql.Context) (sql.CollationID, byte) {
	return sql.Collation_binary, 5
}

// Children implements sql.Expression.
func (l *loadFile) Children() []sql.Expression { return []sql.Expression{l.name} }

// WithChildren implements sql.Expression.
func (l *loadFile) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if len(children) != 1 {
		return nil, sql.ErrInvalidChildrenNumber.New(l, len(children), 1)
	}
	return newLoadFile(l.files, children[0]), nil
}

// Eval implements sql.Expression.
func (l *loadFile) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	v, err := l.name.Eval(ctx, row)
	if err != nil || v == nil {
		return nil, err
	}
	name, _, err := types.LongText.Convert(ctx, v)
	if err != nil {
		return nil, nil
	}
	path, err := l.files.readPath(ctx, name.(string))
	if err != nil {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil
	}
	max := maxAllowedPacket(ctx) // an int64, or a uint64 after SET GLOBAL
	if st.Size() > max {
		return nil, nil
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil || int64(len(data)) > max {
		return nil, nil
	}
	return data, nil
}
