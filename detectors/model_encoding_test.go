package detectors

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/arrowio"
)

// mixedRecord builds rows of a table with a number, a categorical string
// (NULL now and then), a boolean and a timestamp, seeded. Category "z"
// is rare (about 1 %); the values of cats are used for the rest.
func mixedRecord(t *testing.T, rows int, seed uint64, cats []string) arrow.RecordBatch {
	t.Helper()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "merchant", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "online", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	defer b.Release()
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < rows; i++ {
		b.Field(0).(*array.Float64Builder).Append(10 + rng.NormFloat64())
		sb := b.Field(1).(*array.StringBuilder)
		switch r := rng.IntN(100); {
		case r == 0:
			sb.Append("z")
		case r < 5:
			sb.AppendNull()
		default:
			sb.Append(cats[r%len(cats)])
		}
		b.Field(2).(*array.BooleanBuilder).Append(rng.IntN(3) == 0)
		b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(1_700_000_000_000_000 + rng.Int64N(7*86400*1_000_000)))
	}
	return b.NewRecordBatch()
}

// fitMixed trains an autoencoder on a mixed record with the given
// options added to small fixed ones.
func fitMixed(t *testing.T, rec arrow.RecordBatch, more ...string) *Model {
	t.Helper()
	o := opts(append([]string{"epochs", "2", "seed", "4", "hidden", "8,4"}, more...)...)
	m, err := Fit(context.Background(), "autoencoder", o, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1, 2, 3}, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// rawRows converts rec's rows to raw rows of m (categorical codes, seconds)
// the way a caller of ScoreRow does, value by value.
func rawRows(m *Model, rec arrow.RecordBatch) [][]float64 {
	out := make([][]float64, rec.NumRows())
	for i := range out {
		row := make([]float64, 4)
		row[0] = rec.Column(0).(*array.Float64).Value(i)
		v, null := categoryValue(rec.Column(1), i)
		row[1] = m.Encoding().Code(1, v, null)
		row[2] = b2f(rec.Column(2).(*array.Boolean).Value(i))
		row[3] = float64(rec.Column(3).(*array.Timestamp).Value(i)) / 1e6
		out[i] = row
	}
	return out
}

// TestMixedModelScoresAloneAsInBatch trains on a table with a string, a
// boolean and a timestamp column and checks that every row scores the
// same, bit for bit, in ScoreBatch (from Arrow columns), in ScoreMatrix
// and alone in ScoreRow (from raw values converted one by one), including
// rows with a value never seen in training, which is not an error. Bugs
// caught: the batch path and the row path encoding differently (a wrong
// stride, seconds in the wrong unit, codes of another column), a panic or
// an error on an unseen value.
func TestMixedModelScoresAloneAsInBatch(t *testing.T) {
	train := mixedRecord(t, 600, 1, []string{"acme", "bolt", "core"})
	defer train.Release()
	m := fitMixed(t, train, "time_cycles", "1", "max_categories", "4")
	// merchant: acme, bolt, core, NULL kept ("z" is other), then other
	// and unseen; ts: the seconds and 4 cyclic columns.
	if m.Encoding() == nil || m.Encoding().Width() != 1+(4+2)+1+5 {
		t.Fatalf("encoding %+v", m.Encoding())
	}
	test := mixedRecord(t, 300, 2, []string{"acme", "bolt", "core", "never-seen"})
	defer test.Release()
	batch, err := m.ScoreBatch(test, []int{0, 1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw := rawRows(m, test)
	flat := make([]float64, 0, 4*len(raw))
	for _, r := range raw {
		flat = append(flat, r...)
	}
	matrix, err := m.ScoreMatrix(arrowio.Matrix{Rows: len(raw), Cols: 4, Data: flat}, nil)
	if err != nil {
		t.Fatal(err)
	}
	unseen := 0
	for i, r := range raw {
		s, err := m.ScoreRow(r)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(s) != math.Float64bits(batch[i]) || math.Float64bits(s) != math.Float64bits(matrix[i]) {
			t.Fatalf("row %d: ScoreRow %v, ScoreBatch %v, ScoreMatrix %v", i, s, batch[i], matrix[i])
		}
		if r[1] == 5 {
			unseen++
		}
	}
	if c := m.Encoding().Code(1, "z", false); c != 4 {
		t.Fatalf("a training value not kept has code %v, want 4 (other)", c)
	}
	if unseen == 0 {
		t.Fatal("no test row has an unseen merchant")
	}
}

// TestMixedModelRoundTrip: a model with an encoding is written as format
// version 2, loads back with the same encoding and scores bit-identically;
// its bytes with the version set to 1 (what a reader that ignores
// encodings would see) are refused. A numeric model is still version 1
// (its bytes are guarded by TestScoreHashes). Bugs caught: the encoding
// not saved (scores differ after loading), a version 2 file readable as
// version 1.
func TestMixedModelRoundTrip(t *testing.T) {
	train := mixedRecord(t, 400, 3, []string{"acme", "bolt"})
	defer train.Release()
	m := fitMixed(t, train, "max_categories", "2")
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if v := binary.LittleEndian.Uint32(b[len(modelMagic):]); v != encodedFormatVersion || m.FormatVersion != encodedFormatVersion {
		t.Fatalf("format version %d (model says %d), want %d", v, m.FormatVersion, encodedFormatVersion)
	}
	l, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.ScoreBatch(train, []int{0, 1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.ScoreBatch(train, []int{0, 1, 2, 3}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Float64bits(want[i]) != math.Float64bits(got[i]) {
			t.Fatalf("row %d scores %v after loading, %v before", i, got[i], want[i])
		}
	}
	if c := l.Encoding().Columns()[1]; len(c.Categories)+b2i(c.NullCode >= 0) != 2 {
		t.Fatalf("loaded categories %+v, want 2 kept", c)
	}
	old := append([]byte(nil), b...)
	binary.LittleEndian.PutUint32(old[len(modelMagic):], formatVersion)
	if _, err := UnmarshalModel(old); !errors.Is(err, ErrBadModel) {
		t.Fatalf("version 2 bytes read as version 1: %v, want ErrBadModel", err)
	}
	if _, err := UnmarshalModel(b[:len(b)-3]); !errors.Is(err, ErrBadModel) {
		t.Fatalf("truncated encoding: %v, want ErrBadModel", err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMixedModelExplain: explanations speak in the user's columns, one
// contribution per column summing to 1, and a row whose only unusual
// value is its category (a value never seen) is explained mostly by that
// column. Bugs caught: contributions per one-hot position (too many
// entries), a categorical column's positions not summed.
func TestMixedModelExplain(t *testing.T) {
	train := mixedRecord(t, 600, 5, []string{"acme", "bolt", "core"})
	defer train.Release()
	m := fitMixed(t, train)
	row := rawRows(m, train)[0]
	row[0] = 10
	row[1] = m.Encoding().Code(1, "never-seen", false)
	e, err := m.Explain(row)
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Features) != 4 {
		t.Fatalf("%d contributions, want one per column: %v", len(e.Features), e)
	}
	sum := 0.0
	for _, f := range e.Features {
		sum += f.Contribution
	}
	if math.Abs(sum-1) > 1e-9 {
		t.Fatalf("contributions sum to %v: %v", sum, e)
	}
	if e.Features[0].Name != "merchant" {
		t.Fatalf("an unseen merchant is not the main contribution: %v", e)
	}
}

// TestMixedModelMissingIndicator: with missing_indicator every numeric
// column gets a 0/1 column, so a model of numbers only has an encoding,
// and NULL and the training mean score differently. Bug caught: the
// option ignored for numeric-only tables, or the indicator not set.
func TestMixedModelMissingIndicator(t *testing.T) {
	train := mixedRecord(t, 400, 6, []string{"acme"})
	defer train.Release()
	o := opts("epochs", "2", "seed", "4", "hidden", "8,4", "missing_indicator", "1")
	m, err := Fit(context.Background(), "autoencoder", o, TrainingData{Batches: []arrow.RecordBatch{train}, Features: []int{0, 2}, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	if m.Encoding() == nil || m.Encoding().Width() != 4 {
		t.Fatalf("encoding %+v, want 2 columns with indicators", m.Encoding())
	}
	mean, _ := m.Preprocessing()
	a, _ := m.ScoreRow([]float64{math.NaN(), 1})
	b, _ := m.ScoreRow([]float64{mean[0], 1})
	if a == b {
		t.Fatalf("NULL and the mean score the same (%v) with a missing indicator", a)
	}
}

// TestMixedBadInput: max_categories out of range is ErrBadOption, and a
// column type that cannot be a feature (a list) is ErrNonNumeric.
func TestMixedBadInput(t *testing.T) {
	train := mixedRecord(t, 50, 7, []string{"acme"})
	defer train.Release()
	for _, v := range []string{"0", "4097", "x"} {
		_, err := Fit(context.Background(), "autoencoder", opts("epochs", "1", "max_categories", v), TrainingData{Batches: []arrow.RecordBatch{train}, Features: []int{0, 1}, Label: -1})
		if !errors.Is(err, ErrBadOption) {
			t.Errorf("max_categories %s: %v, want ErrBadOption", v, err)
		}
	}
	lb := array.NewListBuilder(memory.NewGoAllocator(), arrow.PrimitiveTypes.Int64)
	defer lb.Release()
	lb.Append(true)
	lb.AppendNull()
	list := lb.NewArray()
	defer list.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "l", Type: list.DataType(), Nullable: true}}, nil), []arrow.Array{list}, 2)
	defer rec.Release()
	if _, err := Fit(context.Background(), "autoencoder", opts("epochs", "1"), TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}); !errors.Is(err, ErrNonNumeric) {
		t.Fatalf("a list column: %v, want ErrNonNumeric", err)
	}
}

// TestMixedFootprintCountsEncodedRows checks that Fit refuses, before
// training, a sample whose encoded rows exceed the memory limit although
// the algorithm's own working memory and the raw rows are within it: 4,000
// rows of 1,000 distinct categories kept by max_categories = 1000 encode
// to about 1,000 columns, 32 MB of encoded rows, against a 16 MB limit.
func TestMixedFootprintCountsEncodedRows(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "merchant", Type: arrow.BinaryTypes.String},
	}, nil)
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema)
	for i := range 4000 {
		b.Field(0).(*array.Float64Builder).Append(float64(i % 7))
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("c%04d", i%1000))
	}
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	o := opts("epochs", "1", "seed", "4", "hidden", "8,4", "batch_size", "64", "max_categories", "1000")
	data := func() TrainingData {
		return TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1}, Label: -1, Limits: &Limits{MaxParams: DefaultLimits.MaxParams, MaxBytes: 16 << 20}}
	}
	_, err := Fit(context.Background(), "autoencoder", o, data())
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fit with 32 MB of encoded rows under a 16 MB limit: %v, want ErrTooLarge", err)
	}
	// The same training fits once the encoded rows are few enough.
	o["max_categories"] = "16"
	if _, err := Fit(context.Background(), "autoencoder", o, data()); err != nil {
		t.Fatalf("Fit with max_categories = 16 under a 16 MB limit: %v", err)
	}
	// A Sample gathered by the caller is checked the same way.
	o["max_categories"] = "1000"
	s, err := NewRowSampler("autoencoder", o, []int{0, 1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(rec); err != nil {
		t.Fatal(err)
	}
	d := data()
	d.Batches, d.Sample = nil, s.Result()
	if _, err := Fit(context.Background(), "autoencoder", o, d); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Fit of a gathered Sample with 32 MB of encoded rows under a 16 MB limit: %v, want ErrTooLarge", err)
	}
	if d.Sample.X.Cols != 2 {
		t.Errorf("the refused Sample was encoded: %d columns, want the 2 raw ones", d.Sample.X.Cols)
	}
}
