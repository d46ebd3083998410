package engine

import (
	"path/filepath"
	"sort"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/storage"
)

// examplesDatabase is where the shipped datasets are loaded.
const examplesDatabase = "examples"

// loadExamples creates the database "examples" with one table per gzipped
// CSV in dir: an id BIGINT primary key, the DOUBLE features and the INT
// label. Each table is committed as one Iceberg snapshot.
func loadExamples(store *storage.Store, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.csv.gz"))
	if err != nil || len(files) == 0 {
		return err
	}
	sort.Strings(files)
	if !hasDatabase(store, examplesDatabase) {
		if err := store.CreateDatabase(examplesDatabase); err != nil {
			return err
		}
	}
	for _, f := range files {
		if err := loadExample(store, f); err != nil {
			return err
		}
	}
	return nil
}

func loadExample(store *storage.Store, file string) error {
	data, err := arrowio.ReadNumericCSV(memory.DefaultAllocator, file, 64*1024, true)
	if err != nil {
		return err
	}
	defer data.Release()
	name := exampleName(file)
	sch := make(sql.Schema, 0, len(data.Schema.Fields()))
	for _, f := range data.Schema.Fields() {
		col := &sql.Column{Name: f.Name, Source: name, Nullable: true, Type: types.Float64}
		switch f.Name {
		case "id":
			col.Type, col.Nullable, col.PrimaryKey = types.Int64, false, true
		case "label":
			col.Type = types.Int32
		}
		sch = append(sch, col)
	}
	prop, err := encodeSchema(sch)
	if err != nil {
		return err
	}
	as, err := arrowSchema(sch)
	if err != nil {
		return err
	}
	t, err := store.CreateTable(examplesDatabase, name, as, map[string]string{columnsProperty: prop})
	if err != nil {
		return err
	}
	return t.Append(data.Batches)
}
