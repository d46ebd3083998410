package functions

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/detectors"
)

// detectorCall is the part shared by the functions that apply a detector
// to a row: a detector-name argument followed by the feature arguments.
type detectorCall struct {
	name     string
	resolver Resolver
	args     []sql.Expression

	// resolved is the detector found for the last row, kept while the
	// session's database, the name and the resolver's generation stay the
	// same, so that a statement looks its detector up once rather than for
	// every row, yet still sees a detector dropped or created meanwhile.
	resolved atomic.Pointer[resolvedDetector]
}

// resolvedDetector is a detector name resolved to its model.
type resolvedDetector struct {
	db, ref string
	gen     uint64
	model   *detectors.Model
}

// maxStackFeatures is how many feature values score keeps on the stack.
const maxStackFeatures = 32

func newDetectorCall(name string, r Resolver, args []sql.Expression) (*detectorCall, error) {
	if len(args) < 2 {
		return nil, mysql.NewSQLError(1582, mysql.SSClientError,
			"Incorrect parameter count in the call to native function '%s': it takes a detector name and at least one feature, got %d argument(s)", name, len(args))
	}
	for i, a := range args[1:] {
		switch t := a.Type(); {
		case types.IsJSON(t):
			return nil, errNotNumeric(name, i+2, a.String())
		}
		// Strings, dates and times are converted when the row is scored,
		// by the model's encoding of the feature (ModelFeatureValue): a
		// string is a category of a string feature and a number for a
		// numeric one, as MySQL converts it in arithmetic.
	}
	return &detectorCall{name: name, resolver: r, args: args}, nil
}

func errNotNumeric(fn string, pos int, v string) error {
	return mysql.NewSQLError(mysql.ERTruncatedWrongValueForField, mysql.SSUnknownSQLState,
		"Incorrect DOUBLE value: '%s' for argument %d of %s (features must be numeric)", v, pos, fn)
}

func errParamCount(fn, detector string, want, got int) error {
	return mysql.NewSQLError(1582, mysql.SSClientError,
		"Incorrect parameter count in the call to native function '%s': detector %s takes %d feature(s), got %d", fn, detector, want, got)
}

// codeWindowFuncUse is MySQL's ER_WINDOW_INVALID_WINDOW_FUNC_USE, the
// error of a call whose form (with or without OVER) does not fit its
// detector.
const codeWindowFuncUse = 3593

// ErrPlainSequenceCall returns the error of a call of fn without OVER on
// the detector ref, m, if m is a sequence detector (ER_WINDOW_INVALID_
// WINDOW_FUNC_USE, 3593): such a detector scores a row from the rows
// before it, which only the window form and detect_anomalies give it.
// It returns nil for any other detector.
func ErrPlainSequenceCall(fn, ref string, m *detectors.Model) error {
	if _, seq := m.Sequence(); !seq {
		return nil
	}
	window := fn // the functions with a window form (WindowScore)
	if fn != "anomaly_score" && fn != "is_anomaly" {
		window = "anomaly_score"
	}
	return mysql.NewSQLError(codeWindowFuncUse, mysql.SSUnknownSQLState,
		"You cannot use %s without OVER on DETECTOR %s: it is a sequence detector (%s), which scores a row from the rows before it; write %s('%s', ...) OVER (PARTITION BY ... ORDER BY ...) or SELECT * FROM detect_anomalies('%s', 'table')",
		fn, ref, m.Algorithm, window, ref, ref)
}

// score evaluates the arguments and scores the row. ok is false when the
// detector name is NULL.
func (c *detectorCall) score(ctx *sql.Context, row sql.Row) (m *detectors.Model, s float64, ok bool, err error) {
	nv, err := c.args[0].Eval(ctx, row)
	if err != nil || nv == nil {
		return nil, 0, false, err
	}
	ref, isStr := nv.(string)
	if !isStr {
		return nil, 0, false, mysql.NewSQLError(mysql.ERWrongArguments, mysql.SSUnknownSQLState,
			"Incorrect arguments to %s: the first argument must be a detector name", c.name)
	}
	m, err = c.model(ctx, ref)
	if err != nil {
		return nil, 0, false, err
	}
	var buf [maxStackFeatures]float64
	var x []float64
	if n := len(c.args) - 1; n <= len(buf) {
		x = buf[:n]
	} else {
		x = make([]float64, n)
	}
	for i, a := range c.args[1:] {
		v, err := a.Eval(ctx, row)
		if err != nil {
			return nil, 0, false, err
		}
		f, ok := ModelFeatureValue(m, i, v)
		if !ok {
			return nil, 0, false, errNotNumeric(c.name, i+2, valueText(v))
		}
		x[i] = f
	}
	s, err = m.ScoreRow(x)
	if err != nil {
		return nil, 0, false, err
	}
	return m, s, true, nil
}

// model returns the detector named ref, from the cached resolution when
// it is still current, otherwise looked up (and its feature count checked)
// afresh.
func (c *detectorCall) model(ctx *sql.Context, ref string) (*detectors.Model, error) {
	db := ctx.GetCurrentDatabase()
	gen := c.resolver.Generation() // read before Lookup: a concurrent change forces a refill
	if r := c.resolved.Load(); r != nil && r.gen == gen && r.ref == ref && r.db == db {
		return r.model, nil
	}
	m, err := c.resolver.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := ErrPlainSequenceCall(c.name, ref, m); err != nil {
		return nil, err
	}
	if want := len(m.Features); want != len(c.args)-1 {
		return nil, errParamCount(c.name, ref, want, len(c.args)-1)
	}
	c.resolved.Store(&resolvedDetector{db: db, ref: ref, gen: gen, model: m})
	return m, nil
}

// toFloat converts a SQL value to a feature value; NULL becomes NaN,
// which the detector replaces by the training mean.
func toFloat(v interface{}) (float64, bool) {
	switch x := v.(type) {
	case nil:
		return math.NaN(), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	case decimal.Decimal:
		f, _ := x.Float64()
		return f, true
	case decimal.NullDecimal:
		if !x.Valid {
			return math.NaN(), true
		}
		f, _ := x.Decimal.Float64()
		return f, true
	case string:
		return parseNumber(x)
	case []byte:
		return parseNumber(string(x))
	}
	return 0, false
}

// parseNumber converts a string to a DOUBLE as MySQL does in arithmetic
// ('1.5' + 0): white space around the number is ignored, and the number
// is decimal with an optional sign, fraction and exponent ("-.5",
// "2.", "1e-3"). Unlike MySQL, which converts the longest numeric
// prefix and warns, a string that is not entirely a number is refused,
// as is a number beyond the range of a DOUBLE.
func parseNumber(s string) (float64, bool) {
	s = strings.TrimSpace(s)
	if !isDecimalNumber(s) {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// isDecimalNumber reports whether s is [+-] digits [. digits] [e [+-]
// digits] with at least one digit before the exponent; strconv.ParseFloat
// also takes hexadecimal, "inf", "nan" and underscores, which MySQL does
// not.
func isDecimalNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for ; i < len(s) && isDigit(s[i]); i++ {
		digits++
	}
	if i < len(s) && s[i] == '.' {
		for i++; i < len(s) && isDigit(s[i]); i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for ; i < len(s) && isDigit(s[i]); i++ {
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// valueText is a feature value as an error message quotes it.
func valueText(v interface{}) string {
	if b, ok := v.([]byte); ok {
		return string(b)
	}
	return fmt.Sprint(v)
}

// Resolved implements sql.Expression.
func (c *detectorCall) Resolved() bool {
	for _, a := range c.args {
		if !a.Resolved() {
			return false
		}
	}
	return true
}

// String implements sql.Expression.
func (c *detectorCall) String() string {
	parts := make([]string, len(c.args))
	for i, a := range c.args {
		parts[i] = a.String()
	}
	return c.name + "(" + strings.Join(parts, ", ") + ")"
}

// IsNullable implements sql.Expression: NULL only for a NULL detector name.
func (c *detectorCall) IsNullable() bool { return c.args[0].IsNullable() }

// Children implements sql.Expression.
func (c *detectorCall) Children() []sql.Expression { return c.args }

// FunctionName implements sql.FunctionExpression.
func (c *detectorCall) FunctionName() string { return c.name }

// checkChildren validates a WithChildren call.
func (c *detectorCall) checkChildren(e sql.Expression, children []sql.Expression) error {
	if len(children) != len(c.args) {
		return sql.ErrInvalidChildrenNumber.New(e, len(children), len(c.args))
	}
	return nil
}
