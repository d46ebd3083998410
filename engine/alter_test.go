package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// alterRows is the number of rows of the ALTER TABLE tests' table: more
// than one Arrow batch of a rewrite would be faster to test but hide
// nothing the conversion code treats differently.
const alterRows = 300

// alterSetup creates al.t (id, name with NULLs every 7th row, x) with a
// secondary index on name.
func alterSetup(t *testing.T, ts *testServer) {
	t.Helper()
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE al")
	mustExec(t, db, "CREATE TABLE al.t (id INT PRIMARY KEY, name VARCHAR(20), x DOUBLE, KEY ix_name (name))")
	var vals []string
	for i := 0; i < alterRows; i++ {
		name := fmt.Sprintf("'n%d'", i)
		if i%7 == 0 {
			name = "NULL"
		}
		vals = append(vals, fmt.Sprintf("(%d, %s, %g)", i, name, float64(i)/2))
	}
	mustExec(t, db, "INSERT INTO al.t VALUES "+strings.Join(vals, ", "))
}

// columnsOf lists the table's columns in order with their types and
// nullability, from information_schema.
func columnsOf(t *testing.T, ts *testServer, table string) [][]string {
	t.Helper()
	return queryRows(t, ts.open(""), "SELECT column_name, column_type, is_nullable FROM information_schema.columns "+
		"WHERE table_schema = 'al' AND table_name = ? ORDER BY ordinal_position", table)
}

// TestAlterTableColumns: ADD (with a default, FIRST), RENAME, CHANGE
// (retype and move), MODIFY and DROP COLUMN change the columns and
// convert every row as MySQL does; secondary indexes follow renamed
// columns and lose dropped ones; all of it survives a restart. Catches:
// an inserter whose Close commits nothing (columns unchanged), sources
// mapped by position instead of by name (values land in the wrong
// column after FIRST), index definitions left naming a renamed column
// (the table no longer opens after restart), a rewrite that commits the
// rows but not the columns property, or one that is lost on restart.
func TestAlterTableColumns(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	alterSetup(t, ts)
	db := ts.open("al")

	mustExec(t, db, "ALTER TABLE t ADD COLUMN c INT NOT NULL DEFAULT 7")
	expectRows(t, db, "SELECT COUNT(*), SUM(c), MIN(c) FROM t", [][]string{r(fmt.Sprint(alterRows), fmt.Sprint(7*alterRows), "7")})
	mustExec(t, db, "INSERT INTO t (id, name, x) VALUES (1000, 'new', 1.5)")
	expectRows(t, db, "SELECT c FROM t WHERE id = 1000", [][]string{r("7")})

	mustExec(t, db, "ALTER TABLE t ADD COLUMN tag VARCHAR(5) FIRST")
	mustExec(t, db, "ALTER TABLE t RENAME COLUMN name TO label")
	mustExec(t, db, "ALTER TABLE t CHANGE COLUMN x xs VARCHAR(30) AFTER id")
	want := [][]string{
		r("tag", "varchar(5)", "YES"), r("id", "int", "NO"), r("xs", "varchar(30)", "YES"),
		r("label", "varchar(20)", "YES"), r("c", "int", "NO"),
	}
	if got := columnsOf(t, ts, "t"); !reflect.DeepEqual(got, want) {
		t.Fatalf("columns after ALTER = %v, want %v", got, want)
	}
	indexCols := func() []string {
		var cols []string
		for _, row := range queryRows(t, db, "SHOW INDEX FROM t") {
			cols = append(cols, row[2]+"."+row[4])
		}
		return cols
	}
	check := func(where string) {
		t.Helper()
		for _, i := range []int{0, 7, 8, 151, alterRows - 1} {
			label := fmt.Sprintf("n%d", i)
			if i%7 == 0 {
				label = "NULL"
			}
			expectRows(t, db, fmt.Sprintf("SELECT tag, id, xs, label, c FROM t WHERE id = %d", i),
				[][]string{r("NULL", fmt.Sprint(i), fmt.Sprint(float64(i)/2), label, "7")})
		}
		// The index follows the renamed column and is used for lookups.
		expectRows(t, db, "SELECT id FROM t WHERE label = 'n151'", [][]string{r("151")})
		if cols := indexCols(); !reflect.DeepEqual(cols, []string{"PRIMARY.id", "ix_name.label"}) {
			t.Errorf("%s: SHOW INDEX = %v", where, cols)
		}
	}
	check("after ALTER")

	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("al")
	if got := columnsOf(t, ts, "t"); !reflect.DeepEqual(got, want) {
		t.Fatalf("columns after restart = %v, want %v", got, want)
	}
	check("after restart")

	// Dropping the indexed column drops the index; dropping the first
	// column shifts the others.
	mustExec(t, db, "ALTER TABLE t DROP COLUMN label")
	mustExec(t, db, "ALTER TABLE t DROP COLUMN tag")
	if cols := indexCols(); !reflect.DeepEqual(cols, []string{"PRIMARY.id"}) {
		t.Errorf("SHOW INDEX after dropping the indexed column = %v", cols)
	}
	expectRows(t, db, "SELECT id, xs, c FROM t WHERE id = 8", [][]string{r("8", "4", "7")})
	expectRows(t, db, "SELECT COUNT(*) FROM t", [][]string{r(fmt.Sprint(alterRows + 1))})

	// A new default applies to later inserts and persists.
	mustExec(t, db, "ALTER TABLE t ALTER COLUMN c SET DEFAULT 9")
	mustExec(t, db, "INSERT INTO t (id, xs) VALUES (2000, 'd')")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("al")
	mustExec(t, db, "INSERT INTO t (id, xs) VALUES (2001, 'e')")
	expectRows(t, db, "SELECT id, c FROM t WHERE id >= 1000 ORDER BY id", [][]string{r("1000", "7"), r("2000", "9"), r("2001", "9")})
}

// TestAlterTableFailsAtomically: an ALTER TABLE whose rows cannot be
// converted (NULLs into NOT NULL: 1138, as MySQL; text into INT; a MODIFY that
// makes two rows share a UNIQUE key: 1062) changes nothing: same
// columns, same rows, same indexes, even after a restart. Catches: an
// inserter that commits what it has on DiscardChanges or Close after an
// error, a NOT NULL check that is skipped, or a change committed before
// the conversion finished.
func TestAlterTableFailsAtomically(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	alterSetup(t, ts)
	db := ts.open("al")
	mustExec(t, db, "CREATE UNIQUE INDEX ux ON t (x)")
	before := columnsOf(t, ts, "t")
	snapshot := func() [][]string {
		return queryRows(t, db, "SELECT id, name, x FROM t ORDER BY id")
	}
	rows := snapshot()

	expectErr(t, db, "ALTER TABLE t MODIFY name VARCHAR(20) NOT NULL", 1138)
	expectErr(t, db, "ALTER TABLE t CHANGE COLUMN `name` `name` VARCHAR(20) NOT NULL", 1138)
	if n, _ := errNumber(t, db, "ALTER TABLE t MODIFY name INT"); n == 0 {
		t.Error("ALTER TABLE t MODIFY name INT succeeded on values 'n1', 'n2', ...")
	}
	// x = i/2 rounds to the same integer for i = 2k and 2k+1.
	expectErr(t, db, "ALTER TABLE t MODIFY x INT", 1062)

	check := func(where string) {
		t.Helper()
		if got := columnsOf(t, ts, "t"); !reflect.DeepEqual(got, before) {
			t.Errorf("%s: columns %v, want %v", where, got, before)
		}
		if got := snapshot(); !reflect.DeepEqual(got, rows) {
			t.Errorf("%s: the rows changed", where)
		}
		expectRows(t, db, "SELECT id FROM t WHERE name = 'n8'", [][]string{r("8")})
	}
	check("after the failed ALTERs")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("al")
	check("after restart")
}

// TestAlterTableTransactions: ALTER TABLE commits the session's open
// transaction first (its rows are kept, once); another session whose
// transaction wrote the table before the change gets 1412 at COMMIT and
// its rows are not committed, and one that only read it gets 1412 on its
// next read. Catches: a rewrite that reads the open transaction's rows
// and commits them, which the transaction's COMMIT then appends again
// (duplicates); a transaction commit that writes old-schema rows into
// the changed table (columns shifted, or a panic).
func TestAlterTableTransactions(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	alterSetup(t, ts)
	a, b := ts.open("al"), ts.open("al")
	a.SetMaxOpenConns(1)
	b.SetMaxOpenConns(1)

	mustExecAll(t, a, "BEGIN", "INSERT INTO t VALUES (5000, 'tx', 1)")
	mustExec(t, a, "ALTER TABLE t ADD COLUMN y INT DEFAULT 3")
	mustExec(t, a, "ROLLBACK") // nothing left to roll back
	expectRows(t, a, "SELECT COUNT(*), MAX(y) FROM t WHERE id = 5000", [][]string{r("1", "3")})

	mustExecAll(t, b, "BEGIN", "INSERT INTO t (id, name, x) VALUES (6000, 'other', 2)")
	mustExecAll(t, a, "BEGIN", "SELECT SUM(x) FROM t") // COUNT(*) would read the row count only
	mustExec(t, ts.open("al"), "ALTER TABLE t DROP COLUMN y")
	expectErr(t, b, "COMMIT", 1412)
	expectErr(t, a, "SELECT SUM(x) FROM t", 1412)
	mustExec(t, a, "ROLLBACK")
	expectRows(t, a, "SELECT COUNT(*) FROM t WHERE id = 6000", [][]string{r("0")})
	expectRows(t, a, "SELECT COUNT(*) FROM t", [][]string{r(fmt.Sprint(alterRows + 1))})
	mustExec(t, b, "INSERT INTO t VALUES (6000, 'other', 2)") // the new columns work from b

	// With autocommit off, the statements after an ALTER TABLE run in a
	// new transaction that sees the new columns.
	mustExecAll(t, a, "SET autocommit = 0", "ALTER TABLE t ADD COLUMN q INT DEFAULT 5", "SELECT SUM(x) FROM t")
	mustExecAll(t, a, "INSERT INTO t VALUES (7000, 'ac0', 3, 6)", "COMMIT")
	expectRows(t, b, "SELECT SUM(q) FROM t WHERE id >= 6000", [][]string{r("11")})
	expectRows(t, a, "SELECT name FROM t WHERE id = 6000", [][]string{r("other")})
}

// TestRenameTable: RENAME TABLE and ALTER TABLE … RENAME move a table's
// rows, secondary indexes and AUTO_INCREMENT counter to the new name,
// which persists across a restart; names with spaces and non-ASCII
// characters work and survive a restart; the old name can be reused;
// renaming onto an existing table is 1050 and onto a missing one 1146,
// changing nothing. Catches: a rename the storage does not persist (the
// old name is back after restart), an AUTO_INCREMENT counter that
// restarts after a rename (ids reused), a new table of the old name that
// shares the renamed table's directory.
func TestRenameTable(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	alterSetup(t, ts)
	db := ts.open("al")
	mustExecAll(t, db,
		"CREATE TABLE seq (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
		"INSERT INTO seq (v) VALUES (1), (2), (3)",
		"DELETE FROM seq WHERE id = 3",
		"RENAME TABLE t TO `Sales Q3 ünï`",
		"ALTER TABLE seq RENAME TO seq2",
		"CREATE TABLE t (a INT)",
		"INSERT INTO t VALUES (42)")
	expectErr(t, db, "RENAME TABLE t TO seq2", 1050)
	expectErr(t, db, "RENAME TABLE nope TO other", 1146)
	check := func(where string) {
		t.Helper()
		expectRows(t, db, "SELECT COUNT(*), SUM(id) FROM `sales q3 ünï`", [][]string{r(fmt.Sprint(alterRows), fmt.Sprint(alterRows*(alterRows-1)/2))})
		expectRows(t, db, "SELECT id FROM `Sales Q3 ünï` WHERE name = 'n151'", [][]string{r("151")})
		expectRows(t, db, "SELECT a FROM t", [][]string{r("42")})
		expectRows(t, db, "SHOW TABLES", [][]string{r("Sales Q3 ünï"), r("seq2"), r("t")})
	}
	check("after RENAME")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("al")
	check("after restart")
	mustExec(t, db, "INSERT INTO seq2 (v) VALUES (4)")
	// 3 was used before the rename and must not come back (a gap, from
	// the persisted reservation, is allowed as in MySQL).
	expectRows(t, db, "SELECT id > 3 FROM seq2 WHERE v = 4", [][]string{r("1")})
}

// metadataVersion is the newest Iceberg metadata version of table dir
// (its directory under the database al) in data directory dataDir.
func metadataVersion(t *testing.T, dataDir, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dataDir, "warehouse", "al", dir, "metadata"))
	if err != nil {
		t.Fatal(err)
	}
	v := 0
	for _, e := range ents {
		var n int
		if _, err := fmt.Sscanf(e.Name(), "v%d.metadata.json", &n); err == nil && e.Name() == fmt.Sprintf("v%d.metadata.json", n) {
			v = max(v, n)
		}
	}
	return v
}

// TestAlterTableClausesAtomic: an ALTER TABLE with several clauses is
// all or nothing. Each failing statement below fails in a late clause
// (NULLs for MODIFY … NOT NULL: 1138; duplicates for a new UNIQUE index:
// 1062; RENAME TO a taken name: 1050; DROP INDEX of a missing index:
// 1091; a missing column) and leaves columns, rows, indexes and name as
// they were, also after a restart, and no new metadata version; a
// successful one (ADD, DROP, RENAME and MODIFY COLUMN, ADD and DROP
// INDEX, ADD UNIQUE, RENAME TO) is exactly one new metadata version and
// survives a restart. Catches: clauses committed one by one (the first
// clauses of a failing statement stay; the version count grows by one
// per clause), a rename committed apart from the columns, a RENAME
// COLUMN after a rewrite that loses the rewritten rows' names, a MODIFY
// of the primary key that makes it nullable.
func TestAlterTableClausesAtomic(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	alterSetup(t, ts)
	db := ts.open("al")
	mustExec(t, db, "CREATE TABLE other (a INT)")
	rows := func() [][]string { return queryRows(t, db, "SELECT * FROM t ORDER BY id") }
	indexes := func(table string) [][]string {
		return queryRows(t, db, "SELECT index_name, column_name, non_unique FROM information_schema.statistics "+
			"WHERE table_schema = 'al' AND table_name = ? ORDER BY index_name, seq_in_index", table)
	}
	before, beforeRows, beforeIdx := columnsOf(t, ts, "t"), rows(), indexes("t")
	version := metadataVersion(t, dir, "t")

	for _, c := range []struct {
		stmt string
		code uint16
	}{
		{"ALTER TABLE t ADD COLUMN a INT DEFAULT 1, DROP COLUMN x, MODIFY name VARCHAR(20) NOT NULL", 1138},
		{"ALTER TABLE t RENAME COLUMN x TO y, ADD INDEX iy (y), ADD COLUMN k INT DEFAULT 3, ADD UNIQUE INDEX uk (k)", 1062},
		{"ALTER TABLE t ADD COLUMN a INT, ADD INDEX ia (a), RENAME TO other", 1050},
		{"ALTER TABLE t DROP INDEX ix_name, ADD COLUMN q INT, DROP INDEX nope", 1091},
		{"ALTER TABLE t ADD COLUMN a INT, DROP COLUMN x, DROP COLUMN nope", 0},
	} {
		if c.code == 0 {
			if n, _ := errNumber(t, db, c.stmt); n == 0 {
				t.Errorf("%s succeeded", c.stmt)
			}
		} else {
			expectErr(t, db, c.stmt, c.code)
		}
	}
	check := func(where string) {
		t.Helper()
		if got := columnsOf(t, ts, "t"); !reflect.DeepEqual(got, before) {
			t.Errorf("%s: columns %v, want %v", where, got, before)
		}
		if got := rows(); !reflect.DeepEqual(got, beforeRows) {
			t.Errorf("%s: the rows changed", where)
		}
		if got := indexes("t"); !reflect.DeepEqual(got, beforeIdx) {
			t.Errorf("%s: indexes %v, want %v", where, got, beforeIdx)
		}
		expectRows(t, db, "SHOW TABLES", [][]string{r("other"), r("t")})
	}
	check("after the failed statements")
	if v := metadataVersion(t, dir, "t"); v != version {
		t.Errorf("failed statements moved the metadata version from %d to %d", version, v)
	}

	mustExec(t, db, "ALTER TABLE t ADD COLUMN a INT NOT NULL DEFAULT 7 FIRST, DROP COLUMN x, RENAME COLUMN name TO label, "+
		"MODIFY id BIGINT, ADD INDEX ia (a), DROP INDEX ix_name, ADD UNIQUE INDEX ul (label), RENAME TO t2")
	if v := metadataVersion(t, dir, "t"); v != version+1 {
		t.Errorf("one ALTER TABLE moved the metadata version from %d to %d, want one commit", version, v)
	}
	wantCols := [][]string{r("a", "int", "NO"), r("id", "bigint", "NO"), r("label", "varchar(20)", "YES")}
	wantIdx := [][]string{r("ia", "a", "1"), r("PRIMARY", "id", "0"), r("ul", "label", "0")}
	checkNew := func(where string) {
		t.Helper()
		expectRows(t, db, "SHOW TABLES", [][]string{r("other"), r("t2")})
		if got := columnsOf(t, ts, "t2"); !reflect.DeepEqual(got, wantCols) {
			t.Errorf("%s: columns %v, want %v", where, got, wantCols)
		}
		if got := indexes("t2"); !reflect.DeepEqual(got, wantIdx) {
			t.Errorf("%s: indexes %v, want %v", where, got, wantIdx)
		}
		expectRows(t, db, "SELECT a, id, label FROM t2 WHERE id IN (7, 8) ORDER BY id", [][]string{r("7", "7", "NULL"), r("7", "8", "n8")})
		expectRows(t, db, "SELECT COUNT(*), SUM(a) FROM t2", [][]string{r(fmt.Sprint(alterRows), fmt.Sprint(7*alterRows))})
		expectRows(t, db, "SELECT id FROM t2 WHERE label = 'n151'", [][]string{r("151")})
		expectErr(t, db, "INSERT INTO t2 (id, label) VALUES (5000, 'n9')", 1062)
	}
	checkNew("after ALTER")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("al")
	checkNew("after restart")
}
