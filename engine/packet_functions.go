package engine

import (
	"encoding/binary"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/expression/function"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// String functions bounded by max_allowed_packet.
//
// In MySQL a string function whose result would be longer than the
// session's max_allowed_packet returns NULL with warning 1301
// (ER_WARN_ALLOWED_PACKET_OVERFLOWED), "Result of repeat() was larger
// than max_allowed_packet (67108864) - truncated", instead of building
// it. go-mysql-server builds it whatever its size: REPEAT('a', 1e10)
// allocated 2 GB and failed, inserting it ran the machine out of memory.
//
// The functions of packetFunctions replace go-mysql-server's: each
// evaluates its arguments once, computes from their values an upper
// bound of the result's length in bytes (resultBound), and either
// returns NULL with the warning, when the bound is over the limit, or
// has go-mysql-server's function compute the result from the same
// values. The result is checked too, so that no function returns more
// than the limit. The bounds are exact where that is cheap (REPEAT, LPAD,
// RPAD, CONCAT, CONCAT_WS, REPLACE, HEX, QUOTE, TO_BASE64, UNCOMPRESS's
// stated length) and pessimistic for REGEXP_REPLACE (every position of
// the subject a match). SPACE has its own implementation (space.go).
// A function whose growth is bounded by its arguments' (UPPER,
// REVERSE, ...) needs no bound: its arguments are bounded.

// resultBound returns an upper bound of the length in bytes of a
// function's result from the values of its arguments (nil for NULL).
type resultBound func(ctx *sql.Context, args []interface{}) int64

// packetBounds are the bounded functions, by name.
var packetBounds = map[string]resultBound{
	"repeat": func(ctx *sql.Context, a []interface{}) int64 {
		return mulSat(textLen(ctx, a[0]), max(intArg(ctx, a[1]), 0))
	},
	"lpad":      padBound,
	"rpad":      padBound,
	"concat":    concatBound,
	"concat_ws": concatWSBound,
	"replace":   replaceBound,
	"regexp_replace": func(ctx *sql.Context, a []interface{}) int64 {
		if len(a) < 3 {
			return 0
		}
		subject := textLen(ctx, a[0])
		repl, _ := textOf(ctx, a[2])
		refs := int64(strings.Count(repl, "$") + strings.Count(repl, `\`))
		return addSat(mulSat(subject+1, int64(len(repl))), mulSat(refs+1, subject))
	},
	"hex": func(ctx *sql.Context, a []interface{}) int64 {
		return mulSat(textLen(ctx, a[0]), 2)
	},
	"quote": func(ctx *sql.Context, a []interface{}) int64 {
		return addSat(mulSat(textLen(ctx, a[0]), 2), 2)
	},
	"to_base64": func(ctx *sql.Context, a []interface{}) int64 {
		n := textLen(ctx, a[0])
		enc := (n + 2) / 3 * 4
		return enc + enc/76 // a newline every 76 characters
	},
	"uncompress": func(ctx *sql.Context, a []interface{}) int64 {
		// The first 4 bytes state the length of the uncompressed data.
		b, ok := bytesOf(ctx, a[0])
		if !ok || len(b) < 4 {
			return 0
		}
		return int64(binary.LittleEndian.Uint32(b) & 0x3FFFFFFF)
	},
}

// packetFunctions is the database provider with go-mysql-server's string
// functions that can build results longer than max_allowed_packet
// replaced by bounded ones: a provider's functions come before the
// built-ins.
type packetFunctions struct {
	fileFunctions
}

var _ sql.FunctionProvider = packetFunctions{}

// Function implements sql.FunctionProvider.
func (p packetFunctions) Function(ctx *sql.Context, name string) (sql.Function, bool) {
	name = strings.ToLower(name)
	if name == "space" {
		return sql.Function1{Name: name, Fn: newSpace}, true
	}
	if bound, ok := packetBounds[name]; ok {
		if builtin, ok := builtinFunction(name); ok {
			return sql.FunctionN{Name: name, Fn: func(args ...sql.Expression) (sql.Expression, error) {
				fn, err := builtin.NewInstance(args)
				if err != nil {
					return nil, err
				}
				return &packetBound{name: name, fn: fn, bound: bound}, nil
			}}, true
		}
	}
	return p.fileFunctions.Function(ctx, name)
}

// builtinFunction is go-mysql-server's function name.
func builtinFunction(name string) (sql.Function, bool) {
	for _, f := range function.BuiltIns {
		if f.FunctionName() == name {
			return f, true
		}
	}
	return nil, false
}

// packetBound is go-mysql-server's function fn whose result is kept
// within max_allowed_packet (see packetFunctions).
type packetBound struct {
	name  string
	fn    sql.Expression
	bound resultBound
}

var (
	_ sql.FunctionExpression = (*packetBound)(nil)
	_ sql.CollationCoercible = (*packetBound)(nil)
)

// FunctionName implements sql.FunctionExpression.
func (f *packetBound) FunctionName() string { return f.name }

// Description implements sql.FunctionExpression.
func (f *packetBound) Description() string {
	if d, ok := f.fn.(sql.FunctionExpression); ok {
		return d.Description()
	}
	return f.name
}

// Resolved implements sql.Expression.
func (f *packetBound) Resolved() bool { return f.fn.Resolved() }

// String implements sql.Expression.
func (f *packetBound) String() string { return f.fn.String() }

// Type implements sql.Expression.
func (f *packetBound) Type() sql.Type { return f.fn.Type() }

// IsNullable implements sql.Expression: NULL when over the limit.
func (f *packetBound) IsNullable() bool { return true }

// CollationCoercibility implements sql.CollationCoercible.
func (f *packetBound) CollationCoercibility(ctx *sql.Context) (sql.CollationID, byte) {
	return sql.GetCoercibility(ctx, f.fn)
}

// Children implements sql.Expression.
func (f *packetBound) Children() []sql.Expression { return f.fn.Children() }

// WithChildren implements sql.Expression.
func (f *packetBound) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	fn, err := f.fn.WithChildren(children...)
	if err != nil {
		return nil, err
	}
	return &packetBound{name: f.name, fn: fn, bound: f.bound}, nil
}

// Eval implements sql.Expression.
func (f *packetBound) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	children := f.fn.Children()
	args := make([]interface{}, len(children))
	for i, c := range children {
		v, err := c.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	limit := maxAllowedPacket(ctx)
	if f.bound(ctx, args) > limit {
		warnPacketOverflow(ctx, f.name, limit)
		return nil, nil
	}
	lits := make([]sql.Expression, len(children))
	for i, v := range args {
		lits[i] = expression.NewLiteral(v, children[i].Type())
	}
	fn, err := f.fn.WithChildren(lits...)
	if err != nil {
		return nil, err
	}
	v, err := fn.Eval(ctx, nil)
	if err != nil || v == nil {
		return v, err
	}
	if n, ok := valueLen(v); ok && n > limit {
		warnPacketOverflow(ctx, f.name, limit)
		return nil, nil
	}
	return v, nil
}

// warnPacketOverflow adds MySQL's warning for a result of function name
// over max_allowed_packet (limit): 1301, or 1256 for UNCOMPRESS.
func warnPacketOverflow(ctx *sql.Context, name string, limit int64) {
	if name == "uncompress" {
		ctx.Warn(1256, "Uncompressed data size too large; the maximum size is %d (probably, length of uncompressed data was corrupted)", limit)
		return
	}
	ctx.Warn(1301, "Result of %s() was larger than max_allowed_packet (%d) - truncated", name, limit)
}

// padBound bounds LPAD(str, len, padstr) and RPAD: len characters, of
// which those beyond str's are padstr's, at most its widest long each.
func padBound(ctx *sql.Context, a []interface{}) int64 {
	if len(a) != 3 {
		return 0
	}
	n := intArg(ctx, a[1])
	str, _ := textOf(ctx, a[0])
	pad, _ := textOf(ctx, a[2])
	chars := int64(utf8.RuneCountInString(str))
	if n <= chars {
		return int64(len(str))
	}
	widest := 1
	for _, r := range pad {
		widest = max(widest, utf8.RuneLen(r))
	}
	return addSat(int64(len(str)), mulSat(n-chars, int64(widest)))
}

// concatBound bounds CONCAT: the sum of its arguments' lengths.
func concatBound(ctx *sql.Context, a []interface{}) int64 {
	var n int64
	for _, v := range a {
		n = addSat(n, textLen(ctx, v))
	}
	return n
}

// concatWSBound bounds CONCAT_WS(sep, ...): the arguments and a
// separator between each two.
func concatWSBound(ctx *sql.Context, a []interface{}) int64 {
	if len(a) == 0 {
		return 0
	}
	sep := textLen(ctx, a[0])
	n := concatBound(ctx, a[1:])
	return addSat(n, mulSat(sep, int64(max(len(a)-2, 0))))
}

// replaceBound is the length of REPLACE(str, from, to).
func replaceBound(ctx *sql.Context, a []interface{}) int64 {
	str, _ := textOf(ctx, a[0])
	from, _ := textOf(ctx, a[1])
	to, _ := textOf(ctx, a[2])
	if from == "" || len(to) <= len(from) {
		return int64(len(str))
	}
	k := int64(strings.Count(str, from))
	return addSat(int64(len(str)), mulSat(k, int64(len(to)-len(from))))
}

// textOf is v as text ("" for NULL or what does not convert).
func textOf(ctx *sql.Context, v interface{}) (string, bool) {
	switch s := v.(type) {
	case nil:
		return "", false
	case string:
		return s, true
	case []byte:
		return string(s), true
	}
	t, _, err := types.LongText.Convert(ctx, v)
	if err != nil {
		return "", false
	}
	s, ok, err := sql.Unwrap[string](ctx, t)
	return s, ok && err == nil
}

// bytesOf is v as bytes (for binary arguments).
func bytesOf(ctx *sql.Context, v interface{}) ([]byte, bool) {
	if b, ok := v.([]byte); ok {
		return b, true
	}
	s, ok := textOf(ctx, v)
	return []byte(s), ok
}

// textLen is the length in bytes of v as text (0 for NULL).
func textLen(ctx *sql.Context, v interface{}) int64 {
	if n, ok := valueLen(v); ok {
		return n
	}
	s, _ := textOf(ctx, v)
	return int64(len(s))
}

// valueLen is the length of a string or byte value.
func valueLen(v interface{}) (int64, bool) {
	switch s := v.(type) {
	case string:
		return int64(len(s)), true
	case []byte:
		return int64(len(s)), true
	case nil:
		return 0, true
	}
	return 0, false
}

// intArg is v as an integer, as go-mysql-server converts a count (0 if
// it does not convert: the function then fails or treats it so itself).
func intArg(ctx *sql.Context, v interface{}) int64 {
	if v == nil {
		return 0
	}
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		return 0
	}
	i, _ := n.(int64)
	return i
}

// mulSat and addSat are a*b and a+b for non-negative a, b, saturating at
// math.MaxInt64.
func mulSat(a, b int64) int64 {
	if a <= 0 || b <= 0 {
		return 0
	}
	if a > math.MaxInt64/b {
		return math.MaxInt64
	}
	return a * b
}

func addSat(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}
