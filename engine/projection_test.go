package engine

import (
	"io"
	"reflect"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
)

// scanRows reads every row of a table's scan.
func scanRows(t *testing.T, tbl sql.Table) []sql.Row {
	t.Helper()
	ctx := sql.NewEmptyContext()
	parts, err := tbl.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer parts.Close(ctx)
	var out []sql.Row
	for {
		p, err := parts.Next(ctx)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		it, err := tbl.PartitionRows(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for {
			row, err := it.Next(ctx)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, row)
		}
		it.Close(ctx)
	}
}

func schemaNames(s sql.Schema) []string {
	names := make([]string, len(s))
	for i, c := range s {
		names[i] = c.Name
	}
	return names
}

// TestTableProjections: a projected table scans and describes only the
// named columns, in the order named; the full table is unaffected.
func TestTableProjections(t *testing.T) {
	tbl := newEditorTable(t)
	commitRows(t, tbl, sql.Row{int32(1), int32(10)}, sql.Row{int32(2), nil})
	if tbl.Projections() != nil {
		t.Fatalf("Projections() of a fresh table = %v, want nil", tbl.Projections())
	}

	for _, tc := range []struct {
		names   []string
		proj    []string // want Projections()
		columns []string // want Schema()
		rows    []sql.Row
	}{
		{[]string{"V"}, []string{"V"}, []string{"v"}, []sql.Row{{int32(10)}, {nil}}},
		{[]string{"v", "id"}, []string{"v", "id"}, []string{"v", "id"}, []sql.Row{{int32(10), int32(1)}, {nil, int32(2)}}},
		{[]string{}, []string{}, []string{}, []sql.Row{{}, {}}},
		{nil, nil, []string{"id", "v"}, []sql.Row{{int32(1), int32(10)}, {int32(2), nil}}},
		{[]string{"v", "nope"}, nil, []string{"id", "v"}, []sql.Row{{int32(1), int32(10)}, {int32(2), nil}}},
	} {
		pt := tbl.WithProjections(tc.names).(*table)
		if got := pt.Projections(); !reflect.DeepEqual(got, tc.proj) {
			t.Errorf("WithProjections(%q).Projections() = %q, want %q", tc.names, got, tc.proj)
		}
		if got := schemaNames(pt.Schema()); !reflect.DeepEqual(got, tc.columns) {
			t.Errorf("WithProjections(%q).Schema() = %q, want %q", tc.names, got, tc.columns)
		}
		if got := scanRows(t, pt); !reflect.DeepEqual(got, tc.rows) {
			t.Errorf("WithProjections(%q) scan = %v, want %v", tc.names, got, tc.rows)
		}
		if got := len(pt.PrimaryKeySchema().Schema); got != 2 {
			t.Errorf("WithProjections(%q).PrimaryKeySchema() has %d columns, want 2", tc.names, got)
		}
	}
	if got := schemaNames(tbl.Schema()); !reflect.DeepEqual(got, []string{"id", "v"}) {
		t.Fatalf("Schema() of the original table = %q after projections", got)
	}
	want := []sql.Row{{int32(1), int32(10)}, {int32(2), nil}}
	if got := scanRows(t, tbl); !reflect.DeepEqual(got, want) {
		t.Fatalf("scan of the original table = %v, want %v", got, want)
	}
}
