package functions

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// fakeResolver serves one detector by name, as the engine's catalog does.
type fakeResolver map[string]*detectors.Model

func (f fakeResolver) Lookup(_ *sql.Context, ref string) (*detectors.Model, error) {
	if m := f[ref]; m != nil {
		return m, nil
	}
	return nil, mysql.NewSQLError(1305, "42000", "DETECTOR %s does not exist", ref)
}

func (f fakeResolver) Generation() uint64 { return 0 }

// twoFeatureModel trains a small deep_svdd on a seeded 2-D blob.
func twoFeatureModel(t *testing.T) *detectors.Model {
	t.Helper()
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float64}, {Name: "b", Type: arrow.PrimitiveTypes.Float64}}, nil))
	defer b.Release()
	for i := 0; i < 200; i++ {
		b.Field(0).(*array.Float64Builder).Append(math.Sin(float64(i)))
		b.Field(1).(*array.Float64Builder).Append(math.Cos(float64(3 * i)))
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	m, err := detectors.Fit(context.Background(), "deep_svdd", map[string]string{"epochs": "2", "hidden": "8,4"},
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1}, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func lit(v interface{}, t sql.Type) sql.Expression { return expression.NewLiteral(v, t) }

func sqlErrNum(err error) int {
	var se *mysql.SQLError
	if errors.As(err, &se) {
		return se.Num
	}
	return 0
}

func TestAnomalyScoreAndIsAnomaly(t *testing.T) {
	m := twoFeatureModel(t)
	r := fakeResolver{"d": m}
	ctx := sql.NewEmptyContext()
	for _, x := range [][]float64{{0.1, 0.2}, {5, -5}, {math.NaN(), 0.3}} {
		args := []sql.Expression{lit("d", types.LongText), lit(x[0], types.Float64), lit(x[1], types.Float64)}
		if math.IsNaN(x[0]) {
			args[1] = lit(nil, types.Null)
		}
		want, err := m.ScoreRow(x)
		if err != nil {
			t.Fatal(err)
		}
		f, err := NewAnomalyScore(r, args...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Eval(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.(float64) != want {
			t.Errorf("anomaly_score%v = %v, want %v", x, got, want)
		}
		g, err := NewIsAnomaly(r, args...)
		if err != nil {
			t.Fatal(err)
		}
		flag, err := g.Eval(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if (flag.(int8) == 1) != (want > m.Threshold) {
			t.Errorf("is_anomaly%v = %v with score %v and threshold %v", x, flag, want, m.Threshold)
		}
	}
}

// TestExtremeRowIsAnomaly: a row too extreme to score (issue 8:
// anomaly_score('d', 1e308, -1e308) was NaN) gives detectors.MaxScore and
// is_anomaly 1, including an infinite value from a DOUBLE expression and
// one next to a NULL.
//
// Bug caught: is_anomaly comparing the other way round (score < threshold,
// or >= on a NaN score), or the score passed through a conversion that
// loses it.
func TestExtremeRowIsAnomaly(t *testing.T) {
	m := twoFeatureModel(t)
	r := fakeResolver{"d": m}
	ctx := sql.NewEmptyContext()
	for _, x := range [][]interface{}{{1e308, -1e308}, {math.Inf(1), 0.5}, {nil, -1e308}, {"1e308", int64(0)}} {
		args := []sql.Expression{lit("d", types.LongText)}
		for _, v := range x {
			switch v.(type) {
			case nil:
				args = append(args, lit(nil, types.Null))
			case string:
				args = append(args, lit(v, types.LongText))
			case int64:
				args = append(args, lit(v, types.Int64))
			default:
				args = append(args, lit(v, types.Float64))
			}
		}
		f, err := NewAnomalyScore(r, args...)
		if err != nil {
			t.Fatal(err)
		}
		s, err := f.Eval(ctx, nil)
		if err != nil || s != detectors.MaxScore {
			t.Errorf("anomaly_score%v = %v, %v; want %v", x, s, err, detectors.MaxScore)
		}
		g, err := NewIsAnomaly(r, args...)
		if err != nil {
			t.Fatal(err)
		}
		if flag, err := g.Eval(ctx, nil); err != nil || flag != int8(1) {
			t.Errorf("is_anomaly%v = %v, %v; want 1", x, flag, err)
		}
	}
	// An ordinary row is not flagged: the check above is not vacuous.
	g, _ := NewIsAnomaly(r, lit("d", types.LongText), lit(0.1, types.Float64), lit(0.2, types.Float64))
	if flag, err := g.Eval(ctx, nil); err != nil || flag != int8(0) {
		t.Errorf("is_anomaly(0.1, 0.2) = %v, %v; want 0", flag, err)
	}
}

func TestDetectorCallErrors(t *testing.T) {
	r := fakeResolver{"d": twoFeatureModel(t)}
	ctx := sql.NewEmptyContext()
	if _, err := NewAnomalyScore(r, lit("d", types.LongText)); err == nil {
		t.Error("one argument: want an error")
	}
	// A string that is not a number, for a numeric feature: refused when
	// the row is scored (the model decides: for a string feature it is a
	// category).
	if f, err := NewAnomalyScore(r, lit("d", types.LongText), lit("x", types.LongText), lit(1.0, types.Float64)); err != nil {
		t.Errorf("text feature: %v at plan time", err)
	} else if _, err := f.Eval(ctx, nil); sqlErrNum(err) != 1366 {
		t.Errorf("text feature: %v, want error 1366", err)
	}
	eval := func(args ...sql.Expression) (interface{}, error) {
		f, err := NewAnomalyScore(r, args...)
		if err != nil {
			return nil, err
		}
		return f.Eval(ctx, nil)
	}
	if _, err := eval(lit("d", types.LongText), lit(1.0, types.Float64)); sqlErrNum(err) != 1582 {
		t.Errorf("one feature for two: %v, want error 1582", err)
	}
	if _, err := eval(lit("nope", types.LongText), lit(1.0, types.Float64), lit(1.0, types.Float64)); sqlErrNum(err) != 1305 {
		t.Errorf("unknown detector: %v, want error 1305", err)
	}
	if v, err := eval(lit(nil, types.Null), lit(1.0, types.Float64), lit(1.0, types.Float64)); err != nil || v != nil {
		t.Errorf("NULL detector name: %v, %v; want NULL", v, err)
	}
}

// swappingResolver counts lookups and serves whatever model it holds under
// the current generation.
type swappingResolver struct {
	m       *detectors.Model
	gen     uint64
	lookups int
}

func (r *swappingResolver) Lookup(_ *sql.Context, ref string) (*detectors.Model, error) {
	r.lookups++
	if r.m == nil {
		return nil, mysql.NewSQLError(1305, "42000", "DETECTOR %s does not exist", ref)
	}
	return r.m, nil
}

func (r *swappingResolver) Generation() uint64 { return r.gen }

// TestDetectorCallCachesModel: a call looks its detector up once while the
// generation stays the same, and again (with the feature count checked
// again) as soon as it changes.
func TestDetectorCallCachesModel(t *testing.T) {
	m := twoFeatureModel(t)
	r := &swappingResolver{m: m}
	ctx := sql.NewEmptyContext()
	f, err := NewAnomalyScore(r, lit("d", types.LongText), lit(0.5, types.Float64), lit(-0.5, types.Float64))
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.ScoreRow([]float64{0.5, -0.5})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if got, err := f.Eval(ctx, nil); err != nil || got.(float64) != want {
			t.Fatalf("row %d: %v, %v; want %v", i, got, err, want)
		}
	}
	if r.lookups != 1 {
		t.Errorf("%d lookups for 5 rows, want 1", r.lookups)
	}

	// Dropped: the next row fails.
	r.m, r.gen = nil, r.gen+1
	if _, err := f.Eval(ctx, nil); sqlErrNum(err) != 1305 {
		t.Errorf("after drop: %v, want error 1305", err)
	}
	// Created again with three features: the next row sees the new count.
	r.m, r.gen = &detectors.Model{Features: []string{"a", "b", "c"}}, r.gen+1
	if _, err := f.Eval(ctx, nil); sqlErrNum(err) != 1582 {
		t.Errorf("after re-create with 3 features: %v, want error 1582", err)
	}
	// And back to the original model.
	r.m, r.gen = m, r.gen+1
	if got, err := f.Eval(ctx, nil); err != nil || got.(float64) != want {
		t.Errorf("after re-create: %v, %v; want %v", got, err, want)
	}
}

// TestDetectorCallManyFeatures scores through the heap buffer used beyond
// maxStackFeatures features.
func TestDetectorCallManyFeatures(t *testing.T) {
	const n = maxStackFeatures + 3
	fields := make([]arrow.Field, n)
	features := make([]int, n)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("f%d", i), Type: arrow.PrimitiveTypes.Float64}
		features[i] = i
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for r := 0; r < 100; r++ {
		for i := range fields {
			b.Field(i).(*array.Float64Builder).Append(math.Sin(float64(r*(i+1)) / 7))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	m, err := detectors.Fit(context.Background(), "deep_svdd", map[string]string{"epochs": "1", "hidden": "4"},
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float64, n)
	args := []sql.Expression{lit("wide", types.LongText)}
	for i := range x {
		x[i] = float64(i) / 10
		args = append(args, lit(x[i], types.Float64))
	}
	want, err := m.ScoreRow(x)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewAnomalyScore(fakeResolver{"wide": m}, args...)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := f.Eval(sql.NewEmptyContext(), nil); err != nil || got.(float64) != want {
		t.Errorf("anomaly_score over %d features = %v, %v; want %v", n, got, err, want)
	}
}

// TestNumericStrings: strings convert to features as MySQL converts them
// in arithmetic, exactly as the numbers they spell; anything else is
// refused. Catches: strconv.ParseFloat alone (it takes "inf", "0x1p3",
// "1_0"), or spaces not trimmed.
func TestNumericStrings(t *testing.T) {
	for _, c := range []struct {
		in   string
		want float64
	}{
		{"1.5", 1.5}, {" 1.5 ", 1.5}, {"\t-2\n", -2}, {"+3", 3}, {".5", 0.5}, {"5.", 5},
		{"1e3", 1000}, {"1E-3", 0.001}, {"-2.5e+2", -250}, {"0.903225806452", 0.903225806452},
		{"1.7976931348623157e308", math.MaxFloat64},
	} {
		for _, v := range []interface{}{c.in, []byte(c.in)} {
			if got, ok := toFloat(v); !ok || math.Float64bits(got) != math.Float64bits(c.want) {
				t.Errorf("toFloat(%T %q) = %v, %v; want %v", v, c.in, got, ok, c.want)
			}
		}
	}
	for _, in := range []string{"", " ", "abc", "1.5x", "x1", "1e", "e3", ".", "-", "+.e1", "1 2",
		"0x10", "0x1p3", "inf", "-Inf", "NaN", "1_000", "1e400", "1,5"} {
		if got, ok := toFloat(in); ok {
			t.Errorf("toFloat(%q) = %v, want not a number", in, got)
		}
	}
}

// TestStringFeatureArguments: numeric string literals are features like
// numbers; a string literal that is not a number is refused, for a
// numeric feature, when the row is scored (the model knows whether the
// feature is a string one), with the value quoted once in the message; a
// text column is converted row by row.
func TestStringFeatureArguments(t *testing.T) {
	r := fakeResolver{"d": twoFeatureModel(t)}
	ctx := sql.NewEmptyContext()
	f, err := NewAnomalyScore(r, lit("d", types.LongText), lit(0.5, types.Float64), lit(-0.25, types.Float64))
	if err != nil {
		t.Fatal(err)
	}
	want, err := f.Eval(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	f, err = NewAnomalyScore(r, lit("d", types.LongText), lit(" 0.5", types.LongText), lit([]byte("-25e-2"), types.LongBlob))
	if err != nil {
		t.Fatalf("numeric string literals: %v", err)
	}
	if got, err := f.Eval(ctx, nil); err != nil || got != want {
		t.Errorf("numeric string literals: %v, %v; want %v", got, err, want)
	}
	f, err = NewAnomalyScore(r, lit("d", types.LongText), lit("0.5", types.LongText), lit("abc", types.LongText))
	if err != nil {
		t.Fatalf("non-numeric string literal at plan time: %v", err)
	}
	_, err = f.Eval(ctx, nil)
	var me *mysql.SQLError
	if !errors.As(err, &me) || me.Num != 1366 || me.Message != "Incorrect DOUBLE value: 'abc' for argument 3 of anomaly_score (features must be numeric)" {
		t.Errorf("non-numeric string literal: %v", err)
	}
	col := expression.NewGetField(0, types.Text, "s", true)
	f, err = NewAnomalyScore(r, lit("d", types.LongText), col, lit(-0.25, types.Float64))
	if err != nil {
		t.Fatalf("text column: %v", err)
	}
	if got, err := f.Eval(ctx, sql.NewRow("0.5")); err != nil || got != want {
		t.Errorf("text column '0.5': %v, %v; want %v", got, err, want)
	}
	if _, err := f.Eval(ctx, sql.NewRow("x")); !errors.As(err, &me) || me.Num != 1366 || !strings.Contains(me.Message, "value: 'x' for argument 2") {
		t.Errorf("text column 'x': %v, want error 1366 quoting x", err)
	}
}
