package storage

// How data files encode their columns.
//
// Parquet's dictionary encoding pays off for columns with few distinct
// values (names, codes, small integers) and costs for measurements: a
// DOUBLE column of distinct values gets a dictionary as large as the
// column plus an index per row, and every value is hashed on the way.
// BenchmarkDataFileEncoding measures one data file's rows (30,000 × a
// BIGINT and 16 DOUBLE columns): 60 ms and 4.9 MB with dictionaries and
// zstd, 12 ms and 4.0 MB without dictionaries and with snappy (the
// compression the store sets, store.go). Floating-point columns are therefore written without a
// dictionary; every other column with one (iceberg-go's default). The
// choice is a table property per column, set for every column whenever
// the columns are set (create, move, ALTER, RENAME COLUMN), so that a
// retyped column gets the choice of its new type; a key left by a column
// since dropped or renamed names no column and has no effect.

import (
	"maps"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// dictColumnPrefix is iceberg-go's per-column dictionary switch
// (write.parquet.dict-encoding-enabled.column.<parquet column path>).
const dictColumnPrefix = "write.parquet.dict-encoding-enabled.column."

// encodingProps returns the encoding properties of a table with the
// columns of schema.
func encodingProps(schema *arrow.Schema) iceberg.Properties {
	props := iceberg.Properties{}
	for _, f := range schema.Fields() {
		dict := "true"
		switch f.Type.ID() {
		case arrow.FLOAT32, arrow.FLOAT64:
			dict = "false"
		}
		props[dictColumnPrefix+f.Name] = dict
	}
	return props
}

// withEncodingProps adds schema's encoding properties to props.
func withEncodingProps(props iceberg.Properties, schema *arrow.Schema) iceberg.Properties {
	maps.Copy(props, encodingProps(schema))
	return props
}

// isEncodingProp reports whether k is an encoding property the store
// manages (hidden from Table.Properties, refused from users).
func isEncodingProp(k string) bool { return strings.HasPrefix(k, dictColumnPrefix) }
