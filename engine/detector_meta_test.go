package engine_test

import (
	"bytes"
	gosql "database/sql"
	"encoding/gob"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/detectors"
)

// Inspection and lifecycle of detectors (engine/detector_meta.go): DESCRIBE
// DETECTOR, SHOW CREATE DETECTOR, SHOW DETECTORS … WHERE,
// information_schema.DETECTORS, RENAME DETECTOR and CREATE OR REPLACE
// DETECTOR, over TCP, as text and prepared statements, across restarts.

// describe runs DESCRIBE DETECTOR name (prepared when prepared is set)
// and returns its properties, in order, and as a map.
func describe(t *testing.T, db *gosql.DB, stmt string, prepared bool) ([]string, map[string]string) {
	t.Helper()
	var rows *gosql.Rows
	var err error
	if prepared {
		ps, perr := db.Prepare(stmt)
		if perr != nil {
			t.Fatalf("preparing %s: %v", stmt, perr)
		}
		defer ps.Close()
		rows, err = ps.Query()
	} else {
		rows, err = db.Query(stmt)
	}
	if err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
	defer rows.Close()
	if cols, _ := rows.Columns(); !slices.Equal(cols, []string{"property", "value"}) {
		t.Fatalf("%s: columns %v", stmt, cols)
	}
	var order []string
	props := map[string]string{}
	for rows.Next() {
		var k string
		var v gosql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			t.Fatal(err)
		}
		if _, dup := props[k]; dup {
			t.Fatalf("%s: property %s twice", stmt, k)
		}
		order = append(order, k)
		props[k] = "NULL"
		if v.Valid {
			props[k] = v.String
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return order, props
}

// someScores returns the scores of a few thyroid rows by detector ref over
// the features feats.
func someScores(t *testing.T, db *gosql.DB, ref, feats string) []float64 {
	t.Helper()
	var out []float64
	lit := "'" + strings.ReplaceAll(ref, "'", "''") + "'"
	for _, r := range queryRows(t, db, "SELECT anomaly_score("+lit+", "+feats+") FROM thyroid WHERE id IN (1, 17, 400, 2000, 3772) ORDER BY id") {
		f, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	if len(out) != 5 {
		t.Fatalf("%d scores", len(out))
	}
	return out
}

// bitIdentical reports whether a and b are bit-identical.
func bitIdentical(a, b []float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Float64bits(x) == math.Float64bits(y) })
}

// closeTo reports whether a and b agree to about 1e-9, relatively.
func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

// TestDescribeDetector: DESCRIBE DETECTOR (and DESC DETECTOR, prepared
// too) shows every option with its default filled in, the features'
// standardisation statistics (the training columns' mean and population
// standard deviation), the threshold that is_anomaly uses, the training
// and validation losses, and survives a restart. Catches options shown
// as given rather than resolved, statistics of the wrong column, a
// threshold rounded in printing (is_anomaly would disagree with score >
// threshold), losses not recorded or not persisted, and DESCRIBE of a
// table named detector taken for a detector.
func TestDescribeDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	const sel = "SELECT f0, f1, f2, label FROM thyroid"
	mustExec(t, db, "CREATE DETECTOR ae USING autoencoder WITH (epochs = 2, seed = 3, hidden = '8,4', validation = 0.2, label = 'label') AS "+sel)
	mustExec(t, db, "CREATE DETECTOR plain USING autoencoder WITH (epochs = 1, hidden = 4) AS SELECT f0, f1 FROM thyroid")

	order, p := describe(t, db, "DESCRIBE DETECTOR ae", false)
	defaults, err := detectors.OptionDefaults("autoencoder")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"name": "ae", "database": "examples", "algorithm": "autoencoder", "status": "ready", "features": "f0,f1,f2",
		"contamination": defaults["contamination"], "training_rows": "3772", "rows_read": "3772", "format_version": "1",
		"training_query": sel, "option.epochs": "2", "option.seed": "3", "option.hidden": "8,4", "option.validation": "0.2",
		"option.lr": defaults["lr"], "option.batch_size": defaults["batch_size"],
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("DESCRIBE DETECTOR ae: %s = %q, want %q", k, p[k], v)
		}
	}
	for k := range defaults {
		if _, ok := p["option."+k]; !ok {
			t.Errorf("DESCRIBE DETECTOR ae has no option.%s", k)
		}
	}
	if order[0] != "name" || !strings.HasPrefix(order[len(order)-1], "feature.f2.") {
		t.Errorf("DESCRIBE DETECTOR ae: properties in order %v", order)
	}
	for _, k := range []string{"train_loss", "validation_loss", "train_seconds", "threshold"} {
		if v, err := strconv.ParseFloat(p[k], 64); err != nil || math.IsInf(v, 0) || v < 0 {
			t.Errorf("%s = %q, want a finite number", k, p[k])
		}
	}
	if _, err := time.Parse("2006-01-02 15:04:05", p["created_at"]); err != nil {
		t.Errorf("created_at = %q: %v", p["created_at"], err)
	}
	// Preprocessing: the training columns' mean and population standard
	// deviation (every thyroid row was trained on).
	for _, f := range []string{"f0", "f1", "f2"} {
		r := queryRows(t, db, "SELECT AVG("+f+"), STDDEV_POP("+f+") FROM thyroid")[0]
		for i, k := range []string{".mean", ".scale"} {
			got, err1 := strconv.ParseFloat(p["feature."+f+k], 64)
			sql, err2 := strconv.ParseFloat(r[i], 64)
			if err1 != nil || err2 != nil || !closeTo(got, sql) {
				t.Errorf("feature.%s%s = %q, SQL says %s", f, k, p["feature."+f+k], r[i])
			}
		}
	}
	// The threshold is exact: the (1 - contamination) quantile of the
	// training rows' scores (README), and score > threshold is is_anomaly.
	th := p["threshold"]
	var all []float64
	for _, s := range scoresByID(t, db, "SELECT id, anomaly_score('ae', f0, f1, f2) FROM thyroid") {
		all = append(all, s)
	}
	slices.Sort(all)
	c, _ := strconv.ParseFloat(p["contamination"], 64)
	h := (1 - c) * float64(len(all)-1)
	lo := int(math.Floor(h))
	if q := all[lo] + (h-float64(lo))*(all[lo+1]-all[lo]); th != strconv.FormatFloat(q, 'g', -1, 64) {
		t.Errorf("threshold %s, the training scores' quantile is %v", th, q)
	}
	over := queryInt(t, db, "SELECT SUM(anomaly_score('ae', f0, f1, f2) > "+th+") FROM thyroid")
	flagged := queryInt(t, db, "SELECT SUM(is_anomaly('ae', f0, f1, f2)) FROM thyroid")
	if over != flagged || flagged == 0 {
		t.Errorf("%d rows score above the threshold %s, is_anomaly flags %d", over, th, flagged)
	}

	// Without validation there is no validation loss; DESC is DESCRIBE.
	_, q := describe(t, db, "DESC DETECTOR examples.plain", false)
	if q["validation_loss"] != "NULL" || q["train_loss"] == "NULL" || q["option.seed"] != "0" || q["option.hidden"] != "4" {
		t.Errorf("DESC DETECTOR plain: validation_loss %s, train_loss %s, seed %s, hidden %s", q["validation_loss"], q["train_loss"], q["option.seed"], q["option.hidden"])
	}

	// SQL PREPARE … EXECUTE.
	mustExec(t, db, "PREPARE ds FROM 'DESCRIBE DETECTOR ae'")
	if rows := queryRows(t, db, "EXECUTE ds"); len(rows) != len(order) || rows[0][1] != "ae" {
		t.Errorf("EXECUTE of a prepared DESCRIBE DETECTOR: %v", rows)
	}

	// DESCRIBE of a table named detector is still the table's.
	mustExec(t, db, "CREATE TABLE detector (x INT)")
	if rows := queryRows(t, db, "DESCRIBE detector"); len(rows) != 1 || rows[0][0] != "x" {
		t.Errorf("DESCRIBE detector (a table): %v", rows)
	}

	expectErr(t, db, "DESCRIBE DETECTOR nope", 1305)
	expectErr(t, db, "DESCRIBE DETECTOR nodb.ae", 1049)
	if msg := expectErr(t, db, "DESCRIBE DETECTOR ae extra", 1064); !strings.Contains(msg, "near 'extra'") {
		t.Errorf("syntax error does not say where: %s", msg)
	}

	// After a restart, prepared: the same properties, bit for bit.
	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	order2, p2 := describe(t, db, "DESCRIBE DETECTOR ae", true)
	if !slices.Equal(order, order2) {
		t.Fatalf("after restart the properties are %v, were %v", order2, order)
	}
	for k, v := range p {
		if p2[k] != v {
			t.Errorf("after restart %s = %q, was %q", k, p2[k], v)
		}
	}
}

// showCreate returns SHOW CREATE DETECTOR ref's two columns.
func showCreate(t *testing.T, db *gosql.DB, ref string) (string, string) {
	t.Helper()
	rows := queryRows(t, db, "SHOW CREATE DETECTOR "+ref)
	if len(rows) != 1 || len(rows[0]) != 2 {
		t.Fatalf("SHOW CREATE DETECTOR %s: %v", ref, rows)
	}
	return rows[0][0], rows[0][1]
}

// TestShowCreateDetector: SHOW CREATE DETECTOR gives a statement that,
// run after DROP DETECTOR, trains a detector with bit-identical scores:
// the options given, the seed added when it was not given, the label, and
// the SELECT with the values bound to a prepared statement's
// placeholders written in. It survives a restart. Catches a statement
// without the seed (a retraining with another default would differ), a
// lost label (it would become a feature: 1582 when scoring), a SELECT
// with ? left in it or a bound number written with another type, and
// quotes that do not read back.
func TestShowCreateDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	const feats = "f0, f1, f2, f3"
	mustExec(t, db, "CREATE DETECTOR `it's` USING deep_svdd WITH (epochs = 2, hidden = '8,4', label = 'label') "+
		"AS SELECT f0, f1, f2, f3, label FROM thyroid WHERE id % 2 = 0 AND 'a''b' <> 'x'")
	name, stmt := showCreate(t, db, "`it's`")
	want := "CREATE DETECTOR `it's` USING deep_svdd WITH (epochs = 2, hidden = '8,4', label = 'label', seed = 0) " +
		"AS SELECT f0, f1, f2, f3, label FROM thyroid WHERE id % 2 = 0 AND 'a''b' <> 'x'"
	if name != "it's" || stmt != want {
		t.Fatalf("SHOW CREATE DETECTOR:\n%s | %s\nwant\n%s", name, stmt, want)
	}
	before := someScores(t, db, "it's", feats)

	// Prepared, with placeholders in the options and the SELECT.
	mustExec(t, db, "CREATE DETECTOR p USING autoencoder WITH (epochs = ?, seed = ?, hidden = ?) AS SELECT f0, f1 FROM thyroid WHERE id <= ? AND f0 < ? AND 'x' <> ?",
		2, 11, "4", 3000, 0.05, "it's")
	_, pstmt := showCreate(t, db, "p")
	if !strings.Contains(pstmt, "WHERE id <= 3000 AND f0 < 5e-02 AND 'x' <> 'it''s'") || !strings.Contains(pstmt, "WITH (epochs = 2, hidden = 4, seed = 11)") {
		t.Fatalf("SHOW CREATE DETECTOR p: %s", pstmt)
	}
	pBefore := someScores(t, db, "p", "f0, f1")

	// After a restart the statements are the same and recreate the
	// detectors bit for bit.
	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if _, again := showCreate(t, db, "`IT'S`"); again != stmt {
		t.Fatalf("after restart SHOW CREATE DETECTOR gives\n%s\nwas\n%s", again, stmt)
	}
	for _, c := range []struct {
		name, stmt, feats string
		before            []float64
	}{{"`it's`", stmt, feats, before}, {"p", pstmt, "f0, f1", pBefore}} {
		mustExec(t, db, "DROP DETECTOR "+c.name)
		mustExec(t, db, c.stmt)
		ref := strings.Trim(c.name, "`")
		if after := someScores(t, db, ref, c.feats); !bitIdentical(after, c.before) {
			t.Errorf("%s recreated from SHOW CREATE DETECTOR scores %v, the original %v", c.name, after, c.before)
		}
	}

	// Prepared SHOW CREATE, qualified name.
	ps, err := db.Prepare("SHOW CREATE DETECTOR examples.p")
	if err != nil {
		t.Fatal(err)
	}
	var n, s string
	if err := ps.QueryRow().Scan(&n, &s); err != nil || n != "p" || s != pstmt {
		t.Errorf("prepared SHOW CREATE DETECTOR: %q, %q, %v", n, s, err)
	}
	ps.Close()

	expectErr(t, db, "SHOW CREATE DETECTOR nope", 1305)
	expectErr(t, db, "SHOW CREATE DETECTOR", 1064)
}

// oldModelFile is the persisted model as anomalydb wrote it before it
// kept recipes and losses (detectors/persist.go, format version 1): gob
// matches fields by name, so decoding a new file into it and encoding it
// again writes an older file.
type oldModelFile struct {
	Algorithm    string
	Options      []struct{ Name, Value string }
	Features     []string
	TrainingRows int
	TrainSeconds float64
	CreatedAt    time.Time
	Threshold    float64
	Mean, Std    []float64
	Tensors      []struct {
		Name       string
		Rows, Cols int
		Trainable  bool
		Data       []float64
	}
	Source   string
	RowsRead int64
}

// makeOld rewrites the model file path as an older anomalydb wrote it.
func makeOld(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const header = 8 + 4 // magic, format version
	var f oldModelFile
	if err := gob.NewDecoder(bytes.NewReader(b[header:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.Write(b[:header])
	if err := gob.NewEncoder(&out).Encode(&f); err != nil {
		t.Fatal(err)
	}
	if out.Len() >= len(b) {
		t.Fatalf("the older file is not smaller (%d bytes, was %d): nothing was dropped", out.Len(), len(b))
	}
	if err := os.WriteFile(path, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestOlderDetectorInspection: a detector saved before the training SELECT
// and the losses were kept still loads and scores as before; DESCRIBE
// shows NULL for what was not recorded, and SHOW CREATE says that the
// SELECT was not stored (with a warning) in a statement that cannot run.
// Catches a format change that makes older detectors unloadable, and a
// SHOW CREATE that invents a SELECT.
func TestOlderDetectorInspection(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	mustExec(t, db, "CREATE DETECTOR old USING autoencoder WITH (epochs = 1, seed = 5, hidden = 4) AS SELECT f0, f1 FROM thyroid")
	before := someScores(t, db, "old", "f0, f1")
	ts.stop()
	makeOld(t, filepath.Join(dir, "detectors", "examples", "old.model"))
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if after := someScores(t, db, "old", "f0, f1"); !bitIdentical(after, before) {
		t.Fatalf("the older file scores %v, was %v", after, before)
	}
	_, p := describe(t, db, "DESCRIBE DETECTOR old", false)
	for k, v := range map[string]string{"training_query": "NULL", "train_loss": "NULL", "validation_loss": "NULL", "option.seed": "5", "format_version": "1"} {
		if p[k] != v {
			t.Errorf("older detector: %s = %q, want %q", k, p[k], v)
		}
	}
	_, stmt := showCreate(t, db, "old")
	if !strings.Contains(stmt, "USING autoencoder WITH (") || !strings.Contains(stmt, "seed = 5") || !strings.Contains(stmt, "not stored") || strings.Contains(stmt, "SELECT f0") {
		t.Errorf("SHOW CREATE DETECTOR of an older detector: %s", stmt)
	}
	if w := queryRows(t, db, "SHOW WARNINGS"); len(w) != 1 || !strings.Contains(w[0][2], "not stored") {
		t.Errorf("SHOW CREATE DETECTOR of an older detector warns %v", w)
	}
	mustExec(t, db, "DROP DETECTOR old")
	expectErr(t, db, stmt, 1064)
}

// TestShowDetectorsWhereAndInformationSchema: SHOW DETECTORS [FROM db]
// WHERE expr filters on the columns of SHOW DETECTORS, as text and
// prepared (? in the expression), with the same column names;
// information_schema.DETECTORS lists the detectors of every database the
// user has SELECT on. Catches WHERE applied to another database's
// detectors, placeholders bound out of order, a syntax error not
// reported where it is, and information_schema showing detectors the
// user may not see.
func TestShowDetectorsWhereAndInformationSchema(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	mustExecAll(t, db,
		"CREATE DETECTOR alpha USING autoencoder WITH (epochs = 1, hidden = 4) AS SELECT f0, f1 FROM thyroid WHERE id <= 300",
		"CREATE DETECTOR beta USING deep_svdd WITH (epochs = 1, hidden = 4) AS SELECT f0, f1, f2 FROM thyroid WHERE id <= 100",
		"CREATE DATABASE other",
		"CREATE DETECTOR other.gamma USING autoencoder WITH (epochs = 1, hidden = 4) AS SELECT f0 FROM examples.thyroid WHERE id <= 50",
	)
	names := func(q string, args ...interface{}) string {
		t.Helper()
		var out []string
		for _, r := range queryRows(t, db, q, args...) {
			out = append(out, r[0])
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"SHOW DETECTORS WHERE algorithm = 'autoencoder'":                                                                          "alpha",
		"SHOW DETECTORS WHERE training_rows > 50":                                                                                 "alpha,beta",
		"SHOW DETECTORS WHERE name LIKE 'b%' OR features = 'f0,f1'":                                                               "alpha,beta",
		"SHOW DETECTORS FROM other WHERE 1 = 1":                                                                                   "gamma",
		"SHOW DETECTORS IN other WHERE status = 'ready' AND rows_read < 60;":                                                      "gamma",
		"SHOW DETECTORS WHERE created_at <= NOW() AND train_seconds >= 0":                                                         "alpha,beta",
		"show detectors where name in (select 'beta')":                                                                            "beta",
		"SHOW DETECTORS WHERE training_snapshots LIKE 'examples.thyroid@%'":                                                       "alpha,beta",
		"SELECT DETECTOR_NAME FROM information_schema.DETECTORS ORDER BY 1":                                                       "alpha,beta,gamma",
		"SELECT detector_schema FROM INFORMATION_SCHEMA.detectors WHERE ALGORITHM = 'deep_svdd'":                                  "examples",
		"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME = 'DETECTORS'": "DETECTORS",
	} {
		if got := names(q); got != want {
			t.Errorf("%s: %s, want %s", q, got, want)
		}
	}
	// Prepared, with placeholders.
	if got := names("SHOW DETECTORS WHERE name = ? OR training_rows < ?", "alpha", 200); got != "alpha,beta" {
		t.Errorf("prepared SHOW DETECTORS WHERE: %s", got)
	}
	if got := names("SHOW DETECTORS FROM other WHERE name <> ?", "gamma"); got != "" {
		t.Errorf("prepared SHOW DETECTORS FROM other WHERE: %s", got)
	}
	mustExecAll(t, db, "SET @n = 'beta'", "PREPARE s FROM 'SHOW DETECTORS WHERE name = ? OR name = ?'")
	if got := names("EXECUTE s USING @n, @n"); got != "beta" {
		t.Errorf("SQL PREPARE of SHOW DETECTORS WHERE: %s", got)
	}
	// The same columns as SHOW DETECTORS, and the same values.
	rows, err := db.Query("SHOW DETECTORS WHERE name = 'alpha'")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	plain, _ := db.Query("SHOW DETECTORS")
	plainCols, _ := plain.Columns()
	plain.Close()
	if !slices.Equal(cols, plainCols) {
		t.Errorf("SHOW DETECTORS WHERE columns %v, SHOW DETECTORS %v", cols, plainCols)
	}
	if a, b := queryRows(t, db, "SHOW DETECTORS WHERE name = 'alpha'"), queryRows(t, db, "SHOW DETECTORS LIKE 'alpha'"); fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("SHOW DETECTORS WHERE gives %v, LIKE %v", a, b)
	}
	is := queryRows(t, db, "SELECT * FROM information_schema.DETECTORS WHERE DETECTOR_NAME = 'alpha'")
	if fmt.Sprint(is[0][1:]) != fmt.Sprint(queryRows(t, db, "SHOW DETECTORS LIKE 'alpha'")[0]) || is[0][0] != "examples" {
		t.Errorf("information_schema.DETECTORS row %v", is)
	}

	if msg := expectErr(t, db, "SHOW DETECTORS WHERE name = ", 1064); !strings.Contains(msg, "near 'name ='") {
		t.Errorf("syntax error does not say where: %s", msg)
	}
	expectErr(t, db, "SHOW DETECTORS WHERE", 1064)
	expectErr(t, db, "SHOW DETECTORS WHERE 1 ORDER BY name", 1064)
	expectErr(t, db, "SHOW DETECTORS WHERE 1 UNION SELECT 1", 1064)
	expectErr(t, db, "SHOW DETECTORS LIKE 'a%' WHERE 1", 1064)
	// An unknown column is what it is in a SELECT.
	if code, _ := errNumber(t, db, "SELECT nosuch FROM thyroid"); code == 0 {
		t.Fatal("SELECT nosuch succeeded")
	} else if msg := expectErr(t, db, "SHOW DETECTORS WHERE nosuch = 1", code); !strings.Contains(msg, "nosuch") {
		t.Errorf("unknown column: %s", msg)
	}
	expectErr(t, db, "SHOW DETECTORS FROM nodb WHERE 1", 1049)

	// A user with SELECT on examples only sees its detectors.
	mustExecAll(t, db, "CREATE USER watcher IDENTIFIED BY 'w1'", "GRANT SELECT ON examples.* TO watcher")
	w := openDSN(t, fmt.Sprintf("watcher:w1@tcp(%s)/examples", ts.srv.Addr()))
	if got := strings.Join(func() []string {
		var out []string
		for _, r := range queryRows(t, w, "SELECT DETECTOR_SCHEMA, DETECTOR_NAME FROM information_schema.DETECTORS ORDER BY 2") {
			out = append(out, r[0]+"."+r[1])
		}
		return out
	}(), ","); got != "examples.alpha,examples.beta" {
		t.Errorf("watcher's information_schema.DETECTORS: %s", got)
	}
	expectErr(t, w, "SHOW DETECTORS FROM other WHERE 1", 1044)
}

// TestRenameDetector: RENAME DETECTOR moves a detector to a new name, in
// its database or another, keeping its scores bit for bit, as text and
// prepared, durably across a restart; a rename onto another detector is
// 1304, of an unknown one 1305, and neither changes anything. Catches a
// rename that leaves the old name usable (a stale cache of models), a
// rename onto an existing detector that replaces it, and a move between
// databases lost at restart.
func TestRenameDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	mustExecAll(t, db,
		"CREATE DETECTOR r1 USING autoencoder WITH (epochs = 1, seed = 2, hidden = 4) AS SELECT f0, f1 FROM thyroid",
		"CREATE DETECTOR r3 USING autoencoder WITH (epochs = 1, seed = 9, hidden = 4) AS SELECT f0, f1 FROM thyroid",
		"CREATE DATABASE other",
	)
	s1, s3 := someScores(t, db, "r1", "f0, f1"), someScores(t, db, "r3", "f0, f1")
	// A prepared statement keeps its resolved detector until a change.
	score, err := db.Prepare("SELECT anomaly_score('r1', f0, f1) FROM thyroid WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer score.Close()
	var s float64
	if err := score.QueryRow(17).Scan(&s); err != nil || s != s1[1] {
		t.Fatalf("prepared score of row 17: %v, %v; want %v", s, err, s1[1])
	}

	mustExec(t, db, "RENAME DETECTOR r1 TO r2")
	expectErr(t, db, "SELECT anomaly_score('r1', f0, f1) FROM thyroid", 1305)
	if err := score.QueryRow(17).Scan(&s); err == nil || !strings.Contains(err.Error(), "1305") {
		t.Fatalf("the prepared statement scores the renamed detector under its old name: %v, %v", s, err)
	}
	if got := someScores(t, db, "r2", "f0, f1"); !bitIdentical(got, s1) {
		t.Fatalf("r2 scores %v, r1 scored %v", got, s1)
	}
	expectErr(t, db, "RENAME DETECTOR r2 TO r3", 1304)
	expectErr(t, db, "RENAME DETECTOR r2 TO R3", 1304)
	expectErr(t, db, "RENAME DETECTOR r2 TO r2", 1304)
	expectErr(t, db, "RENAME DETECTOR nope TO r9", 1305)
	expectErr(t, db, "RENAME DETECTOR r2 TO nodb.r2", 1049)
	expectErr(t, db, "RENAME DETECTOR r2 TO `a/b`", 1103)
	expectErr(t, db, "RENAME DETECTOR r2 TO "+strings.Repeat("x", 65), 1059)
	if msg := expectErr(t, db, "RENAME DETECTOR r2 r4", 1064); !strings.Contains(msg, "near 'r4'") {
		t.Errorf("syntax error does not say where: %s", msg)
	}
	expectErr(t, db, "RENAME DETECTOR r2 TO r4, r3 TO r5", 1064)
	if got := someScores(t, db, "r3", "f0, f1"); !bitIdentical(got, s3) {
		t.Fatalf("a refused rename changed r3: %v, was %v", got, s3)
	}

	// Its own name in another case; then to another database, prepared.
	mustExec(t, db, "RENAME DETECTOR r2 TO R2")
	if got := detectorNames(t, db, "examples"); !slices.Equal(got, []string{"R2", "r3"}) {
		t.Errorf("after RENAME r2 TO R2: %v", got)
	}
	ps, err := db.Prepare("RENAME DETECTOR examples.R2 TO other.moved")
	if err != nil {
		t.Fatalf("preparing RENAME DETECTOR: %v", err)
	}
	if _, err := ps.Exec(); err != nil {
		t.Fatalf("prepared RENAME DETECTOR: %v", err)
	}
	ps.Close()
	expectErr(t, db, "SELECT anomaly_score('R2', f0, f1) FROM thyroid", 1305)
	if got := someScores(t, db, "other.moved", "f0, f1"); !bitIdentical(got, s1) {
		t.Fatalf("other.moved scores %v, r1 scored %v", got, s1)
	}

	// Renaming needs DROP on the detector's database and CREATE on the
	// target's.
	mustExecAll(t, db, "CREATE USER mover IDENTIFIED BY 'm1'", "GRANT DROP, SELECT ON examples.* TO mover")
	m := openDSN(t, fmt.Sprintf("mover:m1@tcp(%s)/examples", ts.srv.Addr()))
	expectErr(t, m, "RENAME DETECTOR r3 TO r33", 1142)
	mustExec(t, db, "GRANT CREATE ON examples.* TO mover")
	expectErr(t, m, "RENAME DETECTOR r3 TO other.r3", 1142)
	mustExec(t, m, "RENAME DETECTOR r3 TO r33")
	expectErr(t, db, "RENAME DETECTOR other.moved TO r33", 1304)

	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if a, b := detectorNames(t, db, "examples"), detectorNames(t, db, "other"); !slices.Equal(a, []string{"r33"}) || !slices.Equal(b, []string{"moved"}) {
		t.Fatalf("after restart: examples %v, other %v", a, b)
	}
	if got := someScores(t, db, "other.moved", "f0, f1"); !bitIdentical(got, s1) {
		t.Fatalf("after restart other.moved scores %v, r1 scored %v", got, s1)
	}
	if got := someScores(t, db, "r33", "f0, f1"); !bitIdentical(got, s3) {
		t.Fatalf("after restart r33 scores %v, r3 scored %v", got, s3)
	}
}

// TestCreateOrReplaceDetector: CREATE OR REPLACE DETECTOR trains the new
// detector, then replaces the old one; another connection scoring all
// the while sees the old scores or the new ones, never an error or a
// mix; a training that fails leaves the old detector as it was; it
// creates a detector that does not exist, needs DROP as well as CREATE,
// and works prepared. Catches a replacement that drops the old detector
// before training (readers get 1305), and one that keeps the old model
// in memory or on disk.
func TestCreateOrReplaceDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	const feats = "f0, f1, f2"
	create := func(seed int) string {
		return fmt.Sprintf("CREATE OR REPLACE DETECTOR d USING deep_svdd WITH (epochs = 3, seed = %d, hidden = '8,4') AS SELECT f0, f1, f2 FROM thyroid", seed)
	}
	mustExec(t, db, create(1)) // creates
	old := someScores(t, db, "d", feats)

	// A reader scoring row 17 until the replacement is done.
	reader := ts.openBounded("examples")
	var seen []float64
	var readErr error
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			var s float64
			if err := reader.QueryRow("SELECT anomaly_score('d', " + feats + ") FROM thyroid WHERE id = 17").Scan(&s); err != nil {
				readErr = err
				return
			}
			seen = append(seen, s)
		}
	}()
	mustExec(t, db, create(2))
	close(done)
	wg.Wait()
	if readErr != nil {
		t.Fatalf("a reader during CREATE OR REPLACE: %v", readErr)
	}
	replaced := someScores(t, db, "d", feats)
	if bitIdentical(replaced, old) {
		t.Fatal("CREATE OR REPLACE with another seed scores as before")
	}
	for _, s := range seen {
		if math.Float64bits(s) != math.Float64bits(old[1]) && math.Float64bits(s) != math.Float64bits(replaced[1]) {
			t.Fatalf("a reader saw score %v for row 17: neither the old %v nor the new %v", s, old[1], replaced[1])
		}
	}
	t.Logf("the reader scored %d times during the replacement", len(seen))

	// Failed trainings leave it as it was.
	mustExec(t, db, "CREATE TABLE words (w VARCHAR(10))")
	mustExec(t, db, "INSERT INTO words VALUES ('a')")
	expectErr(t, db, "CREATE OR REPLACE DETECTOR d USING deep_svdd AS SELECT JSON_OBJECT('w', w) FROM words", 1366)
	expectErr(t, db, "CREATE OR REPLACE DETECTOR d USING deep_svdd WITH (colour = 'red') AS SELECT f0 FROM thyroid", 1210)
	expectErr(t, db, "CREATE OR REPLACE DETECTOR d USING deep_svdd AS SELECT f0 FROM thyroid WHERE id < 0", 1329)
	expectErr(t, db, "CREATE OR REPLACE DETECTOR IF NOT EXISTS d USING deep_svdd AS SELECT f0 FROM thyroid", 1064)
	expectErr(t, db, "CREATE OR REPLACE DETECTOR d USING deep_svdd AS DELETE FROM thyroid", 1064)
	if got := someScores(t, db, "d", feats); !bitIdentical(got, replaced) {
		t.Fatalf("failed replacements changed d: %v, was %v", got, replaced)
	}

	// DROP is needed too.
	mustExecAll(t, db, "CREATE USER maker IDENTIFIED BY 'm1'", "GRANT CREATE, SELECT ON examples.* TO maker")
	m := openDSN(t, fmt.Sprintf("maker:m1@tcp(%s)/examples", ts.srv.Addr()))
	expectErr(t, m, create(3), 1142)

	// Prepared, with a placeholder; then a restart keeps the last one.
	if _, err := db.Exec("CREATE OR REPLACE DETECTOR d USING deep_svdd WITH (epochs = 3, seed = ?, hidden = '8,4') AS SELECT f0, f1, f2 FROM thyroid", 1); err != nil {
		t.Fatalf("prepared CREATE OR REPLACE: %v", err)
	}
	if got := someScores(t, db, "d", feats); !bitIdentical(got, old) {
		t.Fatalf("replaced with seed 1 again: %v, want %v", got, old)
	}
	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if got := someScores(t, db, "d", feats); !bitIdentical(got, old) {
		t.Fatalf("after restart d scores %v, want %v", got, old)
	}
	if got := detectorNames(t, db, "examples"); !slices.Equal(got, []string{"d"}) {
		t.Fatalf("after restart: %v", got)
	}
}
