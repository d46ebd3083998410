package detectors

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/anomalydb/anomalydb/arrowio"
)

// This file connects a Model to its Encoding (encoding.go): the raw rows
// its scoring entry points take are encoded, then standardized and
// scored. A model without an encoding (every model saved before
// encodings existed, and every model of numeric columns only) skips the
// step: its raw rows are its encoded rows, and it scores bit-identically
// to before.

// Encoding returns the encoding of the model's features, nil if each
// feature is its own column (numeric features only). It must not be
// modified.
func (m *Model) Encoding() *Encoding { return m.enc }

// width is the number of encoded columns the scaler and scorer see.
func (m *Model) width() int { return len(m.scale.mean) }

// encode writes the encoding of the raw row x into z (width values).
func (m *Model) encode(x, z []float64) {
	if m.enc == nil {
		copy(z, x)
		return
	}
	m.enc.EncodeRow(x, z)
}

// encodeRows encodes the raw rows raw (len(Features) values each) into z
// (width values each).
func (m *Model) encodeRows(raw, z []float64) {
	d, w := len(m.Features), m.width()
	for i := 0; i*d < len(raw); i++ {
		m.encode(raw[i*d:(i+1)*d], z[i*w:(i+1)*w])
	}
}

// ColumnKindOf returns how a feature column of Arrow type t is encoded,
// and false for a type that cannot be a feature. Integers, floats and
// decimals (and the Null type) are numeric; booleans boolean; dates and
// timestamps time; strings and binary strings categorical.
func ColumnKindOf(t arrow.DataType) (ColumnKind, bool) {
	switch t.ID() {
	case arrow.BOOL:
		return KindBoolean, true
	case arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return KindTime, true
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return KindCategorical, true
	}
	if arrowio.IsNumeric(t) {
		return KindNumeric, true
	}
	return 0, false
}

// checkColumns reports whether every column in features exists in schema
// with a type the model's encoding of it can read: numeric for numeric
// and boolean features, a date, timestamp or number (seconds) for time
// features, any type for categorical ones (their values are compared as
// text). The error for another type wraps ErrNonNumeric.
func (m *Model) checkColumns(schema *arrow.Schema, features []int) error {
	if m.enc == nil {
		return arrowio.CheckFeatures(schema, features)
	}
	for k, j := range features {
		if j < 0 || j >= schema.NumFields() {
			return fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, schema.NumFields())
		}
		f := schema.Field(j)
		kind, ok := ColumnKindOf(f.Type)
		want := m.enc.cols[k].Kind
		switch {
		case want == KindCategorical:
		case want == KindTime && ok && (kind == KindTime || kind == KindNumeric):
		case ok && (kind == KindNumeric || kind == KindBoolean) && want != KindTime:
		default:
			return fmt.Errorf("%w: column %q (index %d) has type %s, feature %q is %s", ErrNonNumeric, f.Name, j, f.Type, m.Features[k], want)
		}
	}
	return nil
}

// fillRaw writes the raw values of rows [lo, hi) of the columns features
// of rec into raw (row-major, len(features) per row), for a model with an
// encoding; the columns were checked by checkColumns.
func (m *Model) fillRaw(rec arrow.RecordBatch, features []int, lo, hi int, raw []float64) error {
	d := len(features)
	for k, j := range features {
		col := rec.Column(j)
		dst := raw[k:]
		switch m.enc.cols[k].Kind {
		case KindCategorical:
			for i := lo; i < hi; i++ {
				v, null := categoryValue(col, i)
				dst[(i-lo)*d] = m.enc.Code(k, v, null)
			}
		case KindTime:
			if !fillSeconds(col, lo, hi, dst, d) && !arrowio.FillColumn(col, lo, hi, dst, d) {
				return fmt.Errorf("%w: column %d has type %s", ErrNonNumeric, j, col.DataType())
			}
		default:
			if !arrowio.FillColumn(col, lo, hi, dst, d) {
				return fmt.Errorf("%w: column %d has type %s", ErrNonNumeric, j, col.DataType())
			}
		}
	}
	return nil
}

// categoryValue returns row i of col as a category: its text, or NULL.
// Strings and binary strings are taken as they are; any other type by
// Arrow's text form of the value (ValueStr).
func categoryValue(col arrow.Array, i int) (v string, null bool) {
	if col.IsNull(i) {
		return "", true
	}
	switch a := col.(type) {
	case *array.String:
		return a.Value(i), false
	case *array.LargeString:
		return a.Value(i), false
	case *array.Binary:
		return string(a.Value(i)), false
	case *array.LargeBinary:
		return string(a.Value(i)), false
	}
	return col.ValueStr(i), false
}

// fillSeconds writes rows [lo, hi) of the date or timestamp column col as
// seconds since 1970-01-01 00:00:00 UTC (NaN for NULL) to dst[0],
// dst[stride], ..., and reports false for another type. A timestamp's
// time zone does not matter: Arrow stores the instant since the epoch.
func fillSeconds(col arrow.Array, lo, hi int, dst []float64, stride int) bool {
	var conv func(i int) float64
	switch a := col.(type) {
	case *array.Date32:
		conv = func(i int) float64 { return float64(a.Value(i)) * secondsPerDay }
	case *array.Date64:
		conv = func(i int) float64 { return float64(a.Value(i)) / 1e3 }
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		div := map[arrow.TimeUnit]float64{arrow.Second: 1, arrow.Millisecond: 1e3, arrow.Microsecond: 1e6, arrow.Nanosecond: 1e9}[unit]
		conv = func(i int) float64 { return float64(a.Value(i)) / div }
	default:
		return false
	}
	for i := lo; i < hi; i++ {
		v := math.NaN()
		if !col.IsNull(i) {
			v = conv(i)
		}
		dst[(i-lo)*stride] = v
	}
	return true
}
