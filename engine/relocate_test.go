package engine_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

// TestCopiedAndMovedDataDirectoryStarts copies a stopped server's data
// directory with cp -a and moves the copy with mv, and starts the real
// binary on each: the same tables, rows and detector scores; writes to the
// copy stay in the copy (the original's files are untouched and it still
// starts with its own rows).
func TestCopiedAndMovedDataDirectoryStarts(t *testing.T) {
	bin := buildBinary(t)
	base := t.TempDir()
	orig := filepath.Join(base, "orig")

	p := startProc(t, bin, orig)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, db,
		"CREATE DATABASE m",
		"CREATE TABLE m.t (id INT PRIMARY KEY, a DOUBLE, b DOUBLE)")
	for i := 0; i < 20; i++ {
		mustExec(t, db, "INSERT INTO m.t VALUES (?, ?, ?)", i, float64(i%7), float64(i*i%11))
	}
	mustExec(t, db, "CREATE DETECTOR m.d USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT a, b FROM m.t")
	const score = "SELECT CAST(SUM(anomaly_score('m.d', a, b)) AS CHAR) FROM m.t"
	want := queryRows(t, db, score)
	db.Close()
	p.stop(t, syscall.SIGTERM)
	before := testbin.TreeState(t, orig)

	cp := filepath.Join(base, "copy")
	if out, err := exec.Command("cp", "-a", orig, cp).CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v\n%s", err, out)
	}
	p = startProc(t, bin, cp)
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	expectRows(t, db, "SELECT COUNT(*) FROM m.t", [][]string{r("20")})
	expectRows(t, db, score, want)
	for i := 20; i < 30; i++ {
		mustExec(t, db, "INSERT INTO m.t VALUES (?, 0, 0)", i)
	}
	mustExec(t, db, "DROP DETECTOR m.d")
	mustExec(t, db, "CREATE DETECTOR m.d2 USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT a, b FROM m.t")
	db.Close()
	p.stop(t, syscall.SIGTERM)

	testbin.SameTree(t, "the copy's server", before, testbin.TreeState(t, orig))

	moved := filepath.Join(base, "moved")
	if err := os.Rename(cp, moved); err != nil {
		t.Fatal(err)
	}
	p = startProc(t, bin, moved)
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	expectRows(t, db, "SELECT COUNT(*) FROM m.t", [][]string{r("30")})
	expectRows(t, db, "SELECT COUNT(*) FROM m.t WHERE anomaly_score('m.d2', a, b) IS NOT NULL", [][]string{r("30")})
	db.Close()
	p.stop(t, syscall.SIGTERM)

	p = startProc(t, bin, orig)
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	expectRows(t, db, "SELECT COUNT(*) FROM m.t", [][]string{r("20")})
	expectRows(t, db, score, want)
	db.Close()
	p.stop(t, syscall.SIGTERM)
}
