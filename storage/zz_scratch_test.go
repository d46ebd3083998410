package storage

import (
	"os"
	"testing"
)

func TestScratch(t *testing.T) {
	dir := os.Getenv("SCRATCH_DIR")
	if dir == "" {
		t.Skip()
	}
	mem := checkedAlloc(t)
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", allTypesSchema(), map[string]string{"a": "b"})
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 100))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 100, 100000))
	must(t, s.Close())
}
