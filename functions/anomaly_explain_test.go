package functions

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/anomalydb/anomalydb/detectors"
)

// TestJSONNumber: DOUBLEs are written as MySQL's JSON writes them and
// read back as the same bits. Bugs caught: a fixed number of digits (a
// score that is not anomaly_score's), Go's "e+308" or "e-07" exponents,
// an integral DOUBLE written as an integer, NaN or Inf written as JSON
// cannot hold them.
func TestJSONNumber(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{9120, "9120.0"}, {0, "0.0"}, {-3, "-3.0"}, {0.25, "0.25"}, {7.1, "7.1"},
		{1e-7, "1e-7"}, {1.5e-300, "1.5e-300"}, {1e21, "1e21"}, {1e20, "100000000000000000000.0"},
		{detectors.MaxScore, "1.7976931348623157e308"}, {-1e308, "-1e308"},
		{math.NaN(), "null"}, {math.Inf(1), "null"}, {math.Inf(-1), "null"},
	} {
		if got := jsonNumber(c.v); got != c.want {
			t.Errorf("jsonNumber(%v) = %s, want %s", c.v, got, c.want)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 100000; i++ {
		v := math.Float64frombits(rng.Uint64())
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		s := jsonNumber(v)
		var back float64
		if err := json.Unmarshal([]byte(s), &back); err != nil || math.Float64bits(back) != math.Float64bits(v) {
			t.Fatalf("jsonNumber(%v) = %s reads back as %v (%v)", v, s, back, err)
		}
	}
}

// TestJSONString: feature names are quoted as valid JSON, < > & kept as
// they are.
func TestJSONString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"amount", `"amount"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"tab\there\n", `"tab\there\n"`},
		{"<a&b>", `"<a&b>"`},
		{"ünïcode €", `"ünïcode €"`},
	} {
		if got := jsonString(c.in); got != c.want {
			t.Errorf("jsonString(%q) = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestAnomalyExplainEval: the function on a model, without SQL: the score
// is anomaly_score's, k selects the top entries, an extreme row is
// explained by its extreme feature, and the text is valid JSON.
func TestAnomalyExplainEval(t *testing.T) {
	m := twoFeatureModel(t)
	r := fakeResolver{"d": m}
	ctx := sql.NewEmptyContext()
	eval := func(args ...sql.Expression) map[string]interface{} {
		t.Helper()
		f, err := NewAnomalyExplain(r, args...)
		if err != nil {
			t.Fatal(err)
		}
		v, err := f.Eval(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]interface{}
		if err := json.Unmarshal([]byte(v.(string)), &out); err != nil {
			t.Fatalf("%v: %s", err, v)
		}
		return out
	}
	d := lit("d", types.LongText)
	for _, x := range [][]float64{{0.1, 0.2}, {5, -5}} {
		want, _ := m.ScoreRow(x)
		full := eval(d, lit(x[0], types.Float64), lit(x[1], types.Float64))
		if full["score"] != want || len(full["top"].([]interface{})) != 2 {
			t.Errorf("explain%v = %v, want score %v and 2 features", x, full, want)
		}
		one := eval(d, lit(int64(1), types.Int64), lit(x[0], types.Float64), lit(x[1], types.Float64))
		if top := one["top"].([]interface{}); len(top) != 1 || top[0].(map[string]interface{})["feature"] != full["top"].([]interface{})[0].(map[string]interface{})["feature"] {
			t.Errorf("top 1 of %v: %v", full, one)
		}
	}
	ext := eval(d, lit(math.Inf(1), types.Float64), lit(0.5, types.Float64))
	top := ext["top"].([]interface{})
	first := top[0].(map[string]interface{})
	if ext["score"] != detectors.MaxScore || first["feature"] != "a" || first["value"] != nil || first["contribution"] != 1.0 {
		t.Errorf("explain(+Inf, 0.5) = %v, want MaxScore, all of it on a (value null)", ext)
	}
}
