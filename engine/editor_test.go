package engine

import (
	"errors"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// newEditorTable creates t (id INT PRIMARY KEY, v INT) in a fresh store.
func newEditorTable(t *testing.T) *table {
	t.Helper()
	store, err := storage.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	if err := store.CreateDatabase("d"); err != nil {
		t.Fatal(err)
	}
	sch := sql.Schema{
		{Name: "id", Type: types.Int32, PrimaryKey: true, Source: "t"},
		{Name: "v", Type: types.Int32, Nullable: true, Source: "t"},
	}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	prop, err := encodeSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.CreateTable("d", "t", as, map[string]string{columnsProperty: prop})
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := newTable("d", st, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// commitRows appends rows to the stored table directly, as another
// statement's commit would.
func commitRows(t *testing.T, tbl *table, rows ...sql.Row) {
	t.Helper()
	rec, err := rowsToRecord(memory.DefaultAllocator, tbl.st.Schema(), rows)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	if err := tbl.st.Append([]arrow.RecordBatch{rec}); err != nil {
		t.Fatal(err)
	}
}

func storedRows(tbl *table) []sql.Row {
	d := tbl.st.Snapshot()
	defer d.Release()
	recs, err := d.ReadAll()
	if err != nil {
		panic(err)
	}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	return recordRows(tbl.schema.Schema, recs)
}

// TestEditorRewriteConflict: a rewriting statement whose base snapshot
// changed before it completed fails with ER_LOCK_DEADLOCK (1213) and
// writes nothing.
func TestEditorRewriteConflict(t *testing.T) {
	tbl := newEditorTable(t)
	ctx := sql.NewEmptyContext()
	commitRows(t, tbl, sql.Row{int32(1), int32(0)}, sql.Row{int32(2), int32(0)})

	for _, stmt := range []struct {
		name string
		run  func(ed *editor) error
	}{
		{"update", func(ed *editor) error {
			return ed.Update(ctx, sql.Row{int32(1), int32(0)}, sql.Row{int32(1), int32(9)})
		}},
		{"delete", func(ed *editor) error { return ed.Delete(ctx, sql.Row{int32(2), int32(0)}) }},
	} {
		t.Run(stmt.name, func(t *testing.T) {
			ed := tbl.editor()
			ed.StatementBegin(ctx)
			if err := stmt.run(ed); err != nil {
				t.Fatal(err)
			}
			before := storedRows(tbl)
			commitRows(t, tbl, sql.Row{int32(len(before) + 10), int32(0)})
			want := storedRows(tbl)
			err := ed.StatementComplete(ctx)
			var se *mysql.SQLError
			if !errors.As(err, &se) || se.Number() != mysql.ERLockDeadlock {
				t.Fatalf("StatementComplete after an interleaved commit: %v, want error %d", err, mysql.ERLockDeadlock)
			}
			if got := storedRows(tbl); !reflect.DeepEqual(got, want) {
				t.Fatalf("failed statement changed the table: %v, want %v", got, want)
			}
		})
	}

	// Without an interleaved commit the rewrite commits.
	ed := tbl.editor()
	ed.StatementBegin(ctx)
	if err := ed.Delete(ctx, sql.Row{int32(1), int32(0)}); err != nil {
		t.Fatal(err)
	}
	if err := ed.StatementComplete(ctx); err != nil {
		t.Fatal(err)
	}
	if n := tbl.st.NumRows(); n != 3 {
		t.Fatalf("%d rows after DELETE, want 3", n)
	}
}

// TestEditorAppendRecheck: an inserting statement re-checks its keys
// against rows committed after its base snapshot; a clash fails it with
// error 1062 and writes nothing, other concurrent keys do not.
func TestEditorAppendRecheck(t *testing.T) {
	tbl := newEditorTable(t)
	ctx := sql.NewEmptyContext()
	commitRows(t, tbl, sql.Row{int32(1), int32(0)})

	ed := tbl.editor()
	ed.StatementBegin(ctx)
	for _, r := range []sql.Row{{int32(10), int32(1)}, {int32(5), int32(1)}} {
		if err := ed.Insert(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	commitRows(t, tbl, sql.Row{int32(5), int32(7)})
	want := storedRows(tbl)
	err := ed.StatementComplete(ctx)
	if !sql.ErrPrimaryKeyViolation.Is(err) {
		t.Fatalf("StatementComplete after a concurrent insert of its key: %v, want a primary key violation", err)
	}
	if got := storedRows(tbl); !reflect.DeepEqual(got, want) {
		t.Fatalf("failed statement changed the table: %v, want %v", got, want)
	}

	ed.StatementBegin(ctx)
	if err := ed.Insert(ctx, sql.Row{int32(6), int32(1)}); err != nil {
		t.Fatal(err)
	}
	commitRows(t, tbl, sql.Row{int32(8), int32(8)})
	if err := ed.StatementComplete(ctx); err != nil {
		t.Fatalf("StatementComplete next to a concurrent insert of another key: %v", err)
	}
	want = []sql.Row{{int32(1), int32(0)}, {int32(5), int32(7)}, {int32(8), int32(8)}, {int32(6), int32(1)}}
	if got := storedRows(tbl); !reflect.DeepEqual(got, want) {
		t.Fatalf("after the INSERT: %v, want %v", got, want)
	}
}
