package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// alteredSchema is smallSchema after ALTER TABLE t RENAME COLUMN v TO w,
// ADD COLUMN note VARCHAR FIRST, MODIFY id INT NULL (int64 → int32 is
// not an Iceberg promotion, so the data files are rewritten).
func alteredSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "w", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
}

// alteredSources maps alteredSchema's fields onto smallSchema's.
var alteredSources = []int{-1, 0, 1}

// alterRows converts the current rows (of smallSchema) to alteredSchema:
// note is "n<id>", id is converted, w keeps v.
func alterRows(mem memory.Allocator, cur *Data) ([]arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, alteredSchema())
	defer b.Release()
	recs := cur.retainedBatches()
	defer releaseBatches(recs)
	for _, rec := range recs {
		ids := rec.Column(0).(*array.Int64)
		vs := rec.Column(1).(*array.Float64)
		for r := 0; r < int(rec.NumRows()); r++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("n%d", ids.Value(r)))
			b.Field(1).(*array.Int32Builder).Append(int32(ids.Value(r)))
			if vs.IsNull(r) {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.Float64Builder).Append(vs.Value(r))
			}
		}
	}
	return []arrow.RecordBatch{b.NewRecordBatch()}, nil
}

// alterTable applies the change of alteredSchema to db.t, setting the
// property "columns" to "altered".
func alterTable(mem memory.Allocator, s *Store) error {
	tbl, err := s.Table("db", "t")
	if err != nil {
		return err
	}
	return tbl.ChangeColumns(alteredSchema(), alteredSources, func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		recs, err := alterRows(mem, cur)
		return recs, map[string]string{"columns": "altered"}, err
	})
}

func TestChangeColumns(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	before := tbl.Snapshot()
	oldIDs := fieldIDs(tbl)
	must(t, alterTable(mem, s))

	check := func(s *Store, where string) {
		t.Helper()
		tbl, err := s.Table("db", "t")
		must(t, err)
		if !tbl.Schema().Equal(alteredSchema()) {
			t.Fatalf("%s: schema %v, want %v", where, tbl.Schema(), alteredSchema())
		}
		if got := tbl.Properties()["columns"]; got != "altered" {
			t.Fatalf("%s: property columns = %q", where, got)
		}
		d := tbl.Snapshot()
		defer d.Release()
		if d.NumRows() != 10 {
			t.Fatalf("%s: %d rows, want 10", where, d.NumRows())
		}
		n := 0
		for _, rec := range batchesOf(t, d) {
			for r := 0; r < int(rec.NumRows()); r++ {
				id := rec.Column(1).(*array.Int32).Value(r)
				if id != int32(n) || rec.Column(0).ValueStr(r) != fmt.Sprintf("n%d", n) {
					t.Fatalf("%s: row %d is %s %d", where, n, rec.Column(0).ValueStr(r), id)
				}
				wantNull := n%7 == 0 // makeBatch's NULLs
				if rec.Column(2).IsNull(r) != wantNull {
					t.Fatalf("%s: row %d: w NULL = %v", where, n, rec.Column(2).IsNull(r))
				}
				n++
			}
		}
		ids := fieldIDs(tbl)
		if ids["w"] != oldIDs["v"] {
			t.Fatalf("%s: renamed column has field ID %d, was %d", where, ids["w"], oldIDs["v"])
		}
		if ids["id"] != oldIDs["id"] || ids["note"] <= oldIDs["v"] {
			t.Fatalf("%s: field IDs %v (before %v): id keeps its ID, note is new", where, ids, oldIDs)
		}
	}
	check(s, "after ChangeColumns")

	// The snapshot taken before keeps its schema and rows.
	if !before.Schema().Equal(smallSchema()) || before.NumRows() != 10 {
		t.Fatalf("old snapshot changed: %v, %d rows", before.Schema(), before.NumRows())
	}
	// A batch of the old schema is refused now.
	old := makeBatch(mem, smallSchema(), 10, 1)
	defer old.Release()
	if err := tbl.Append([]arrow.RecordBatch{old}); !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("Append of the old schema: %v, want ErrSchemaMismatch", err)
	}
	before.Release()
	// New rows of the new schema append (to a new file of the new field IDs).
	add := makeBatch(mem, alteredSchema(), 10, 1)
	defer add.Release()
	must(t, tbl.Append([]arrow.RecordBatch{add}))
	if tbl.NumRows() != 11 {
		t.Fatalf("%d rows after append", tbl.NumRows())
	}
	must(t, s.Close())

	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	if tbl.NumRows() != 11 {
		t.Fatalf("%d rows after reopen, want 11", tbl.NumRows())
	}
	must(t, tbl.Overwrite(nil))
	must(t, alterBack(mem, tbl))
}

// alterBack drops every column but id (ALTER TABLE t DROP note, DROP w).
func alterBack(mem memory.Allocator, tbl *Table) error {
	sc := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	return tbl.ChangeColumns(sc, []int{1}, func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		return nil, nil, nil
	})
}

func TestChangeColumnsFailure(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	defer s.Close()
	want := storeState(t, s)
	bad := errors.New("conversion failed")
	err := tbl.ChangeColumns(alteredSchema(), alteredSources, func(*Data) ([]arrow.RecordBatch, map[string]string, error) {
		return nil, nil, bad
	})
	if !errors.Is(err, bad) {
		t.Fatalf("ChangeColumns: %v, want the error of fn", err)
	}
	// Batches that do not match the new schema are refused.
	err = tbl.ChangeColumns(alteredSchema(), alteredSources, func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		return []arrow.RecordBatch{makeBatch(mem, smallSchema(), 0, 3)}, nil, nil
	})
	if !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("ChangeColumns with batches of the old schema: %v", err)
	}
	if got := storeState(t, s); got != want {
		t.Fatalf("a failed ChangeColumns changed the table:\n%s\nwant\n%s", got, want)
	}
	checkNoOrphans(t, s, "after failed ChangeColumns")
}

// TestRenameColumn: a renamed column keeps its Iceberg field ID and its
// data files (one metadata commit), shows its rows under the new name,
// also after reopening, and the properties set with it are committed.
// Catches: a rename that rewrites nothing in Iceberg (the old name is
// back after reopening), one that drops and adds the field (the values
// read back as NULL).
func TestRenameColumn(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	ids := fieldIDs(tbl)
	files := countDataFiles(t, dir)
	must(t, tbl.RenameColumn(1, "w", map[string]string{"k": "v"}))
	want := arrow.NewSchema([]arrow.Field{smallSchema().Field(0), {Name: "w", Type: arrow.PrimitiveTypes.Float64, Nullable: true}}, nil)
	if err := tbl.RenameColumn(5, "x", nil); err == nil {
		t.Error("RenameColumn of a missing column succeeded")
	}
	must(t, s.Close())
	if n := countDataFiles(t, dir); n != files {
		t.Errorf("%d data files after the rename, %d before", n, files)
	}
	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	if !tbl.Schema().Equal(want) || tbl.Properties()["k"] != "v" {
		t.Fatalf("after reopening: schema %v, properties %v", tbl.Schema(), tbl.Properties())
	}
	if got := fieldIDs(tbl); got["w"] != ids["v"] {
		t.Errorf("field IDs %v, before %v", got, ids)
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})
}

// fieldIDs returns the Iceberg field ID of each column of tbl.
func fieldIDs(tbl *Table) map[string]int {
	tbl.writeMu.Lock()
	defer tbl.writeMu.Unlock()
	ids := map[string]int{}
	for _, f := range tbl.ice.Schema().Fields() {
		ids[f.Name] = f.ID
	}
	return ids
}

// metadataVersions counts the committed metadata versions of table dir
// db/<tableDir>.
func metadataVersions(t *testing.T, dir, tableDir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, warehouseDirName, "db", tableDir, "metadata"))
	must(t, err)
	n := 0
	for _, e := range ents {
		if hadoopVersionFile.MatchString(e.Name()) {
			n++
		}
	}
	return n
}

// TestAlterTable: one AlterTable that renames the table, sets a
// property and changes the columns, moving names between them (RENAME
// COLUMN id TO key, RENAME COLUMN w TO id, MODIFY id VARCHAR: a chain one
// Iceberg schema update cannot express as renames), is one metadata
// version and survives reopening; without Rewrite a rename is metadata
// only (the data files stay, the field keeps its ID); an error of Fn or a
// taken new name changes nothing. Catches: a chain of renames handed to
// Iceberg as is (the update fails), a table rename committed apart from
// the columns (two versions), a metadata-only change that rewrites the
// files.
func TestAlterTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	_, err := s.CreateTable("db", "other", smallSchema(), nil)
	must(t, err)
	ids := fieldIDs(tbl)
	files := countDataFiles(t, dir)

	// Without Rewrite: RENAME COLUMN v TO w, no new data file.
	renamed := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "w", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	versions := metadataVersions(t, dir, "t")
	must(t, s.AlterTable("db", "t", Alteration{Schema: renamed, Sources: []int{0, 1},
		Fn: func(*Data) ([]arrow.RecordBatch, map[string]string, error) {
			return nil, map[string]string{"k": "1"}, nil
		}}))
	if n := metadataVersions(t, dir, "t"); n != versions+1 {
		t.Errorf("renaming a column made %d metadata versions, want 1", n-versions)
	}
	if n := countDataFiles(t, dir); n != files {
		t.Errorf("%d data files after renaming a column, %d before", n, files)
	}
	if got := fieldIDs(tbl); got["w"] != ids["v"] || tbl.Properties()["k"] != "1" {
		t.Errorf("after the rename: field IDs %v (before %v), properties %v", got, ids, tbl.Properties())
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})
	if err := s.AlterTable("db", "t", Alteration{Schema: smallSchema(), Sources: []int{1, 0}}); err == nil {
		t.Error("AlterTable reordering columns without Rewrite succeeded")
	}

	// With Rewrite: id → key, w → id as a string; rename the table.
	final := arrow.NewSchema([]arrow.Field{
		{Name: "key", Type: arrow.PrimitiveTypes.Int64},
		{Name: "id", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rewrite := func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
		b := array.NewRecordBuilder(mem, final)
		defer b.Release()
		for _, rec := range batchesOf(t, cur) {
			for r := 0; r < int(rec.NumRows()); r++ {
				k := rec.Column(0).(*array.Int64).Value(r)
				b.Field(0).(*array.Int64Builder).Append(k)
				b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("s%d", k))
			}
		}
		return []arrow.RecordBatch{b.NewRecordBatch()}, map[string]string{"k": "2"}, nil
	}
	state := storeState(t, s)
	bad := errors.New("conversion failed")
	if err := s.AlterTable("db", "t", Alteration{Schema: final, Sources: []int{0, 1}, Rewrite: true, NewName: "u",
		Fn: func(*Data) ([]arrow.RecordBatch, map[string]string, error) { return nil, nil, bad }}); !errors.Is(err, bad) {
		t.Fatalf("AlterTable with a failing Fn: %v", err)
	}
	if err := s.AlterTable("db", "t", Alteration{Schema: final, Sources: []int{0, 1}, Rewrite: true, NewName: "OTHER", Fn: rewrite}); !errors.Is(err, ErrTableExists) {
		t.Fatalf("AlterTable renaming onto a table: %v, want ErrTableExists", err)
	}
	if got := storeState(t, s); got != state {
		t.Fatalf("a failed AlterTable changed the store:\n%s\nwant\n%s", got, state)
	}
	versions = metadataVersions(t, dir, "t")
	must(t, s.AlterTable("db", "t", Alteration{Schema: final, Sources: []int{0, 1}, Rewrite: true, NewName: "u", Fn: rewrite}))
	if n := metadataVersions(t, dir, "t"); n != versions+1 {
		t.Errorf("the rewrite and rename made %d metadata versions, want 1", n-versions)
	}
	if err := tbl.Append(nil); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("write through the old name: %v, want ErrTableNotFound", err)
	}
	check := func(s *Store, where string) {
		t.Helper()
		if _, err := s.Table("db", "t"); !errors.Is(err, ErrTableNotFound) {
			t.Fatalf("%s: old name: %v", where, err)
		}
		u, err := s.Table("db", "u")
		must(t, err)
		if !u.Schema().Equal(final) || u.Properties()["k"] != "2" {
			t.Fatalf("%s: schema %v, properties %v", where, u.Schema(), u.Properties())
		}
		d := u.Snapshot()
		defer d.Release()
		if d.NumRows() != 10 || batchesOf(t, d)[0].Column(1).ValueStr(3) != "s3" || batchesOf(t, d)[0].Column(0).ValueStr(3) != "3" {
			t.Fatalf("%s: %d rows, row 3 (%s, %q)", where, d.NumRows(), batchesOf(t, d)[0].Column(0).ValueStr(3), batchesOf(t, d)[0].Column(1).ValueStr(3))
		}
	}
	check(s, "after AlterTable")
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	check(s, "after reopening")
}
