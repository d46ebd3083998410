package engine_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestDamagedTableIsContained corrupts one table's newest metadata file
// while the server is stopped: the real binary still starts, lists the
// table with its damage (information_schema.TABLES, SHOW TABLE STATUS),
// answers every use of it with error 1194, serves the other table as
// before, and DROP TABLE removes it for good.
func TestDamagedTableIsContained(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	writeGoodAndBad(t, bin, dir, "(1, 9)")

	mdir := filepath.Join(dir, "warehouse", "h", "bad", "metadata")
	versions, err := filepath.Glob(filepath.Join(mdir, "v*.metadata.json"))
	if err != nil || len(versions) == 0 {
		t.Fatalf("metadata versions of h.bad: %v %v", versions, err)
	}
	newest := filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json", len(versions)))
	b, err := os.ReadFile(newest)
	if err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff // one flipped byte
	if err := os.WriteFile(newest, b, 0o644); err != nil {
		t.Fatal(err)
	}

	p := startProc(t, bin, dir)
	db := openDSN(t, "root:@tcp("+p.addr+")/h")
	expectRows(t, db, "SHOW TABLES", [][]string{r("bad"), r("good")})
	expectRows(t, db, "SELECT id, v FROM good ORDER BY id", [][]string{r("1", "1.5"), r("2", "2.5")})
	mustExec(t, db, "INSERT INTO good VALUES (3, 3.5)")
	for _, q := range []string{
		"SELECT * FROM bad",
		"SELECT COUNT(*) FROM bad",
		"INSERT INTO bad VALUES (2, 1)",
		"DELETE FROM bad",
		"UPDATE bad SET v = 0",
		"TRUNCATE TABLE bad",
	} {
		if msg := expectErr(t, db, q, 1194); !strings.Contains(msg, "h.bad") {
			t.Errorf("%s: error %q does not name the table", q, msg)
		}
	}
	for _, q := range []string{
		"ALTER TABLE bad ADD COLUMN w INT",
		"CREATE INDEX iv ON bad (v)",
		"RENAME TABLE bad TO bad2",
		"CREATE DETECTOR dd USING autoencoder AS SELECT v FROM bad",
	} {
		if _, err := db.Exec(q); err == nil {
			t.Errorf("%s on a damaged table succeeded", q)
		}
	}
	var comment string
	if err := db.QueryRow("SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'h' AND TABLE_NAME = 'bad'").Scan(&comment); err != nil || !strings.Contains(comment, "damaged") {
		t.Errorf("information_schema.TABLES comment of the damaged table: %q, %v", comment, err)
	}
	rows := queryRows(t, db, "SHOW TABLE STATUS")
	for _, row := range rows {
		damaged := strings.Contains(row[len(row)-1], "damaged")
		if damaged != (row[0] == "bad") {
			t.Errorf("SHOW TABLE STATUS row %v", row)
		}
	}
	mustExec(t, db, "DROP TABLE bad")
	expectRows(t, db, "SHOW TABLES", [][]string{r("good")})
	db.Close()
	p.stop(t, syscall.SIGTERM)

	p = startProc(t, bin, dir)
	db = openDSN(t, "root:@tcp("+p.addr+")/h")
	expectRows(t, db, "SHOW TABLES", [][]string{r("good")})
	expectRows(t, db, "SELECT COUNT(*) FROM good", [][]string{r("3")})
	mustExec(t, db, "CREATE TABLE bad (id INT PRIMARY KEY)")
	mustExec(t, db, "INSERT INTO bad VALUES (1)")
	expectRows(t, db, "SELECT id FROM bad", [][]string{r("1")})
	db.Close()
	p.stop(t, syscall.SIGTERM)
}

// TestDamagedDataFileFailsTheTableOnFirstRead: the server reads a table's
// rows from its data files when a statement needs them, not at start, so
// a data file that was truncated or deleted while the server was stopped
// does not keep it from starting: the table is listed, the other table is
// served, and every statement that reads the file's rows (a scan, a key
// check of an INSERT, a lookup) is error 1194 naming the table, while
// COUNT(*) is answered from the snapshot's metadata; DROP TABLE removes
// it. Bugs caught: a damaged data file that stops the server or fails
// every table, a damaged table that reads as empty or whose INSERT skips
// the key check.
func TestDamagedDataFileFailsTheTableOnFirstRead(t *testing.T) {
	bin := buildBinary(t)
	for _, damage := range []string{"truncated", "deleted"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			writeGoodAndBad(t, bin, dir, "(1, 9), (2, 8)")

			files, err := filepath.Glob(filepath.Join(dir, "warehouse", "h", "bad", "data", "*.parquet"))
			if err != nil || len(files) != 1 {
				t.Fatalf("data files of h.bad: %v %v", files, err)
			}
			if damage == "deleted" {
				err = os.Remove(files[0])
			} else {
				err = os.Truncate(files[0], 10)
			}
			if err != nil {
				t.Fatal(err)
			}

			p := startProc(t, bin, dir)
			db := openDSN(t, "root:@tcp("+p.addr+")/h")
			expectRows(t, db, "SHOW TABLES", [][]string{r("bad"), r("good")})
			expectRows(t, db, "SELECT id, v FROM good ORDER BY id", [][]string{r("1", "1.5"), r("2", "2.5")})
			for _, q := range []string{"SELECT * FROM bad", "SELECT SUM(v) FROM bad", "INSERT INTO bad VALUES (3, 1)", "SELECT v FROM bad WHERE id = 1"} {
				if msg := expectErr(t, db, q, 1194); !strings.Contains(msg, "h.bad") {
					t.Errorf("%s: error %q does not name the table", q, msg)
				}
			}
			expectRows(t, db, "SELECT COUNT(*) FROM bad", [][]string{r("2")})
			mustExec(t, db, "INSERT INTO good VALUES (3, 3.5)")
			mustExec(t, db, "DROP TABLE bad")
			expectRows(t, db, "SHOW TABLES", [][]string{r("good")})
			expectRows(t, db, "SELECT COUNT(*) FROM good", [][]string{r("3")})
			db.Close()
			p.stop(t, syscall.SIGTERM)
		})
	}
}

// writeGoodAndBad runs the binary on dir to create tables h.good (rows
// (1, 1.5), (2, 2.5)) and h.bad (rows badRows) and stops it.
func writeGoodAndBad(t *testing.T, bin, dir, badRows string) {
	t.Helper()
	p := startProc(t, bin, dir)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, db,
		"CREATE DATABASE h",
		"CREATE TABLE h.good (id INT PRIMARY KEY, v DOUBLE)",
		"CREATE TABLE h.bad (id INT PRIMARY KEY, v DOUBLE)",
		"INSERT INTO h.good VALUES (1, 1.5), (2, 2.5)",
		"INSERT INTO h.bad VALUES "+badRows)
	db.Close()
	p.stop(t, syscall.SIGTERM)
}

// TestMissingDeleteFileFailsTheTable deletes, while the server is
// stopped, the position delete file a DELETE wrote (merge-on-read, a
// table above storage's CopyOnWriteRows): the real binary starts, every
// statement that reads the table is error 1194 naming it (never its
// rows with the deleted one back), the other table is served, and DROP
// TABLE removes it. Bugs caught: a missing delete file ignored (deleted
// rows resurrected), or one that fails the server or every table.
func TestMissingDeleteFileFailsTheTable(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	var rows strings.Builder
	for i := range 2000 {
		if i > 0 {
			rows.WriteString(", ")
		}
		fmt.Fprintf(&rows, "(%d, %d)", i, i)
	}
	writeGoodAndBad(t, bin, dir, rows.String())
	p := startProc(t, bin, dir)
	db := openDSN(t, "root:@tcp("+p.addr+")/h")
	mustExec(t, db, "DELETE FROM bad WHERE id = 7")
	db.Close()
	p.stop(t, syscall.SIGTERM)
	dels, err := filepath.Glob(filepath.Join(dir, "warehouse", "h", "bad", "data", "*-deletes.parquet"))
	if err != nil || len(dels) != 1 {
		t.Fatalf("delete files of h.bad: %v %v", dels, err)
	}
	if err := os.Remove(dels[0]); err != nil {
		t.Fatal(err)
	}

	p = startProc(t, bin, dir)
	db = openDSN(t, "root:@tcp("+p.addr+")/h")
	for _, q := range []string{"SELECT * FROM bad", "SELECT SUM(v) FROM bad", "SELECT v FROM bad WHERE id = 7", "INSERT INTO bad VALUES (3000, 1)", "DELETE FROM bad WHERE id = 8"} {
		if msg := expectErr(t, db, q, 1194); !strings.Contains(msg, "h.bad") || !strings.Contains(msg, "deletes.parquet") {
			t.Errorf("%s: error %q does not name the table and the delete file", q, msg)
		}
	}
	expectRows(t, db, "SELECT id, v FROM good ORDER BY id", [][]string{r("1", "1.5"), r("2", "2.5")})
	mustExec(t, db, "DROP TABLE bad")
	expectRows(t, db, "SHOW TABLES", [][]string{r("good")})
	db.Close()
	p.stop(t, syscall.SIGTERM)
}
