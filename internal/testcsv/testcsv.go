// Package testcsv reads the gzipped CSV files the tests use (testdata's
// tables, copies of ../shared/datasets files), for tests of every package.
package testcsv

import (
	"compress/gzip"
	"encoding/csv"
	"os"
	"testing"
)

// Read returns every record of the gzipped CSV file at path, the header
// first; any error fails t.
func Read(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	recs, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(recs) == 0 {
		t.Fatalf("%s: no header", path)
	}
	return recs
}
