package storage_test

import (
	"fmt"
	"log"
	"os"

	"github.com/anomalydb/anomalydb/storage"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func Example() {
	dir, err := os.MkdirTemp("", "anomalydb-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := storage.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	if err := s.CreateDatabase("Sensors"); err != nil {
		log.Fatal(err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "reading", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	tbl, err := s.CreateTable("sensors", "Readings", schema, map[string]string{"sql.primary-key": "id"})
	if err != nil {
		log.Fatal(err)
	}

	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3}, nil)
	b.Field(1).(*array.Float64Builder).AppendValues([]float64{0.5, 0, 9.75}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := tbl.Append([]arrow.RecordBatch{rec}); err != nil { // one Iceberg snapshot
		log.Fatal(err)
	}
	if err := s.Close(); err != nil {
		log.Fatal(err)
	}

	// Everything committed is there after reopening.
	s, err = storage.Open(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	tbl, err = s.Table("SENSORS", "readings")
	if err != nil {
		log.Fatal(err)
	}
	d := tbl.Snapshot()
	defer d.Release()
	fmt.Println(tbl.Database(), tbl.Name(), d.NumRows(), tbl.Properties()["sql.primary-key"])
	err = d.Scan(0, func(batch arrow.RecordBatch, _ int64) error {
		fmt.Println(batch.Column(1))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// Sensors Readings 3 id
	// [0.5 (null) 9.75]
}
