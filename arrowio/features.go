package arrowio

import (
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/mat"
)

// ErrNonNumeric is wrapped by errors for feature columns whose Arrow type is
// not numeric (see the package documentation for what numeric means).
var ErrNonNumeric = errors.New("non-numeric column")

// ErrBadLabel is wrapped by errors for label columns holding a value other
// than 0, 1 or NULL, or whose type is not numeric.
var ErrBadLabel = errors.New("label must be 0, 1 or NULL")

// Matrix is a dense row-major float64 matrix: element (i, j) is
// Data[i*Cols+j]. Unlike gonum's mat.Dense it may have zero rows. It
// implements gonum's mat.Matrix and mat.RawMatrixer.
type Matrix struct {
	Rows, Cols int
	Data       []float64
}

var (
	_ mat.Matrix      = Matrix{}
	_ mat.RawMatrixer = Matrix{}
)

// Dims implements mat.Matrix.
func (m Matrix) Dims() (r, c int) { return m.Rows, m.Cols }

// At implements mat.Matrix.
func (m Matrix) At(i, j int) float64 {
	if uint(i) >= uint(m.Rows) || uint(j) >= uint(m.Cols) {
		panic(mat.ErrIndexOutOfRange)
	}
	return m.Data[i*m.Cols+j]
}

// T implements mat.Matrix.
func (m Matrix) T() mat.Matrix { return mat.Transpose{Matrix: m} }

// RawMatrix implements mat.RawMatrixer; the result aliases m.Data.
func (m Matrix) RawMatrix() blas64.General {
	return blas64.General{Rows: m.Rows, Cols: m.Cols, Stride: m.Cols, Data: m.Data}
}

// Row returns row i of m as a slice of length m.Cols that aliases m.Data.
func (m Matrix) Row(i int) []float64 {
	return m.Data[i*m.Cols : (i+1)*m.Cols : (i+1)*m.Cols]
}

// FeatureMatrix converts the columns features of batches (all batches must
// have the same column layout) into a row-major matrix with one row per
// record, in batch order, and len(features) columns in the order given.
// NULL feature values become NaN.
//
// If label >= 0, labels has one entry per row: 1 (anomaly), 0 (normal) or
// NaN (NULL). If label < 0, labels is nil.
//
// Errors: a feature column of a non-numeric type wraps [ErrNonNumeric]; a
// label value other than 0, 1 or NULL, or a non-numeric label column, wraps
// [ErrBadLabel]; a column index out of range is reported as a plain error.
// Zero rows is not an error: the result has Rows == 0 and the caller decides.
// The batches are neither retained nor released.
func FeatureMatrix(batches []arrow.RecordBatch, features []int, label int) (x Matrix, labels []float64, err error) {
	rows := 0
	for _, rec := range batches {
		if err := CheckFeatures(rec.Schema(), features); err != nil {
			return Matrix{}, nil, err
		}
		if label >= 0 {
			if err := checkLabel(rec.Schema(), label); err != nil {
				return Matrix{}, nil, err
			}
		}
		rows += int(rec.NumRows())
	}
	x = Matrix{Rows: rows, Cols: len(features), Data: make([]float64, rows*len(features))}
	if label >= 0 {
		labels = make([]float64, rows)
	}
	off := 0
	for _, rec := range batches {
		n := int(rec.NumRows())
		if err := FillRows(rec, features, 0, n, x.Data[off*x.Cols:(off+n)*x.Cols]); err != nil {
			return Matrix{}, nil, err
		}
		if label >= 0 {
			if err := fillLabels(rec, label, 0, n, labels[off:off+n]); err != nil {
				return Matrix{}, nil, err
			}
		}
		off += n
	}
	return x, labels, nil
}

// CheckFeatures reports whether every column in features exists in schema
// and has a numeric type. The error for a non-numeric column wraps
// [ErrNonNumeric] and names the column.
func CheckFeatures(schema *arrow.Schema, features []int) error {
	for _, j := range features {
		if j < 0 || j >= schema.NumFields() {
			return fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, schema.NumFields())
		}
		f := schema.Field(j)
		if !IsNumeric(f.Type) {
			return fmt.Errorf("%w: column %q (index %d) has type %s", ErrNonNumeric, f.Name, j, f.Type)
		}
	}
	return nil
}

func checkLabel(schema *arrow.Schema, label int) error {
	if label < 0 || label >= schema.NumFields() {
		return fmt.Errorf("arrowio: label column index %d out of range [0, %d)", label, schema.NumFields())
	}
	f := schema.Field(label)
	if !IsNumeric(f.Type) {
		return fmt.Errorf("%w: label column %q has type %s", ErrBadLabel, f.Name, f.Type)
	}
	return nil
}

// IsNumeric reports whether columns of type t can be converted to float64
// features: integers, unsigned integers, floats, decimals, booleans, and the
// Null type (all values missing).
func IsNumeric(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256,
		arrow.BOOL, arrow.NULL:
		return true
	}
	return false
}

// FillRows writes rows [lo, hi) of the columns features of rec into dst,
// row-major with len(features) columns: dst[(i-lo)*len(features)+k] is row i
// of column features[k]. NULL becomes NaN. dst must have length at least
// (hi-lo)*len(features) (FillRows panics otherwise, as for any out-of-range
// slice). It works column by column and does not allocate.
//
// A non-numeric column is reported with an error wrapping [ErrNonNumeric].
func FillRows(rec arrow.RecordBatch, features []int, lo, hi int, dst []float64) error {
	stride := len(features)
	if hi < lo || lo < 0 || hi > int(rec.NumRows()) {
		return fmt.Errorf("arrowio: row range [%d, %d) outside [0, %d)", lo, hi, rec.NumRows())
	}
	_ = dst[:(hi-lo)*stride]
	for k, j := range features {
		if j < 0 || j >= int(rec.NumCols()) {
			return fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, rec.NumCols())
		}
		if hi == lo {
			if !IsNumeric(rec.Column(j).DataType()) {
				f := rec.Schema().Field(j)
				return fmt.Errorf("%w: column %q (index %d) has type %s", ErrNonNumeric, f.Name, j, f.Type)
			}
			continue
		}
		if !fillColumn(rec.Column(j), lo, hi, dst[k:], stride) {
			f := rec.Schema().Field(j)
			return fmt.Errorf("%w: column %q (index %d) has type %s", ErrNonNumeric, f.Name, j, f.Type)
		}
	}
	return nil
}

// FillColumn writes rows [lo, hi) of the numeric column col to dst[0],
// dst[stride], ..., as FillRows does for each of its columns (NULL becomes
// NaN), and reports false, writing nothing, if col's type is not numeric
// (see IsNumeric). dst must hold (hi-lo-1)*stride+1 values.
func FillColumn(col arrow.Array, lo, hi int, dst []float64, stride int) bool {
	if !IsNumeric(col.DataType()) {
		return false
	}
	return fillColumn(col, lo, hi, dst, stride)
}

// fillColumn writes col[lo:hi] to dst[0], dst[stride], ... and reports false
// if col's type is not numeric.
func fillColumn(col arrow.Array, lo, hi int, dst []float64, stride int) bool {
	switch a := col.(type) {
	case *array.Float64:
		fillNumeric(a, a.Float64Values(), lo, hi, dst, stride)
	case *array.Float32:
		fillNumeric(a, a.Float32Values(), lo, hi, dst, stride)
	case *array.Int64:
		fillNumeric(a, a.Int64Values(), lo, hi, dst, stride)
	case *array.Int32:
		fillNumeric(a, a.Int32Values(), lo, hi, dst, stride)
	case *array.Int16:
		fillNumeric(a, a.Int16Values(), lo, hi, dst, stride)
	case *array.Int8:
		fillNumeric(a, a.Int8Values(), lo, hi, dst, stride)
	case *array.Uint64:
		fillNumeric(a, a.Uint64Values(), lo, hi, dst, stride)
	case *array.Uint32:
		fillNumeric(a, a.Uint32Values(), lo, hi, dst, stride)
	case *array.Uint16:
		fillNumeric(a, a.Uint16Values(), lo, hi, dst, stride)
	case *array.Uint8:
		fillNumeric(a, a.Uint8Values(), lo, hi, dst, stride)
	case *array.Float16:
		fillConverted(a, a.Values(), lo, hi, dst, stride, func(v float16.Num) float64 { return float64(v.Float32()) })
	case *array.Decimal32:
		scale := a.DataType().(arrow.DecimalType).GetScale()
		fillConverted(a, a.Values(), lo, hi, dst, stride, func(v decimal.Decimal32) float64 { return v.ToFloat64(scale) })
	case *array.Decimal64:
		scale := a.DataType().(arrow.DecimalType).GetScale()
		fillConverted(a, a.Values(), lo, hi, dst, stride, func(v decimal.Decimal64) float64 { return v.ToFloat64(scale) })
	case *array.Decimal128:
		scale := a.DataType().(arrow.DecimalType).GetScale()
		fillConverted(a, a.Values(), lo, hi, dst, stride, func(v decimal.Decimal128) float64 { return v.ToFloat64(scale) })
	case *array.Decimal256:
		scale := a.DataType().(arrow.DecimalType).GetScale()
		fillConverted(a, a.Values(), lo, hi, dst, stride, func(v decimal.Decimal256) float64 { return v.ToFloat64(scale) })
	case *array.Boolean:
		hasNulls := a.NullN() > 0
		for i := lo; i < hi; i++ {
			v := 0.0
			switch {
			case hasNulls && a.IsNull(i):
				v = math.NaN()
			case a.Value(i):
				v = 1
			}
			dst[(i-lo)*stride] = v
		}
	case *array.Null:
		nan := math.NaN()
		for i := lo; i < hi; i++ {
			dst[(i-lo)*stride] = nan
		}
	default:
		return false
	}
	return true
}

type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// fillNumeric copies vals[lo:hi] (the zero-copy values of a) with a strided
// store, taking the NULL bitmap into account only if a has NULLs.
func fillNumeric[T number](a arrow.Array, vals []T, lo, hi int, dst []float64, stride int) {
	vals = vals[lo:hi]
	if a.NullN() == 0 {
		for i, v := range vals {
			dst[i*stride] = float64(v)
		}
		return
	}
	nan := math.NaN()
	for i, v := range vals {
		if a.IsNull(lo + i) {
			dst[i*stride] = nan
		} else {
			dst[i*stride] = float64(v)
		}
	}
}

func fillConverted[T any](a arrow.Array, vals []T, lo, hi int, dst []float64, stride int, conv func(T) float64) {
	vals = vals[lo:hi]
	hasNulls := a.NullN() > 0
	nan := math.NaN()
	for i, v := range vals {
		if hasNulls && a.IsNull(lo+i) {
			dst[i*stride] = nan
		} else {
			dst[i*stride] = conv(v)
		}
	}
}

// FillLabels writes rows [lo, hi) of the label column label of rec into
// dst[:hi-lo], as FeatureMatrix's labels: 1 (anomaly), 0 (normal) or NaN
// (NULL). A non-numeric label column or a value other than 0, 1 or NULL
// wraps [ErrBadLabel]; a column index or row range out of range is a
// plain error. It does not allocate; rec is neither retained nor
// released.
func FillLabels(rec arrow.RecordBatch, label, lo, hi int, dst []float64) error {
	if err := checkLabel(rec.Schema(), label); err != nil {
		return err
	}
	if hi < lo || lo < 0 || hi > int(rec.NumRows()) {
		return fmt.Errorf("arrowio: row range [%d, %d) outside [0, %d)", lo, hi, rec.NumRows())
	}
	return fillLabels(rec, label, lo, hi, dst)
}

// fillLabels converts rows [lo, hi) of the label column of rec into dst
// (1, 0, or NaN for NULL), checking every value.
func fillLabels(rec arrow.RecordBatch, label, lo, hi int, dst []float64) error {
	col := rec.Column(label)
	if !fillColumn(col, lo, hi, dst, 1) {
		f := rec.Schema().Field(label)
		return fmt.Errorf("%w: label column %q has type %s", ErrBadLabel, f.Name, f.Type)
	}
	for i, v := range dst[:hi-lo] {
		switch {
		case v == 0 || v == 1:
		case math.IsNaN(v) && col.IsNull(lo+i):
		default:
			return fmt.Errorf("%w: label column %q has value %v", ErrBadLabel, rec.ColumnName(label), v)
		}
	}
	return nil
}
