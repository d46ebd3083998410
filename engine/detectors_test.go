package engine_test

import (
	gosql "database/sql"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// trainThyroid trains a small Deep SVDD on examples.thyroid.
func trainThyroid(t *testing.T, db *gosql.DB, name string) {
	t.Helper()
	mustExec(t, db, "CREATE DETECTOR "+name+" USING deep_svdd WITH (epochs = 3, seed = 7, hidden = '16,8', label = 'label') "+
		"AS SELECT f0, f1, f2, f3, f4, f5, label FROM thyroid")
}

func scoresByID(t *testing.T, db *gosql.DB, q string) map[int64]float64 {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[int64]float64{}
	for rows.Next() {
		var id int64
		var s float64
		if err := rows.Scan(&id, &s); err != nil {
			t.Fatal(err)
		}
		out[id] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

const scoreAll = "SELECT id, anomaly_score('svdd', f0, f1, f2, f3, f4, f5) FROM thyroid"

func TestDetectorLifecycle(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")

	// SHOW DETECTORS.
	rows := queryRows(t, db, "SHOW DETECTORS")
	if len(rows) != 1 {
		t.Fatalf("SHOW DETECTORS: %v", rows)
	}
	d := rows[0]
	if d[0] != "svdd" || d[1] != "deep_svdd" || d[2] != "f0,f1,f2,f3,f4,f5" || d[3] != "3772" || d[4] != "ready" {
		t.Fatalf("SHOW DETECTORS row: %v", d)
	}

	// Scores for every row; a row alone scores exactly as in the batch.
	all := scoresByID(t, db, scoreAll)
	if len(all) != 3772 {
		t.Fatalf("%d scores, want 3772", len(all))
	}
	for _, id := range []int64{1, 17, 2000, 3772} {
		one := queryFloat(t, db, "SELECT anomaly_score('svdd', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = ?", id)
		if math.Float64bits(one) != math.Float64bits(all[id]) {
			t.Fatalf("row %d: alone %v, in batch %v", id, one, all[id])
		}
	}
	// Scores separate anomalies: the labelled anomalies score higher on
	// average, and is_anomaly flags about the contamination share.
	var sumA, sumN float64
	var nA, nN int
	labels := queryRows(t, db, "SELECT id, label FROM thyroid")
	for _, l := range labels {
		var id int64
		for _, c := range l[0] {
			id = id*10 + int64(c-'0')
		}
		if l[1] == "1" {
			sumA += all[id]
			nA++
		} else {
			sumN += all[id]
			nN++
		}
	}
	if sumA/float64(nA) <= sumN/float64(nN) {
		t.Fatalf("mean score of anomalies %v not above normals %v", sumA/float64(nA), sumN/float64(nN))
	}
	flagged := queryInt(t, db, "SELECT SUM(is_anomaly('svdd', f0, f1, f2, f3, f4, f5)) FROM thyroid")
	if flagged < 300 || flagged > 460 {
		t.Fatalf("is_anomaly flags %d of 3772 rows; the default contamination 0.1 should flag about 377", flagged)
	}
	// Qualified names and literals work too.
	q := queryFloat(t, db, "SELECT anomaly_score('examples.svdd', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 17")
	if q != all[17] {
		t.Fatalf("qualified name gives %v, want %v", q, all[17])
	}
	// NULL features are imputed with the training mean, not an error.
	if n := queryInt(t, db, "SELECT COUNT(anomaly_score('svdd', NULL, f1, f2, f3, f4, f5)) FROM thyroid"); n != 3772 {
		t.Fatalf("NULL feature: %d scores", n)
	}

	// Restart: the detector is back with bit-identical scores.
	ts.stop()
	ts2 := startServer(t, dir, true)
	db2 := ts2.open("examples")
	again := scoresByID(t, db2, scoreAll)
	for id, s := range all {
		if math.Float64bits(again[id]) != math.Float64bits(s) {
			t.Fatalf("row %d after restart: %v, want %v", id, again[id], s)
		}
	}
	if n := queryInt(t, db2, "SELECT COUNT(*) FROM thyroid"); n != 3772 {
		t.Fatalf("examples reloaded twice? %d rows", n)
	}

	// Same seed, same data: bit-identical scores.
	trainThyroid(t, db2, "svdd2")
	twin := scoresByID(t, db2, strings.Replace(scoreAll, "'svdd'", "'svdd2'", 1))
	for id, s := range all {
		if math.Float64bits(twin[id]) != math.Float64bits(s) {
			t.Fatalf("row %d retrained with the same seed: %v, want %v", id, twin[id], s)
		}
	}

	// A SELECT the engine must evaluate row by row (WHERE) trains on the
	// same rows as the direct Arrow scan and gives the same detector.
	mustExec(t, db2, "CREATE DETECTOR svdd3 USING deep_svdd WITH (epochs = 3, seed = 7, hidden = '16,8', label = 'label') "+
		"AS SELECT f0, f1, f2, f3, f4, f5, label FROM thyroid WHERE id > 0")
	viaSQL := scoresByID(t, db2, strings.Replace(scoreAll, "'svdd'", "'svdd3'", 1))
	for id, s := range all {
		if math.Float64bits(viaSQL[id]) != math.Float64bits(s) {
			t.Fatalf("row %d, detector trained through the row path: %v, want %v", id, viaSQL[id], s)
		}
	}
	mustExec(t, db2, "DROP DETECTOR svdd3")
	mustExec(t, db2, "DROP DETECTOR svdd2")
	mustExec(t, db2, "DROP DETECTOR IF EXISTS svdd2")
	mustExec(t, db2, "CREATE DETECTOR IF NOT EXISTS svdd USING deep_svdd AS SELECT f0 FROM thyroid")
	if rows := queryRows(t, db2, "SHOW DETECTORS"); len(rows) != 1 || rows[0][2] != "f0,f1,f2,f3,f4,f5" {
		t.Fatalf("after DROP and IF NOT EXISTS: %v", rows)
	}
	ts2.stop()
	ts3 := startServer(t, dir, true)
	if rows := queryRows(t, ts3.open("examples"), "SHOW DETECTORS"); len(rows) != 1 {
		t.Fatalf("dropped detector came back after restart: %v", rows)
	}
}

// TestDetectorBadInput checks that each bad input gives its MySQL error
// and changes nothing.
func TestDetectorBadInput(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	mustExec(t, db, "CREATE TABLE words (w VARCHAR(10), x DOUBLE)")
	mustExec(t, db, "INSERT INTO words VALUES ('a', 1), ('b', 2)")
	mustExec(t, db, "CREATE TABLE nothing (x DOUBLE)")
	trainThyroid(t, db, "svdd")
	cases := []struct {
		name  string
		query string
		code  uint16
	}{
		{"unknown detector", "SELECT anomaly_score('nope', f0) FROM thyroid", 1305},
		{"too few features", "SELECT anomaly_score('svdd', f0, f1) FROM thyroid", 1582},
		{"too many features", "SELECT is_anomaly('svdd', f0, f1, f2, f3, f4, f5, f5) FROM thyroid", 1582},
		{"non-numeric column", "SELECT anomaly_score('svdd', w, x, x, x, x, x) FROM words", 1366},
		{"non-numeric literal", "SELECT anomaly_score('svdd', 'abc', 1, 1, 1, 1, 1)", 1366},
		{"unknown algorithm", "CREATE DETECTOR d1 USING magic AS SELECT f0 FROM thyroid", 1286},
		{"unknown option", "CREATE DETECTOR d1 USING deep_svdd WITH (colour = 'red') AS SELECT f0 FROM thyroid", 1210},
		{"bad option value", "CREATE DETECTOR d1 USING deep_svdd WITH (epochs = -3) AS SELECT f0 FROM thyroid", 1210},
		{"bad hidden", "CREATE DETECTOR d1 USING deep_svdd WITH (hidden = 'a,b') AS SELECT f0 FROM thyroid", 1210},
		{"no rows", "CREATE DETECTOR d1 USING deep_svdd AS SELECT f0 FROM thyroid WHERE id < 0", 1329},
		{"empty table", "CREATE DETECTOR d1 USING deep_svdd AS SELECT x FROM nothing", 1329},
		{"JSON feature", "CREATE DETECTOR d1 USING deep_svdd AS SELECT JSON_OBJECT('w', w) AS j, x FROM words", 1366},
		{"label not in select", "CREATE DETECTOR d1 USING deep_svdd WITH (label = 'label') AS SELECT f0, f1 FROM thyroid", 1054},
		{"duplicate name", "CREATE DETECTOR svdd USING deep_svdd AS SELECT f0 FROM thyroid", 1304},
		{"drop missing", "DROP DETECTOR nope", 1305},
		{"syntax: no USING", "CREATE DETECTOR d1 deep_svdd AS SELECT f0 FROM thyroid", 1064},
		{"syntax: no AS", "CREATE DETECTOR d1 USING deep_svdd WITH (epochs = 1)", 1064},
		{"syntax: bad WITH", "CREATE DETECTOR d1 USING deep_svdd WITH epochs = 1 AS SELECT f0 FROM thyroid", 1064},
		{"syntax: bad select", "CREATE DETECTOR d1 USING deep_svdd AS SELEKT f0 FROM thyroid", 1064},
		{"missing table", "CREATE DETECTOR d1 USING deep_svdd AS SELECT f0 FROM nowhere", 1146},
	}
	for _, c := range cases {
		msg := expectErr(t, db, c.query, c.code)
		if c.code == 1064 && !strings.Contains(msg, "near '") {
			t.Errorf("%s: syntax error does not say where: %s", c.name, msg)
		}
	}
	rows := queryRows(t, db, "SHOW DETECTORS")
	if len(rows) != 1 || rows[0][0] != "svdd" {
		t.Fatalf("bad statements changed the detectors: %v", rows)
	}
}

// TestUnloadableDetector: a detector file that cannot be decoded (damaged,
// or saved by an incompatible version of its algorithm) does not keep the
// server from starting. The detector is listed with the error as its
// status, fails with 1457 when used, blocks its name until dropped, and
// can be dropped and created again; other detectors are unaffected.
func TestUnloadableDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	trainThyroid(t, db, "broken")
	want := scoresByID(t, db, scoreAll)
	ts.stop()

	path := filepath.Join(dir, "detectors", "examples", "broken.model")
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("detector file: %v", err)
	}
	if err := os.WriteFile(path, []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}

	ts = startServer(t, dir, true)
	db = ts.open("examples")
	rows := queryRows(t, db, "SHOW DETECTORS")
	if len(rows) != 2 || rows[0][0] != "broken" || rows[1][0] != "svdd" {
		t.Fatalf("SHOW DETECTORS: %v", rows)
	}
	if b := rows[0]; b[1] != "NULL" || !strings.HasPrefix(b[4], "error: ") || rows[1][4] != "ready" {
		t.Fatalf("SHOW DETECTORS rows: %v", rows)
	}
	if n, msg := errNumber(t, db, "SELECT anomaly_score('broken', f0, f1, f2, f3, f4, f5) FROM thyroid"); n != 1457 || !strings.Contains(msg, "broken") {
		t.Fatalf("scoring with the broken detector: %d %s", n, msg)
	}
	if got := scoresByID(t, db, scoreAll); len(got) != len(want) {
		t.Fatalf("svdd: %d scores after restart, want %d", len(got), len(want))
	} else {
		for id, s := range want {
			if got[id] != s {
				t.Fatalf("svdd: row %d scores %v after restart, want %v", id, got[id], s)
			}
		}
	}
	if n, _ := errNumber(t, db, "CREATE DETECTOR broken USING deep_svdd AS SELECT f0 FROM thyroid"); n != 1304 {
		t.Fatalf("CREATE over the broken detector: error %d, want 1304", n)
	}
	mustExec(t, db, "DROP DETECTOR broken")
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Fatalf("after DROP the file is still there: %v", err)
	}
	trainThyroid(t, db, "broken")
	if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 2 || got[0][4] != "ready" {
		t.Fatalf("SHOW DETECTORS after re-creating: %v", got)
	}
}

// TestDetectorRecreatedSameName: a detector dropped and created again
// under the same name with other features is used by the next statement
// on the same connection, both as a new query and as a prepared statement
// whose plan was built for the old one.
func TestDetectorRecreatedSameName(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	const six = "SELECT anomaly_score('svdd', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 17"
	const sixPrepared = "SELECT anomaly_score('svdd', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = ?"
	stmt, err := db.Prepare(sixPrepared)
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	preparedScore := func() (float64, error) {
		var f float64
		err := stmt.QueryRow(17).Scan(&f)
		return f, err
	}
	old := queryFloat(t, db, six)
	if p, err := preparedScore(); err != nil || p != old {
		t.Fatalf("prepared: %v, %v; want %v", p, err, old)
	}

	// Re-created with two features: six arguments are now an error.
	mustExec(t, db, "DROP DETECTOR svdd")
	mustExec(t, db, "CREATE DETECTOR svdd USING deep_svdd WITH (epochs = 1, seed = 3, hidden = '8') AS SELECT f0, f1 FROM thyroid")
	expectErr(t, db, six, 1582)
	expectErr(t, db, "SELECT anomaly_score('svdd')", 1582) // no feature at all
	var me *mysql.MySQLError
	if _, err := preparedScore(); !errors.As(err, &me) || me.Number != 1582 {
		t.Errorf("prepared statement after re-create with 2 features: %v, want error 1582", err)
	}
	two := queryFloat(t, db, "SELECT anomaly_score('svdd', f0, f1) FROM thyroid WHERE id = 17")

	// Re-created with six features again but trained differently: the new
	// scores, not the first detector's.
	mustExec(t, db, "DROP DETECTOR svdd")
	mustExec(t, db, "CREATE DETECTOR svdd USING deep_svdd WITH (epochs = 1, seed = 8, hidden = '8') AS SELECT f0, f1, f2, f3, f4, f5 FROM thyroid")
	fresh := queryFloat(t, db, six)
	if fresh == old {
		t.Fatalf("re-created detector scores %v, the same as the dropped one", fresh)
	}
	if p, err := preparedScore(); err != nil || p != fresh {
		t.Errorf("prepared statement after re-create: %v, %v; want %v (dropped detector: %v)", p, err, fresh, old)
	}
	if math.IsNaN(two) {
		t.Errorf("two-feature detector scored NaN")
	}
}
