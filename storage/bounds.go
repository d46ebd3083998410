package storage

// Column bounds of a segment, from its data file's statistics.
//
// A data file's manifest entry records, per column, the least and the
// greatest non-NULL value (Iceberg's lower and upper bounds) and the
// number of NULLs and NaNs. A scan with a filter such as c > 10 can skip
// a file whose greatest c is 10 or less without reading it.

import (
	"encoding/binary"
	"math"

	"github.com/apache/iceberg-go"
)

// Bounds are the bounds of the non-NULL values of one column of one
// segment. For an integer column Lo and Hi are exact (Int is true, and
// LoInt, HiInt hold them); for a floating-point one LoFloat and HiFloat
// do, and the column holds no NaN.
type Bounds struct {
	Int          bool
	LoInt, HiInt int64
	LoFloat      float64
	HiFloat      float64
}

// SegmentBounds returns the bounds of column col of segment i, and ok =
// false when they are not known: an in-memory segment, a column that is
// not an integer or floating-point one, a file without statistics for it
// (or with NaNs), or one written under another type of the column.
func (d *Data) SegmentBounds(i, col int) (b Bounds, ok bool) {
	s := d.segs[i]
	if s.file == nil || col < 0 || col >= s.file.schema.NumFields() {
		return b, false
	}
	f := s.file
	field, found := f.ice.Schema().FindFieldByName(f.schema.Field(col).Name)
	if !found {
		return b, false
	}
	df := f.task.File
	lo, okLo := df.LowerBoundValues()[field.ID]
	hi, okHi := df.UpperBoundValues()[field.ID]
	if !okLo || !okHi || df.NaNValueCounts()[field.ID] > 0 {
		return b, false
	}
	switch field.Type.(type) {
	case iceberg.Int32Type, iceberg.Int64Type:
		l, ok1 := decodeInt(lo)
		h, ok2 := decodeInt(hi)
		return Bounds{Int: true, LoInt: l, HiInt: h}, ok1 && ok2 && l <= h
	case iceberg.Float32Type, iceberg.Float64Type:
		l, ok1 := decodeFloat(lo)
		h, ok2 := decodeFloat(hi)
		return Bounds{LoFloat: l, HiFloat: h}, ok1 && ok2 && l <= h
	}
	return b, false
}

// decodeInt decodes Iceberg's single-value form of an int (4 bytes) or a
// long (8 bytes; an int column promoted to long keeps 4-byte bounds).
func decodeInt(b []byte) (int64, bool) {
	switch len(b) {
	case 4:
		return int64(int32(binary.LittleEndian.Uint32(b))), true
	case 8:
		return int64(binary.LittleEndian.Uint64(b)), true
	}
	return 0, false
}

// decodeFloat decodes a float (4 bytes) or a double (8 bytes).
func decodeFloat(b []byte) (float64, bool) {
	var v float64
	switch len(b) {
	case 4:
		v = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
	case 8:
		v = math.Float64frombits(binary.LittleEndian.Uint64(b))
	default:
		return 0, false
	}
	return v, !math.IsNaN(v)
}
