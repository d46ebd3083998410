package engine

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/transform"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	"github.com/shopspring/decimal"
)

// columnsProperty is the Iceberg table property that keeps the SQL column
// definitions (exact MySQL types, primary key), which Iceberg's own type
// system cannot express (VARCHAR lengths, TINYINT, DATETIME precision).
const columnsProperty = "sql.columns"

// columnMeta is the persisted form of one SQL column.
type columnMeta struct {
	Name       string `json:"name"`
	Type       string `json:"type"`
	Nullable   bool   `json:"nullable"`
	PrimaryKey bool   `json:"primary_key,omitempty"`
	KeyPos     int    `json:"key_pos,omitempty"` // 1-based position in the primary key; 0: column order
	Comment    string `json:"comment,omitempty"`
	// Default and OnUpdate are the DEFAULT and ON UPDATE clauses as SQL
	// text (sql.ColumnDefaultValue.String: a literal, CURRENT_TIMESTAMP
	// or a parenthesised expression); nil for none. Tables written before
	// they existed have neither.
	Default       *string `json:"default,omitempty"`
	OnUpdate      *string `json:"on_update,omitempty"`
	AutoIncrement bool    `json:"auto_increment,omitempty"`
}

// encodeSchema serialises a SQL schema into the table property value.
// pkOrdinals, if given, is the order of the primary key's columns
// (PRIMARY KEY (b, a)); without it the key is in column order.
func encodeSchema(sch sql.Schema, pkOrdinals ...int) (string, error) {
	metas := make([]columnMeta, len(sch))
	for i, c := range sch {
		metas[i] = columnMeta{Name: c.Name, Type: c.Type.String(), Nullable: c.Nullable, PrimaryKey: c.PrimaryKey, Comment: c.Comment,
			Default: defaultText(c.Default), OnUpdate: defaultText(c.OnUpdate), AutoIncrement: c.AutoIncrement}
	}
	for pos, o := range pkOrdinals {
		metas[o].KeyPos = pos + 1
	}
	b, err := json.Marshal(metas)
	return string(b), err
}

// decodeSchema is the inverse of encodeSchema. Every call returns new
// columns (go-mysql-server may change a schema's columns); what it
// decodes from prop, the column metadata and the parsed types, is
// shared between calls through decodedSchemas, since every statement
// that names a table decodes its schema.
func decodeSchema(tableName, prop string) (sql.PrimaryKeySchema, error) {
	dec, err := decodeColumns(prop)
	if err != nil {
		return sql.PrimaryKeySchema{}, fmt.Errorf("table %s: %w", tableName, err)
	}
	sch := make(sql.Schema, len(dec.metas))
	for i, m := range dec.metas {
		sch[i] = &sql.Column{Name: m.Name, Type: dec.types[i], Nullable: m.Nullable, PrimaryKey: m.PrimaryKey, Source: tableName, Comment: m.Comment,
			Default: unresolvedDefault(m.Default), OnUpdate: unresolvedDefault(m.OnUpdate), AutoIncrement: m.AutoIncrement}
		if m.AutoIncrement {
			sch[i].Extra = "auto_increment" // DESCRIBE's Extra, as the parser sets it
		}
	}
	return sql.NewPrimaryKeySchema(sch, slices.Clone(dec.pkOrd)...), nil
}

// decodedColumns is a columns property decoded: its column metadata,
// each column's parsed type and the primary key's column ordinals in key
// order. It is shared and must not be changed.
type decodedColumns struct {
	metas []columnMeta
	types []sql.Type
	pkOrd []int
}

// decodedSchemas caches decodeColumns by property text (a string →
// *decodedColumns), up to maxDecodedSchemas entries; parsing the column
// types with go-mysql-server's SQL parser was about a sixth of the CPU
// time of a single-row INSERT. decodedSchemaCount counts its entries.
var (
	decodedSchemas     sync.Map
	decodedSchemaCount atomic.Int64
)

// maxDecodedSchemas bounds decodedSchemas: past it the cache is emptied
// (a server's tables and their schema versions rarely come near it).
const maxDecodedSchemas = 1024

// decodeColumns decodes a columns property (see encodeSchema), from
// decodedSchemas when it was decoded before. A property that does not
// decode is an error and is not cached.
func decodeColumns(prop string) (*decodedColumns, error) {
	if v, ok := decodedSchemas.Load(prop); ok {
		return v.(*decodedColumns), nil
	}
	var metas []columnMeta
	if err := json.Unmarshal([]byte(prop), &metas); err != nil {
		return nil, fmt.Errorf("bad %s property: %w", columnsProperty, err)
	}
	dec := &decodedColumns{metas: metas, types: make([]sql.Type, len(metas))}
	for i, m := range metas {
		typ, err := planbuilder.ParseColumnTypeString(m.Type)
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", m.Name, err)
		}
		dec.types[i] = typ
		if m.PrimaryKey {
			dec.pkOrd = append(dec.pkOrd, i)
		}
	}
	slices.SortStableFunc(dec.pkOrd, func(a, b int) int { return cmp.Compare(metas[a].KeyPos, metas[b].KeyPos) })
	if decodedSchemaCount.Add(1) > maxDecodedSchemas {
		decodedSchemas.Clear()
		decodedSchemaCount.Store(1)
	}
	if v, loaded := decodedSchemas.LoadOrStore(prop, dec); loaded {
		decodedSchemaCount.Add(-1)
		return v.(*decodedColumns), nil
	}
	return dec, nil
}

// defaultText is the persisted form of a column's DEFAULT or ON UPDATE
// clause, nil for none: its SQL text with column references stripped of
// their table name, which go-mysql-server parses again (as
// "SELECT <text>") when a statement needs it. A literal time (a DATETIME
// default the planner converted) is written as a quoted string, since
// the literal's own String is Go's time format.
func defaultText(d *sql.ColumnDefaultValue) *string {
	if d == nil || d.Expr == nil {
		return nil
	}
	if lit, ok := d.Expr.(*expression.Literal); ok {
		if tm, ok := lit.Value().(time.Time); ok {
			s := "'" + tm.Format("2006-01-02 15:04:05.999999") + "'"
			return &s
		}
	}
	e, _, err := transform.Expr(d, func(e sql.Expression) (sql.Expression, transform.TreeIdentity, error) {
		if gf, ok := e.(*expression.GetField); ok {
			return expression.NewGetField(gf.Index(), gf.Type(), gf.Name(), gf.IsNullable()), transform.NewTree, nil
		}
		return e, transform.SameTree, nil
	})
	if err != nil {
		e = d
	}
	s := e.String()
	return &s
}

// unresolvedDefault is the inverse of defaultText: a default that
// go-mysql-server's planner resolves (type, literal or expression) when
// a statement uses it, as for its own in-memory tables.
func unresolvedDefault(text *string) *sql.ColumnDefaultValue {
	if text == nil {
		return nil
	}
	return sql.NewUnresolvedColumnDefaultValue(*text)
}

// arrowType maps a SQL column type to the Arrow type it is stored as.
// Integers of 32 bits or fewer are stored as int32 (Iceberg int), wider
// ones as int64 (Iceberg long); the exact SQL type is kept in the table's
// columns property.
func arrowType(t sql.Type) (arrow.DataType, error) {
	switch t.Type() {
	case sqltypes.Int8, sqltypes.Int16, sqltypes.Int24, sqltypes.Int32,
		sqltypes.Uint8, sqltypes.Uint16, sqltypes.Uint24, sqltypes.Year:
		return arrow.PrimitiveTypes.Int32, nil
	case sqltypes.Int64, sqltypes.Uint32, sqltypes.Uint64:
		return arrow.PrimitiveTypes.Int64, nil
	case sqltypes.Float32:
		return arrow.PrimitiveTypes.Float32, nil
	case sqltypes.Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case sqltypes.Decimal:
		dt := t.(sql.DecimalType)
		return &arrow.Decimal128Type{Precision: int32(dt.Precision()), Scale: int32(dt.Scale())}, nil
	case sqltypes.VarChar, sqltypes.Char, sqltypes.Text:
		return arrow.BinaryTypes.String, nil
	case sqltypes.Date:
		return arrow.FixedWidthTypes.Date32, nil
	case sqltypes.Datetime, sqltypes.Timestamp:
		return &arrow.TimestampType{Unit: arrow.Microsecond}, nil
	}
	return nil, ErrUnsupportedType.New(t.String())
}

// arrowSchema maps a SQL schema to an Arrow schema.
func arrowSchema(sch sql.Schema) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(sch))
	for i, c := range sch {
		at, err := arrowType(c.Type)
		if err != nil {
			return nil, err
		}
		fields[i] = arrow.Field{Name: c.Name, Type: at, Nullable: c.Nullable}
	}
	return arrow.NewSchema(fields, nil), nil
}

// valueReader returns a function reading element i of an Arrow array as the
// Go value go-mysql-server expects for the column type, or nil for NULL.
func valueReader(t sql.Type, arr arrow.Array) func(i int) interface{} {
	isNull := arr.IsNull
	wrap := func(f func(i int) interface{}) func(i int) interface{} {
		if arr.NullN() == 0 {
			return f
		}
		return func(i int) interface{} {
			if isNull(i) {
				return nil
			}
			return f(i)
		}
	}
	switch a := arr.(type) {
	case *array.Int32:
		switch t.Type() {
		case sqltypes.Int8:
			return wrap(func(i int) interface{} { return int8(a.Value(i)) })
		case sqltypes.Int16:
			return wrap(func(i int) interface{} { return int16(a.Value(i)) })
		case sqltypes.Uint8:
			return wrap(func(i int) interface{} { return uint8(a.Value(i)) })
		case sqltypes.Uint16:
			return wrap(func(i int) interface{} { return uint16(a.Value(i)) })
		case sqltypes.Uint24:
			return wrap(func(i int) interface{} { return uint32(a.Value(i)) })
		case sqltypes.Year:
			return wrap(func(i int) interface{} { return int16(a.Value(i)) })
		default:
			return wrap(func(i int) interface{} { return a.Value(i) })
		}
	case *array.Int64:
		switch t.Type() {
		case sqltypes.Uint32:
			return wrap(func(i int) interface{} { return uint32(a.Value(i)) })
		case sqltypes.Uint64:
			return wrap(func(i int) interface{} { return uint64(a.Value(i)) })
		default:
			return wrap(func(i int) interface{} { return a.Value(i) })
		}
	case *array.Float32:
		return wrap(func(i int) interface{} { return a.Value(i) })
	case *array.Float64:
		return wrap(func(i int) interface{} { return a.Value(i) })
	case *array.Decimal128:
		scale := a.DataType().(*arrow.Decimal128Type).Scale
		return wrap(func(i int) interface{} {
			return decimal.NewFromBigInt(a.Value(i).BigInt(), -scale)
		})
	case *array.String:
		return wrap(func(i int) interface{} { return a.Value(i) })
	case *array.LargeString:
		return wrap(func(i int) interface{} { return a.Value(i) })
	case *array.Date32:
		return wrap(func(i int) interface{} { return a.Value(i).ToTime() })
	case *array.Timestamp:
		unit := a.DataType().(*arrow.TimestampType).Unit
		return wrap(func(i int) interface{} { return a.Value(i).ToTime(unit) })
	}
	return func(int) interface{} { return nil }
}

// appendValue appends one go-mysql-server value to an Arrow builder.
// finite refuses NaN and the infinities, which MySQL's FLOAT and DOUBLE
// cannot hold, with error 1367 (Illegal double value).
func finite(x float64, typ string) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return mysql.NewSQLError(1367, mysql.SSUnknownSQLState, "Illegal %s '%v' value found during parsing", typ, x)
	}
	return nil
}

func appendValue(b array.Builder, v interface{}) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch bb := b.(type) {
	case *array.Int32Builder:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		bb.Append(int32(n))
	case *array.Int64Builder:
		n, err := toInt64(v)
		if err != nil {
			return err
		}
		bb.Append(n)
	case *array.Float32Builder:
		switch x := v.(type) {
		case float32:
			if err := finite(float64(x), "FLOAT"); err != nil {
				return err
			}
			bb.Append(x)
		case float64:
			if err := finite(x, "FLOAT"); err != nil {
				return err
			}
			bb.Append(float32(x))
		default:
			return fmt.Errorf("cannot store %T in a FLOAT column", v)
		}
	case *array.Float64Builder:
		switch x := v.(type) {
		case float64:
			if err := finite(x, "DOUBLE"); err != nil {
				return err
			}
			bb.Append(x)
		case float32:
			if err := finite(float64(x), "DOUBLE"); err != nil {
				return err
			}
			bb.Append(float64(x))
		default:
			return fmt.Errorf("cannot store %T in a DOUBLE column", v)
		}
	case *array.Decimal128Builder:
		d, ok := v.(decimal.Decimal)
		if !ok {
			return fmt.Errorf("cannot store %T in a DECIMAL column", v)
		}
		scale := bb.Type().(*arrow.Decimal128Type).Scale
		bi := d.Shift(scale).Round(0).BigInt()
		bb.Append(decimal128.FromBigInt(bi))
	case *array.StringBuilder:
		switch x := v.(type) {
		case string:
			bb.Append(x)
		case []byte:
			bb.Append(string(x))
		default:
			return fmt.Errorf("cannot store %T in a text column", v)
		}
	case *array.Date32Builder:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("cannot store %T in a DATE column", v)
		}
		bb.Append(arrow.Date32FromTime(t))
	case *array.TimestampBuilder:
		t, ok := v.(time.Time)
		if !ok {
			return fmt.Errorf("cannot store %T in a DATETIME column", v)
		}
		bb.Append(arrow.Timestamp(t.UTC().UnixMicro()))
	default:
		return fmt.Errorf("unsupported Arrow builder %T", b)
	}
	return nil
}

func toInt64(v interface{}) (int64, error) {
	switch x := v.(type) {
	case int8:
		return int64(x), nil
	case int16:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case int:
		return int64(x), nil
	case uint8:
		return int64(x), nil
	case uint16:
		return int64(x), nil
	case uint32:
		return int64(x), nil
	case uint64:
		if x > 1<<63-1 {
			return 0, fmt.Errorf("value %d out of range for storage", x)
		}
		return int64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	}
	return 0, fmt.Errorf("cannot store %T in an integer column", v)
}

// rowsToRecord builds one Arrow record batch from SQL rows.
func rowsToRecord(mem memory.Allocator, schema *arrow.Schema, rows []sql.Row) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		for i, f := range b.Fields() {
			if err := appendValue(f, r[i]); err != nil {
				if se, ok := err.(*mysql.SQLError); ok { // keep its number
					return nil, mysql.NewSQLError(se.Num, se.State, "%s for column '%s'", se.Message, schema.Field(i).Name)
				}
				return nil, fmt.Errorf("column %s: %w", schema.Field(i).Name, err)
			}
		}
	}
	return b.NewRecordBatch(), nil
}

// recordRows materialises the rows of Arrow batches as SQL rows.
func recordRows(sch sql.Schema, batches []arrow.RecordBatch) []sql.Row {
	var out []sql.Row
	for _, rec := range batches {
		readers := make([]func(int) interface{}, len(sch))
		for c := range sch {
			readers[c] = valueReader(sch[c].Type, rec.Column(c))
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			row := make(sql.Row, len(sch))
			for c, rd := range readers {
				row[c] = rd(i)
			}
			out = append(out, row)
		}
	}
	return out
}
