package engine_test

import (
	gosql "database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/anomalydb/anomalydb/storage"
)

// TestColumnDefaults checks that DEFAULT clauses are kept: INSERT and
// LOAD DATA fill omitted columns from them, SHOW CREATE TABLE, DESCRIBE
// and information_schema.COLUMNS show them, and all of it survives a
// restart. Catches: encodeSchema not writing Column.Default (the default
// is dropped: the omitted NOT NULL column fails with 1364 and the others
// read NULL), or decodeSchema not reading it back (the same after the
// restart).
func TestColumnDefaults(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	admin := ts.open("")
	mustExec(t, admin, "CREATE DATABASE dflt")
	db := ts.open("dflt")
	mustExec(t, db, `CREATE TABLE t (
		id INT PRIMARY KEY,
		n INT NOT NULL DEFAULT 7,
		s VARCHAR(20) DEFAULT 'it''s',
		e VARCHAR(5) NOT NULL DEFAULT '',
		f DOUBLE DEFAULT -1.5,
		dt DATETIME DEFAULT '2020-01-02 03:04:05',
		created DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
		x INT DEFAULT (40 + 2),
		nul INT DEFAULT NULL,
		upd DATETIME DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)`)

	check := func(db *gosql.DB, id int, before time.Time) {
		t.Helper()
		got := queryRows(t, db, fmt.Sprintf("SELECT n, s, e, f, dt, x, nul FROM t WHERE id = %d", id))
		want := [][]string{{"7", "it's", "", "-1.5", "2020-01-02T03:04:05Z", "42", "NULL"}}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("row %d: got %v, want %v", id, got, want)
		}
		var created time.Time
		if err := db.QueryRow(fmt.Sprintf("SELECT created FROM t WHERE id = %d", id)).Scan(&created); err != nil {
			t.Fatal(err)
		}
		if created.Before(before.Add(-2*time.Second)) || created.After(time.Now().Add(2*time.Second)) {
			t.Errorf("row %d: CURRENT_TIMESTAMP default gave %v, want about %v", id, created, before)
		}
	}
	start := time.Now()
	mustExec(t, db, "INSERT INTO t (id) VALUES (1)")
	check(db, 1, start)

	// LOAD DATA with a column list that omits the defaulted columns.
	csv := filepath.Join(t.TempDir(), "ids.csv")
	if err := os.WriteFile(csv, []byte("2\n3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "LOAD DATA LOCAL INFILE '"+csv+"' INTO TABLE t (id)")
	check(db, 2, start)
	check(db, 3, start)

	show := queryRows(t, db, "SHOW CREATE TABLE t")[0][1]
	for _, want := range []string{"DEFAULT '7'", "DEFAULT 'it''s'", "DEFAULT ''", "DEFAULT CURRENT_TIMESTAMP", "DEFAULT ((40 + 2))", "DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP"} {
		if !strings.Contains(show, want) {
			t.Errorf("SHOW CREATE TABLE lacks %q:\n%s", want, show)
		}
	}
	desc := queryRows(t, db, "DESCRIBE t")
	if desc[1][0] != "n" || desc[1][4] != "7" {
		t.Errorf("DESCRIBE row of n: %v, want default 7", desc[1])
	}
	cols := queryRows(t, db, "SELECT COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dflt' AND TABLE_NAME = 't' AND COLUMN_NAME IN ('n', 's') ORDER BY COLUMN_NAME")
	if fmt.Sprint(cols) != "[[n 7] [s it's]]" {
		t.Errorf("information_schema.COLUMNS defaults: %v", cols)
	}

	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("dflt")
	start = time.Now()
	mustExec(t, db, "INSERT INTO t (id) VALUES (4)")
	check(db, 4, start)
	if show2 := queryRows(t, db, "SHOW CREATE TABLE t")[0][1]; show2 != show {
		t.Errorf("SHOW CREATE TABLE after restart:\n%s\nbefore:\n%s", show2, show)
	}
}

// TestOldSchemaLoads opens a table whose columns property was written
// before defaults, AUTO_INCREMENT and the creation time were stored.
// Catches: decodeSchema requiring the new fields (the table fails to
// load), or the CREATE_TIME override failing on a table without one.
func TestOldSchemaLoads(t *testing.T) {
	dir := t.TempDir()
	st, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateDatabase("old"); err != nil {
		t.Fatal(err)
	}
	as := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int32}, {Name: "v", Type: arrow.PrimitiveTypes.Int32, Nullable: true}}, nil)
	cols := `[{"name":"id","type":"int","nullable":false,"primary_key":true},{"name":"v","type":"int","nullable":true}]`
	if _, err := st.CreateTable("old", "t", as, map[string]string{"sql.columns": cols}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, dir, false)
	db := ts.open("old")
	mustExec(t, db, "INSERT INTO t (id) VALUES (1)")
	if got := queryRows(t, db, "SELECT id, v FROM t"); fmt.Sprint(got) != "[[1 NULL]]" {
		t.Errorf("rows: %v", got)
	}
	queryRows(t, db, "SELECT CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'old'")
	queryRows(t, db, "SHOW CREATE TABLE t")
}

// TestAutoIncrement checks the sequence of an AUTO_INCREMENT primary
// key: omitted, NULL and 0 get the next value, explicit values move it
// on, LAST_INSERT_ID() is the first generated value of the statement,
// a rolled-back value is never handed out again, an UPDATE past the
// counter moves it, TRUNCATE resets it, SHOW CREATE TABLE shows it, and
// a restart continues after every value handed out. Catches: a counter
// that gives back rolled-back values (next = max(column) + 1 at each
// insert), the counter not being loaded past the persisted mark at start
// (a restart reuses the rolled-back 6), and a reservation inside a
// transaction that deleted rows making its COMMIT fail with 1213
// (txTable.change comparing snapshots by pointer).
func TestAutoIncrement(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	admin := ts.open("")
	mustExec(t, admin, "CREATE DATABASE ai")
	db := ts.open("ai")
	mustExec(t, db, "CREATE TABLE t (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(10))")

	res := mustExec(t, db, "INSERT INTO t (v) VALUES ('a'), ('b')")
	if id, _ := res.LastInsertId(); id != 1 {
		t.Errorf("LastInsertId of the first insert: %d, want 1", id)
	}
	mustExec(t, db, "INSERT INTO t VALUES (NULL, 'c')")
	if got := queryInt(t, db, "SELECT LAST_INSERT_ID()"); got != 3 {
		t.Errorf("LAST_INSERT_ID() = %d, want 3", got)
	}
	mustExec(t, db, "INSERT INTO t VALUES (0, 'd')")
	mustExec(t, db, "INSERT INTO t VALUES (10, 'e')")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('f')")
	if got := queryRows(t, db, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 a] [2 b] [3 c] [4 d] [10 e] [11 f]]" {
		t.Errorf("rows: %v", got)
	}
	if show := queryRows(t, db, "SHOW CREATE TABLE t")[0][1]; !strings.Contains(show, "AUTO_INCREMENT=12") || !strings.Contains(show, "AUTO_INCREMENT,") {
		t.Errorf("SHOW CREATE TABLE:\n%s", show)
	}
	if desc := queryRows(t, db, "DESCRIBE t"); desc[0][5] != "auto_increment" {
		t.Errorf("DESCRIBE row of id: %v, want Extra auto_increment", desc[0])
	}
	if got := queryRows(t, db, "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'ai' AND TABLE_NAME = 't'"); fmt.Sprint(got) != "[[12]]" {
		t.Errorf("information_schema.TABLES.AUTO_INCREMENT: %v", got)
	}

	// Rolled back: 12 and 13 are gone for good.
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('g'), ('h')")
	mustExec(t, db, "ROLLBACK")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('i')")
	if got := queryInt(t, db, "SELECT LAST_INSERT_ID()"); got != 14 {
		t.Errorf("after ROLLBACK the next value is %d, want 14", got)
	}

	// An UPDATE past the counter moves it.
	mustExec(t, db, "UPDATE t SET id = 20 WHERE id = 14")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('j')")
	if got := queryInt(t, db, "SELECT MAX(id) FROM t"); got != 21 {
		t.Errorf("after UPDATE to 20 the next value is %d, want 21", got)
	}

	// A transaction that deletes, then makes the counter reserve a block.
	mustExec(t, db, "CREATE TABLE u (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
	mustExec(t, db, "INSERT INTO u VALUES (5, 0)")
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "DELETE FROM u WHERE id = 5")
	mustExec(t, db, "INSERT INTO u (v) VALUES (1)")
	mustExec(t, db, "COMMIT")
	if got := queryRows(t, db, "SELECT id, v FROM u"); fmt.Sprint(got) != "[[6 1]]" {
		t.Errorf("u after the transaction: %v", got)
	}

	// Values handed out so far: up to 21 in t (22 and 23 rolled back now).
	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('k'), ('l')")
	mustExec(t, db, "ROLLBACK")
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("ai")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('m')")
	if got := queryInt(t, db, "SELECT LAST_INSERT_ID()"); got <= 23 {
		t.Errorf("after a restart the next value is %d, want > 23", got)
	}

	mustExec(t, db, "TRUNCATE t")
	mustExec(t, db, "INSERT INTO t (v) VALUES ('n')")
	if got := queryInt(t, db, "SELECT id FROM t"); got != 1 {
		t.Errorf("after TRUNCATE the first value is %d, want 1 (as MySQL)", got)
	}
	csv := filepath.Join(t.TempDir(), "ai.csv")
	if err := os.WriteFile(csv, []byte("\\N,o\n0,p\n7,q\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "LOAD DATA LOCAL INFILE '"+csv+"' INTO TABLE t FIELDS TERMINATED BY ','")
	if got := queryRows(t, db, "SELECT id, v FROM t ORDER BY id"); fmt.Sprint(got) != "[[1 n] [2 o] [3 p] [7 q]]" {
		t.Errorf("LOAD DATA with \\N, 0 and 7 for the AUTO_INCREMENT column: %v", got)
	}

	mustExec(t, db, "CREATE TABLE w (id INT UNSIGNED NOT NULL AUTO_INCREMENT, PRIMARY KEY (id)) AUTO_INCREMENT = 100")
	mustExec(t, db, "INSERT INTO w VALUES ()")
	if got := queryInt(t, db, "SELECT id FROM w"); got != 100 {
		t.Errorf("CREATE TABLE … AUTO_INCREMENT = 100 gave %d first", got)
	}
	mustExec(t, db, "ALTER TABLE w AUTO_INCREMENT = 500")
	mustExec(t, db, "INSERT INTO w VALUES ()")
	if got := queryInt(t, db, "SELECT MAX(id) FROM w"); got != 500 {
		t.Errorf("after ALTER TABLE … AUTO_INCREMENT = 500 the next value is %d", got)
	}
	expectErr(t, db, "CREATE TABLE bad (id DOUBLE AUTO_INCREMENT PRIMARY KEY)", 1063)
}

// TestAutoIncrementCrash kills the server (SIGKILL) with values handed
// out to an open transaction and to a rolled-back one, and checks that
// the restarted server hands out only larger values. Catches: a counter
// that is not persisted before values beyond the mark are handed out
// (the restart starts at max(column) + 1 and reuses the lost values).
func TestAutoIncrementCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the server binary three times")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	const dsn = "root:@tcp(%s)/"
	p := startProc(t, bin, dir)
	db := openDSN(t, fmt.Sprintf(dsn, p.addr))
	mustExec(t, db, "CREATE DATABASE c")
	mustExec(t, db, "CREATE TABLE c.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, v INT)")
	var handed int64
	note := func() {
		if id := queryInt(t, db, "SELECT LAST_INSERT_ID()"); id > handed {
			handed = id
		}
	}
	for i := 0; i < 5; i++ {
		mustExec(t, db, "INSERT INTO c.t (v) VALUES (1)")
		note()
	}
	mustExec(t, db, "BEGIN")
	for i := 0; i < 40; i++ {
		mustExec(t, db, "INSERT INTO c.t (v) VALUES (2), (2)")
		note()
		handed++ // the second row of the statement
	}
	mustExec(t, db, "ROLLBACK")
	mustExec(t, db, "BEGIN")
	for i := 0; i < 30; i++ {
		mustExec(t, db, "INSERT INTO c.t (v) VALUES (3)")
		note()
	}
	// The transaction is open: its values exist only in the server's memory.
	p.kill()
	db.Close()

	p = startProc(t, bin, dir)
	db = openDSN(t, fmt.Sprintf(dsn, p.addr))
	if got := queryInt(t, db, "SELECT COUNT(*) FROM c.t"); got != 5 {
		t.Fatalf("rows after the crash: %d, want the 5 committed", got)
	}
	mustExec(t, db, "INSERT INTO c.t (v) VALUES (4)")
	id := queryInt(t, db, "SELECT LAST_INSERT_ID()")
	if id <= handed {
		t.Errorf("after kill -9 the next value is %d; values up to %d were handed out before", id, handed)
	}
	t.Logf("handed out up to %d before the crash, %d after", handed, id)

	// Insert, crash, restart, insert once more.
	p.kill()
	db.Close()
	p = startProc(t, bin, dir)
	db = openDSN(t, fmt.Sprintf(dsn, p.addr))
	mustExec(t, db, "INSERT INTO c.t (v) VALUES (5)")
	if id2 := queryInt(t, db, "SELECT LAST_INSERT_ID()"); id2 <= id {
		t.Errorf("after the second kill -9 the next value is %d, want > %d", id2, id)
	}
}

// TestCreateTime checks information_schema.TABLES.CREATE_TIME: the time
// of CREATE TABLE, also after a restart. Catches: CREATE TABLE not
// storing the time (go-mysql-server's constant 2000-01-01 shows), or the
// TABLES override not being installed.
func TestCreateTime(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE ct")
	before := time.Now().Add(-time.Second).Truncate(time.Second)
	mustExec(t, db, "CREATE TABLE ct.t (id INT PRIMARY KEY)")
	after := time.Now().Add(time.Second)
	q := "SELECT CREATE_TIME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'ct' AND TABLE_NAME = 't'"
	var created time.Time
	if err := db.QueryRow(q).Scan(&created); err != nil {
		t.Fatal(err)
	}
	if created.Before(before) || created.After(after) {
		t.Errorf("CREATE_TIME %v, want between %v and %v", created, before, after)
	}
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("")
	var again time.Time
	if err := db.QueryRow(q).Scan(&again); err != nil {
		t.Fatal(err)
	}
	if !again.Equal(created) {
		t.Errorf("CREATE_TIME after restart %v, want %v", again, created)
	}
}

// TestAutoIncrementConcurrent inserts from several connections at once
// and checks that every generated value is distinct and every insert
// commits. Catches: a counter read and advanced without its lock (two
// connections get the same value; one COMMIT fails with 1062).
func TestAutoIncrementConcurrent(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	admin := ts.open("")
	mustExec(t, admin, "CREATE DATABASE aic")
	mustExec(t, admin, "CREATE TABLE aic.t (id INT AUTO_INCREMENT PRIMARY KEY, w INT)")
	const workers, each = 4, 25
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func() {
			db, err := openDSNErr(ts.boundedDSN("aic"))
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			for i := 0; i < each; i++ {
				if _, err := db.Exec("INSERT INTO t (w) VALUES (?)", w); err != nil {
					errs <- explainTimeout(err)
					return
				}
			}
			errs <- nil
		}()
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got := queryRows(t, admin, "SELECT COUNT(*), COUNT(DISTINCT id), MIN(id), MAX(id) FROM aic.t")
	if want := fmt.Sprintf("[[%d %d 1 %d]]", workers*each, workers*each, workers*each); fmt.Sprint(got) != want {
		t.Errorf("count, distinct ids, min, max: %v, want %v", got, want)
	}
}
