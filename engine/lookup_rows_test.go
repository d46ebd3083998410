package engine_test

import (
	gosql "database/sql"
	"fmt"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// rowGroupRows is the number of rows of rowGroupTable's table.
const rowGroupRows = 40_000

// rowGroupTable runs a server whose data files hold 512 KB of rows
// (several Parquet row groups each) with a cache of 256 KB, smaller than
// one file, fills table p.k (id BIGINT PRIMARY KEY, v DOUBLE, s
// VARCHAR(8)) with rowGroupRows rows (id i, v i.5, s 's' + i%10) and
// restarts the server, so that nothing is cached. It returns the
// server's configuration, the server and a connection to database p.
func rowGroupTable(t *testing.T) (engine.Config, *testServer, *gosql.DB) {
	t.Helper()
	cfg := engine.Config{DataDir: t.TempDir(), DataFileBytes: 512 << 10, CacheMemory: 256 << 10}
	ts := startServerConfig(t, cfg)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE p", "USE p", "CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE, s VARCHAR(8))")
	insertRows(t, db, "k", rowGroupRows, func(i int) string { return fmt.Sprintf("(%d, %d.5, 's%d')", i, i, i%10) })
	db.Close()
	ts.stop()
	ts = startServerConfig(t, cfg)
	return cfg, ts, ts.open("p")
}

// insertRows inserts rows rows into table, row(i) the VALUES tuple of
// row i, 10,000 rows a statement.
func insertRows(t *testing.T, db *gosql.DB, table string, rows int, row func(i int) string) {
	t.Helper()
	for lo := 0; lo < rows; lo += 10_000 {
		var b strings.Builder
		fmt.Fprintf(&b, "INSERT INTO %s VALUES ", table)
		for i := lo; i < min(rows, lo+10_000); i++ {
			if i > lo {
				b.WriteString(", ")
			}
			b.WriteString(row(i))
		}
		mustExec(t, db, b.String())
	}
}

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
	const rows = rowGroupRows
	_, ts, db := rowGroupTable(t)
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

// TestPointWritesReadRowGroups is TestPointSelectReadsRowGroups' setup
// (files of several row groups, a cache smaller than one file, nothing
// cached after a restart) for writes: a single-row UPDATE and DELETE by
// key read the row they change from its row group, not its whole data
// file (the whole file is what made a point write of a table larger than
// the cache cost a file's decoding, about 10 ms at 10M rows), and are
// right: in the transaction's own scan (which reads the changed file
// whole), after COMMIT and after a restart. An UPDATE of more rows of one
// file than lookupReadRows reads that file whole, once, and is right
// too. Bugs caught: a point write decoding its data file; a row read
// alone from the wrong row or segment; the rows read alone and the file
// read later disagreeing about which rows are deleted.
func TestPointWritesReadRowGroups(t *testing.T) {
	const rows = rowGroupRows
	cfg, ts, db := rowGroupTable(t)
	expectRows(t, db, "SELECT v FROM k WHERE id = 1", [][]string{r("1.5")}) // builds the index
	for _, q := range []string{"UPDATE k SET v = -1, s = 'u' WHERE id = 12345", "DELETE FROM k WHERE id = 777", "UPDATE k SET v = v + 1 WHERE id = 30001"} {
		before := ts.srv.CacheStats()
		mustExec(t, db, q)
		if after := ts.srv.CacheStats(); after.Misses != before.Misses || after.RowGroups == before.RowGroups {
			t.Errorf("%s: cache %+v then %+v; want its row read from a row group, no data file read whole", q, before, after)
		}
	}
	sum := func(lo, hi int) int { return (lo + hi - 1) * (hi - lo) / 2 } // of [lo, hi)
	check := func(when string, q *gosql.Tx, gone ...int) {
		t.Helper()
		query := func(s string) *gosql.Row {
			if q != nil {
				return q.QueryRow(s)
			}
			return db.QueryRow(s)
		}
		var n, ids int
		var v12345, v30001 float64
		var s12345 string
		wantN, wantIDs := rows-1-len(gone), sum(0, rows)-777
		for _, id := range gone {
			wantIDs -= id
		}
		if err := query("SELECT COUNT(*), CAST(SUM(id) AS SIGNED) FROM k").Scan(&n, &ids); err != nil || n != wantN || ids != wantIDs {
			t.Errorf("%s: COUNT(*), SUM(id) = %d, %d (%v); want %d, %d", when, n, ids, err, wantN, wantIDs)
		}
		if err := query("SELECT v, s FROM k WHERE id = 12345").Scan(&v12345, &s12345); err != nil || v12345 != -1 || s12345 != "u" {
			t.Errorf("%s: id 12345 is %v %q (%v); want -1 'u'", when, v12345, s12345, err)
		}
		if err := query("SELECT v FROM k WHERE id = 30001").Scan(&v30001); err != nil || v30001 != 30002.5 {
			t.Errorf("%s: id 30001 is %v (%v); want 30002.5", when, v30001, err)
		}
		if err := query("SELECT COUNT(*) FROM k WHERE id = 777").Scan(&n); err != nil || n != 0 {
			t.Errorf("%s: %d rows of id 777 (%v); want 0", when, n, err)
		}
	}
	check("after the point writes", nil)

	// A transaction: a point UPDATE, then an UPDATE of 200 rows of one
	// file (more than lookupReadRows: the file is read whole), then the
	// transaction's own scan.
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"UPDATE k SET v = 0 WHERE id = 20100", "UPDATE k SET s = 'r' WHERE id BETWEEN 20000 AND 20199", "DELETE FROM k WHERE id = 20150"} {
		if _, err := tx.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n, zero int
	if err := tx.QueryRow("SELECT COUNT(*), SUM(v = 0) FROM k WHERE s = 'r'").Scan(&n, &zero); err != nil || n != 199 || zero != 1 {
		t.Errorf("inside the transaction: %d rows of s = 'r', %d of v = 0 (%v); want 199, 1", n, zero, err)
	}
	check("inside the transaction", tx, 20150)
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	expectRows(t, db, "SELECT COUNT(*), SUM(v = 0), MIN(id), MAX(id) FROM k WHERE s = 'r'", [][]string{r("199", "1", "20000", "20199")})
	check("after COMMIT", nil, 20150)

	db.Close()
	ts.stop()
	ts = startServerConfig(t, cfg)
	db = ts.open("p")
	expectRows(t, db, "SELECT COUNT(*), SUM(v = 0), MIN(id), MAX(id) FROM k WHERE s = 'r'", [][]string{r("199", "1", "20000", "20199")})
	check("after a restart", nil, 20150)
}
