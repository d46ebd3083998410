package engine_test

import (
	"compress/gzip"
	gosql "database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/mat"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/storage"
)

// The tests of this file check the SQL scoring functions against paths
// other than the one they take (Model.ScoreRow for every row): a restart,
// the training statistics computed by SQL, and the in-process batch
// scorers on rows read from the CSV file the table was loaded from.

// scored is one row's anomaly_score and is_anomaly over SQL.
type scored struct {
	score float64
	flag  int64
}

const thyroidFeatures = "f0, f1, f2, f3, f4, f5"

// scoreAndFlag returns anomaly_score and is_anomaly of detector for every
// row of thyroid, by id.
func scoreAndFlag(t *testing.T, db *gosql.DB, detector string) map[int64]scored {
	t.Helper()
	q := fmt.Sprintf("SELECT id, anomaly_score('%[1]s', %[2]s), is_anomaly('%[1]s', %[2]s) FROM thyroid", detector, thyroidFeatures)
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[int64]scored{}
	for rows.Next() {
		var id int64
		var s scored
		if err := rows.Scan(&id, &s.score, &s.flag); err != nil {
			t.Fatal(err)
		}
		out[id] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// linearQuantile is the q-quantile of v with linear interpolation between
// order statistics (numpy's default), the rule detectors/threshold.go
// documents for the threshold.
func linearQuantile(v []float64, q float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	h := q * float64(len(s)-1)
	lo := int(math.Floor(h))
	if lo >= len(s)-1 {
		return s[len(s)-1]
	}
	return s[lo] + (h-float64(lo))*(s[lo+1]-s[lo])
}

// TestIsAnomalySurvivesRestart: is_anomaly flags exactly the rows scoring
// above the (1 - contamination) quantile of the training scores (some rows,
// not all), and after a restart every row has the same score and the same
// flag, and the number of flagged rows is unchanged.
//
// Bug caught: the threshold lost in persistence, e.g. detectors/persist.go
// "m.Threshold = f.Threshold" deleted (the reloaded threshold is 0 and every
// row is flagged) or "Threshold:    m.Threshold," deleted from
// MarshalBinary; the score comparison alone passes with either.
func TestIsAnomalySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd") // all 3772 rows, default contamination 0.1
	before := scoreAndFlag(t, db, "svdd")
	if len(before) != 3772 {
		t.Fatalf("%d rows scored, want 3772", len(before))
	}
	scores := make([]float64, 0, len(before))
	for _, r := range before {
		scores = append(scores, r.score)
	}
	// The training rows are the table's rows, so these are the training
	// scores (a row scores the same alone and in a batch).
	threshold := linearQuantile(scores, 1-0.1)
	flagged := 0
	for id, r := range before {
		if want := r.score > threshold; (r.flag == 1) != want || (r.flag != 0 && r.flag != 1) {
			t.Fatalf("row %d: score %v, is_anomaly %d; the threshold is %v", id, r.score, r.flag, threshold)
		}
		flagged += int(r.flag)
	}
	// 3772 rows above the 0.9 quantile: 378 rows (377.2 expected).
	if flagged != 378 {
		t.Fatalf("%d rows flagged, want 378 of 3772", flagged)
	}
	countFlagged := fmt.Sprintf("SELECT SUM(is_anomaly('svdd', %s)) FROM thyroid", thyroidFeatures)
	if n := queryInt(t, db, countFlagged); n != int64(flagged) {
		t.Fatalf("SUM(is_anomaly) = %d, want %d", n, flagged)
	}

	ts.stop()
	ts2 := startServer(t, dir, true)
	db2 := ts2.open("examples")
	after := scoreAndFlag(t, db2, "svdd")
	if len(after) != len(before) {
		t.Fatalf("after restart %d rows scored, want %d", len(after), len(before))
	}
	for id, b := range before {
		a, ok := after[id]
		if !ok || math.Float64bits(a.score) != math.Float64bits(b.score) || a.flag != b.flag {
			t.Fatalf("row %d after restart: score %v is_anomaly %d, before: %v %d", id, a.score, a.flag, b.score, b.flag)
		}
	}
	if n := queryInt(t, db2, countFlagged); n != int64(flagged) {
		t.Fatalf("after restart SUM(is_anomaly) = %d, want %d", n, flagged)
	}
}

// TestNullFeatureIsTrainingMeanOverSQL: a NULL feature (a NULL literal or
// a NULL value of a DOUBLE expression) scores as the training mean of that
// feature, computed here by SQL's AVG over the training rows, and not as 0.
// f4 is used because its mean (0.377) is 4.3 standard deviations from 0.
//
// Bug caught: NULL scored as 0, e.g. functions/detector_call.go
// "return math.NaN(), true" (the case nil of toFloat) changed to
// "return 0, true", or detectors/preprocess.go "row[j] = 0" changed to
// "row[j] = -mean[j] / std[j]".
func TestNullFeatureIsTrainingMeanOverSQL(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd") // trained on every row of thyroid
	mean := queryFloat(t, db, "SELECT AVG(f4) FROM thyroid")
	std := queryFloat(t, db, "SELECT STDDEV_POP(f4) FROM thyroid")
	if mean/std < 3 {
		t.Fatalf("f4: mean %v, std %v; the test needs a mean far from 0", mean, std)
	}
	q := "SELECT id, " +
		"anomaly_score('svdd', f0, f1, f2, f3, NULL, f5), " +
		"anomaly_score('svdd', f0, f1, f2, f3, NULLIF(f4, f4), f5), " +
		"anomaly_score('svdd', f0, f1, f2, f3, ?, f5), " +
		"anomaly_score('svdd', f0, f1, f2, f3, 0, f5) FROM thyroid"
	rows, err := db.Query(q, mean) // the mean travels as a binary DOUBLE, bit-exact
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	n, exact, farFromZero := 0, 0, 0
	for rows.Next() {
		var id int64
		var null, nullExpr, atMean, atZero float64
		if err := rows.Scan(&id, &null, &nullExpr, &atMean, &atZero); err != nil {
			t.Fatal(err)
		}
		n++
		if math.Float64bits(null) != math.Float64bits(nullExpr) {
			t.Fatalf("row %d: NULL literal scores %v, NULL expression %v", id, null, nullExpr)
		}
		// AVG divides a sum by the count while training keeps a running
		// (Welford) mean (detectors/preprocess.go), so the two means may
		// differ in the last bits, and the scores by a few ulps: on thyroid
		// they agree bit for bit on about 90 of the 3772 rows. A NULL
		// imputed with anything else (0, another column's mean) is off by
		// far more than this tolerance.
		if math.Abs(null-atMean) > 1e-12*math.Abs(atMean) {
			t.Fatalf("row %d: NULL f4 scores %v, the training mean %v of f4 scores %v", id, null, mean, atMean)
		}
		if null == atMean {
			exact++
		}
		if math.Abs(null-atZero) > 1e-3*math.Abs(atZero) {
			farFromZero++
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 3772 {
		t.Fatalf("%d rows, want 3772", n)
	}
	if farFromZero < n*9/10 {
		t.Fatalf("NULL f4 scores like f4 = 0 on %d of %d rows", n-farFromZero, n)
	}
	t.Logf("NULL f4 scores bit-identically to AVG(f4) = %v on %d of %d rows, within a few ulps on the others", mean, exact, n)
}

// readThyroidCSV reads testdata/thyroid.csv.gz with encoding/csv: the
// feature rows, and the id the examples loader gives each row (its 1-based
// row number).
func readThyroidCSV(t *testing.T) (ids []int64, x [][]float64) {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot(), "testdata", "thyroid.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(gz)
	header, err := r.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(header, ","); got != "f0,f1,f2,f3,f4,f5,label" {
		t.Fatalf("thyroid.csv.gz header %q", got)
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		row := make([]float64, 6)
		for j := range row {
			if row[j], err = strconv.ParseFloat(rec[j], 64); err != nil {
				t.Fatal(err)
			}
		}
		x = append(x, row)
		ids = append(ids, int64(len(x)))
	}
	return ids, x
}

// TestSQLScoresMatchInProcessBatch scores the whole table over SQL (one
// ScoreRow per row) and compares every row, bit for bit, with the model
// loaded from the data directory through storage and detectors (not the
// server's) scoring the rows of the CSV file the table was loaded from with
// ScoreMatrix and ScoreBatch. The CSV rows are repeated three times so that
// the batch scorers split the rows over goroutines and blocks at other
// places than row boundaries of the table.
//
// Bugs caught: a batch path that scores differently from the row path
// anomaly_score takes, e.g. detectors/model.go
// "lo, hi := n*w/workers, n*(w+1)/workers" changed to end each
// goroutine's range one row early, or detectors/preprocess.go
// "for i := 0; i+d <= len(x); i += d {" with "<" (the last row of every
// block is not standardized); feature values changed between the CSV and
// the scorer; is_anomaly not using the model's threshold.
func TestSQLScoresMatchInProcessBatch(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	overSQL := scoreAndFlag(t, db, "svdd")
	ts.stop()

	store, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := store.LoadDetectors("examples")
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := detectors.UnmarshalModel(blobs["svdd"])
	if err != nil {
		t.Fatalf("loading svdd from the data directory: %v", err)
	}

	ids, rows := readThyroidCSV(t)
	if len(ids) != len(overSQL) {
		t.Fatalf("%d CSV rows, %d scored over SQL", len(ids), len(overSQL))
	}
	const copies = 3
	n, d := copies*len(rows), len(rows[0])
	x := mat.NewDense(n, d, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f0", Type: arrow.PrimitiveTypes.Float64}, {Name: "f1", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f2", Type: arrow.PrimitiveTypes.Float64}, {Name: "f3", Type: arrow.PrimitiveTypes.Float64},
		{Name: "f4", Type: arrow.PrimitiveTypes.Float64}, {Name: "f5", Type: arrow.PrimitiveTypes.Float64},
	}, nil))
	defer b.Release()
	for i := 0; i < n; i++ {
		row := rows[i%len(rows)]
		x.SetRow(i, row)
		b.Field(0).(*array.Int64Builder).Append(ids[i%len(rows)])
		for j, v := range row {
			b.Field(j + 1).(*array.Float64Builder).Append(v)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	byMatrix, err := m.ScoreMatrix(x, nil)
	if err != nil {
		t.Fatal(err)
	}
	byBatch, err := m.ScoreBatch(rec, []int{1, 2, 3, 4, 5, 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	flagged := 0
	for i := 0; i < n; i++ {
		id := ids[i%len(rows)]
		want := overSQL[id]
		for _, got := range []struct {
			path  string
			score float64
		}{{"ScoreMatrix", byMatrix[i]}, {"ScoreBatch", byBatch[i]}} {
			if math.Float64bits(got.score) != math.Float64bits(want.score) {
				t.Fatalf("row %d (id %d): %s in process %v, anomaly_score over SQL %v", i, id, got.path, got.score, want.score)
			}
		}
		if f := m.IsAnomaly(byMatrix[i]); f != (want.flag == 1) {
			t.Fatalf("id %d: IsAnomaly in process %v, is_anomaly over SQL %d", id, f, want.flag)
		}
		if i < len(rows) && want.flag == 1 {
			flagged++
		}
	}
	if flagged == 0 || flagged == len(rows) {
		t.Fatalf("%d of %d rows flagged", flagged, len(rows))
	}
}

// TestShowDetectorsColumns checks every column of SHOW DETECTORS, by name
// and value, for a detector trained on a filtered SELECT with reordered,
// aliased features and a label column, and that the row is identical
// after a restart.
//
// Bugs caught: training_rows counting the table instead of the training
// SELECT, features listed out of order or with the label, a lost
// train_seconds or created_at (detectors/model.go
// "m.TrainSeconds = time.Since(start).Seconds()" or
// "m.CreatedAt = time.Now().UTC().Round(0)" deleted), and any of them not
// persisted (detectors/persist.go "m.TrainSeconds = f.TrainSeconds",
// "m.CreatedAt = f.CreatedAt", "m.TrainingRows = f.TrainingRows" deleted).
func TestShowDetectorsColumns(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	start := time.Now()
	mustExec(t, db, "CREATE DETECTOR shown USING DEEP_SVDD WITH (epochs = 2, seed = 5, hidden = '8', label = 'label') "+
		"AS SELECT f4, f0 AS zero, label, f2 FROM thyroid WHERE id % 3 <> 0")
	elapsed := time.Since(start)
	end := time.Now()
	trainingRows := queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE id % 3 <> 0")
	if trainingRows == 3772 || trainingRows == 0 {
		t.Fatalf("the training SELECT has %d rows; the test needs a strict subset", trainingRows)
	}

	show := func(db *gosql.DB) []string {
		t.Helper()
		rows, err := db.Query("SHOW DETECTORS")
		if err != nil {
			t.Fatal(err)
		}
		cols, err := rows.Columns()
		rows.Close()
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"name", "algorithm", "features", "training_rows", "status", "train_seconds", "created_at", "rows_read", "training_snapshots", "epoch", "epochs", "loss"}
		if !reflect.DeepEqual(cols, want) {
			t.Fatalf("SHOW DETECTORS columns %v, want %v", cols, want)
		}
		got := queryRows(t, db, "SHOW DETECTORS")
		if len(got) != 1 {
			t.Fatalf("SHOW DETECTORS: %v", got)
		}
		return got[0]
	}
	row := show(db)
	want := []string{"shown", "deep_svdd", "f4,zero,f2", strconv.FormatInt(trainingRows, 10), "ready"}
	if !reflect.DeepEqual(row[:5], want) {
		t.Fatalf("SHOW DETECTORS row %v, want %v followed by train_seconds and created_at", row, want)
	}
	secs, err := strconv.ParseFloat(row[5], 64)
	if err != nil || !(secs > 0) || secs > elapsed.Seconds() {
		t.Fatalf("train_seconds %q (%v), want in (0, %v], the CREATE DETECTOR statement's duration", row[5], err, elapsed.Seconds())
	}
	created, err := time.Parse(time.RFC3339, row[6])
	if err != nil {
		t.Fatalf("created_at %q: %v", row[6], err)
	}
	// created_at is in UTC, truncated to the second.
	if created.Before(start.Truncate(time.Second)) || created.After(end) {
		t.Fatalf("created_at %v, want between %v and %v", created, start.UTC(), end.UTC())
	}
	// Fewer rows than max_train_rows: all of them were read and trained on.
	if row[7] != row[3] {
		t.Fatalf("rows_read %s, training_rows %s: want equal", row[7], row[3])
	}

	ts.stop()
	ts2 := startServer(t, dir, true)
	if again := show(ts2.open("examples")); !reflect.DeepEqual(again, row) {
		t.Fatalf("SHOW DETECTORS after restart %v, before %v", again, row)
	}
}

// TestExtremeRowsScoreMaxOverSQL: issue 8 found anomaly_score('d', 1e308,
// -1e308) NaN and is_anomaly 0, so the most extreme row was never flagged.
// For every algorithm, trained through CREATE DETECTOR on a small table, a
// row too extreme to score scores the largest DOUBLE and is_anomaly is 1:
// as literals (text protocol), as parameters of a prepared statement
// (binary protocol), mixed with NULL, and from stored rows, which ORDER BY
// anomaly_score DESC then lists first; the training rows still score
// below the maximum, and only some of them are flagged.
//
// Bug caught: the NaN/Inf test or the extreme-feature test dropped from
// detectors.Model.scoreRaw (the row scores NaN or a small number, and is
// not flagged), or MaxScore changed to +Inf (a value no MySQL DOUBLE
// holds, sent as "+Inf").
func TestExtremeRowsScoreMaxOverSQL(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE x", "USE x",
		"CREATE TABLE pts (id INT PRIMARY KEY, a DOUBLE, b DOUBLE, label INT)")
	var values []string
	for i := 0; i < 300; i++ {
		a, b, label := math.Sin(float64(i)), math.Cos(float64(3*i)), 0
		if i%25 == 0 { // a few labelled anomalies for the weakly supervised
			a, b, label = 4+a, -4+b, 1
		}
		values = append(values, fmt.Sprintf("(%d, %v, %v, %d)", i, a, b, label))
	}
	mustExec(t, db, "INSERT INTO pts VALUES "+strings.Join(values, ", "))
	// Stored extreme rows, inserted after training.
	extreme := []string{"(1001, 1e308, -1e308, 0)", "(1002, -1.7976931348623157e308, 0, 0)", "(1003, 0, 1e300, 0)", "(1004, NULL, -1e308, 0)"}

	mustExec(t, db, "INSERT INTO pts VALUES "+strings.Join(extreme, ", "))
	for _, alg := range detectors.Algorithms() {
		if detectors.IsSequence(alg) {
			continue // scored over ordered rows, not by a plain anomaly_score
		}
		d := "d_" + alg
		mustExec(t, db, fmt.Sprintf("CREATE DETECTOR %s USING %s WITH (epochs = 2, seed = 3, label = 'label') AS SELECT a, b, label FROM pts WHERE id < 1000", d, alg))
		check := func(what, q string, args ...interface{}) {
			t.Helper()
			var score float64
			var flag int64
			if err := db.QueryRow(q, args...).Scan(&score, &flag); err != nil {
				t.Fatalf("%s: %s: %v", alg, q, err)
			}
			if score != math.MaxFloat64 || flag != 1 {
				t.Fatalf("%s: %s: score %v, is_anomaly %d; want %v and 1", alg, what, score, flag, math.MaxFloat64)
			}
		}
		both := func(f string) string {
			return fmt.Sprintf("SELECT anomaly_score('%[1]s', %[2]s), is_anomaly('%[1]s', %[2]s)", d, f)
		}
		check("literals", both("1e308, -1e308"))
		check("NULL and a huge value", both("NULL, -1e308"))
		check("an infinite value", both("1e308 * 10, 0")) // go-mysql-server computes +Inf
		check("parameters", both("?, ?"), 1e308, -1e308, 1e308, -1e308)
		check("parameter and NULL", both("?, ?"), -math.MaxFloat64, nil, -math.MaxFloat64, nil)

		rows := queryRows(t, db, fmt.Sprintf("SELECT id, is_anomaly('%[1]s', a, b) FROM pts ORDER BY anomaly_score('%[1]s', a, b) DESC, id LIMIT 5", d))
		got := fmt.Sprint(rows)
		if !strings.HasPrefix(got, "[[1001 1] [1002 1] [1003 1] [1004 1] [") {
			t.Fatalf("%s: the top 5 rows by anomaly_score (id, is_anomaly): %s; want the stored extreme rows 1001-1004 first, flagged", alg, got)
		}
		// The training rows: scored as numbers below the maximum, about
		// a contamination fraction (0.1) of them flagged.
		var maxScore float64
		var flagged int64
		q := fmt.Sprintf("SELECT MAX(anomaly_score('%[1]s', a, b)), SUM(is_anomaly('%[1]s', a, b)) FROM pts WHERE id < 1000", d)
		if err := db.QueryRow(q).Scan(&maxScore, &flagged); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if math.IsNaN(maxScore) || maxScore >= math.MaxFloat64 || flagged < 15 || flagged > 45 {
			t.Fatalf("%s: the training rows score at most %v, %d of 300 flagged", alg, maxScore, flagged)
		}
	}
}
