package engine_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/internal/testcsv"
	"github.com/anomalydb/anomalydb/storage"
)

// nabRow is a row of engine/testdata/speed_7578.csv.gz (NAB realTraffic
// speed_7578, from ../shared/datasets/sequences/nab: 1,127 readings 5
// minutes or more apart, label 1 in NAB's anomaly windows).
type nabRow struct {
	ts    time.Time
	value float64
	label int
}

func readNAB(t *testing.T) []nabRow {
	t.Helper()
	recs := testcsv.Read(t, filepath.Join("testdata", "speed_7578.csv.gz"))
	var rows []nabRow
	for _, r := range recs[1:] {
		ts, err := time.Parse("2006-01-02 15:04:05", r[0])
		if err != nil {
			t.Fatal(err)
		}
		v, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := strconv.Atoi(r[2])
		rows = append(rows, nabRow{ts, v, l})
	}
	return rows
}

// scoredRow is a row's score and flag as a client reads them.
type scoredRow struct {
	score float64
	flag  int64
}

// scoresByKey runs q, whose rows are (key, score DOUBLE, flag), and
// returns them by key, in order.
func scoresByKey(t *testing.T, db *gosql.DB, q string) (map[string]scoredRow, []string) {
	t.Helper()
	return scoresByKeyArgs(t, db, q)
}

// scoresByKeyArgs is scoresByKey with arguments for q's placeholders.
func scoresByKeyArgs(t *testing.T, db *gosql.DB, q string, args ...interface{}) (map[string]scoredRow, []string) {
	t.Helper()
	rows, err := db.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	out := map[string]scoredRow{}
	var keys []string
	for rows.Next() {
		var k string
		var r scoredRow
		if err := rows.Scan(&k, &r.score, &r.flag); err != nil {
			t.Fatal(err)
		}
		out[k] = r
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out, keys
}

// loadModel reads detector name of database db from a stopped server's
// data directory.
func loadModel(t *testing.T, dir, db, name string) *detectors.Model {
	t.Helper()
	store, err := storage.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := store.LoadDetectors(db)
	if cerr := store.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	m, err := detectors.UnmarshalModel(blobs[name])
	if err != nil {
		t.Fatalf("loading %s: %v", name, err)
	}
	return m
}

// sameSequenceScores fails unless got has want's keys with bit-identical scores
// and the same flags.
func sameSequenceScores(t *testing.T, what string, got, want map[string]scoredRow) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, want %d", what, len(got), len(want))
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Float64bits(g.score) != math.Float64bits(w.score) || g.flag != w.flag {
			t.Fatalf("%s: row %s scores %v (flag %d), want %v (flag %d)", what, k, g.score, g.flag, w.score, w.flag)
		}
	}
}

// TestSequenceDetectorNAB trains lstm_forecast on a real NAB series over
// SQL, the rows inserted newest first, and checks that: the detector is
// bit for bit the one the core's FitSequence trains on the rows in time
// order; anomaly_score and is_anomaly OVER (ORDER BY ts),
// detect_anomalies and the core's ScoreSequence and SequenceVerdicts on
// the rows in time order agree bit for bit, before and after a restart;
// an unaliased window call keeps its text as its column name; LIMIT on
// detect_anomalies gives the first rows in time order; LAG is
// go-mysql-server's, unchanged; a plain call on the sequence detector,
// and the window form on a tabular one, are error 3593; SHOW CREATE
// DETECTOR keeps order_by. Bugs caught: training rows not sorted (they
// come newest first), the order column taken as a feature, a window
// scored from rows in the wrong order or with context from after the
// row, detect_anomalies not ordering its input, SequenceVerdicts
// replaced by another rule in one path, the user's column name lost in
// the rewrite, the marker rewrite applied to every LAG.
func TestSequenceDetectorNAB(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	nab := readNAB(t)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE sq", "USE sq", "CREATE TABLE speed (ts DATETIME PRIMARY KEY, value DOUBLE, label INT)")
	var vals []string
	for i := len(nab) - 1; i >= 0; i-- {
		r := nab[i]
		vals = append(vals, fmt.Sprintf("('%s', %v, %d)", r.ts.Format("2006-01-02 15:04:05"), r.value, r.label))
	}
	mustExec(t, db, "INSERT INTO speed VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, "CREATE DETECTOR s USING lstm_forecast WITH (order_by = 'ts', window = 8, epochs = 2, seed = 1) AS SELECT ts, value FROM speed")

	over, _ := scoresByKey(t, db, "SELECT ts, anomaly_score('s', value) OVER (ORDER BY ts), is_anomaly('s', value) OVER (ORDER BY ts) FROM speed")
	da, daKeys := scoresByKey(t, db, "SELECT ts, anomaly_score, is_anomaly FROM detect_anomalies('s', 'speed')")
	sameSequenceScores(t, "detect_anomalies vs OVER", da, over)
	for i, k := range daKeys {
		if want := nab[i].ts.Format("2006-01-02 15:04:05"); !strings.HasPrefix(k, strings.Replace(want, " ", "T", 1)) && !strings.HasPrefix(k, want) {
			t.Fatalf("detect_anomalies row %d is %s, want %s (time order)", i, k, want)
		}
	}
	flagged := 0
	for _, r := range over {
		flagged += int(r.flag)
	}
	if flagged == 0 || flagged == len(over) {
		t.Fatalf("%d of %d rows flagged", flagged, len(over))
	}

	// A prepared statement (the driver prepares a query with arguments).
	prep, _ := scoresByKeyArgs(t, db, "SELECT ts, anomaly_score(?, value) OVER (ORDER BY ts), is_anomaly('s', value) OVER (ORDER BY ts) FROM speed WHERE value > ?", "s", -1)
	sameSequenceScores(t, "prepared vs OVER", prep, over)
	// evaluate_detector orders the rows as detect_anomalies does.
	ev := queryRows(t, db, "SELECT `rows`, anomalies, auc_roc FROM evaluate_detector('s', 'speed', 'label')")
	if ev[0][0] != strconv.Itoa(len(nab)) {
		t.Fatalf("evaluate_detector: %v", ev)
	}
	t.Logf("lstm_forecast (window 8, 2 epochs) on speed_7578: AUC-ROC %s over NAB's windows", ev[0][2])

	// Column names as written, and LIMIT.
	rows, err := db.Query("SELECT anomaly_score( 's', value )  OVER (ORDER BY ts), Is_Anomaly('s', value) OVER w FROM speed WINDOW w AS (ORDER BY ts) LIMIT 1")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if len(cols) != 2 || cols[0] != "anomaly_score( 's', value )  OVER (ORDER BY ts)" || cols[1] != "Is_Anomaly('s', value) OVER w" {
		t.Fatalf("column names %q", cols)
	}
	// A multi-statement query: the statement after a window call runs.
	multi := openDSN(t, fmt.Sprintf("root:@tcp(%s)/sq?multiStatements=true", ts.srv.Addr()))
	mr, err := multi.Query("SELECT anomaly_score('s', value) OVER (ORDER BY ts) FROM speed ORDER BY ts LIMIT 1; SELECT 'after'")
	if err != nil {
		t.Fatal(err)
	}
	var first float64
	var after string
	for mr.Next() {
		if err := mr.Scan(&first); err != nil {
			t.Fatal(err)
		}
	}
	if !mr.NextResultSet() || !mr.Next() {
		t.Fatalf("no second result: %v", mr.Err())
	}
	if err := mr.Scan(&after); err != nil || after != "after" || math.Float64bits(first) != math.Float64bits(over[daKeys[0]].score) {
		t.Fatalf("multi-statement: %v, %q (%v)", first, after, err)
	}
	mr.Close()

	lim := queryRows(t, db, "SELECT value, anomaly_score FROM detect_anomalies('s', 'speed') LIMIT 5")
	if len(lim) != 5 {
		t.Fatalf("LIMIT 5 gave %d rows", len(lim))
	}
	for i, r := range lim {
		if r[0] != strconv.FormatFloat(nab[i].value, 'g', -1, 64) {
			t.Fatalf("LIMIT row %d has value %s, want %v", i, r[0], nab[i].value)
		}
	}

	// The plain call, and the window form on a tabular detector.
	msg := expectErr(t, db, "SELECT anomaly_score('s', value) FROM speed", 3593)
	if !strings.Contains(msg, "OVER (") || !strings.Contains(msg, "detect_anomalies") {
		t.Errorf("the plain call's error does not say what to use: %s", msg)
	}
	expectErr(t, db, "SELECT is_anomaly('s', 80)", 3593)
	mustExec(t, db, "CREATE DETECTOR f USING deep_svdd WITH (seed = 1, epochs = 1) AS SELECT value FROM speed")
	expectErr(t, db, "SELECT anomaly_score('f', value) OVER (ORDER BY ts) FROM speed", 3593)
	// LAG itself is go-mysql-server's, untouched.
	if lag := queryRows(t, db, "SELECT LAG(value) OVER (ORDER BY ts) FROM speed ORDER BY ts LIMIT 2"); lag[0][0] != "NULL" || lag[1][0] != strconv.FormatFloat(nab[0].value, 'g', -1, 64) {
		t.Fatalf("LAG gives %v", lag)
	}
	if sc := queryRows(t, db, "SHOW CREATE DETECTOR s"); !strings.Contains(strings.Join(sc[0], " "), "order_by") {
		t.Fatalf("SHOW CREATE DETECTOR lost order_by: %v", sc)
	}

	ts.stop()
	m := loadModel(t, dir, "sq", "s")
	if spec, ok := m.Sequence(); !ok || spec.Window != 8 {
		t.Fatalf("the saved model's sequence spec: %+v %v", spec, ok)
	}
	x := make([]float64, len(nab))
	for i, r := range nab {
		x[i] = r.value
	}
	core, err := m.ScoreSequence(x, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	verdicts, err := m.SequenceVerdicts(x, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]scoredRow{}
	for i, k := range daKeys {
		want[k] = scoredRow{core[i], map[bool]int64{true: 1}[verdicts[i]]}
	}
	sameSequenceScores(t, "OVER vs the core's ScoreSequence", over, want)

	// The detector is the one the core trains on the rows in time order.
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(x, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "value", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{col}, int64(len(x)))
	col.Release()
	defer rec.Release()
	fitted, err := detectors.FitSequence(context.Background(), "lstm_forecast", map[string]string{"window": "8", "epochs": "2", "seed": "1"},
		detectors.SequenceData{TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}})
	if err != nil {
		t.Fatal(err)
	}
	inProcess, err := fitted.ScoreSequence(x, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range core {
		if math.Float64bits(inProcess[i]) != math.Float64bits(core[i]) {
			t.Fatalf("row %d: the detector trained over SQL scores %v, the core's FitSequence on the rows in time order %v", i, core[i], inProcess[i])
		}
	}

	ts = startServer(t, dir, false)
	db = ts.open("sq")
	again, _ := scoresByKey(t, db, "SELECT ts, anomaly_score('s', value) OVER (ORDER BY ts), is_anomaly('s', value) OVER (ORDER BY ts) FROM speed")
	sameSequenceScores(t, "OVER after a restart", again, over)
}

// TestSequenceDetectorPartitions trains on two hosts (partition_by) and
// checks that OVER (PARTITION BY host ORDER BY ts), detect_anomalies and
// ScoreSequence on each host's rows agree bit for bit. Bugs caught:
// partitions ignored (the first rows of the second host would read the
// first host's last rows as context), starts off by one, the partition
// column taken as a feature.
func TestSequenceDetectorPartitions(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE sp", "USE sp", "CREATE TABLE m (host VARCHAR(8), ts INT, cpu DOUBLE, mem DOUBLE, PRIMARY KEY (host, ts))")
	const n = 120
	series := map[string][][2]float64{}
	var vals []string
	for _, h := range []string{"b", "a"} {
		for i := 0; i < n; i++ {
			k := float64(i)
			if h == "b" {
				k += 37
			}
			cpu, mem := 50+20*math.Sin(k/5), 30+float64(int(k)%7)
			if h == "a" && i == 70 {
				cpu = 140
			}
			series[h] = append(series[h], [2]float64{cpu, mem})
			vals = append(vals, fmt.Sprintf("('%s', %d, %v, %v)", h, i, cpu, mem))
		}
	}
	mustExec(t, db, "INSERT INTO m VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, "CREATE DETECTOR cpu USING gru_forecast WITH (order_by = 'ts', partition_by = 'host', window = 6, epochs = 2, seed = 2) AS SELECT host, ts, cpu, mem FROM m")
	if _, desc := describe(t, db, "DESCRIBE DETECTOR cpu", false); desc["order_by"] != "ts" || desc["partition_by"] != "host" {
		t.Fatalf("DESCRIBE DETECTOR: order_by %q, partition_by %q", desc["order_by"], desc["partition_by"])
	}
	over, _ := scoresByKey(t, db, "SELECT CONCAT(host, ':', ts), anomaly_score('cpu', cpu, mem) OVER (PARTITION BY host ORDER BY ts) AS s, is_anomaly('cpu', cpu, mem) OVER (PARTITION BY host ORDER BY ts) FROM m")
	da, _ := scoresByKey(t, db, "SELECT CONCAT(host, ':', ts), anomaly_score, is_anomaly FROM detect_anomalies('cpu', 'SELECT ts, mem, cpu, host FROM m WHERE ts >= 0')")
	sameSequenceScores(t, "detect_anomalies vs OVER", da, over)
	ts.stop()

	m := loadModel(t, dir, "sp", "cpu")
	if len(m.Features) != 2 || m.Features[0] != "cpu" || m.Features[1] != "mem" {
		t.Fatalf("features %v, want [cpu mem]", m.Features)
	}
	want := map[string]scoredRow{}
	for h, rows := range series {
		x := make([]float64, 0, 2*len(rows))
		for _, r := range rows {
			x = append(x, r[0], r[1])
		}
		s, err := m.ScoreSequence(x, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		v, _ := m.SequenceVerdicts(x, 0, nil)
		for i := range s {
			want[fmt.Sprintf("%s:%d", h, i)] = scoredRow{s[i], map[bool]int64{true: 1}[v[i]]}
		}
	}
	sameSequenceScores(t, "OVER vs ScoreSequence per host", over, want)
}

// TestSequenceDetectorEmbedding trains lstm_forecast with categorical =
// 'embedding' on ordered rows with a string column, over SQL, and checks
// that OVER and detect_anomalies agree bit for bit, that DESCRIBE
// DETECTOR shows the column's embedding, that the scores are the same
// after a restart, and that deeplog refuses the option (1210) without
// leaving a detector. Bugs caught: the windowed embedding lost on save
// or load, one scoring path embedding windows differently, the option
// accepted for a detector that models its key itself.
func TestSequenceDetectorEmbedding(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE se", "USE se", "CREATE TABLE m (host VARCHAR(8), ts INT, cpu DOUBLE, state VARCHAR(8), PRIMARY KEY (host, ts))")
	var vals []string
	for _, h := range []string{"a", "b"} {
		for i := 0; i < 150; i++ {
			state := []string{"idle", "busy", "peak"}[i%3]
			if h == "a" && i == 90 {
				state = "fault"
			}
			vals = append(vals, fmt.Sprintf("('%s', %d, %v, '%s')", h, i, 50+20*math.Sin(float64(i)/5), state))
		}
	}
	mustExec(t, db, "INSERT INTO m VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, "CREATE DETECTOR c USING lstm_forecast WITH (order_by = 'ts', partition_by = 'host', window = 6, epochs = 2, seed = 2, categorical = 'embedding', embedding_epochs = 2) AS SELECT host, ts, cpu, state FROM m")
	if _, desc := describe(t, db, "DESCRIBE DETECTOR c", false); !strings.HasPrefix(desc["feature.state.encoding"], "embedding (3 dimensions): 4 values + other + unseen (") {
		t.Fatalf("DESCRIBE DETECTOR: state encoded as %q", desc["feature.state.encoding"])
	}
	const over = "SELECT CONCAT(host, ':', ts), anomaly_score('c', cpu, state) OVER (PARTITION BY host ORDER BY ts) AS s, is_anomaly('c', cpu, state) OVER (PARTITION BY host ORDER BY ts) FROM m"
	before, _ := scoresByKey(t, db, over)
	da, _ := scoresByKey(t, db, "SELECT CONCAT(host, ':', ts), anomaly_score, is_anomaly FROM detect_anomalies('c', 'SELECT ts, state, cpu, host FROM m')")
	sameSequenceScores(t, "detect_anomalies vs OVER", da, before)
	expectErr(t, db, "CREATE DETECTOR k USING deeplog WITH (order_by = 'ts', partition_by = 'host', `key` = 'state', categorical = 'embedding') AS SELECT host, ts, state FROM m", 1210)
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 1 {
		t.Fatalf("a failed CREATE DETECTOR left a detector behind: %v", rows)
	}
	ts.stop()
	ts = startServer(t, dir, false)
	after, _ := scoresByKey(t, ts.open("se"), over)
	sameSequenceScores(t, "after a restart", after, before)
}

// TestSequenceDetectorBadInput checks the errors of CREATE DETECTOR and
// detect_anomalies for sequence detectors, and that none leaves a
// detector behind. Bugs caught: each check removed (the statement would
// train, or fail later with another number).
func TestSequenceDetectorBadInput(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE sb", "USE sb",
		"CREATE TABLE t (id INT PRIMARY KEY, ts INT, host VARCHAR(4), v DOUBLE)")
	var vals []string
	for i := 0; i < 40; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, '%s', %v)", i, i/2, []string{"a", "b"}[i%2], math.Sin(float64(i))))
	}
	mustExec(t, db, "INSERT INTO t VALUES "+strings.Join(vals, ", "))
	const opts = "epochs = 1, seed = 1, window = 4"
	for _, c := range []struct {
		q    string
		code uint16
	}{
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'nope') AS SELECT ts, v FROM t", 1054},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'ts', partition_by = 'host') AS SELECT ts, v FROM t", 1054},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'doc') AS SELECT CAST('{}' AS JSON) AS doc, v FROM t", 1210},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'ts') AS SELECT IF(id = 7, NULL, ts) AS ts, v FROM t", 1048},
		{"CREATE DETECTOR d USING lstm_forecast WITH (epochs = 1, window = 20, order_by = 'ts', partition_by = 'host') AS SELECT host, ts, v FROM t", 1210},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ") AS SELECT ts, v FROM t", 1210},
		{"CREATE DETECTOR d USING lstm_forecast WITH (window = 0) AS SELECT ts, v FROM t", 1210},
		{"CREATE DETECTOR d USING deep_svdd WITH (order_by = 'ts') AS SELECT ts, v FROM t", 1210},
		{"CREATE DETECTOR d USING no_such WITH (order_by = 'ts') AS SELECT ts, v FROM t", 1286},
		{"CREATE DETECTOR d USING deep_svdd WITH (partition_by = 'host') AS SELECT host, v FROM t", 1210},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'ts', label = 'id') AS SELECT id, ts, v FROM t", 1210},
		{"CREATE DETECTOR d USING lstm_forecast WITH (" + opts + ", order_by = 'ts') AS SELECT ts FROM t", 1210},
	} {
		msg := expectErr(t, db, c.q, c.code)
		if c.code == 1210 && strings.Contains(c.q, "window = 20") && !strings.Contains(msg, "window") {
			t.Errorf("%s: the error does not name the window: %s", c.q, msg)
		}
		if strings.Contains(c.q, "window = 0") && !strings.Contains(msg, "window") {
			t.Errorf("%s: the error is not the bad window's: %s", c.q, msg)
		}
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 0 {
		t.Fatalf("failed CREATE DETECTORs left detectors behind: %v", rows)
	}
	mustExec(t, db, "CREATE DETECTOR d USING lstm_forecast WITH ("+opts+", order_by = 'ts', partition_by = 'host') AS SELECT host, ts, v FROM t")
	expectErr(t, db, "SELECT * FROM detect_anomalies('d', 'SELECT ts, v FROM t')", 1054)
	expectErr(t, db, "SELECT * FROM detect_anomalies('d', 'SELECT host, IF(id = 3, NULL, ts) AS ts, v FROM t')", 1048)
	expectErr(t, db, "SELECT anomaly_explain('d', v) FROM t", 3593)
	expectErr(t, db, "SELECT anomaly_score('d', v, v) OVER (PARTITION BY host ORDER BY ts) FROM t", 1582)
}

// TestSequenceDetectAnomaliesBlocks scores a partition that spans
// several scoring blocks of detect_anomalies (64, 256, 1,024 rows, ...)
// and checks that it scores as the window form, which scores the
// partition whole. Bug caught: a block scored without the rows before it
// as context (its first rows would be scored as a partition's first
// rows).
func TestSequenceDetectAnomaliesBlocks(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE sk", "USE sk", "CREATE TABLE m (ts INT PRIMARY KEY, v DOUBLE)")
	const n = 1500
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprintf("(%d, %v)", i, math.Sin(float64(i)/3)+float64(i%11)/10)
	}
	mustExec(t, db, "INSERT INTO m VALUES "+strings.Join(vals, ", "))
	mustExec(t, db, "CREATE DETECTOR d USING lstm_forecast WITH (order_by = 'ts', window = 3, epochs = 1, hidden = 8, seed = 1) AS SELECT ts, v FROM m WHERE ts < 1000")
	over, _ := scoresByKey(t, db, "SELECT ts, anomaly_score('d', v) OVER (ORDER BY ts), is_anomaly('d', v) OVER (ORDER BY ts) FROM m")
	da, _ := scoresByKey(t, db, "SELECT ts, anomaly_score, is_anomaly FROM detect_anomalies('d', 'm')")
	sameSequenceScores(t, "detect_anomalies vs OVER", da, over)
}
