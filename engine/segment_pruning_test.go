package engine_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

func must1(n, _ int64) int64 { return n }

// TestScansSkipFilesTheFilterRulesOut fills a table of 60,000 rows in
// data files of about 64 KB, whose columns n (INT) and v (DOUBLE) grow
// with the row, with a cache that keeps nothing (every file read is a
// miss): a scan under a comparison of n or v with a constant reads only
// the files whose statistics allow a match, and every query returns what
// the rows that satisfy it. Comparisons of every kind (<, <=, >, >=, =,
// BETWEEN, constant on the left) at each file's own bounds, random ones
// with fractional and negative constants, a prepared statement, an
// alias, and a transaction with its own rows are checked. Bugs caught: a
// bound compared the wrong way or a strict comparison treated as
// inclusive (rows lost at the edge of a file), a constant on the left
// not flipped, the transaction's own rows pruned by the committed files'
// statistics, no pruning at all.
func TestScansSkipFilesTheFilterRulesOut(t *testing.T) {
	dir := t.TempDir()
	ts := startServerConfig(t, engine.Config{DataDir: dir, DataFileBytes: 64 << 10, CacheMemory: -1})
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE p", "USE p", "CREATE TABLE src (id BIGINT PRIMARY KEY, v DOUBLE)",
		"CREATE TABLE t (id BIGINT PRIMARY KEY, n INT, v DOUBLE, s VARCHAR(10))")
	fillSrc(t, db, 300)
	mustExec(t, db, "INSERT INTO t SELECT a.id * 300 + b.id, (a.id * 300 + b.id) DIV 7, (a.id * 300 + b.id) * 0.25 - 100, 'x' FROM src a, src b WHERE a.id < 200 ORDER BY 1")
	files := parquetFiles(t, dir, "p", "t")
	if files < 10 {
		t.Fatalf("%d data files, want many", files)
	}

	count := func(q string, args ...any) (n int64, misses int64) {
		t.Helper()
		before := ts.srv.CacheStats().Misses
		if err := db.QueryRow(q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n, ts.srv.CacheStats().Misses - before
	}
	// A narrow range reads one or two files, not all.
	if n, read := count("SELECT COUNT(*) FROM t WHERE n BETWEEN 100 AND 110"); n != 77 || read > 2 {
		t.Errorf("n BETWEEN 100 AND 110: %d rows from %d of %d files, want 77 rows from at most 2", n, read, files)
	}
	if n, read := count("SELECT COUNT(*) FROM t WHERE n + 0 BETWEEN 100 AND 110"); n != 77 || read != int64(files) {
		t.Errorf("n + 0 BETWEEN 100 AND 110: %d rows from %d of %d files, want 77 from every file", n, read, files)
	}

	// Comparisons at every file's bounds, and random ones, against counts
	// computed here: row id has n = id DIV 7 and v = id / 4 - 100.
	const rows = 60_000
	expect := func(pred func(n int64, v float64) bool) int64 {
		var c int64
		for id := int64(0); id < rows; id++ {
			if pred(id/7, float64(id)*0.25-100) {
				c++
			}
		}
		return c
	}
	cmpOps := map[string]func(a, b float64) bool{
		"<": func(a, b float64) bool { return a < b }, "<=": func(a, b float64) bool { return a <= b },
		">": func(a, b float64) bool { return a > b }, ">=": func(a, b float64) bool { return a >= b },
		"=": func(a, b float64) bool { return a == b },
	}
	flip := map[string]string{"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}
	check := func(cond string, pred func(n int64, v float64) bool) {
		t.Helper()
		if got, want := must1(count("SELECT COUNT(*) FROM t AS x WHERE "+cond)), expect(pred); got != want {
			t.Fatalf("WHERE %s: %d rows, want %d", cond, got, want)
		}
	}
	nb, err := ts.srv.SegmentBounds("p", "t", 1)
	if err != nil {
		t.Fatal(err)
	}
	vb, err := ts.srv.SegmentBounds("p", "t", 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(nb); i += 4 {
		for op, f := range cmpOps {
			for _, c := range []int64{nb[i].LoInt, nb[i].HiInt} {
				check(fmt.Sprintf("n %s %d", op, c), func(n int64, _ float64) bool { return f(float64(n), float64(c)) })
				check(fmt.Sprintf("%d %s x.n", c, flip[op]), func(n int64, _ float64) bool { return f(float64(n), float64(c)) })
			}
			for _, c := range []float64{vb[i].LoFloat, vb[i].HiFloat} {
				check(fmt.Sprintf("v %s %g", op, c), func(_ int64, v float64) bool { return f(v, c) })
			}
		}
	}
	rng := rand.New(rand.NewPCG(5, 9))
	opNames := []string{"<", "<=", ">", ">=", "="}
	for range 40 {
		op := opNames[rng.IntN(len(opNames))]
		f := cmpOps[op]
		switch rng.IntN(3) {
		case 0: // n against a fraction
			c := float64(rng.IntN(9000)) + 0.5
			check(fmt.Sprintf("n %s %g", op, c), func(n int64, _ float64) bool { return f(float64(n), c) })
		case 1: // v against a fraction, between two rows' values
			c := float64(rng.IntN(60000))*0.25 - 100.125
			check(fmt.Sprintf("x.v %s %g", op, c), func(_ int64, v float64) bool { return f(v, c) })
		default:
			lo, m := float64(rng.IntN(14000)-100), int64(rng.IntN(9000))
			hi := lo + float64(rng.IntN(500))
			check(fmt.Sprintf("v BETWEEN %g AND %g AND n < %d", lo, hi, m), func(n int64, v float64) bool { return v >= lo && v <= hi && n < m })
		}
	}

	// A prepared statement, and a transaction whose own rows lie outside
	// every committed file's bounds.
	if n, read := count("SELECT COUNT(*) FROM t WHERE n > ?", 8400); n != 1193 || read > 2 {
		t.Errorf("prepared n > 8400: %d rows from %d files, want 1193 from at most 2", n, read)
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1000000, 1000000, 1e9, 'mine')"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT COUNT(*) FROM t WHERE n > 999999").Scan(&n); err != nil || n != 1 {
		t.Errorf("the transaction's own row under a filter no committed file can match: %d, %v", n, err)
	}
}

// TestPruningLeavesFloatColumnsAlone: a FLOAT column compared with a
// decimal constant at a file's bound (0.1 stored as float32) gives the
// rows the unpruned filter gives, the one file per row notwithstanding;
// NaN and infinities are refused (1367) as MySQL does. Bugs caught:
// pruning by float32 bounds widened to float64 (0.1f > 0.1, so f <= 0.1
// lost its row), NaN stored (no bound covers it, and comparisons with it
// failed with 1105).
func TestPruningLeavesFloatColumnsAlone(t *testing.T) {
	ts := startServerConfig(t, engine.Config{DataDir: t.TempDir(), CacheMemory: -1})
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE f", "USE f", "CREATE TABLE t (id BIGINT PRIMARY KEY, f FLOAT, d DOUBLE)",
		"INSERT INTO t VALUES (1, 0.1, 1)", "INSERT INTO t VALUES (2, 0.2, 2)", "INSERT INTO t VALUES (3, 0.7, 3)",
		"INSERT INTO t VALUES (7, 0.5, 1)")
	// NaN and the infinities are not DOUBLE values in MySQL.
	for _, v := range []string{"'NaN'", "'inf'", "'-Infinity'"} {
		expectErr(t, db, "INSERT INTO t VALUES (6, 0.5, "+v+")", 1367)
	}
	expectErr(t, db, "INSERT INTO t VALUES (6, 'NaN', 1)", 1367)
	for _, cond := range []string{"f <= 0.1", "f = 0.1", "f BETWEEN 0 AND 0.1", "f >= 0.7", "d > 5"} {
		var got, want int
		if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE " + cond).Scan(&got); err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if err := db.QueryRow("SELECT COUNT(*) FROM t WHERE " + cond + " OR id < 0").Scan(&want); err != nil {
			t.Fatalf("%s: %v", cond, err)
		}
		if got != want {
			t.Errorf("WHERE %s: %d rows; unpruned %d", cond, got, want)
		}
	}
}
