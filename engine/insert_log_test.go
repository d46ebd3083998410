package engine

import (
	"fmt"
	"github.com/anomalydb/anomalydb/storage"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestInsertLog checks insertLog against a plain slice of rows through
// adds, reads, truncations inside a packed batch, at a batch boundary and
// in the unpacked tail, and the rows a commit takes; then the same with
// every packed batch staged to a data file of a real table as soon as it
// is packed (spilled), so that truncations go into the staged rows.
func TestInsertLog(t *testing.T) {
	for _, spill := range []bool{false, true} {
		t.Run(fmt.Sprint("spill=", spill), func(t *testing.T) { testInsertLog(t, spill) })
	}
}

func testInsertLog(t *testing.T, spill bool) {
	sch := sql.Schema{
		{Name: "id", Type: types.Int64, Nullable: false},
		{Name: "v", Type: types.Float64, Nullable: true},
		{Name: "s", Type: types.Text, Nullable: true},
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	mk := func(i int) sql.Row {
		var v, s interface{}
		if i%5 != 0 {
			v, s = float64(i)/4, fmt.Sprint("r", i)
		}
		return sql.Row{int64(i), v, s}
	}
	var stage func([]arrow.RecordBatch) (*storage.Staged, error)
	if spill {
		store, err := storage.OpenWithOptions(t.TempDir(), &storage.Options{NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		defer store.Close()
		if err := store.CreateDatabase("d"); err != nil {
			t.Fatal(err)
		}
		tbl, err := store.CreateTable("d", "t", schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		stage = tbl.Stage
		defer func(old int64) { spillBytes = old }(spillBytes)
		spillBytes = 1
	}
	l := newInsertLog(schema, sch, stage)
	defer l.release()
	var model []sql.Row
	check := func(when string) {
		t.Helper()
		if l.len() != len(model) {
			t.Fatalf("%s: len %d, want %d", when, l.len(), len(model))
		}
		n := 0
		l.each(0, func(i int, r sql.Row) bool {
			if fmt.Sprint(r) != fmt.Sprint(model[i]) || i != n {
				t.Fatalf("%s: row %d = %v, want %v", when, i, r, model[i])
			}
			n++
			return true
		})
		if n != len(model) {
			t.Fatalf("%s: each visited %d rows", when, n)
		}
		for _, i := range []int{0, packRows - 1, packRows, len(model) - 1} {
			if i >= 0 && i < len(model) && fmt.Sprint(l.at(i)) != fmt.Sprint(model[i]) {
				t.Fatalf("%s: at(%d) = %v, want %v", when, i, l.at(i), model[i])
			}
		}
		from := len(model) * 2 / 3
		l.each(from, func(i int, r sql.Row) bool {
			if i < from || fmt.Sprint(r) != fmt.Sprint(model[i]) {
				t.Fatalf("%s: each(%d) gave row %d = %v", when, from, i, r)
			}
			return true
		})
		recs, err := l.batches()
		if err != nil {
			t.Fatal(err)
		}
		var got []sql.Row
		for _, d := range l.stagedData() {
			all, err := d.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, recordRows(sch, all)...)
			releaseAll(all)
		}
		if spill != (len(l.spilled) > 0) && len(model) > 2*packRows {
			t.Fatalf("%s: %d staged parts with spilling %v", when, len(l.spilled), spill)
		}
		if got = append(got, recordRows(sch, recs)...); fmt.Sprint(got) != fmt.Sprint(model) && len(model) > 0 {
			t.Fatalf("%s: staged parts and batches hold other rows", when)
		}
		releaseAll(recs)
	}
	add := func(n int) {
		for i := 0; i < n; i++ {
			r := mk(len(model))
			l.add(r)
			model = append(model, r)
		}
	}
	add(3*packRows + 100)
	if len(l.packed)+len(l.spilled) != 3 {
		t.Fatalf("%d packed batches and %d staged after %d rows", len(l.packed), len(l.spilled), l.len())
	}
	check("added")
	for _, n := range []int{3*packRows + 50, 2*packRows + 7, 2 * packRows, 5} {
		l.truncate(n)
		model = model[:n]
		check(fmt.Sprint("truncated to ", n))
		add(packRows + 3)
		check(fmt.Sprint("added after truncating to ", n))
	}
	staged, packed, rows := l.view()
	n := len(packed)*packRows + len(rows)
	for _, d := range staged {
		n += int(d.NumRows())
	}
	releaseAll(packed)
	if n != len(model) {
		t.Fatalf("view: %d staged parts, %d batches and %d rows for %d", len(staged), len(packed), len(rows), len(model))
	}
}

// TestInsertLogUnpackable: a row the storage form cannot hold stops
// packing (it is tried once, not on every later row) without losing or
// misnumbering rows, and a truncation below it packs again.
func TestInsertLogUnpackable(t *testing.T) {
	sch := sql.Schema{{Name: "id", Type: types.Int64, Nullable: false}}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	l := newInsertLog(schema, sch, nil)
	defer l.release()
	var model []sql.Row
	add := func(v interface{}) {
		l.add(sql.Row{v})
		model = append(model, sql.Row{v})
	}
	for i := 0; i < 100; i++ {
		add(int64(i))
	}
	add("not a number") // cannot be packed
	for i := 101; i < 2*packRows+10; i++ {
		add(int64(i))
	}
	if len(l.packed) != 0 || !l.stuck {
		t.Fatalf("packed %d batches past an unpackable row (stuck %v)", len(l.packed), l.stuck)
	}
	from := packRows + 5
	l.each(from, func(i int, r sql.Row) bool {
		if fmt.Sprint(r) != fmt.Sprint(model[i]) {
			t.Fatalf("each(%d): row %d = %v, want %v", from, i, r, model[i])
		}
		return true
	})
	l.truncate(50)
	model = model[:50]
	for i := 50; i < packRows+20; i++ {
		add(int64(i))
	}
	if len(l.packed) != 1 || l.len() != len(model) {
		t.Fatalf("after truncating below the unpackable row: %d batches, %d rows, want 1 and %d", len(l.packed), l.len(), len(model))
	}
	l.each(0, func(i int, r sql.Row) bool {
		if fmt.Sprint(r) != fmt.Sprint(model[i]) {
			t.Fatalf("row %d = %v, want %v", i, r, model[i])
		}
		return true
	})
}
