package engine_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestPointSelectReadsRowGroups runs a server whose data files hold
// 512 KB of rows (several Parquet row groups each) with a cache of
// 256 KB, smaller than one file, fills a table with a primary key,
// restarts the server (nothing cached), and checks that building the
// key's index reads only the key column, and that a SELECT by key,
// a short range and a lookup in a transaction that inserted a row return
// the right rows while reading only row groups of the files: each point
// SELECT reads one row group and no whole file. Bugs caught: a point
// lookup decoding its whole data file (Segment) instead of its rows; a
// row taken from the wrong group or segment; the rows of a transaction
// mixed up with the committed ones.
func TestPointSelectReadsRowGroups(t *testing.T) {
	dir := t.TempDir()
	cfg := engine.Config{DataDir: dir, DataFileBytes: 512 << 10, CacheMemory: 256 << 10}
	ts := startServerConfig(t, cfg)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE p", "USE p", "CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE, s VARCHAR(8))")
	const rows = 40_000
	for lo := 0; lo < rows; lo += 10_000 {
		var b strings.Builder
		b.WriteString("INSERT INTO k VALUES ")
		for i := lo; i < lo+10_000; i++ {
			if i > lo {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "(%d, %d.5, 's%d')", i, i, i%10)
		}
		mustExec(t, db, b.String())
	}
	db.Close()
	ts.stop()

	ts = startServerConfig(t, cfg)
	db = ts.open("p")
	// The first lookup builds the index of the key from every file,
	// reading the key column of each, not the whole files.
	expectRows(t, db, "SELECT v, s FROM k WHERE id = 1", [][]string{r("1.5", "s1")})
	if st := ts.srv.CacheStats(); st.Misses != 0 || st.RowGroups == 0 {
		t.Errorf("the first lookup after a restart: cache %+v; want the key column read by row groups, no data file read whole", st)
	}
	for _, id := range []int{0, 4_097, 12_345, 20_999, 21_000, 33_333, rows - 1} {
		before := ts.srv.CacheStats()
		expectRows(t, db, fmt.Sprintf("SELECT v, s FROM k WHERE id = %d", id),
			[][]string{r(fmt.Sprintf("%d.5", id), fmt.Sprintf("s%d", id%10))})
		after := ts.srv.CacheStats()
		if after.RowGroups != before.RowGroups+1 || after.Misses != before.Misses || after.Batches != 0 {
			t.Errorf("SELECT of id %d: cache %+v then %+v; want one row group read, no data file", id, before, after)
		}
	}
	before := ts.srv.CacheStats()
	expectRows(t, db, "SELECT id, v FROM k WHERE id BETWEEN 20998 AND 21001 ORDER BY id",
		[][]string{r("20998", "20998.5"), r("20999", "20999.5"), r("21000", "21000.5"), r("21001", "21001.5")})
	if after := ts.srv.CacheStats(); after.RowGroups == before.RowGroups || after.Misses != before.Misses {
		t.Errorf("range of 4 ids: cache %+v then %+v; want row groups read, no data file", before, after)
	}

	before = ts.srv.CacheStats()
	expectRows(t, db, "SELECT id, s FROM k WHERE id IN (39999, 5, 20000) ORDER BY id",
		[][]string{r("5", "s5"), r("20000", "s0"), r("39999", "s9")})
	if after := ts.srv.CacheStats(); after.RowGroups != before.RowGroups+3 || after.Misses != before.Misses {
		t.Errorf("IN of 3 ids: cache %+v then %+v; want 3 row groups read, no data file", before, after)
	}

	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO k VALUES (50000, -1, 'new')"); err != nil {
		t.Fatal(err)
	}
	got, err := tx.Query("SELECT id, v, s FROM k WHERE id IN (7, 50000, 39998) ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for got.Next() {
		var id int
		var v float64
		var s string
		if err := got.Scan(&id, &v, &s); err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fmt.Sprintf("%d %g %s", id, v, s))
	}
	if err := got.Err(); err != nil {
		t.Fatal(err)
	}
	if want := "7 7.5 s7|39998 39998.5 s8|50000 -1 new"; strings.Join(lines, "|") != want {
		t.Errorf("lookup in a transaction that inserted id 50000: %q, want %q", strings.Join(lines, "|"), want)
	}
}
