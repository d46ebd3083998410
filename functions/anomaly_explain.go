package functions

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// AnomalyExplain is anomaly_explain('detector', [k,] f1, ..., fn): the
// row's score and the features ranked by their contribution to it, as
// JSON text:
//
//	{"score": 7.1, "top": [{"feature": "amount", "value": 9120.0, "contribution": 0.64}, ...]}
//
// The members:
//
//   - score is anomaly_score's value for the same arguments, bit for bit
//     (printed with the fewest digits that read back as the same DOUBLE);
//   - top lists every feature, or the k with the largest contributions,
//     by decreasing contribution (ties in training order); feature is the
//     detector's feature name (the training SELECT's column), value the
//     argument given (null for NULL), contribution its share, in [0, 1],
//     the shares of all features summing to 1 (detectors.Model.Explain:
//     reconstruction error or integrated gradients, by algorithm).
//
// k is told from a feature by the argument count: n feature arguments
// for a detector of n features, n+1 when the first is k. k is a number
// rounded to an integer as MySQL rounds an INT argument; below 1 it is
// error 1210 (ER_WRONG_ARGUMENTS), above n it means all. A NULL detector
// name or NULL k gives NULL; other errors are anomaly_score's (1305
// unknown detector, 1582 wrong argument count, 1366 non-numeric).
type AnomalyExplain struct {
	*detectorCall
}

var _ sql.FunctionExpression = (*AnomalyExplain)(nil)

// NewAnomalyExplain returns the anomaly_explain expression over args.
func NewAnomalyExplain(r Resolver, args ...sql.Expression) (sql.Expression, error) {
	c, err := newDetectorCall("anomaly_explain", r, args)
	if err != nil {
		return nil, err
	}
	return &AnomalyExplain{detectorCall: c}, nil
}

// Description implements sql.FunctionExpression.
func (f *AnomalyExplain) Description() string {
	return "returns a detector's score of the given feature values and each feature's contribution to it, as JSON"
}

// Type implements sql.Expression.
func (f *AnomalyExplain) Type() sql.Type { return types.LongText }

// IsNullable implements sql.Expression: NULL for a NULL detector name or k.
func (f *AnomalyExplain) IsNullable() bool { return true }

// WithChildren implements sql.Expression.
func (f *AnomalyExplain) WithChildren(children ...sql.Expression) (sql.Expression, error) {
	if err := f.checkChildren(f, children); err != nil {
		return nil, err
	}
	return NewAnomalyExplain(f.resolver, children...)
}

// Eval implements sql.Expression.
func (f *AnomalyExplain) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	nv, err := f.args[0].Eval(ctx, row)
	if err != nil || nv == nil {
		return nil, err
	}
	ref, isStr := nv.(string)
	if !isStr {
		return nil, mysql.NewSQLError(mysql.ERWrongArguments, mysql.SSUnknownSQLState,
			"Incorrect arguments to %s: the first argument must be a detector name", f.name)
	}
	m, err := f.explainModel(ctx, ref)
	if err != nil {
		return nil, err
	}
	d := len(m.Features)
	feats, k := f.args[1:], d
	if len(feats) == d+1 {
		v, err := feats[0].Eval(ctx, row)
		if err != nil || v == nil {
			return nil, err
		}
		n, ok := toFloat(v)
		if !ok {
			return nil, errNotNumeric(f.name, 2, valueText(v))
		}
		if n = math.Round(n); !(n >= 1) {
			return nil, mysql.NewSQLError(mysql.ERWrongArguments, mysql.SSUnknownSQLState,
				"Incorrect arguments to %s: the number of features to return must be at least 1, got %s", f.name, valueText(v))
		}
		k = int(min(n, float64(d)))
		feats = feats[1:]
	}
	x := make([]float64, d)
	var text []*string // a categorical feature's value as given (nil: NULL)
	if enc := m.Encoding(); enc != nil {
		text = make([]*string, d)
	}
	for i, a := range feats {
		v, err := a.Eval(ctx, row)
		if err != nil {
			return nil, err
		}
		if text != nil && v != nil && m.Encoding().Columns()[i].Kind == detectors.KindCategorical {
			s := valueText(v)
			text[i] = &s
		}
		fv, ok := ModelFeatureValue(m, i, v)
		if !ok {
			return nil, errNotNumeric(f.name, len(f.args)-d+i+1, valueText(v))
		}
		x[i] = fv
	}
	e, err := m.Explain(x)
	if err != nil {
		return nil, err
	}
	return explanationJSON(e, k, m.Encoding(), text), nil
}

// explainModel is detectorCall.model for anomaly_explain's argument
// counts: the detector's features, or one more (k first).
func (f *AnomalyExplain) explainModel(ctx *sql.Context, ref string) (*detectors.Model, error) {
	db := ctx.GetCurrentDatabase()
	gen := f.resolver.Generation() // read before Lookup: a concurrent change forces a refill
	if r := f.resolved.Load(); r != nil && r.gen == gen && r.ref == ref && r.db == db {
		return r.model, nil
	}
	m, err := f.resolver.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	if err := ErrPlainSequenceCall(f.name, ref, m); err != nil {
		return nil, err
	}
	if want, got := len(m.Features), len(f.args)-1; got != want && got != want+1 {
		return nil, mysql.NewSQLError(1582, mysql.SSClientError,
			"Incorrect parameter count in the call to native function '%s': detector %s takes %d feature(s), optionally preceded by the number of features to return; got %d argument(s) after the name",
			f.name, ref, want, got)
	}
	f.resolved.Store(&resolvedDetector{db: db, ref: ref, gen: gen, model: m})
	return m, nil
}

// explanationJSON renders the score and the first k features of e. A
// categorical feature of enc (if not nil) shows its value as given, text
// (a JSON string, or null for NULL), not its category code.
func explanationJSON(e detectors.Explanation, k int, enc *detectors.Encoding, text []*string) string {
	var b strings.Builder
	b.WriteString(`{"score": `)
	b.WriteString(jsonNumber(e.Score))
	b.WriteString(`, "top": [`)
	for i, c := range e.Features[:k] {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(`{"feature": `)
		b.WriteString(jsonString(c.Name))
		b.WriteString(`, "value": `)
		switch {
		case enc == nil || enc.Columns()[c.Index].Kind != detectors.KindCategorical:
			b.WriteString(jsonNumber(c.Value))
		case text[c.Index] == nil:
			b.WriteString("null")
		default:
			b.WriteString(jsonString(*text[c.Index]))
		}
		b.WriteString(`, "contribution": `)
		b.WriteString(jsonNumber(c.Contribution))
		b.WriteString("}")
	}
	b.WriteString("]}")
	return b.String()
}

// jsonNumber writes a DOUBLE as MySQL's JSON does (9120.0, 0.25, 1e-7,
// 1.7976931348623157e308), with the fewest digits that read back as the
// same value; null for NaN (NULL) and ±Inf, which JSON cannot hold.
func jsonNumber(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "null"
	}
	if a := math.Abs(v); a != 0 && (a < 1e-6 || a >= 1e21) {
		s := strconv.FormatFloat(v, 'e', -1, 64) // 1e-07, 1.5e+300
		s = strings.Replace(s, "e+", "e", 1)
		if i := strings.Index(s, "e-0"); i >= 0 {
			s = s[:i+2] + s[i+3:]
		}
		return s
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// jsonString quotes s as a JSON string (without escaping <, > and &, as
// MySQL does not).
func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
