package arrowio

import (
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/decimal256"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func checkedMem(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

// column builds a 4-row array of type dt holding 1, NULL, 3, 0 (booleans:
// true, NULL, true, false).
func column(t *testing.T, mem memory.Allocator, dt arrow.DataType) arrow.Array {
	t.Helper()
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	switch b := b.(type) {
	case *array.Int8Builder:
		b.AppendValues([]int8{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Int16Builder:
		b.AppendValues([]int16{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Int32Builder:
		b.AppendValues([]int32{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Int64Builder:
		b.AppendValues([]int64{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Uint8Builder:
		b.AppendValues([]uint8{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Uint16Builder:
		b.AppendValues([]uint16{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Uint32Builder:
		b.AppendValues([]uint32{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Uint64Builder:
		b.AppendValues([]uint64{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Float16Builder:
		b.AppendValues([]float16.Num{float16.New(1), float16.New(0), float16.New(3), float16.New(0)}, []bool{true, false, true, true})
	case *array.Float32Builder:
		b.AppendValues([]float32{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Float64Builder:
		b.AppendValues([]float64{1, 0, 3, 0}, []bool{true, false, true, true})
	case *array.Decimal32Builder:
		b.AppendValues([]decimal.Decimal32{100, 0, 300, 0}, []bool{true, false, true, true})
	case *array.Decimal64Builder:
		b.AppendValues([]decimal.Decimal64{100, 0, 300, 0}, []bool{true, false, true, true})
	case *array.Decimal128Builder:
		b.AppendValues([]decimal128.Num{decimal128.FromI64(100), {}, decimal128.FromI64(300), {}}, []bool{true, false, true, true})
	case *array.Decimal256Builder:
		b.AppendValues([]decimal256.Num{decimal256.FromI64(100), {}, decimal256.FromI64(300), {}}, []bool{true, false, true, true})
	case *array.BooleanBuilder:
		b.AppendValues([]bool{true, false, true, false}, []bool{true, false, true, true})
	default:
		t.Fatalf("no builder case for %s", dt)
	}
	return b.NewArray()
}

func record(mem memory.Allocator, names []string, cols []arrow.Array) arrow.RecordBatch {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: names[i], Type: c.DataType(), Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
}

func TestFeatureMatrixTypes(t *testing.T) {
	mem := checkedMem(t)
	types := []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.FixedWidthTypes.Float16, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64,
		&arrow.Decimal32Type{Precision: 9, Scale: 2}, &arrow.Decimal64Type{Precision: 18, Scale: 2},
		&arrow.Decimal128Type{Precision: 20, Scale: 2}, &arrow.Decimal256Type{Precision: 40, Scale: 2},
		arrow.FixedWidthTypes.Boolean,
	}
	var cols []arrow.Array
	var names []string
	for _, dt := range types {
		cols = append(cols, column(t, mem, dt))
		names = append(names, dt.String())
	}
	rec := record(mem, names, cols)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	features := make([]int, len(types))
	for i := range features {
		features[len(types)-1-i] = i // reversed order
	}
	x, labels, err := FeatureMatrix([]arrow.RecordBatch{rec}, features, -1)
	if err != nil {
		t.Fatal(err)
	}
	if labels != nil || x.Rows != 4 || x.Cols != len(types) {
		t.Fatalf("shape %dx%d, labels %v", x.Rows, x.Cols, labels)
	}
	for k, j := range features {
		want := []float64{1, math.NaN(), 3, 0}
		if types[j].ID() == arrow.BOOL {
			want[2] = 1
		}
		for i := 0; i < 4; i++ {
			got := x.Row(i)[k]
			if got != want[i] && !(math.IsNaN(got) && math.IsNaN(want[i])) {
				t.Errorf("%s row %d: %v, want %v", types[j], i, got, want[i])
			}
		}
	}
}

func TestFeatureMatrixBatchesAndSlices(t *testing.T) {
	mem := checkedMem(t)
	a := column(t, mem, arrow.PrimitiveTypes.Float64)
	b := column(t, mem, arrow.PrimitiveTypes.Int64)
	rec := record(mem, []string{"a", "b"}, []arrow.Array{a, b})
	a.Release()
	b.Release()
	defer rec.Release()
	sliced := rec.NewSlice(2, 4) // rows 3, 0 with offset 2
	defer sliced.Release()
	x, _, err := FeatureMatrix([]arrow.RecordBatch{rec, sliced}, []int{1, 0}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if x.Rows != 6 {
		t.Fatalf("%d rows", x.Rows)
	}
	if got := x.Row(4); got[0] != 3 || got[1] != 3 {
		t.Fatalf("row 4 = %v", got)
	}
	if got := x.Row(5); got[0] != 0 || got[1] != 0 {
		t.Fatalf("row 5 = %v", got)
	}
	if r, c := x.Dims(); r != 6 || c != 2 || x.At(4, 1) != 3 || x.T().At(1, 4) != 3 || x.RawMatrix().Stride != 2 {
		t.Fatalf("mat.Matrix view of %+v", x)
	}
	// FillRows over a sub-range writes only that range.
	dst := make([]float64, 4)
	if err := FillRows(rec, []int{0, 1}, 2, 4, dst); err != nil {
		t.Fatal(err)
	}
	if dst[0] != 3 || dst[1] != 3 || dst[2] != 0 || dst[3] != 0 {
		t.Fatalf("FillRows = %v", dst)
	}
	// Zero rows: no error, empty matrix.
	empty := rec.NewSlice(0, 0)
	defer empty.Release()
	x, labels, err := FeatureMatrix([]arrow.RecordBatch{empty}, []int{0, 1}, 1)
	if err != nil || x.Rows != 0 || x.Cols != 2 || len(labels) != 0 {
		t.Fatalf("zero rows: %+v %v %v", x, labels, err)
	}
	x, _, err = FeatureMatrix(nil, []int{0}, -1)
	if err != nil || x.Rows != 0 {
		t.Fatalf("no batches: %+v %v", x, err)
	}
}

func TestNullColumn(t *testing.T) {
	mem := checkedMem(t)
	nb := array.NewNullBuilder(mem)
	nb.AppendNulls(3)
	nulls := nb.NewArray()
	nb.Release()
	rec := record(mem, []string{"n"}, []arrow.Array{nulls})
	nulls.Release()
	defer rec.Release()
	x, _, err := FeatureMatrix([]arrow.RecordBatch{rec}, []int{0}, -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range x.Data {
		if !math.IsNaN(v) {
			t.Fatalf("null column gave %v", x.Data)
		}
	}
}

func TestNonNumeric(t *testing.T) {
	mem := checkedMem(t)
	a := column(t, mem, arrow.PrimitiveTypes.Float64)
	defer a.Release()
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"w", "x", "y", "z"}, nil)
	s := sb.NewArray()
	sb.Release()
	defer s.Release()
	db := array.NewDate32Builder(mem)
	db.AppendValues([]arrow.Date32{1, 2, 3, 4}, nil)
	d := db.NewArray()
	db.Release()
	defer d.Release()
	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Second})
	tb.AppendValues([]arrow.Timestamp{1, 2, 3, 4}, nil)
	ts := tb.NewArray()
	tb.Release()
	defer ts.Release()
	rec := record(mem, []string{"num", "city", "day", "at"}, []arrow.Array{a, s, d, ts})
	defer rec.Release()
	for _, j := range []int{1, 2, 3} {
		_, _, err := FeatureMatrix([]arrow.RecordBatch{rec}, []int{0, j}, -1)
		if !errors.Is(err, ErrNonNumeric) || !strings.Contains(err.Error(), rec.ColumnName(j)) {
			t.Errorf("column %d: %v, want ErrNonNumeric naming %q", j, err, rec.ColumnName(j))
		}
		if err := FillRows(rec, []int{j}, 0, 4, make([]float64, 4)); !errors.Is(err, ErrNonNumeric) {
			t.Errorf("FillRows column %d: %v", j, err)
		}
	}
	if _, _, err := FeatureMatrix([]arrow.RecordBatch{rec}, []int{7}, -1); err == nil || errors.Is(err, ErrNonNumeric) {
		t.Errorf("out of range column: %v", err)
	}
}

func TestLabels(t *testing.T) {
	mem := checkedMem(t)
	x := column(t, mem, arrow.PrimitiveTypes.Float64)
	defer x.Release()
	mk := func(vals []float64, valid []bool) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues(vals, valid)
		return b.NewArray()
	}
	good := mk([]float64{1, 0, 0, 1}, []bool{true, true, false, true})
	defer good.Release()
	rec := record(mem, []string{"x", "label"}, []arrow.Array{x, good})
	defer rec.Release()
	_, labels, err := FeatureMatrix([]arrow.RecordBatch{rec}, []int{0}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if labels[0] != 1 || labels[1] != 0 || !math.IsNaN(labels[2]) || labels[3] != 1 {
		t.Fatalf("labels %v", labels)
	}
	// Boolean labels are accepted too.
	bl := column(t, mem, arrow.FixedWidthTypes.Boolean)
	defer bl.Release()
	rec2 := record(mem, []string{"x", "label"}, []arrow.Array{x, bl})
	defer rec2.Release()
	if _, labels, err = FeatureMatrix([]arrow.RecordBatch{rec2}, []int{0}, 1); err != nil || labels[0] != 1 || labels[3] != 0 {
		t.Fatalf("boolean labels %v %v", labels, err)
	}

	for name, vals := range map[string][]float64{
		"two":      {1, 0, 2, 1},
		"negative": {1, -1, 0, 0},
		"fraction": {0.5, 0, 0, 1},
		"NaN":      {math.NaN(), 0, 0, 1},
	} {
		bad := mk(vals, nil)
		r := record(mem, []string{"x", "label"}, []arrow.Array{x, bad})
		bad.Release()
		_, _, err := FeatureMatrix([]arrow.RecordBatch{r}, []int{0}, 1)
		r.Release()
		if !errors.Is(err, ErrBadLabel) {
			t.Errorf("%s: %v, want ErrBadLabel", name, err)
		}
	}
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"a", "b", "c", "d"}, nil)
	s := sb.NewArray()
	sb.Release()
	r := record(mem, []string{"x", "label"}, []arrow.Array{x, s})
	s.Release()
	defer r.Release()
	if _, _, err := FeatureMatrix([]arrow.RecordBatch{r}, []int{0}, 1); !errors.Is(err, ErrBadLabel) {
		t.Errorf("string label: %v, want ErrBadLabel", err)
	}
}

// TestFillLabelsRange: FillLabels converts a row range as FeatureMatrix
// converts the whole column, NULLs and checks included. Catches the NULL
// test of a range reading the bitmap at the range's index instead of the
// row's (a NULL at row 2 read as the NaN value of a valid row).
func TestFillLabelsRange(t *testing.T) {
	mem := checkedMem(t)
	x := column(t, mem, arrow.PrimitiveTypes.Float64)
	defer x.Release()
	b := array.NewFloat64Builder(mem)
	b.AppendValues([]float64{1, 0, 0, 1}, []bool{true, true, false, true})
	lab := b.NewArray()
	b.Release()
	rec := record(mem, []string{"x", "label"}, []arrow.Array{x, lab})
	lab.Release()
	defer rec.Release()
	dst := make([]float64, 2)
	if err := FillLabels(rec, 1, 2, 4, dst); err != nil || !math.IsNaN(dst[0]) || dst[1] != 1 {
		t.Fatalf("rows [2, 4): %v %v, want [NaN 1]", dst, err)
	}
	if err := FillLabels(rec, 1, 1, 2, dst); err != nil || dst[0] != 0 {
		t.Fatalf("rows [1, 2): %v %v, want [0]", dst[:1], err)
	}
	if err := FillLabels(rec, 1, 3, 5, dst); err == nil {
		t.Fatal("rows [3, 5) of 4: no error")
	}
	if err := FillLabels(rec, 2, 0, 1, dst); err == nil || errors.Is(err, ErrBadLabel) {
		t.Fatalf("label column 2 of 2: %v, want an index error", err)
	}
	if err := FillLabels(rec, 0, 0, 0, nil); err != nil {
		t.Fatalf("numeric label column, no rows: %v", err)
	}
}

func BenchmarkFillRows(b *testing.B) {
	mem := memory.NewGoAllocator()
	const n = 8192
	var cols []arrow.Array
	var names []string
	for j := 0; j < 9; j++ {
		fb := array.NewFloat64Builder(mem)
		for i := 0; i < n; i++ {
			fb.Append(float64(i * j))
		}
		cols = append(cols, fb.NewArray())
		fb.Release()
		names = append(names, string(rune('a'+j)))
	}
	rec := record(mem, names, cols)
	defer rec.Release()
	features := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}
	dst := make([]float64, n*9)
	b.ReportAllocs()
	b.ResetTimer()
	b.SetBytes(n * 9 * 8)
	for i := 0; i < b.N; i++ {
		if err := FillRows(rec, features, 0, n, dst); err != nil {
			b.Fatal(err)
		}
	}
}
