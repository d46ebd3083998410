package storage

import (
	"errors"
	"maps"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// setProps is an UpdateProperties function that sets and removes fixed keys.
func setProps(set map[string]string, remove []string) func(*Data) (map[string]string, []string, error) {
	return func(*Data) (map[string]string, []string, error) { return set, remove, nil }
}

// TestUpdateProperties: a properties change is one metadata commit that
// survives a reopen, a failing fn or a reserved key changes nothing,
// and the change publishes a new Data (sharing the batches) so that
// pointer equality still tells a writer that the table changed. Catches:
// properties kept only in memory (lost on reopen), an fn that does not
// see the committed properties, a Data whose properties change under a reader, and a
// properties commit that readers of Snapshot cannot notice.
func TestUpdateProperties(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, false)
	before := tbl.Snapshot()
	defer before.Release()

	boom := errors.New("boom")
	if err := tbl.UpdateProperties(func(*Data) (map[string]string, []string, error) {
		return map[string]string{"a": "1"}, nil, boom
	}); err != boom {
		t.Fatalf("UpdateProperties with a failing fn = %v, want %v", err, boom)
	}
	if err := tbl.UpdateProperties(setProps(map[string]string{reservedPrefix + "x": "1"}, nil)); !errors.Is(err, ErrReservedProperty) {
		t.Fatalf("reserved key: %v, want ErrReservedProperty", err)
	}
	if got := tbl.Properties(); len(got) != 0 {
		t.Fatalf("Properties after failed updates = %v, want none", got)
	}
	if d := tbl.Snapshot(); d != before {
		d.Release()
		t.Fatal("a failed update published a new Data")
	} else {
		d.Release()
	}

	must(t, tbl.UpdateProperties(func(cur *Data) (map[string]string, []string, error) {
		if cur != before || cur.NumRows() != 10 {
			t.Errorf("fn saw %p with %d rows, want the current contents", cur, cur.NumRows())
		}
		return map[string]string{"a": "1", "b": "2"}, nil, nil
	}))
	must(t, tbl.UpdateProperties(func(cur *Data) (map[string]string, []string, error) {
		if got := cur.Properties(); got["a"] != "1" || got["b"] != "2" {
			t.Errorf("fn saw properties %v, want the committed ones", got)
		}
		return map[string]string{"c": "3"}, []string{"a"}, nil
	}))
	// Setting what is already set publishes nothing.
	same := tbl.Snapshot()
	must(t, tbl.UpdateProperties(setProps(map[string]string{"c": "3"}, nil)))
	if d := tbl.Snapshot(); d != same {
		t.Error("an update that changed nothing published a new Data")
		d.Release()
	} else {
		d.Release()
	}
	same.Release()
	want := map[string]string{"b": "2", "c": "3"}
	after := tbl.Snapshot()
	if after == before {
		t.Fatal("the update did not publish a new Data")
	}
	if got := after.Properties(); !maps.Equal(got, want) {
		t.Fatalf("new Data properties = %v, want %v", got, want)
	}
	if len(before.Properties()) != 0 {
		t.Fatalf("the old Data's properties changed to %v", before.Properties())
	}
	if after.NumRows() != 10 || len(batchesOf(t, after)) != len(batchesOf(t, before)) || batchesOf(t, after)[0] != batchesOf(t, before)[0] {
		t.Fatal("the new Data does not share the old batches")
	}
	after.Release()
	assertRows(t, mem, tbl, [2]int64{0, 10})
	must(t, s.Close())

	s = openStore(t, dir, mem, false)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	if got := tbl.Properties(); !maps.Equal(got, want) {
		t.Fatalf("Properties after reopen = %v, want %v", got, want)
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})
}

// TestDataExtends: Extends holds exactly when the newer contents start
// with the older rows in order: across appends (merging small files or
// not) and property updates, not across Overwrite, Rewrite or another
// table. Catches: an overwrite or a rewrite that keeps the lineage (the
// SQL layer would then reuse a sorted index over rows that moved).
func TestDataExtends(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	s.opts.MergeFiles = 2 // the next append merges
	snap := func() *Data {
		d := tbl.Snapshot()
		t.Cleanup(d.Release)
		return d
	}
	d0 := snap()
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 5)) // merges the small files
	d1 := snap()
	must(t, tbl.UpdateProperties(setProps(map[string]string{"x": "1"}, nil)))
	d2 := snap()
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 15, 200))
	d3 := snap()
	for _, c := range []struct {
		d, prev *Data
		want    bool
	}{
		{d1, d0, true}, {d2, d1, true}, {d3, d0, true}, {d3, d3, true}, {d0, d1, false},
	} {
		if got := c.d.Extends(c.prev); got != c.want {
			t.Errorf("Data of %d rows extends the one of %d rows: %v, want %v", c.d.NumRows(), c.prev.NumRows(), got, c.want)
		}
	}
	// Extending data starts with the old rows.
	assertSameRows(t, mem, tbl.Schema(), batchesOf(t, d0), sliceData(t, mem, d3, d0.NumRows()))

	must(t, tbl.Rewrite(func(cur *Data) ([]arrow.RecordBatch, error) { return cur.retainedBatches(), nil }))
	d4 := snap()
	rec := makeBatch(mem, tbl.Schema(), 0, 3)
	must(t, tbl.Overwrite([]arrow.RecordBatch{rec}))
	rec.Release()
	d5 := snap()
	other, err := s.CreateTable("db", "other", smallSchema(), nil)
	must(t, err)
	d6 := other.Snapshot()
	defer d6.Release()
	for _, c := range []struct{ d, prev *Data }{{d4, d3}, {d5, d4}, {d6, d0}, {d0, d6}} {
		if c.d.Extends(c.prev) {
			t.Errorf("Data of %d rows extends the one of %d rows across a rewrite or table", c.d.NumRows(), c.prev.NumRows())
		}
	}
}

// sliceData returns d holding only its first n rows (for comparisons).
func sliceData(t *testing.T, mem memory.Allocator, d *Data, n int64) *Data {
	t.Helper()
	b, err := concatBatches(mem, d.Schema(), batchesOf(t, d))
	must(t, err)
	defer b.Release()
	out := newData(d.Schema(), []arrow.RecordBatch{b.NewSlice(0, n)})
	t.Cleanup(out.Release)
	return out
}
