package detectors

import (
	"context"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

func TestScalerStatistics(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	// Columns: ordinary (with a NaN and an Inf ignored), constant, all
	// missing, single finite value.
	x := []float64{
		1, 5, nan, nan,
		2, 5, nan, 7,
		nan, 5, nan, nan,
		3, 5, nan, nan,
		inf, 5, nan, nan,
	}
	s := fitScaler(x, 5, 4)
	wantMean := []float64{2, 5, 0, 7}
	wantStd := []float64{math.Sqrt(2.0 / 3), 1, 1, 1}
	for j := range wantMean {
		if math.Abs(s.mean[j]-wantMean[j]) > 1e-15 || math.Abs(s.std[j]-wantStd[j]) > 1e-15 {
			t.Errorf("column %d: mean %v std %v, want %v %v", j, s.mean[j], s.std[j], wantMean[j], wantStd[j])
		}
	}
	// Extreme values (±Inf, and 2^500 or more standard deviations out)
	// standardize to 0 like NULL but are reported; NULL is not.
	for _, tc := range []struct {
		row, want []float64
		extreme   bool
	}{
		{[]float64{nan, 5, 3, -inf}, []float64{0, 0, 3, 0}, true},
		{[]float64{nan, 5, 3, 7}, []float64{0, 0, 3, 0}, false},
		{[]float64{2, inf, 3, 7}, []float64{0, 0, 3, 0}, true},
		{[]float64{2, 5, -0x1p500, 7}, []float64{0, 0, 0, 0}, true},
		{[]float64{2, 5, 0x1p499, 7}, []float64{0, 0, 0x1p499, 0}, false},
		{[]float64{1e308, 5, 0, 7}, []float64{0, 0, 0, 0}, true},            // 1.2e308 standardized
		{[]float64{-math.MaxFloat64, 5, 0, 7}, []float64{0, 0, 0, 0}, true}, // overflows to -Inf
	} {
		row := append([]float64(nil), tc.row...)
		if got := s.transformRow(row); got != tc.extreme {
			t.Errorf("transformRow(%v) reports extreme %v, want %v", tc.row, got, tc.extreme)
		}
		for j, v := range tc.want {
			if row[j] != v {
				t.Errorf("%v standardized[%d] = %v, want %v", tc.row, j, row[j], v)
			}
		}
	}
}

// TestMissingIsMean checks NULL (NaN) scores exactly like the training mean
// and that constant and all-NULL columns give finite scores.
func TestMissingIsMean(t *testing.T) {
	mem := checkedMem(t)
	tb := synthetic(400, 3, 5)
	// Add a constant column and an all-NULL column.
	wide := &table{Names: append(tb.Names, "const", "nulls"), Rows: tb.Rows, Cols: 5, Labels: tb.Labels}
	for i := 0; i < tb.Rows; i++ {
		wide.X = append(wide.X, tb.X[i*3:(i+1)*3]...)
		wide.X = append(wide.X, 42, math.NaN())
	}
	bs := wide.NullBatches(mem, 128)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "3"), TrainingData{Batches: bs, Features: wide.Features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	for j, mean := range m.scale.mean {
		if math.IsNaN(mean) || math.IsNaN(m.scale.std[j]) || m.scale.std[j] == 0 {
			t.Fatalf("column %d: mean %v std %v", j, mean, m.scale.std[j])
		}
	}
	for i := 0; i < 50; i++ {
		row := append([]float64(nil), wide.X[i*5:(i+1)*5]...)
		for j := range row {
			withNaN := append([]float64(nil), row...)
			withNaN[j] = math.NaN()
			withMean := append([]float64(nil), row...)
			withMean[j] = m.scale.mean[j]
			a, err := m.ScoreRow(withNaN)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := m.ScoreRow(withMean)
			if math.IsNaN(a) || math.IsInf(a, 0) || a != b {
				t.Fatalf("row %d col %d: NULL scores %v, training mean scores %v", i, j, a, b)
			}
		}
	}
	// Scoring a constant column at another value stays finite.
	if s, _ := m.ScoreRow([]float64{0, 0, 0, 1e6, 1}); math.IsNaN(s) || math.IsInf(s, 0) {
		t.Fatalf("score %v", s)
	}
}

// TestColumnTypes trains on integer, float32, decimal and boolean columns
// with NULLs and checks that scoring the same batch matches ScoreRow on
// the converted values.
func TestColumnTypes(t *testing.T) {
	mem := checkedMem(t)
	n := 300
	ib := array.NewInt32Builder(mem)
	ub := array.NewUint8Builder(mem)
	fb := array.NewFloat32Builder(mem)
	bb := array.NewBooleanBuilder(mem)
	dt := &arrow.Decimal128Type{Precision: 10, Scale: 2}
	db := array.NewDecimal128Builder(mem, dt)
	for i := 0; i < n; i++ {
		if i%17 == 0 {
			ib.AppendNull()
		} else {
			ib.Append(int32(i % 23))
		}
		ub.Append(uint8(i % 7))
		fb.Append(float32(i) / 10)
		bb.Append(i%3 == 0)
		if i%11 == 0 {
			db.AppendNull()
		} else {
			db.Append(decimal128FromInt(int64(i * 25))) // i/4 at scale 2
		}
	}
	cols := []arrow.Array{ib.NewArray(), ub.NewArray(), fb.NewArray(), bb.NewArray(), db.NewArray()}
	for _, b := range []interface{ Release() }{ib, ub, fb, bb, db} {
		b.Release()
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "i", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint8},
		{Name: "f", Type: arrow.PrimitiveTypes.Float32},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "d", Type: dt, Nullable: true},
	}, nil)
	rec := array.NewRecordBatch(schema, cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	features := []int{0, 1, 2, 3, 4}
	m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "2"), TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Features; len(got) != 5 || got[0] != "i" || got[4] != "d" {
		t.Fatalf("feature names %v", got)
	}
	scores, err := m.ScoreBatch(rec, features, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		iv := float64(i % 23)
		if i%17 == 0 {
			iv = math.NaN()
		}
		dv := float64(i) / 4
		if i%11 == 0 {
			dv = math.NaN()
		}
		bv := 0.0
		if i%3 == 0 {
			bv = 1
		}
		want, err := m.ScoreRow([]float64{iv, float64(i % 7), float64(float32(i) / 10), bv, dv})
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(want) != math.Float64bits(scores[i]) {
			t.Fatalf("row %d: batch %v, row %v", i, scores[i], want)
		}
	}
}
