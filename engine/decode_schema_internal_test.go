package engine

import (
	"fmt"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// TestDecodeSchemaCache checks what decodeSchema shares between calls
// through decodedSchemas: two decodes of one property give equal schemas
// whose columns and key ordinals are each the caller's to change; two
// properties that differ only in a type (as before and after an ALTER
// TABLE … MODIFY) give their own types, whatever the table's name; and
// the cache stays within maxDecodedSchemas. Catches: returning the
// cached columns or key ordinals themselves, keying the cache by the
// table's name, a cache that never empties.
func TestDecodeSchemaCache(t *testing.T) {
	prop := func(typ string) string {
		sch := sql.Schema{
			{Name: "b", Type: types.Int64, PrimaryKey: true},
			{Name: "a", Type: types.Int32, PrimaryKey: true},
			{Name: "v", Type: parsedType(t, typ), Nullable: true},
		}
		p, err := encodeSchema(sch, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	p1 := prop("double")
	first, err := decodeSchema("t", p1)
	if err != nil {
		t.Fatal(err)
	}
	first.Schema[2].Name, first.Schema[2].Type, first.Schema[0].Source = "changed", types.Text, "other"
	first.PkOrdinals[0] = 2
	again, err := decodeSchema("t", p1)
	if err != nil {
		t.Fatal(err)
	}
	if got := again.Schema[2]; got.Name != "v" || got.Type != types.Float64 || !got.Nullable || again.Schema[0].Source != "t" {
		t.Errorf("second decode after changing the first one's columns: column %s %v nullable %v, source %q; want v double nullable, source t", got.Name, got.Type, got.Nullable, again.Schema[0].Source)
	}
	if fmt.Sprint(again.PkOrdinals) != "[1 0]" {
		t.Errorf("key ordinals %v after changing the first decode's; want [1 0] (a, then b)", again.PkOrdinals)
	}
	other, err := decodeSchema("t", prop("varchar(20)"))
	if err != nil {
		t.Fatal(err)
	}
	if got := other.Schema[2].Type.String(); got != "varchar(20)" {
		t.Errorf("same table, column v retyped: decoded as %s, want varchar(20)", got)
	}
	for i := range maxDecodedSchemas + 10 {
		if _, err := decodeSchema("t", prop(fmt.Sprintf("varchar(%d)", i+1))); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	decodedSchemas.Range(func(any, any) bool { n++; return true })
	if n > maxDecodedSchemas {
		t.Errorf("%d schemas cached, want at most %d", n, maxDecodedSchemas)
	}
	if _, err := decodeSchema("t", `[{"name":"x","type":"no such type"}]`); err == nil {
		t.Error("a column of an unknown type decoded without an error")
	}
}

// parsedType parses a column type as a statement would.
func parsedType(t *testing.T, s string) sql.Type {
	t.Helper()
	dec, err := decodeColumns(`[{"name":"x","type":"` + s + `"}]`)
	if err != nil {
		t.Fatal(err)
	}
	return dec.types[0]
}
