package functions

import (
	"math"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestAnomalyPercentile: anomaly_percentile is the model's Percentile of
// the row's score, row by row and in a Batch, bit for bit; NULL detector
// name gives NULL, and the argument errors are anomaly_score's. Bugs
// caught: the batched call returning the score (or the flag) instead of
// the percentile, the function not registered under its name.
func TestAnomalyPercentile(t *testing.T) {
	m := twoFeatureModel(t)
	r := fakeResolver{"d": m}
	ctx := sql.NewEmptyContext()
	rows := []sql.Row{{0.1, 0.2}, {5.0, -5.0}, {nil, 0.3}, {0.0, 0.0}, {1e308, -1e308}}
	args := []sql.Expression{lit("d", types.LongText),
		expression.NewGetField(0, types.Float64, "a", true), expression.NewGetField(1, types.Float64, "b", true)}
	var fn sql.Function
	for _, f := range All(r) {
		if f.FunctionName() == "anomaly_percentile" {
			fn = f
		}
	}
	if fn == nil {
		t.Fatal("anomaly_percentile is not registered")
	}
	e, err := fn.NewInstance(args)
	if err != nil {
		t.Fatal(err)
	}
	b := NewBatch([]sql.Expression{e})
	if b == nil {
		t.Fatal("anomaly_percentile with a constant name is not batched")
	}
	if err := b.Score(ctx, rows); err != nil {
		t.Fatal(err)
	}
	distinct := map[float64]bool{}
	for i, row := range rows {
		x := []float64{math.NaN(), math.NaN()}
		for j := range x {
			if row[j] != nil {
				x[j] = row[j].(float64)
			}
		}
		s, err := m.ScoreRow(x)
		if err != nil {
			t.Fatal(err)
		}
		want, err := m.Percentile(s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Eval(ctx, row)
		if err != nil || math.Float64bits(got.(float64)) != math.Float64bits(want) {
			t.Fatalf("row %v: anomaly_percentile %v (%v), want %v", row, got, err, want)
		}
		b.Row(i)
		batched, err := b.Exprs()[0].Eval(ctx, row)
		if err != nil || math.Float64bits(batched.(float64)) != math.Float64bits(want) {
			t.Fatalf("row %v: batched anomaly_percentile %v (%v), want %v", row, batched, err, want)
		}
		distinct[want] = true
	}
	if len(distinct) < 3 || !distinct[1] {
		t.Fatalf("percentiles %v: want several, 1 for the extreme row", distinct)
	}

	eval := func(args ...sql.Expression) (interface{}, error) {
		f, err := NewAnomalyPercentile(r, args...)
		if err != nil {
			return nil, err
		}
		return f.Eval(ctx, nil)
	}
	if v, err := eval(lit(nil, types.Null), lit(1.0, types.Float64), lit(1.0, types.Float64)); err != nil || v != nil {
		t.Errorf("NULL detector name: %v, %v; want NULL", v, err)
	}
	if _, err := eval(lit("d", types.LongText), lit(1.0, types.Float64)); sqlErrNum(err) != 1582 {
		t.Errorf("one feature for two: %v, want error 1582", err)
	}
	if _, err := eval(lit("nope", types.LongText), lit(1.0, types.Float64), lit(1.0, types.Float64)); sqlErrNum(err) != 1305 {
		t.Errorf("unknown detector: %v, want error 1305", err)
	}
	if _, err := eval(lit("d", types.LongText), lit("x", types.LongText), lit(1.0, types.Float64)); sqlErrNum(err) != 1366 {
		t.Errorf("text feature: %v, want error 1366", err)
	}
}
