package engine_test

import (
	gosql "database/sql"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
)

// cols keeps the columns at the given positions of each row.
func cols(rows [][]string, idx ...int) [][]string {
	out := make([][]string, len(rows))
	for i, r := range rows {
		for _, j := range idx {
			out[i] = append(out[i], r[j])
		}
	}
	return out
}

// showIndex is SHOW INDEX FROM table as (Key_name, Non_unique,
// Seq_in_index, Column_name, Null, Index_type) rows.
func showIndex(t *testing.T, db *gosql.DB, table string) [][]string {
	t.Helper()
	return cols(queryRows(t, db, "SHOW INDEX FROM "+table), 2, 1, 3, 4, 9, 10)
}

func expectRows(t *testing.T, db *gosql.DB, q string, want [][]string) {
	t.Helper()
	got := queryRows(t, db, q)
	if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("%s:\n got %v\nwant %v", q, got, want)
	}
}

// TestPrimaryKeyVisibleToTools: the primary key is an index named PRIMARY
// in SHOW INDEX / SHOW KEYS and in information_schema's STATISTICS,
// KEY_COLUMN_USAGE and TABLE_CONSTRAINTS, in key order (not column
// order). Catches: GetIndexes without the primary key (tools such as
// SQLAlchemy's inspector and mysqldump then see no key), the key's
// columns listed in schema order, PRIMARY reported as non-unique.
func TestPrimaryKeyVisibleToTools(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE pk")
	db := ts.open("pk")
	mustExec(t, db, "CREATE TABLE t (a INT NOT NULL, b VARCHAR(10) NOT NULL, v DOUBLE, PRIMARY KEY (b, a))")
	want := [][]string{r("PRIMARY", "0", "1", "b", "", "BTREE"), r("PRIMARY", "0", "2", "a", "", "BTREE")}
	if got := showIndex(t, db, "t"); !reflect.DeepEqual(got, want) {
		t.Errorf("SHOW INDEX: %v, want %v", got, want)
	}
	if got := cols(queryRows(t, db, "SHOW KEYS FROM t"), 2, 1, 3, 4, 9, 10); !reflect.DeepEqual(got, want) {
		t.Errorf("SHOW KEYS: %v, want %v", got, want)
	}
	expectRows(t, db, "SELECT index_name, non_unique, seq_in_index, column_name FROM information_schema.statistics WHERE table_schema = 'pk' AND table_name = 't' ORDER BY seq_in_index",
		[][]string{r("PRIMARY", "0", "1", "b"), r("PRIMARY", "0", "2", "a")})
	expectRows(t, db, "SELECT constraint_name, column_name, ordinal_position FROM information_schema.key_column_usage WHERE table_schema = 'pk' AND table_name = 't' ORDER BY ordinal_position",
		[][]string{r("PRIMARY", "b", "1"), r("PRIMARY", "a", "2")})
	expectRows(t, db, "SELECT constraint_name, constraint_type FROM information_schema.table_constraints WHERE table_schema = 'pk' AND table_name = 't'",
		[][]string{r("PRIMARY", "PRIMARY KEY")})
	// A table without a key has no index.
	mustExec(t, db, "CREATE TABLE nokey (a INT)")
	if got := showIndex(t, db, "nokey"); len(got) != 0 {
		t.Errorf("SHOW INDEX of a table without key: %v", got)
	}
}

// TestIndexStatements: every way of creating, renaming and dropping an
// index, and what SHOW INDEX, SHOW CREATE TABLE, DESCRIBE and
// information_schema show after each. Catches: an index statement that
// changes the table object but not the stored definitions (the next
// statement, on a fresh table object, would not see it), unnamed indexes
// not named after their first column, a rename or drop of the wrong index.
func TestIndexStatements(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE ddl")
	db := ts.open("ddl")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, k INT, name VARCHAR(20), code CHAR(3) UNIQUE, note TEXT, KEY ik (k), UNIQUE KEY un (name), INDEX (k, name))")
	if got, want := showIndex(t, db, "t"), [][]string{
		r("PRIMARY", "0", "1", "id", "", "BTREE"),
		r("ik", "1", "1", "k", "YES", "BTREE"),
		r("un", "0", "1", "name", "YES", "BTREE"),
		r("k", "1", "1", "k", "YES", "BTREE"),
		r("k", "1", "2", "name", "YES", "BTREE"),
		r("code", "0", "1", "code", "YES", "BTREE"),
	}; !reflect.DeepEqual(sortRows(got), sortRows(want)) {
		t.Fatalf("SHOW INDEX after CREATE TABLE:\n got %v\nwant %v", got, want)
	}
	create := queryRows(t, db, "SHOW CREATE TABLE t")[0][1]
	for _, part := range []string{"PRIMARY KEY (`id`)", "KEY `ik` (`k`)", "UNIQUE KEY `un` (`name`)", "KEY `k` (`k`,`name`)", "UNIQUE KEY `code` (`code`)"} {
		if !strings.Contains(create, part) {
			t.Errorf("SHOW CREATE TABLE lacks %s:\n%s", part, create)
		}
	}
	expectRows(t, db, "DESCRIBE t", [][]string{
		r("id", "int", "NO", "PRI", "NULL", ""),
		r("k", "int", "YES", "MUL", "NULL", ""),
		r("name", "varchar(20)", "YES", "UNI", "NULL", ""),
		r("code", "char(3)", "YES", "UNI", "NULL", ""),
		r("note", "text", "YES", "", "NULL", ""),
	})

	mustExec(t, db, "CREATE INDEX ix_note ON t (note(10))")
	mustExec(t, db, "CREATE UNIQUE INDEX ux ON t (k, code)")
	mustExec(t, db, "ALTER TABLE t ADD INDEX (name)")
	mustExec(t, db, "ALTER TABLE t ADD UNIQUE (note(5))")
	mustExec(t, db, "ALTER TABLE t RENAME INDEX ik TO ik2")
	mustExec(t, db, "DROP INDEX k ON t")
	mustExec(t, db, "ALTER TABLE t DROP INDEX un, ADD KEY kn (k, note(3))")
	expectRows(t, db, "SELECT index_name, non_unique, seq_in_index, column_name, sub_part FROM information_schema.statistics WHERE table_schema = 'ddl' AND table_name = 't' ORDER BY index_name, seq_in_index", [][]string{
		r("code", "0", "1", "code", "NULL"),
		r("ik2", "1", "1", "k", "NULL"),
		r("ix_note", "1", "1", "note", "10"),
		r("kn", "1", "1", "k", "0"),
		r("kn", "1", "2", "note", "3"),
		r("name", "1", "1", "name", "NULL"),
		r("note", "0", "1", "note", "5"),
		r("PRIMARY", "0", "1", "id", "NULL"), // information_schema sorts case-insensitively
		r("ux", "0", "1", "k", "NULL"),
		r("ux", "0", "2", "code", "NULL"),
	})
	expectRows(t, db, "SELECT constraint_name, constraint_type FROM information_schema.table_constraints WHERE table_schema = 'ddl' AND table_name = 't' ORDER BY constraint_name", [][]string{
		r("code", "UNIQUE"), r("note", "UNIQUE"), r("PRIMARY", "PRIMARY KEY"), r("ux", "UNIQUE"),
	})
	create = queryRows(t, db, "SHOW CREATE TABLE t")[0][1]
	for _, part := range []string{"KEY `ix_note` (`note`(10))", "UNIQUE KEY `ux` (`k`,`code`)", "KEY `kn` (`k`,`note`(3))", "KEY `ik2` (`k`)"} {
		if !strings.Contains(create, part) {
			t.Errorf("SHOW CREATE TABLE lacks %s:\n%s", part, create)
		}
	}
	if strings.Contains(create, "`un`") || strings.Contains(create, "KEY `k` ") {
		t.Errorf("SHOW CREATE TABLE still shows a dropped index:\n%s", create)
	}

	for _, c := range []struct {
		q    string
		code uint16
	}{
		{"CREATE INDEX ik2 ON t (name)", 1061},             // ER_DUP_KEYNAME
		{"ALTER TABLE t RENAME INDEX ik2 TO ux", 1061},     // ER_DUP_KEYNAME
		{"ALTER TABLE t RENAME INDEX nope TO other", 1091}, // go-mysql-server's check; MySQL says 1176
		{"DROP INDEX nope ON t", 1091},                     // ER_CANT_DROP_FIELD_OR_KEY
		{"CREATE INDEX bad ON t (nope)", 1072},             // ER_KEY_COLUMN_DOES_NOT_EXITS
		{"DROP INDEX `PRIMARY` ON t", 1235},                // changing the primary key is not supported
		{"ALTER TABLE t ADD INDEX a (k), DROP INDEX nope", 1091},
	} {
		expectErr(t, db, c.q, c.code)
	}
	// The failed two-clause ALTER TABLE added nothing.
	if n := len(showIndex(t, db, "t")); n != 10 {
		t.Errorf("after the failed statements SHOW INDEX has %d rows, want 10", n)
	}
}

// sortRows sorts rows (for comparisons that ignore order).
func sortRows(rows [][]string) [][]string {
	out := append([][]string(nil), rows...)
	sort.Slice(out, func(i, j int) bool { return fmt.Sprint(out[i]) < fmt.Sprint(out[j]) })
	return out
}

// TestIndexesSurviveRestart: index definitions are part of the table's
// committed metadata: after a restart on the same data directory SHOW
// INDEX and SHOW CREATE TABLE show them and UNIQUE is still enforced.
// Catches: definitions kept only in memory, or the index property not
// read back when a table is opened.
func TestIndexesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE keep")
	mustExec(t, db, "CREATE TABLE keep.t (id INT PRIMARY KEY, k INT, name VARCHAR(10), KEY ik (k))")
	mustExec(t, db, "CREATE UNIQUE INDEX un ON keep.t (name)")
	mustExec(t, db, "INSERT INTO keep.t VALUES (1, 5, 'a'), (2, 6, 'b')")
	mustExec(t, db, "ALTER TABLE keep.t ADD INDEX ik2 (k, name), DROP INDEX ik")
	before := showIndex(t, db, "keep.t")
	createBefore := queryRows(t, db, "SHOW CREATE TABLE keep.t")
	ts.stop()

	ts = startServer(t, dir, false)
	db = ts.open("keep")
	if got := showIndex(t, db, "t"); !reflect.DeepEqual(got, before) {
		t.Errorf("SHOW INDEX after restart:\n got %v\nwant %v", got, before)
	}
	if got := queryRows(t, db, "SHOW CREATE TABLE t"); !reflect.DeepEqual(got, createBefore) {
		t.Errorf("SHOW CREATE TABLE after restart:\n got %v\nwant %v", got, createBefore)
	}
	expectErr(t, db, "INSERT INTO t VALUES (3, 7, 'a')", 1062)
	expectRows(t, db, "SELECT id FROM t WHERE k = 6", [][]string{r("2")})
}

// lookupPredicates are WHERE clauses over table ix (see
// TestLookupsUseIndexAndMatchScan): points, ranges of every kind, IN
// lists, NULL tests, composite-index prefixes, and keys of another type
// than the column.
var lookupPredicates = []string{
	"id = 5", "id = 0", "id = 299", "id = 300", "id IN (1, 7, 7, 150, 1000)", "id < 3", "id <= 3", "id > 296", "id >= 296",
	"id BETWEEN 10 AND 20", "id > 10 AND id < 20", "id <> 5 AND id < 8", "id = 5.0", "id > 4.5 AND id < 7.5", "id = '6'",
	"k = 7", "k BETWEEN 10 AND 20", "k > 20", "k < 3", "k IS NULL", "k IS NOT NULL AND k < 2", "k IN (3, 4) OR k IS NULL",
	"k >= 18.5", "k = -1", "s = 's12'", "s > 's2' AND s < 's3'", "s IS NULL", "s LIKE 's1%'",
	"c = 'b'", "c = 'b' AND k = 7", "c = 'b' AND k > 15", "c IN ('a', 'c') AND k BETWEEN 5 AND 9", "c IS NULL AND k = 3",
	"c < 'b'", "f = 2.5", "f > 1 AND f < 3", "d = '2024-01-03'", "d BETWEEN '2024-01-02' AND '2024-01-04'",
}

// orderedQueries (over table %s) sort by the columns of an index of ix:
// go-mysql-server then drops its sort and relies on the lookup's order.
// Only the sorted columns are selected, so that rows tied in the order
// may come in any order.
var orderedQueries = []string{
	"SELECT id FROM %s ORDER BY id", "SELECT id FROM %s ORDER BY id DESC LIMIT 7", "SELECT id FROM %s WHERE id > 250 ORDER BY id",
	"SELECT id FROM %s WHERE id BETWEEN 20 AND 40 ORDER BY id DESC", "SELECT id FROM %s WHERE id IN (5, 1, 300, 42) ORDER BY id DESC",
	"SELECT k FROM %s WHERE k > 5 ORDER BY k", "SELECT k FROM %s ORDER BY k DESC LIMIT 30", "SELECT k FROM %s ORDER BY k LIMIT 30",
	"SELECT c, k FROM %s WHERE c = 'b' ORDER BY c, k", "SELECT c, k FROM %s WHERE c > 'a' ORDER BY c DESC, k DESC",
	"SELECT s FROM %s WHERE s > 's1' ORDER BY s", "SELECT d FROM %s WHERE d > '2024-01-02' ORDER BY d DESC",
	"SELECT MAX(id), MIN(id), MAX(k), MIN(k) FROM %s",
}

// TestLookupsUseIndexAndMatchScan: EXPLAIN shows an index lookup for a
// point query on the primary key and a range on a secondary index, and
// every lookup predicate returns exactly what the same query returns on
// a copy of the table without indexes, on the first run (which scans),
// the second (which sorts the index) and the third (which uses it), and
// again after inserts and a delete made new snapshots; so do queries
// ordered by an index's columns, in order. Catches: an index not offered
// to the planner, a wrong bound in the binary search, a sorted index kept
// across commits (new rows missing, deleted rows back), and lookups in
// row order where go-mysql-server dropped the sort for index order.
func TestLookupsUseIndexAndMatchScan(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE lk")
	db := ts.open("lk")
	const cols = "(id INT NOT NULL, k INT, s VARCHAR(10), c CHAR(1), f DOUBLE, d DATE"
	mustExec(t, db, "CREATE TABLE ix "+cols+", PRIMARY KEY (id), KEY (k), UNIQUE KEY (s), KEY ck (c, k), KEY (f), KEY (d))")
	mustExec(t, db, "CREATE TABLE plain "+cols+")")
	insert := func(from, to int) {
		var vals []string
		for i := from; i < to; i++ {
			k, s, c, f, d := fmt.Sprint(i%23), fmt.Sprintf("'s%d'", i), fmt.Sprintf("'%c'", 'a'+i%4), fmt.Sprint(float64(i%9)/2), fmt.Sprintf("'2024-01-%02d'", 1+i%6)
			if i%7 == 0 {
				k = "NULL"
			}
			if i%11 == 0 {
				s, c = "NULL", "NULL"
			}
			vals = append(vals, fmt.Sprintf("(%d, %s, %s, %s, %s, %s)", i, k, s, c, f, d))
		}
		for _, tbl := range []string{"ix", "plain"} {
			mustExec(t, db, "INSERT INTO "+tbl+" VALUES "+strings.Join(vals, ", "))
		}
	}
	insert(0, 100)
	insert(100, 200)
	insert(200, 300)

	for q, index := range map[string]string{
		"SELECT * FROM ix WHERE id = 5":                      "index: [ix.id]",
		"SELECT * FROM ix WHERE k BETWEEN 10 AND 20":         "index: [ix.k]",
		"SELECT * FROM ix WHERE c = 'b' AND k = 7":           "index: [ix.c,ix.k]",
		"SELECT ix.id FROM plain JOIN ix ON ix.id = plain.k": "index: [ix.id]",
	} {
		plan := queryRows(t, db, "EXPLAIN FORMAT=TREE "+q)
		if len(plan) != 1 || !strings.Contains(plan[0][0], "IndexedTableAccess(ix)") || !strings.Contains(plan[0][0], index) {
			t.Errorf("EXPLAIN %s does not use %s:\n%v", q, index, plan)
		}
	}

	// ORDER BY an index's columns is served by the index: go-mysql-server
	// drops its sort and reads the lookup in index order.
	plan := queryRows(t, db, "EXPLAIN FORMAT=TREE SELECT id FROM ix WHERE id > 250 ORDER BY id DESC")
	if len(plan) != 1 || !strings.Contains(plan[0][0], "IndexedTableAccess(ix)") || strings.Contains(plan[0][0], "Sort") {
		t.Errorf("ORDER BY id over a primary-key range is not served by the index:\n%v", plan)
	}

	check := func(when string) {
		t.Helper()
		for _, q := range orderedQueries {
			want := queryRows(t, db, fmt.Sprintf(q, "plain"))
			for run := 1; run <= 3; run++ {
				if got := queryRows(t, db, fmt.Sprintf(q, "ix")); !reflect.DeepEqual(got, want) {
					t.Errorf("%s, run %d, %s:\n got %v\nwant %v", when, run, fmt.Sprintf(q, "ix"), got, want)
				}
			}
		}
		for _, p := range lookupPredicates {
			want := sortRows(queryRows(t, db, "SELECT * FROM plain WHERE "+p))
			for run := 1; run <= 3; run++ {
				if got := sortRows(queryRows(t, db, "SELECT * FROM ix WHERE "+p)); !reflect.DeepEqual(got, want) {
					t.Errorf("%s, run %d, WHERE %s:\n got %v\nwant %v", when, run, p, got, want)
				}
			}
		}
		// A lookup join (the inner side is looked up once per outer row).
		want := sortRows(queryRows(t, db, "SELECT a.id, b.id FROM plain a JOIN plain b ON b.id = a.k WHERE a.id < 60"))
		if got := sortRows(queryRows(t, db, "SELECT a.id, b.id FROM plain a JOIN ix b ON b.id = a.k WHERE a.id < 60")); !reflect.DeepEqual(got, want) {
			t.Errorf("%s, lookup join:\n got %v\nwant %v", when, got, want)
		}
	}
	check("after loading")
	insert(300, 320)
	check("after an insert")
	for _, tbl := range []string{"ix", "plain"} {
		mustExec(t, db, "DELETE FROM "+tbl+" WHERE id % 3 = 1")
		mustExec(t, db, "UPDATE "+tbl+" SET k = k + 1 WHERE id % 5 = 0")
	}
	check("after a delete and an update")
}

// TestLookupsInTransaction: inside a transaction an index lookup sees the
// transaction's own inserts, updates and deletes, and other sessions'
// lookups see none of them until COMMIT. Catches: a lookup that reads
// the committed snapshot instead of the transaction's view (the
// transaction would not find the row it just inserted, or would still
// find the one it deleted).
func TestLookupsInTransaction(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE txl")
	mustExec(t, root, "CREATE TABLE txl.t (id INT PRIMARY KEY, k INT, KEY (k))")
	mustExec(t, root, "INSERT INTO txl.t VALUES (1, 10), (2, 20), (3, 30)")
	a, b := ts.session("txl"), ts.session("txl")
	// Warm the sorted indexes of the committed snapshot, so that the
	// transaction's lookups below go through them.
	for i := 0; i < 2; i++ {
		queryRows(t, b, "SELECT id FROM t WHERE id = 2")
		queryRows(t, b, "SELECT id FROM t WHERE k = 20")
	}

	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (4, 20)")
	expectRows(t, a, "SELECT id FROM t WHERE id = 4", [][]string{r("4")})
	expectRows(t, a, "SELECT id FROM t WHERE k = 20 ORDER BY id", [][]string{r("2"), r("4")})
	expectRows(t, a, "SELECT id FROM t ORDER BY id DESC LIMIT 2", [][]string{r("4"), r("3")})
	expectRows(t, a, "SELECT k FROM t WHERE k >= 20 ORDER BY k DESC", [][]string{r("30"), r("20"), r("20")})
	expectRows(t, b, "SELECT id FROM t WHERE k = 20 ORDER BY id", [][]string{r("2")})
	mustExec(t, a, "UPDATE t SET k = 25 WHERE id = 2")
	mustExec(t, a, "DELETE FROM t WHERE id = 1")
	expectRows(t, a, "SELECT id FROM t WHERE id = 1", nil)
	expectRows(t, a, "SELECT id, k FROM t WHERE k BETWEEN 15 AND 25 ORDER BY id", [][]string{r("2", "25"), r("4", "20")})
	expectRows(t, b, "SELECT id, k FROM t WHERE k BETWEEN 15 AND 25 ORDER BY id", [][]string{r("2", "20")})
	mustExec(t, a, "ROLLBACK")
	expectRows(t, a, "SELECT id, k FROM t WHERE k BETWEEN 5 AND 25 ORDER BY id", [][]string{r("1", "10"), r("2", "20")})

	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (5, 50)")
	mustExec(t, a, "COMMIT")
	expectRows(t, b, "SELECT id FROM t WHERE k = 50", [][]string{r("5")})
}

// TestUniqueIndexEnforced: a UNIQUE index refuses duplicates (1062) on
// INSERT and UPDATE, allows any number of NULLs, drives INSERT … ON
// DUPLICATE KEY UPDATE and REPLACE like MySQL, and CREATE UNIQUE INDEX
// over rows that already hold a duplicate fails with 1062 and leaves no
// index. Catches: unique checks made for the primary key only, NULLs
// compared as equal, a duplicate check on CREATE UNIQUE INDEX that is
// missing or runs after the definition is committed.
func TestUniqueIndexEnforced(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE uq")
	db := ts.open("uq")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, email VARCHAR(40), a INT, b INT, UNIQUE KEY (email), UNIQUE KEY ab (a, b))")
	mustExec(t, db, "INSERT INTO t VALUES (1, 'x@y', 1, 1), (2, NULL, 1, NULL), (3, NULL, 1, NULL)")
	expectErr(t, db, "INSERT INTO t VALUES (4, 'x@y', 9, 9)", 1062)
	expectErr(t, db, "INSERT INTO t VALUES (4, 'X@Y ', 9, 9)", 1062) // keys compare as the primary key does
	expectErr(t, db, "INSERT INTO t VALUES (4, 'new', 1, 1)", 1062)
	expectErr(t, db, "INSERT INTO t VALUES (4, 'p', 5, 5), (5, 'p', 6, 6)", 1062) // within one statement
	expectErr(t, db, "UPDATE t SET email = 'x@y' WHERE id = 2", 1062)
	mustExec(t, db, "UPDATE t SET email = 'x@y', a = 2 WHERE id = 1") // a row keeps its own key
	expectRows(t, db, "SELECT COUNT(*) FROM t", [][]string{r("3")})

	mustExec(t, db, "INSERT INTO t VALUES (6, 'x@y', 7, 7) ON DUPLICATE KEY UPDATE b = 42")
	expectRows(t, db, "SELECT id, email, a, b FROM t WHERE id = 1", [][]string{r("1", "x@y", "2", "42")})
	mustExec(t, db, "REPLACE INTO t VALUES (7, 'x@y', 3, 3)")
	expectRows(t, db, "SELECT id FROM t ORDER BY id", [][]string{r("2"), r("3"), r("7")})

	mustExec(t, db, "CREATE TABLE d (id INT PRIMARY KEY, v INT, w INT)")
	mustExec(t, db, "INSERT INTO d VALUES (1, 10, NULL), (2, 20, NULL), (3, 10, 5)")
	expectErr(t, db, "CREATE UNIQUE INDEX uv ON d (v)", 1062)
	expectErr(t, db, "ALTER TABLE d ADD UNIQUE (v)", 1062)
	expectErr(t, db, "ALTER TABLE d ADD INDEX iw (w), ADD UNIQUE uv (v)", 1062)
	expectErr(t, db, "ALTER TABLE d ADD UNIQUE uv (v), RENAME INDEX uv TO uv2", 1062)
	if got := showIndex(t, db, "d"); len(got) != 1 {
		t.Errorf("failed CREATE UNIQUE INDEX left indexes: %v", got)
	}
	mustExec(t, db, "CREATE UNIQUE INDEX uw ON d (w)") // NULLs are not duplicates
	mustExec(t, db, "INSERT INTO d VALUES (4, 10, NULL)")
	expectErr(t, db, "INSERT INTO d VALUES (5, 10, 5)", 1062)
	mustExec(t, db, "DROP INDEX uw ON d")
	mustExec(t, db, "INSERT INTO d VALUES (5, 10, 5)") // dropped: no longer enforced

	// A prefix key part compares the first characters only.
	mustExec(t, db, "CREATE TABLE pfx (id INT PRIMARY KEY, name VARCHAR(20), UNIQUE KEY up (name(3)))")
	mustExec(t, db, "INSERT INTO pfx VALUES (1, 'abcd')")
	expectErr(t, db, "INSERT INTO pfx VALUES (2, 'abcx')", 1062)
	mustExec(t, db, "INSERT INTO pfx VALUES (2, 'abd'), (3, 'ab')")
	expectRows(t, db, "SELECT id FROM pfx WHERE name = 'abd'", [][]string{r("2")})
}

// TestUniqueIndexAcrossTransactions: uniqueness holds across sessions
// and transactions: a transaction refuses a duplicate of its own row;
// of two transactions inserting the same key the second COMMIT fails
// with 1062; a transaction open while another session creates a UNIQUE
// index is checked against that index at COMMIT (against committed rows
// and among its own inserts); and of many concurrent autocommit inserts
// of one key exactly one succeeds. Catches: COMMIT re-checking only the
// primary key, or the unique keys as of the transaction's start.
func TestUniqueIndexAcrossTransactions(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE ut")
	mustExec(t, root, "CREATE TABLE ut.t (id INT PRIMARY KEY, k INT, UNIQUE KEY uk (k))")
	mustExec(t, root, "CREATE TABLE ut.late (id INT PRIMARY KEY, k INT)")
	a, b := ts.session("ut"), ts.session("ut")

	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (1, 1)")
	expectErr(t, a, "INSERT INTO t VALUES (2, 1)", 1062)
	mustExec(t, a, "COMMIT")

	mustExec(t, a, "BEGIN")
	mustExec(t, b, "BEGIN")
	mustExec(t, a, "INSERT INTO t VALUES (10, 5)")
	mustExec(t, b, "INSERT INTO t VALUES (11, 5)")
	mustExec(t, a, "COMMIT")
	expectErr(t, b, "COMMIT", 1062)
	expectRows(t, root, "SELECT id FROM ut.t WHERE k = 5", [][]string{r("10")})

	// The index is created while a's transaction is open.
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO late VALUES (1, 7)")
	mustExec(t, b, "CREATE UNIQUE INDEX uk ON late (k)")
	mustExec(t, b, "INSERT INTO late VALUES (2, 7)")
	expectErr(t, a, "COMMIT", 1062)
	mustExec(t, b, "DROP INDEX uk ON late")
	mustExec(t, a, "BEGIN")
	mustExec(t, a, "INSERT INTO late VALUES (3, 8)")
	mustExec(t, b, "CREATE UNIQUE INDEX uk2 ON late (k)")
	mustExec(t, a, "INSERT INTO late VALUES (4, 8)") // a checks the keys it started with
	expectErr(t, a, "COMMIT", 1062)                  // COMMIT checks the current ones
	expectRows(t, root, "SELECT id, k FROM ut.late ORDER BY id", [][]string{r("2", "7")})

	// Concurrent autocommit inserts of one key: exactly one wins.
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := openDSNErr(ts.boundedDSN("ut"))
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			_, errs[i] = c.Exec(fmt.Sprintf("INSERT INTO t VALUES (%d, 99)", 100+i))
		}(i)
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else if !strings.Contains(err.Error(), "1062") {
			t.Errorf("concurrent insert: %v", explainTimeout(err))
		}
	}
	if ok != 1 {
		t.Errorf("%d of %d concurrent inserts of one unique key succeeded, want 1", ok, n)
	}
	expectRows(t, root, "SELECT COUNT(*) FROM ut.t WHERE k = 99", [][]string{r("1")})
}

// TestDisableEnableKeys: ALTER TABLE … DISABLE KEYS / ENABLE KEYS, as
// every mysqldump file has them around its INSERTs, are accepted and do
// nothing, with MySQL's note for InnoDB tables. Catches: the statements
// refused (a dump restore stops at the first table) or their note lost.
func TestDisableEnableKeys(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE dk")
	db := ts.session("dk")
	mustExec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, k INT, KEY (k))")
	mustExec(t, db, "/*!40000 ALTER TABLE `t` DISABLE KEYS */")
	expectRows(t, db, "SHOW WARNINGS", [][]string{r("Note", "1031", "Table storage engine for 't' doesn't have this option")})
	mustExec(t, db, "INSERT INTO `t` VALUES (1, 1), (2, 2)")
	mustExec(t, db, "/*!40000 ALTER TABLE `t` ENABLE KEYS */")
	expectRows(t, db, "SHOW WARNINGS", [][]string{r("Note", "1031", "Table storage engine for 't' doesn't have this option")})
	expectRows(t, db, "SELECT id FROM t WHERE k = 2", [][]string{r("2")})
	expectErr(t, db, "ALTER TABLE nope DISABLE KEYS", 1146)
}

// TestUnsupportedIndexKinds: FULLTEXT, SPATIAL and foreign keys are
// refused with an error, never accepted and ignored, and leave nothing
// behind. Catches: a FULLTEXT index recorded as a plain one, a FOREIGN
// KEY clause dropped silently, a table created before its foreign key is
// refused.
func TestUnsupportedIndexKinds(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE un")
	db := ts.open("un")
	mustExec(t, db, "CREATE TABLE p (id INT PRIMARY KEY, body TEXT, n INT NOT NULL)")
	for _, c := range []struct {
		q    string
		code uint16 // 0: any error
	}{
		{"CREATE FULLTEXT INDEX ft ON p (body)", 1235},
		{"ALTER TABLE p ADD FULLTEXT (body)", 1235},
		{"ALTER TABLE p ADD INDEX ok (n), ADD FULLTEXT ft (body)", 1235},
		{"CREATE TABLE f1 (id INT, body TEXT, FULLTEXT KEY (body))", 1235},
		{"CREATE SPATIAL INDEX sp ON p (n)", 0},
		{"CREATE TABLE f2 (id INT, g INT NOT NULL, SPATIAL KEY (g))", 0},
		{"ALTER TABLE p ADD CONSTRAINT fk FOREIGN KEY (n) REFERENCES p (id)", 1235},
		{"CREATE TABLE f3 (id INT PRIMARY KEY, parent INT, FOREIGN KEY (parent) REFERENCES f3 (id))", 1235},
		{"CREATE TABLE f4 (id INT PRIMARY KEY, p INT, CONSTRAINT fk FOREIGN KEY (p) REFERENCES p (id))", 0},
		{"CREATE TABLE f5 (id INT PRIMARY KEY, v INT, CHECK (v > 0))", 1235},
	} {
		n, msg := errNumber(t, db, c.q)
		if n == 0 || (c.code != 0 && n != c.code) {
			t.Errorf("%s: error %d (%s), want %d", c.q, n, msg, c.code)
		}
	}
	expectRows(t, db, "SHOW TABLES", [][]string{r("p")})
	if got := showIndex(t, db, "p"); len(got) != 1 {
		t.Errorf("refused index statements left indexes: %v", got)
	}
}

// TestBadIndexDefinitionChangesNothing: a CREATE TABLE with a bad index
// definition creates no table, and a failed CREATE UNIQUE INDEX leaves
// no index, also after a restart. Catches: go-mysql-server's order
// (create the table, then each index) where a failing index leaves the
// table behind, or an index definition committed before its check.
func TestBadIndexDefinitionChangesNothing(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE bad")
	db := ts.open("bad")
	for _, q := range []string{
		"CREATE TABLE t1 (a INT, b INT, KEY x (a), KEY x (b))",
		"CREATE TABLE t2 (a INT, b INT, KEY (a), UNIQUE KEY (nope))",
		"CREATE TABLE t3 (a INT, b TEXT, KEY (a), KEY (b))",
		"CREATE TABLE t4 (a INT, b TEXT, KEY (a), FULLTEXT KEY (b))",
		"CREATE TABLE t5 (a INT, b INT, KEY (a), KEY (b(3)))",
		"CREATE TABLE t6 (a INT, b INT, KEY `PRIMARY` (a))",
		"CREATE TABLE t7 (a INT PRIMARY KEY, b INT, KEY (b), FOREIGN KEY (b) REFERENCES t7 (a))",
		"CREATE TABLE t8 (a DOUBLE AUTO_INCREMENT PRIMARY KEY, b INT, KEY (b))",
	} {
		if n, _ := errNumber(t, db, q); n == 0 {
			t.Errorf("%s succeeded", q)
		}
	}
	mustExec(t, db, "CREATE TABLE d (id INT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO d VALUES (1, 1), (2, 1)")
	expectErr(t, db, "CREATE UNIQUE INDEX uv ON d (v)", 1062)
	check := func(when string) {
		if got := queryRows(t, db, "SHOW TABLES"); !reflect.DeepEqual(got, [][]string{r("d")}) {
			t.Errorf("%s: tables %v, want only d", when, got)
		}
		if got := showIndex(t, db, "d"); len(got) != 1 {
			t.Errorf("%s: indexes of d %v, want only PRIMARY", when, got)
		}
	}
	check("before restart")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("bad")
	check("after restart")
	mustExec(t, db, "INSERT INTO d VALUES (3, 1)")
}

// TestPandasToSQLWithIndex: the statements pandas' DataFrame.to_sql sends
// through SQLAlchemy for a frame with its default index: CREATE TABLE
// with a column named `index`, CREATE INDEX ix_<table>_index on it, a
// multi-row insert, and reading back (whole table and by index value).
// Catches: CREATE INDEX refused (to_sql fails before writing a row), or
// an index named `index` confused with the keyword.
func TestPandasToSQLWithIndex(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	mustExec(t, root, "CREATE DATABASE pd")
	db := ts.open("pd")
	mustExec(t, db, "CREATE TABLE q (\n\t`index` BIGINT, \n\ta TEXT\n)\n\n")
	mustExec(t, db, "CREATE INDEX ix_q_index ON q (`index`)")
	var vals []string
	var want [][]string
	for i := 0; i < 50; i++ {
		vals = append(vals, fmt.Sprintf("(%d, 'row %d')", i, i))
		want = append(want, r(fmt.Sprint(i), fmt.Sprintf("row %d", i)))
	}
	mustExec(t, db, "INSERT INTO q (`index`, a) VALUES "+strings.Join(vals, ", "))
	expectRows(t, db, "SELECT `index`, a FROM q ORDER BY `index`", want)
	for i := 0; i < 3; i++ {
		expectRows(t, db, "SELECT a FROM q WHERE `index` = 42", [][]string{r("row 42")})
	}
	if got := showIndex(t, db, "q"); !reflect.DeepEqual(got, [][]string{r("ix_q_index", "1", "1", "index", "YES", "BTREE")}) {
		t.Errorf("SHOW INDEX FROM q: %v", got)
	}
}

// TestConcurrentLookupsAndWrites: lookups from several connections while
// another connection keeps inserting (each commit extends the sorted
// indexes) and updating (each commit rebuilds them) return only whole,
// correct rows: every row a range lookup returns is in the range, once,
// with its value, and a row once seen by a reader stays visible to it.
// make test runs it again under -race (its name matches RACE_TESTS).
// Catches: a sorted index shared between goroutines while it is
// extended, or extended over the wrong snapshot (rows out of range,
// duplicated or missing).
func TestConcurrentLookupsAndWrites(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.openBounded("")
	mustExec(t, root, "CREATE DATABASE lw")
	mustExec(t, root, "CREATE TABLE lw.t (id INT PRIMARY KEY, v INT, KEY (v))")
	mustExec(t, root, "INSERT INTO lw.t VALUES (0, 0)")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(stop) // also when the writer fails, so that the readers end
		w, err := openDSNErr(ts.boundedDSN("lw"))
		if err != nil {
			errs <- err
			return
		}
		defer w.Close()
		for i := 1; i <= 120; i++ {
			q := fmt.Sprintf("INSERT INTO t VALUES (%d, %d)", i, 2*i)
			if i%40 == 0 {
				q = "UPDATE t SET v = v WHERE id = 0" // a rewrite: indexes are rebuilt
			}
			if _, err := w.Exec(q); err != nil {
				errs <- fmt.Errorf("%s: %w", q, explainTimeout(err))
				return
			}
		}
	}()
	for reader := 0; reader < 3; reader++ {
		wg.Add(1)
		go func(reader int) {
			defer wg.Done()
			c, err := openDSNErr(ts.boundedDSN("lw"))
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			seen := 0 // highest id seen
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				lo := (n * 7 * (reader + 1)) % 120
				rows, err := c.Query("SELECT id, v FROM t WHERE id BETWEEN ? AND ? ORDER BY id", lo, lo+9)
				if err != nil {
					errs <- explainTimeout(err)
					return
				}
				prev := -1
				for rows.Next() {
					var id, v int
					if err := rows.Scan(&id, &v); err != nil {
						errs <- err
						return
					}
					if id < lo || id > lo+9 || id <= prev || (v != 2*id && !(id == 0 && v == 0)) {
						errs <- fmt.Errorf("reader %d: lookup of [%d, %d] returned id %d, v %d after id %d", reader, lo, lo+9, id, v, prev)
						return
					}
					prev = id
				}
				rows.Close()
				var maxID int
				if err := c.QueryRow("SELECT MAX(id) FROM t").Scan(&maxID); err != nil {
					errs <- err
					return
				}
				if maxID < seen {
					errs <- fmt.Errorf("reader %d: MAX(id) went back from %d to %d", reader, seen, maxID)
					return
				}
				seen = maxID
			}
		}(reader)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	expectRows(t, root, "SELECT COUNT(*), MAX(id) FROM lw.t WHERE id >= 0", [][]string{r("118", "119")})
}
