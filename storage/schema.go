package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// propArrowSchema is the table property holding the declared Arrow schema.
// Iceberg has one "int" type for Arrow int8, int16 and int32 and one
// "string" type for string and large string, so the exact Arrow types are
// kept here and restored when a table is loaded.
const propArrowSchema = "anomalydb.arrow-schema"

// fieldSpec is the JSON form of one declared Arrow field in propArrowSchema.
type fieldSpec struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Nullable  bool   `json:"nullable"`
	Precision int32  `json:"precision,omitempty"`
	Scale     int32  `json:"scale,omitempty"`
	TimeZone  string `json:"tz,omitempty"`
}

// Type names used in fieldSpec.Type.
const (
	tInt8        = "int8"
	tInt16       = "int16"
	tInt32       = "int32"
	tInt64       = "int64"
	tFloat32     = "float32"
	tFloat64     = "float64"
	tBool        = "bool"
	tString      = "string"
	tLargeString = "large_string"
	tBinary      = "binary"
	tLargeBinary = "large_binary"
	tDate32      = "date32"
	tTimestampUs = "timestamp_us"
	tDecimal128  = "decimal128"
)

// toIcebergType maps one Arrow type to its Iceberg type and its fieldSpec
// (name and nullability are filled in by the caller).
func toIcebergType(dt arrow.DataType) (iceberg.Type, fieldSpec, error) {
	switch t := dt.(type) {
	case *arrow.Int8Type:
		return iceberg.PrimitiveTypes.Int32, fieldSpec{Type: tInt8}, nil
	case *arrow.Int16Type:
		return iceberg.PrimitiveTypes.Int32, fieldSpec{Type: tInt16}, nil
	case *arrow.Int32Type:
		return iceberg.PrimitiveTypes.Int32, fieldSpec{Type: tInt32}, nil
	case *arrow.Int64Type:
		return iceberg.PrimitiveTypes.Int64, fieldSpec{Type: tInt64}, nil
	case *arrow.Float32Type:
		return iceberg.PrimitiveTypes.Float32, fieldSpec{Type: tFloat32}, nil
	case *arrow.Float64Type:
		return iceberg.PrimitiveTypes.Float64, fieldSpec{Type: tFloat64}, nil
	case *arrow.BooleanType:
		return iceberg.PrimitiveTypes.Bool, fieldSpec{Type: tBool}, nil
	case *arrow.StringType:
		return iceberg.PrimitiveTypes.String, fieldSpec{Type: tString}, nil
	case *arrow.LargeStringType:
		return iceberg.PrimitiveTypes.String, fieldSpec{Type: tLargeString}, nil
	case *arrow.BinaryType:
		return iceberg.PrimitiveTypes.Binary, fieldSpec{Type: tBinary}, nil
	case *arrow.LargeBinaryType:
		return iceberg.PrimitiveTypes.Binary, fieldSpec{Type: tLargeBinary}, nil
	case *arrow.Date32Type:
		return iceberg.PrimitiveTypes.Date, fieldSpec{Type: tDate32}, nil
	case *arrow.TimestampType:
		if t.Unit != arrow.Microsecond {
			return nil, fieldSpec{}, fmt.Errorf("%w: %s (only microsecond timestamps are supported)", ErrUnsupportedType, dt)
		}
		if t.TimeZone == "" {
			return iceberg.PrimitiveTypes.Timestamp, fieldSpec{Type: tTimestampUs}, nil
		}
		return iceberg.PrimitiveTypes.TimestampTz, fieldSpec{Type: tTimestampUs, TimeZone: t.TimeZone}, nil
	case *arrow.Decimal128Type:
		if t.Precision < 1 || t.Precision > 38 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fieldSpec{}, fmt.Errorf("%w: %s (precision must be 1..38, scale 0..precision)", ErrUnsupportedType, dt)
		}
		return iceberg.DecimalTypeOf(int(t.Precision), int(t.Scale)),
			fieldSpec{Type: tDecimal128, Precision: t.Precision, Scale: t.Scale}, nil
	}
	return nil, fieldSpec{}, fmt.Errorf("%w: %s", ErrUnsupportedType, dt)
}

// arrowType is the inverse of toIcebergType for a decoded fieldSpec.
func (f fieldSpec) arrowType() (arrow.DataType, error) {
	switch f.Type {
	case tInt8:
		return arrow.PrimitiveTypes.Int8, nil
	case tInt16:
		return arrow.PrimitiveTypes.Int16, nil
	case tInt32:
		return arrow.PrimitiveTypes.Int32, nil
	case tInt64:
		return arrow.PrimitiveTypes.Int64, nil
	case tFloat32:
		return arrow.PrimitiveTypes.Float32, nil
	case tFloat64:
		return arrow.PrimitiveTypes.Float64, nil
	case tBool:
		return arrow.FixedWidthTypes.Boolean, nil
	case tString:
		return arrow.BinaryTypes.String, nil
	case tLargeString:
		return arrow.BinaryTypes.LargeString, nil
	case tBinary:
		return arrow.BinaryTypes.Binary, nil
	case tLargeBinary:
		return arrow.BinaryTypes.LargeBinary, nil
	case tDate32:
		return arrow.FixedWidthTypes.Date32, nil
	case tTimestampUs:
		return &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: f.TimeZone}, nil
	case tDecimal128:
		return &arrow.Decimal128Type{Precision: f.Precision, Scale: f.Scale}, nil
	}
	return nil, fmt.Errorf("%w: stored type %q", ErrUnsupportedType, f.Type)
}

// toIcebergSchema converts a declared Arrow schema into an Iceberg schema
// (field IDs 1..n in field order, NOT NULL columns required) and the JSON
// value stored under propArrowSchema. Column names must be unique when
// compared case-insensitively, as they are in MySQL.
func toIcebergSchema(sc *arrow.Schema) (*iceberg.Schema, string, error) {
	if sc == nil || sc.NumFields() == 0 {
		return nil, "", fmt.Errorf("%w: a table needs at least one column", ErrSchemaMismatch)
	}
	seen := make(map[string]bool, sc.NumFields())
	fields := make([]iceberg.NestedField, sc.NumFields())
	specs := make([]fieldSpec, sc.NumFields())
	for i, f := range sc.Fields() {
		if f.Name == "" {
			return nil, "", fmt.Errorf("%w: column %d has an empty name", ErrSchemaMismatch, i)
		}
		if seen[strings.ToLower(f.Name)] {
			return nil, "", fmt.Errorf("%w: duplicate column name %q", ErrSchemaMismatch, f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		it, spec, err := toIcebergType(f.Type)
		if err != nil {
			return nil, "", fmt.Errorf("column %q: %w", f.Name, err)
		}
		spec.Name, spec.Nullable = f.Name, f.Nullable
		specs[i] = spec
		fields[i] = iceberg.NestedField{ID: i + 1, Name: f.Name, Type: it, Required: !f.Nullable}
	}
	enc, err := json.Marshal(specs)
	if err != nil {
		return nil, "", fmt.Errorf("storage: encoding schema: %w", err)
	}
	return iceberg.NewSchema(0, fields...), string(enc), nil
}

// declaredSchema returns the Arrow schema a table was created with. It is
// decoded from propArrowSchema when that property is present and agrees
// with the Iceberg schema (same column names in the same order); otherwise,
// for tables written by other engines or evolved elsewhere, it is derived
// from the Iceberg schema.
func declaredSchema(isc *iceberg.Schema, props iceberg.Properties) (*arrow.Schema, error) {
	if enc, ok := props[propArrowSchema]; ok {
		var specs []fieldSpec
		if err := json.Unmarshal([]byte(enc), &specs); err == nil && len(specs) == isc.NumFields() {
			fields := make([]arrow.Field, len(specs))
			ok := true
			for i, s := range specs {
				dt, err := s.arrowType()
				if err != nil || s.Name != isc.Field(i).Name {
					ok = false
					break
				}
				fields[i] = arrow.Field{Name: s.Name, Type: dt, Nullable: s.Nullable}
			}
			if ok {
				return arrow.NewSchema(fields, nil), nil
			}
		}
	}
	derived, err := table.SchemaToArrowSchema(isc, nil, false, false)
	if err != nil {
		return nil, fmt.Errorf("storage: converting Iceberg schema: %w", err)
	}
	fields := make([]arrow.Field, derived.NumFields())
	for i, f := range derived.Fields() {
		if _, _, err := toIcebergType(f.Type); err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		fields[i] = arrow.Field{Name: f.Name, Type: f.Type, Nullable: f.Nullable}
	}
	return arrow.NewSchema(fields, nil), nil
}

// checkBatch reports whether rec can be stored in a table with schema sc:
// the same column names (exactly) and types in the same order, and no NULLs
// in NOT NULL columns. Field nullability flags and metadata of rec itself
// are not compared.
func checkBatch(sc *arrow.Schema, rec arrow.RecordBatch) error {
	if rec == nil {
		return fmt.Errorf("%w: nil batch", ErrSchemaMismatch)
	}
	rs := rec.Schema()
	if rs.NumFields() != sc.NumFields() {
		return fmt.Errorf("%w: batch has %d columns, table has %d", ErrSchemaMismatch, rs.NumFields(), sc.NumFields())
	}
	for i, f := range sc.Fields() {
		g := rs.Field(i)
		if g.Name != f.Name {
			return fmt.Errorf("%w: column %d is %q, table has %q", ErrSchemaMismatch, i, g.Name, f.Name)
		}
		if !arrow.TypeEqual(g.Type, f.Type) {
			return fmt.Errorf("%w: column %q has type %s, table has %s", ErrSchemaMismatch, f.Name, g.Type, f.Type)
		}
		if !f.Nullable && rec.Column(i).NullN() > 0 {
			return fmt.Errorf("%w: column %q is NOT NULL but the batch has %d NULLs", ErrSchemaMismatch, f.Name, rec.Column(i).NullN())
		}
	}
	return nil
}

// convertArray returns arr as type dt: arr itself (retained) when the types
// are equal, the same buffers under the new type when only the time zone of
// a timestamp differs, and a converted copy (allocated from the allocator in
// ctx) otherwise. The caller owns the result and must Release it.
func convertArray(ctx context.Context, arr arrow.Array, dt arrow.DataType) (arrow.Array, error) {
	if arrow.TypeEqual(arr.DataType(), dt) {
		arr.Retain()
		return arr, nil
	}
	if _, ok := arr.DataType().(*arrow.TimestampType); ok {
		if tt, ok := dt.(*arrow.TimestampType); ok && tt.Unit == arr.DataType().(*arrow.TimestampType).Unit {
			d := arr.Data()
			nd := array.NewData(dt, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
			defer nd.Release()
			return array.MakeFromData(nd), nil
		}
	}
	out, err := compute.CastArray(ctx, arr, compute.SafeCastOptions(dt))
	if err != nil {
		return nil, fmt.Errorf("storage: converting %s to %s: %w", arr.DataType(), dt, err)
	}
	return out, nil
}

// convertBatch returns rec with its columns converted to the types of sc and
// sc as its schema. The caller owns the result and must Release it.
func convertBatch(ctx context.Context, sc *arrow.Schema, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	if int(rec.NumCols()) != sc.NumFields() {
		return nil, fmt.Errorf("%w: batch has %d columns, want %d", ErrSchemaMismatch, rec.NumCols(), sc.NumFields())
	}
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, f := range sc.Fields() {
		c, err := convertArray(ctx, rec.Column(i), f.Type)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", f.Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sc, cols, rec.NumRows()), nil
}
