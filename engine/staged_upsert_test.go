package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestUpsertOfStagedRows: in a transaction whose inserted rows were
// staged (a 64 KB insert buffer), INSERT … ON DUPLICATE KEY UPDATE and
// REPLACE of a key of a staged row find that row and change it, and the
// transaction commits the change. Bug caught: a duplicate found in the
// staged rows' key runs reported without the existing row (go-mysql-server
// then updates or deletes nothing, or panics).
func TestUpsertOfStagedRows(t *testing.T) {
	defer engine.SetSpillBytes(64 << 10)()
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE g", "USE g", "CREATE TABLE k (id BIGINT PRIMARY KEY, v BIGINT)")
	var b strings.Builder
	b.WriteString("INSERT INTO g.k VALUES ")
	for i := 0; i < 40_000; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "(%d, %d)", i, i)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{b.String(), "INSERT INTO g.k VALUES (5, 0) ON DUPLICATE KEY UPDATE v = 99", "REPLACE INTO g.k VALUES (6, 77)"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	expectRows(t, db, "SELECT id, v FROM k WHERE id IN (4, 5, 6) ORDER BY id", [][]string{r("4", "4"), r("5", "99"), r("6", "77")})
	expectRows(t, db, "SELECT COUNT(*) FROM k", [][]string{r("40000")})
}
