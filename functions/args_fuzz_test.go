package functions

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/detectors"
)

// Fuzz target of the feature arguments of anomaly_score and is_anomaly.
// Plain go test runs its seeds; `make fuzz` explores further.

// fuzzModels trains every algorithm for one epoch on 3 features, and
// deep_svdd on maxStackFeatures+3 features (the heap path of score); the
// resolver serves them as d0, d1, ... in Algorithms() order, and "wide".
func fuzzModels(tb testing.TB) (fakeResolver, []string) {
	tb.Helper()
	fit := func(alg string, d int) *detectors.Model {
		fields := make([]arrow.Field, d)
		features := make([]int, d)
		for i := range fields {
			fields[i] = arrow.Field{Name: fmt.Sprintf("f%d", i), Type: arrow.PrimitiveTypes.Float64}
			features[i] = i
		}
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
		defer b.Release()
		for r := 0; r < 64; r++ {
			for i := 0; i < d; i++ {
				b.Field(i).(*array.Float64Builder).Append(math.Sin(float64(r*(i+2)) / 5))
			}
			switch {
			case r%16 == 0:
				b.Field(d).(*array.Float64Builder).Append(1)
			case r%4 == 0:
				b.Field(d).(*array.Float64Builder).Append(0)
			default:
				b.Field(d).(*array.Float64Builder).AppendNull()
			}
		}
		rec := b.NewRecordBatch()
		defer rec.Release()
		label := -1
		if use, err := detectors.UsesLabels(alg); err != nil {
			tb.Fatal(err)
		} else if use != detectors.LabelsNone {
			label = d
		}
		o := map[string]string{"epochs": "1", "seed": "1", "hidden": "4"}
		if alg == "deep_sad" {
			o["pretrain_epochs"] = "1"
		}
		if alg == "ape" { // no hidden layers; numeric columns bucketed
			delete(o, "hidden")
			o["bins"] = "4"
		}
		m, err := detectors.Fit(context.Background(), alg, o, detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: label})
		if err != nil {
			tb.Fatalf("%s: %v", alg, err)
		}
		return m
	}
	r := fakeResolver{"wide": fit("deep_svdd", maxStackFeatures+3)}
	names := []string{"wide"}
	for i, alg := range detectors.Algorithms() {
		if detectors.IsSequence(alg) {
			continue // scores ordered rows, only OVER (...): TestWindowScorer
		}
		name := "d" + strconv.Itoa(i)
		r[name] = fit(alg, 3)
		names = append(names, name)
	}
	return r, names
}

// fuzzArgs decodes spec into feature arguments: each is a kind byte and 8
// bytes of value (a float64's or an integer's bits); strings come, in
// order, from the NUL-separated parts of text. Kinds cover every type a
// feature argument can have: numbers of each width, NULL, numeric and
// other strings and blobs (as literals and as text columns read from the
// row), decimals, booleans, dates, times and JSON.
func fuzzArgs(spec []byte, text string) (args []sql.Expression, row sql.Row) {
	strs := strings.Split(text, "\x00")
	nextStr := func() string {
		s := strs[0]
		if len(strs) > 1 {
			strs = strs[1:]
		}
		return s
	}
	for len(spec) >= 9 && len(args) < 64 {
		kind, bits := spec[0], binary.LittleEndian.Uint64(spec[1:9])
		spec = spec[9:]
		f := math.Float64frombits(bits)
		var e sql.Expression
		switch kind % 16 {
		case 0:
			e = lit(f, types.Float64)
		case 1:
			e = lit(int64(bits), types.Int64)
		case 2:
			e = lit(bits, types.Uint64)
		case 3:
			e = lit(int8(bits), types.Int8)
		case 4:
			e = lit(nil, types.Null)
		case 5:
			e = lit(nextStr(), types.LongText)
		case 6:
			e = lit([]byte(nextStr()), types.LongBlob)
		case 7:
			d, err := decimal.NewFromString(nextStr())
			if err != nil {
				d = decimal.New(int64(bits), int32(int8(bits>>56)))
			}
			e = lit(d, types.MustCreateDecimalType(65, 30))
		case 8:
			e = lit(bits&1 == 1, types.Boolean)
		case 9:
			e = lit(float32(f), types.Float32)
		case 10:
			e = lit(time.Unix(int64(bits%1e10), 0).UTC(), types.Datetime)
		case 11:
			e = lit(types.JSONDocument{Val: f}, types.JSON)
		case 12:
			e = lit(strconv.FormatFloat(f, 'g', -1, 64), types.LongText)
		case 13: // a text column: converted row by row, not when built
			e = expression.NewGetField(len(row), types.Text, "s", true)
			row = append(row, nextStr())
		case 14: // a numeric column holding NULL or a number
			e = expression.NewGetField(len(row), types.Float64, "x", true)
			if bits&1 == 1 {
				row = append(row, nil)
			} else {
				row = append(row, f)
			}
		default:
			e = lit(uint32(bits), types.Uint32)
		}
		args = append(args, e)
	}
	return args, row
}

// FuzzDetectorArgs calls anomaly_score, is_anomaly, anomaly_explain and
// anomaly_percentile with any detector name argument and any number,
// types and values of feature arguments, and checks that each call is
// built and evaluated without panicking, that every error is a MySQL
// error, that a score is a DOUBLE and is_anomaly 0 or 1, that is_anomaly
// is 1 exactly when anomaly_score is above the detector's threshold,
// that anomaly_explain gives JSON with the same score, and that
// anomaly_percentile is the detector's percentile of the score.
func FuzzDetectorArgs(f *testing.F) {
	num := func(kind byte, v float64) []byte {
		return binary.LittleEndian.AppendUint64([]byte{kind}, math.Float64bits(v))
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	for i := uint8(0); i < 13; i++ { // every algorithm, three plain features
		f.Add(i+1, "", cat(num(0, 0.5), num(0, -1), num(0, 2)), "")
	}
	f.Add(uint8(1), "", cat(num(0, 1e308), num(0, -1e308), num(0, math.Inf(1))), "")
	f.Add(uint8(2), "", cat(num(0, math.NaN()), num(4, 0), num(9, math.MaxFloat32)), "")
	f.Add(uint8(3), "", cat(num(1, -1), num(2, 0), num(3, 0)), "")
	f.Add(uint8(4), "", cat(num(5, 0), num(6, 0), num(7, 0)), " 1.5 \x00-2e3\x001e400")
	f.Add(uint8(5), "", cat(num(13, 0), num(13, 0), num(14, 1)), "NaN\x00inf")
	f.Add(uint8(6), "", cat(num(8, 1), num(10, 0), num(11, 0)), "")
	f.Add(uint8(7), "", cat(num(12, math.Inf(-1)), num(0, 0), num(0, 0)), "")
	f.Add(uint8(0), "", cat(num(0, 1), num(0, 2)), "") // wide detector, too few features
	f.Add(uint8(200), "nope", cat(num(0, 1), num(0, 2), num(0, 3)), "")
	f.Add(uint8(201), "", cat(num(0, 1), num(0, 2), num(0, 3)), "")   // NULL name
	f.Add(uint8(202), "", cat(num(0, 1), num(0, 2), num(0, 3)), "")   // numeric name
	f.Add(uint8(203), "d1", cat(num(0, 1), num(0, 2), num(0, 3)), "") // binary name
	f.Add(uint8(1), "", []byte{}, "")
	r, names := fuzzModels(f)
	ctx := sql.NewEmptyContext()
	f.Fuzz(func(t *testing.T, which uint8, name string, spec []byte, text string) {
		var nameArg sql.Expression
		switch {
		case int(which) < len(names):
			nameArg = lit(names[which], types.LongText)
		case which == 201:
			nameArg = lit(nil, types.Null)
		case which == 202:
			nameArg = lit(int64(7), types.Int64)
		case which == 203:
			nameArg = lit([]byte(name), types.LongBlob)
		default:
			nameArg = lit(name, types.LongText)
		}
		feats, row := fuzzArgs(spec, text)
		args := append([]sql.Expression{nameArg}, feats...)
		score, scoreErr := call(t, ctx, row, NewAnomalyScore, r, args)
		flag, flagErr := call(t, ctx, row, NewIsAnomaly, r, args)
		pct, pctErr := call(t, ctx, row, NewAnomalyPercentile, r, args)
		if (scoreErr == nil) != (flagErr == nil) || (scoreErr == nil) != (pctErr == nil) {
			t.Fatalf("anomaly_score: %v, is_anomaly: %v, anomaly_percentile: %v", scoreErr, flagErr, pctErr)
		}
		// anomaly_explain takes whatever anomaly_score takes (and also a
		// leading k): JSON with anomaly_score's score, bit for bit.
		explained, explainErr := call(t, ctx, row, NewAnomalyExplain, r, args)
		if scoreErr == nil && (explainErr != nil || (explained == nil) != (score == nil)) {
			t.Fatalf("anomaly_score %v, anomaly_explain %v, %v", score, explained, explainErr)
		}
		if scoreErr == nil && score != nil {
			var e struct{ Score float64 }
			if err := json.Unmarshal([]byte(explained.(string)), &e); err != nil || math.Float64bits(e.Score) != math.Float64bits(score.(float64)) {
				t.Fatalf("anomaly_explain = %v (%v), anomaly_score %v", explained, err, score)
			}
		}
		if scoreErr != nil {
			return
		}
		if score == nil || flag == nil {
			if score != nil || flag != nil || pct != nil {
				t.Fatalf("anomaly_score %v, is_anomaly %v, anomaly_percentile %v: one NULL", score, flag, pct)
			}
			return // a NULL detector name
		}
		s, ok := score.(float64)
		if !ok {
			t.Fatalf("anomaly_score = %T %v, not a DOUBLE", score, score)
		}
		fl, ok := flag.(int8)
		if !ok || fl != 0 && fl != 1 {
			t.Fatalf("is_anomaly = %T %v, not 0 or 1", flag, flag)
		}
		if math.IsNaN(s) || math.IsInf(s, 0) {
			t.Fatalf("anomaly_score = %v: scores are never NaN or infinite", s)
		}
		m, _ := r.Lookup(ctx, nameArg.(*expression.Literal).Value().(string))
		if (fl == 1) != (s > m.Threshold) {
			t.Fatalf("is_anomaly = %d for score %v and threshold %v", fl, s, m.Threshold)
		}
		if want, err := m.Percentile(s); err != nil || pct != want {
			t.Fatalf("anomaly_percentile = %v for score %v, the detector's percentile %v (%v)", pct, s, want, err)
		}
	})
}

type newFunc func(Resolver, ...sql.Expression) (sql.Expression, error)

// call builds fn over args (and again through WithChildren) and evaluates
// it on row. Any error must be a MySQL error (or, for the argument count,
// go-mysql-server's), and the two builds must agree.
func call(t *testing.T, ctx *sql.Context, row sql.Row, fn newFunc, r Resolver, args []sql.Expression) (interface{}, error) {
	t.Helper()
	e, err := fn(r, args...)
	if err != nil {
		if !isMySQLError(err) && !sql.ErrInvalidArgumentNumber.Is(err) {
			t.Fatalf("building over %v: %v is not a MySQL error", args, err)
		}
		return nil, err
	}
	e2, err := e.WithChildren(e.Children()...)
	if err != nil {
		t.Fatalf("WithChildren: %v", err)
	}
	v, err := e.Eval(ctx, row)
	if err != nil && !isMySQLError(err) {
		t.Fatalf("%s: %v is not a MySQL error", e, err)
	}
	v2, err2 := e2.Eval(ctx, row)
	if (err == nil) != (err2 == nil) || fmt.Sprint(v) != fmt.Sprint(v2) {
		t.Fatalf("%s: %v, %v; through WithChildren %v, %v", e, v, err, v2, err2)
	}
	return v, err
}

func isMySQLError(err error) bool {
	var se *mysql.SQLError
	return errors.As(err, &se)
}
