package engine

import (
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/sqltypes"

	"github.com/anomalydb/anomalydb/storage"
)

// TestKeyRunsOfStagedRows inserts 100,000 rows with a BIGINT primary key
// and a UNIQUE VARCHAR into a transaction's table whose insert log stages
// every 64 KB: the integer key's map holds only the rows in memory (the
// staged ones are in runs), the string key's map all of them; a duplicate
// of a staged row is refused through the runs; and after a rollback into
// the staged rows the undone keys are free again while the kept ones,
// including those added back to memory, are still taken. Bugs caught:
// staged keys left in the map (memory grows with the rows), a run
// missing or searched wrongly (a duplicate accepted), runs of discarded
// parts kept (a false duplicate), keys of rows added back lost.
func TestKeyRunsOfStagedRows(t *testing.T) {
	defer SetSpillBytes(64 << 10)()
	store, err := storage.OpenWithOptions(t.TempDir(), &storage.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.CreateDatabase("d"); err != nil {
		t.Fatal(err)
	}
	sch := sql.Schema{
		{Name: "id", Type: types.Int64, PrimaryKey: true},
		{Name: "s", Type: types.MustCreateStringWithDefaults(sqltypes.VarChar, 20), Nullable: true},
	}
	as, err := arrowSchema(sch)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.CreateTable("d", "t", as, nil)
	if err != nil {
		t.Fatal(err)
	}
	tbl := &table{db: "d", st: st, schema: sql.NewPrimaryKeySchema(sch, 0)}
	tx := newTransaction(false)
	defer tx.release()
	tt := &txTable{tx: tx, t: tbl, base: st.Snapshot()}
	tt.inserts = newInsertLog(tt.base.Schema(), sch, st.Stage)
	tt.uniq = []*uniqueKey{
		{name: "PRIMARY", primary: true, cols: []int{0}, prefix: []int{0}},
		{name: "us", cols: []int{1}, prefix: []int{0}},
	}
	tt.initRuns()
	tx.tables[st] = tt
	tx.order = append(tx.order, tt)

	row := func(i int64) sql.Row {
		return sql.Row{i, "s" + strings.Repeat("x", int(i%3)) + string(rune('a'+i%26)) + itoa(i)}
	}
	const n = 100_000
	for i := int64(0); i < n/2; i++ {
		if err := tt.insert(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	tx.mark()
	tt.beginStatement(2)
	mark := len(tt.undo)
	for i := int64(n / 2); i < n; i++ {
		if err := tt.insert(row(i)); err != nil {
			t.Fatal(err)
		}
	}
	if tt.inserts.spilledRows < n/2 {
		t.Fatalf("%d of %d rows staged", tt.inserts.spilledRows, n)
	}
	if inMap := len(tt.keys[0]); inMap > n-tt.inserts.spilledRows {
		t.Errorf("integer key map holds %d keys, more than the %d rows in memory", inMap, n-tt.inserts.spilledRows)
	}
	if len(tt.keys[1]) != n {
		t.Errorf("string key map holds %d keys, want all %d", len(tt.keys[1]), n)
	}
	dup := sql.Row{int64(123), "fresh"}
	if err := tt.insert(dup); err == nil || !strings.Contains(err.Error(), "123") {
		t.Errorf("duplicate of a staged row's key: %v", err)
	}
	// Roll the second statement back, into the staged rows.
	tt.undoTo(mark)
	if got := tt.inserts.len(); got != n/2 {
		t.Fatalf("%d rows after the rollback, want %d", got, n/2)
	}
	for _, i := range []int64{n/2 + 10, n - 1} { // staged, then in memory, before the rollback
		if err := tt.insert(sql.Row{i, "new" + itoa(i)}); err != nil {
			t.Errorf("key %d freed by the rollback: %v", i, err)
		}
	}
	for _, i := range []int64{0, n/2 - 1, n / 4} {
		if err := tt.insert(sql.Row{i, "other"}); err == nil {
			t.Errorf("key %d of a kept row accepted again", i)
		}
	}
}

func itoa(i int64) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		i /= 10
		if i == 0 {
			return string(b)
		}
	}
}
