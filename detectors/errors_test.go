package detectors

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"gonum.org/v1/gonum/mat"
)

func TestValidateOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		alg  string
		opts map[string]string
		want error
	}{
		{"deep_svdd", nil, nil},
		{"DEEP_SVDD", opts("EPOCHS", "3", " lr ", " 0.01 "), nil},
		{"deep_svdd", opts("epochs", "1", "batch_size", "1", "lr", "1e-9", "weight_decay", "0", "seed", "-7", "contamination", "0.49", "hidden", "8, 4,2"), nil},
		{"no_such_algorithm", nil, ErrUnknownAlgorithm},
		{"", nil, ErrUnknownAlgorithm},
		{"deep_svdd", opts("epoch", "3"), ErrUnknownOption},
		{"deep_svdd", opts("label", "y"), ErrUnknownOption},
		{"deep_svdd", opts("epochs", "three"), ErrBadOption},
		{"deep_svdd", opts("epochs", "0"), ErrBadOption},
		{"deep_svdd", opts("epochs", "2.5"), ErrBadOption},
		{"deep_svdd", opts("batch_size", "0"), ErrBadOption},
		{"deep_svdd", opts("lr", "0"), ErrBadOption},
		{"deep_svdd", opts("lr", "-1"), ErrBadOption},
		{"deep_svdd", opts("lr", "NaN"), ErrBadOption},
		{"deep_svdd", opts("lr", "inf"), ErrBadOption},
		{"deep_svdd", opts("weight_decay", "-0.1"), ErrBadOption},
		{"deep_svdd", opts("seed", "x"), ErrBadOption},
		{"deep_svdd", opts("contamination", "0"), ErrBadOption},
		{"deep_svdd", opts("contamination", "0.5"), ErrBadOption},
		{"deep_svdd", opts("hidden", ""), ErrBadOption},
		{"deep_svdd", opts("hidden", "64,0"), ErrBadOption},
		{"deep_svdd", opts("hidden", "64,-3"), ErrBadOption},
		{"deep_svdd", opts("hidden", "64,,32"), ErrBadOption},
		{"deep_svdd", opts("hidden", "1000000"), ErrBadOption},
		{"deep_svdd", opts("epochs", "2", "EPOCHS", "3"), ErrBadOption},
		// Early stopping (every algorithm).
		{"deep_svdd", opts("validation", "0.2", "patience", "1"), nil},
		{"deep_svdd", opts("validation", "0.5"), ErrBadOption},
		{"deep_svdd", opts("validation", "-0.1"), ErrBadOption},
		{"deep_svdd", opts("patience", "0"), ErrBadOption},
		{"ocnn", opts("validation", "0.49"), nil},
		// Options that do not apply, and out-of-range values.
		{"deep_svdd", opts("nu", "0.1"), ErrUnknownOption}, // one-class objective
		{"deep_svdd", opts("objective", "soft-boundary", "nu", "0"), ErrBadOption},
		{"deep_svdd", opts("objective", "soft-boundary", "nu", "1.5"), ErrBadOption},
		{"deep_svdd", opts("objective", "sphere"), ErrBadOption},
		{"deep_svdd", opts("eta", "1"), ErrUnknownOption},
		{"deep_sad", opts("eta", "0"), ErrBadOption},
		{"deep_sad", opts("eta", "-2"), ErrBadOption},
		{"deep_sad", opts("nu", "0.1"), ErrUnknownOption},
		{"deep_sad", opts("pretrain_epochs", "-1"), ErrBadOption},
		{"ocnn", opts("nu", "0"), ErrBadOption},
		{"ocnn", opts("nu", "1.01"), ErrBadOption},
		{"ocnn", opts("eta", "1"), ErrUnknownOption},
		{"ocnn", opts("objective", "one-class"), ErrUnknownOption},
		// Other algorithms' options (registered when this was written).
		{"autoencoder", opts("nu", "0.1"), ErrUnknownOption},
		{"autoencoder", opts("validation", "0.2"), nil},
		{"ae_knn", opts("k", "0"), ErrBadOption},
		{"ae_knn", opts("k", "-3"), ErrBadOption},
		{"ae_knn", opts("nu", "0.1"), ErrUnknownOption},
		{"randnet", opts("ensemble", "0"), ErrBadOption},
		{"randnet", opts("k", "5"), ErrUnknownOption},
		{"repen", opts("ensemble_size", "0"), ErrBadOption},
		{"prenet", opts("ensemble_size", "0"), ErrBadOption},
		{"prenet", opts("margin", "1000"), ErrUnknownOption},
		{"ae_1svm", opts("nu", "0"), ErrBadOption},
		{"ae_1svm", opts("nu", "2"), ErrBadOption},
		{"dagmm", opts("n_components", "0"), ErrBadOption},
		{"dagmm", opts("nu", "0.1"), ErrUnknownOption},
		{"vae", opts("beta", "-1"), ErrBadOption},
		{"robust_autoencoder", opts("norm", "l3"), ErrBadOption},
		{"rdp", opts("eta", "1"), ErrUnknownOption},
		{"neutral", opts("transforms", "1"), ErrBadOption},
		{"neutral", opts("rep_dim", "16"), nil},
		{"neutral", opts("refs", "16"), ErrUnknownOption},
	} {
		err := ValidateOptions(tc.alg, tc.opts)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("ValidateOptions(%q, %v) = %v, want %v", tc.alg, tc.opts, err, tc.want)
		}
	}
}

func TestFitErrors(t *testing.T) {
	mem := checkedMem(t)
	tb := synthetic(50, 3, 1)
	bs := tb.NullBatches(mem, 50)
	defer releaseAll(bs)
	good := TrainingData{Batches: bs, Features: tb.Features(), Label: -1}
	ctx := context.Background()

	check := func(name string, err, want error) {
		t.Helper()
		if !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", name, err, want)
		}
	}
	_, err := Fit(ctx, "nope", nil, good)
	check("unknown algorithm", err, ErrUnknownAlgorithm)
	_, err = Fit(ctx, "deep_svdd", opts("depth", "3"), good)
	check("unknown option", err, ErrUnknownOption)
	_, err = Fit(ctx, "deep_svdd", opts("lr", "fast"), good)
	check("bad option", err, ErrBadOption)

	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: nil, Features: []int{0}, Label: -1})
	check("no batches", err, ErrNoRows)
	empty := bs[0].NewSlice(0, 0)
	defer empty.Release()
	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: []arrow.RecordBatch{empty}, Features: tb.Features(), Label: -1})
	check("zero rows", err, ErrNoRows)

	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: bs, Features: nil, Label: -1})
	check("no features", err, ErrFeatureCount)
	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: bs, Features: []int{0, 1}, FeatureNames: []string{"a"}, Label: -1})
	check("feature names", err, ErrFeatureCount)

	// Labels outside {0, 1, NULL}, a string label; a string feature is
	// categorical (encoding.go), a time of day is not a feature.
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b"}, nil)
	strs := sb.NewArray()
	sb.Release()
	defer strs.Release()
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{0, 2}, nil)
	ints := ib.NewArray()
	ib.Release()
	defer ints.Release()
	fb := array.NewFloat64Builder(mem)
	fb.AppendValues([]float64{1, 2}, nil)
	floats := fb.NewArray()
	fb.Release()
	defer floats.Release()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "name", Type: arrow.BinaryTypes.String},
		{Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "x", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{strs, ints, floats}, 2)
	defer rec.Release()
	tod := array.NewTime32Builder(mem, &arrow.Time32Type{Unit: arrow.Second})
	tod.AppendValues([]arrow.Time32{1, 2}, nil)
	times := tod.NewArray()
	tod.Release()
	defer times.Release()
	timeRec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "t", Type: times.DataType()}}, nil), []arrow.Array{times}, 2)
	defer timeRec.Release()
	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: []arrow.RecordBatch{timeRec}, Features: []int{0}, Label: -1})
	check("time of day feature", err, ErrNonNumeric)
	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{2}, Label: 1})
	check("label 2", err, ErrBadLabel)
	_, err = Fit(ctx, "deep_svdd", nil, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{2}, Label: 0})
	check("string label", err, ErrBadLabel)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = Fit(cancelled, "deep_svdd", nil, good)
	check("cancelled", err, context.Canceled)
}

func TestScoreErrors(t *testing.T) {
	mem := checkedMem(t)
	tb := synthetic(100, 3, 2)
	bs := tb.NullBatches(mem, 100)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "1"), TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range [][]float64{nil, {1, 2}, {1, 2, 3, 4}} {
		if _, err := m.ScoreRow(x); !errors.Is(err, ErrFeatureCount) {
			t.Errorf("ScoreRow(%v): %v, want ErrFeatureCount", x, err)
		}
	}
	if _, err := m.ScoreRow([]float64{math.NaN(), math.Inf(1), 0}); err != nil {
		t.Errorf("ScoreRow with NaN and Inf: %v", err)
	}
	if _, err := m.ScoreBatch(bs[0], []int{0, 1}, nil); !errors.Is(err, ErrFeatureCount) {
		t.Errorf("ScoreBatch with 2 features: %v", err)
	}
	if _, err := m.ScoreMatrix(mat.NewDense(2, 4, nil), nil); !errors.Is(err, ErrFeatureCount) {
		t.Errorf("ScoreMatrix with 4 columns: %v", err)
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a"}, nil)
	strs := sb.NewArray()
	sb.Release()
	defer strs.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{strs}, 1)
	defer rec.Release()
	if _, err := m.ScoreBatch(rec, []int{0, 0, 0}, nil); !errors.Is(err, ErrNonNumeric) {
		t.Errorf("ScoreBatch of a string column: %v", err)
	}
}

func TestUnmarshalModelErrors(t *testing.T) {
	m := fitSynthetic(t, "deep_svdd", synthetic(100, 3, 2), opts("epochs", "1"))
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	bad := map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("NOTMODEL"), b[8:]...),
		"version":   append(append([]byte(nil), b[:8]...), append([]byte{99, 0, 0, 0}, b[12:]...)...),
		"truncated": b[:len(b)/2],
	}
	if _, err := UnmarshalModel(withThreshold(t, b, m.Threshold)); err != nil {
		t.Fatalf("re-encoded with its own threshold: %v", err)
	}
	// A threshold no trained model has: is_anomaly would flag no row (NaN,
	// +Inf, MaxScore) or every row (-Inf).
	for _, thr := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), MaxScore} {
		bad[fmt.Sprintf("threshold %v", thr)] = withThreshold(t, b, thr)
	}
	for name, data := range bad {
		if _, err := UnmarshalModel(data); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: %v, want ErrBadModel", name, err)
		}
	}
}

// withThreshold re-encodes the marshalled model b with another threshold.
func withThreshold(t *testing.T, b []byte, thr float64) []byte {
	t.Helper()
	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.Threshold = thr
	var buf bytes.Buffer
	buf.Write(b[:len(modelMagic)+4])
	if err := gob.NewEncoder(&buf).Encode(&f); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
