package engine_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// The tests of this file check ALTER DETECTOR … SET contamination |
// threshold and anomaly_percentile (engine/alter_detector.go,
// detectors/score_distribution.go, functions/anomaly_percentile.go) over
// TCP, against what the documented rules compute from the scores SQL
// returns.

// Two detectors on thyroid: "small" trains on 800 rows, so it keeps every
// training score; "svdd" on all 3772, so it keeps 1,001 quantiles.
const (
	smallRows  = 800
	trainSmall = "CREATE DETECTOR small USING deep_svdd WITH (epochs = 3, seed = 7, hidden = '16,8') " +
		"AS SELECT f0, f1, f2, f3, f4, f5 FROM thyroid WHERE id <= 800"
	maxDistributionPoints = 1001 // detectors.MaxDistributionPoints
)

// storedDistribution is what a detector keeps of its training scores
// (detectors/score_distribution.go): all of them, sorted, when there are
// at most 1,001; else their k/1000 quantiles, k = 0…1000.
func storedDistribution(scores []float64) []float64 {
	s := slices.Sorted(slices.Values(scores))
	if len(s) <= maxDistributionPoints {
		return s
	}
	d := make([]float64, maxDistributionPoints)
	for k := range d {
		d[k] = linearQuantile(s, float64(k)/float64(maxDistributionPoints-1))
		if k > 0 && d[k] < d[k-1] {
			d[k] = d[k-1]
		}
	}
	return d
}

// aboveCount is the number of scores strictly above threshold.
func aboveCount(scores []float64, threshold float64) int64 {
	n := int64(0)
	for _, s := range scores {
		if s > threshold {
			n++
		}
	}
	return n
}

func values(m map[int64]float64) []float64 {
	out := make([]float64, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// detectorFile returns the bytes of a detector's file in dir.
func detectorFile(t *testing.T, dir, db, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "detectors", db, name+".model"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestAlterDetectorContamination: ALTER DETECTOR … SET contamination = c
// makes is_anomaly flag, among the training rows, exactly the rows above
// the (1 - c) quantile of the stored distribution: the exact quantile of
// the 800 scores of "small", the quantile of the 1,001 stored quantiles
// of "svdd" (about c × rows either way). SET threshold = t flags the rows
// above t. The new threshold holds on another connection, in a statement
// prepared there before the change, through the batched, columnar and
// row-by-row paths, after a prepared ALTER with ?, and after a restart;
// bad values (0, 0.6, -1, strings, NULL, 1e400) and unknown detectors are
// refused and change neither the flags nor the file. Bugs caught: the
// quantile taken at c instead of 1 - c, the new model not put in place
// or the generation not bumped (the other connection's cached model
// keeps the old threshold), the file not rewritten (a restart brings the
// old threshold back), the range check off at either end.
func TestAlterDetectorContamination(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	mustExec(t, db, trainSmall)
	other := ts.open("examples")

	const feats = "f0, f1, f2, f3, f4, f5"
	training := map[string]string{"small": "id <= 800", "svdd": "1 = 1"}
	flaggedQ := func(d string) string {
		return fmt.Sprintf("SELECT SUM(is_anomaly('%s', %s)) FROM thyroid WHERE %s", d, feats, training[d])
	}
	// The row-by-row path (a detector name computed per row) and the
	// columnar filter.
	rowByRowQ := func(d string) string {
		return fmt.Sprintf("SELECT SUM(is_anomaly(IF(f1 < -1e300, 'none', '%s'), %s)) FROM thyroid WHERE %s", d, feats, training[d])
	}
	filterQ := func(d string) string {
		return fmt.Sprintf("SELECT COUNT(*) FROM thyroid WHERE is_anomaly('%s', %s) AND %s", d, feats, training[d])
	}
	scores := map[string][]float64{}
	for d := range training {
		scores[d] = values(scoresByID(t, db, fmt.Sprintf("SELECT id, anomaly_score('%s', %s) FROM thyroid WHERE %s", d, feats, training[d])))
	}
	if len(scores["small"]) != smallRows || len(scores["svdd"]) != 3772 {
		t.Fatalf("%d and %d training rows scored", len(scores["small"]), len(scores["svdd"]))
	}
	// Prepared on the other connection before any ALTER.
	prepared, err := other.Prepare(flaggedQ("svdd"))
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()

	check := func(label, d string, want int64) {
		t.Helper()
		for _, q := range []string{flaggedQ(d), rowByRowQ(d), filterQ(d)} {
			if got := queryInt(t, db, q); got != want {
				t.Fatalf("%s: %s = %d, want %d", label, q, got, want)
			}
		}
		if got := queryInt(t, other, flaggedQ(d)); got != want {
			t.Fatalf("%s: on another connection %d rows flagged, want %d", label, got, want)
		}
		if d == "svdd" {
			var got int64
			if err := prepared.QueryRow().Scan(&got); err != nil || got != want {
				t.Fatalf("%s: a statement prepared before flags %d rows (%v), want %d", label, got, err, want)
			}
		}
	}
	for _, d := range []string{"small", "svdd"} {
		n := float64(len(scores[d]))
		dist := storedDistribution(scores[d])
		for _, c := range []float64{0.02, 0.05, 0.0137, 0.5, 0.3} {
			mustExec(t, db, fmt.Sprintf("ALTER DETECTOR %s SET contamination = %v", d, c))
			want := aboveCount(scores[d], linearQuantile(dist, 1-c))
			// About c × rows: within a row for the exact distribution,
			// within a 1/1000 quantile step for the summary.
			if math.Abs(float64(want)-c*n) > 1+n/1000 {
				t.Fatalf("%s, contamination %v: %d of %v rows above the quantile", d, c, want, n)
			}
			check(fmt.Sprintf("%s, contamination %v", d, c), d, want)
		}
	}

	// An explicit threshold: the 0.8 quantile of svdd's training scores,
	// written exactly; then as a numeric string; then below every score.
	th := linearQuantile(scores["svdd"], 0.8)
	mustExec(t, db, "ALTER DETECTOR svdd SET threshold = "+strconv.FormatFloat(th, 'g', -1, 64))
	check("svdd, threshold", "svdd", aboveCount(scores["svdd"], th))
	if want := aboveCount(scores["svdd"], th); want < 700 || want > 810 {
		t.Fatalf("%d rows above the 0.8 quantile", want)
	}
	mustExec(t, db, "ALTER DETECTOR examples.svdd SET threshold = '-1.5e0'")
	check("svdd, threshold -1.5", "svdd", 3772)
	// DESCRIBE DETECTOR shows the current threshold and contamination.
	if _, p := describe(t, db, "DESCRIBE DETECTOR svdd", false); p["threshold"] != "-1.5" || p["contamination"] != "NULL" {
		t.Errorf("DESCRIBE after SET threshold: threshold %q, contamination %q; want -1.5 and NULL", p["threshold"], p["contamination"])
	}
	// Prepared, with the value bound to ?: SQL PREPARE … EXECUTE USING,
	// then COM_STMT_PREPARE (Go's driver without interpolateParams).
	mustExecAll(t, db, "PREPARE alt FROM 'ALTER DETECTOR svdd SET contamination = ?'", "SET @c = 0.06", "EXECUTE alt USING @c")
	if _, p := describe(t, db, "DESCRIBE DETECTOR svdd", false); p["contamination"] != "0.06" {
		t.Errorf("DESCRIBE after SET contamination = 0.06: contamination %q", p["contamination"])
	}
	check("svdd, EXECUTE … USING 0.06", "svdd", aboveCount(scores["svdd"], linearQuantile(storedDistribution(scores["svdd"]), 1-0.06)))
	if _, err := db.Exec("ALTER DETECTOR svdd SET contamination = ?", 0.04); err != nil {
		t.Fatal(err)
	}
	want04 := aboveCount(scores["svdd"], linearQuantile(storedDistribution(scores["svdd"]), 1-0.04))
	check("svdd, prepared contamination 0.04", "svdd", want04)

	// Bad values and names change nothing, not even the file.
	file := detectorFile(t, dir, "examples", "svdd")
	for q, code := range map[string]uint16{
		"ALTER DETECTOR svdd SET contamination = 0":                  1210,
		"ALTER DETECTOR svdd SET contamination = 0.6":                1210,
		"ALTER DETECTOR svdd SET contamination = 0.50000001":         1210,
		"ALTER DETECTOR svdd SET contamination = -1":                 1210,
		"ALTER DETECTOR svdd SET contamination = 'abc'":              1210,
		"ALTER DETECTOR svdd SET contamination = '0x1p-4'":           1210,
		"ALTER DETECTOR svdd SET contamination = NULL":               1210,
		"ALTER DETECTOR svdd SET contamination = 1e-400":             1210,
		"ALTER DETECTOR svdd SET threshold = 'abc'":                  1210,
		"ALTER DETECTOR svdd SET threshold = 1e400":                  1210,
		"ALTER DETECTOR svdd SET threshold = 'inf'":                  1210,
		"ALTER DETECTOR nosuch SET contamination = 0.1":              1305,
		"ALTER DETECTOR nodb.svdd SET threshold = 1":                 1305,
		"ALTER DETECTOR svdd SET epochs = 3":                         1064,
		"ALTER DETECTOR svdd SET contamination 0.1":                  1064,
		"ALTER DETECTOR svdd contamination = 0.1":                    1064,
		"ALTER DETECTOR svdd SET contamination = 0.1, threshold = 2": 1064,
	} {
		msg := expectErr(t, db, q, code)
		if code == 1210 && !strings.Contains(msg, "contamination") && !strings.Contains(msg, "threshold") {
			t.Errorf("%s: message %q does not name the setting", q, msg)
		}
	}
	if _, err := db.Exec("ALTER DETECTOR svdd SET contamination = ?", 0.7); err == nil {
		t.Fatal("prepared contamination 0.7 accepted")
	}
	if !bytes.Equal(detectorFile(t, dir, "examples", "svdd"), file) {
		t.Fatal("a refused ALTER DETECTOR changed the detector's file")
	}
	check("svdd after refused changes", "svdd", want04)

	// A restart keeps the last threshold; scores do not change.
	ts.stop()
	ts2 := startServer(t, dir, true)
	db = ts2.open("examples")
	other = ts2.open("examples")
	prepared, err = other.Prepare(flaggedQ("svdd"))
	if err != nil {
		t.Fatal(err)
	}
	defer prepared.Close()
	check("svdd after a restart", "svdd", want04)
	smallWant := aboveCount(scores["small"], linearQuantile(storedDistribution(scores["small"]), 1-0.3))
	check("small after a restart", "small", smallWant)
	again := values(scoresByID(t, db, fmt.Sprintf("SELECT id, anomaly_score('svdd', %s) FROM thyroid", feats)))
	slices.Sort(again)
	if !slices.Equal(again, slices.Sorted(slices.Values(scores["svdd"]))) {
		t.Fatal("scores changed")
	}
}

// TestAnomalyPercentile: anomaly_percentile over SQL is in [0, 1]; it
// orders rows as anomaly_score does (ORDER BY the one and ORDER BY the
// other, then the score, give the same rows); for "small", which keeps
// every training score, the training row of rank i of n gets exactly
// i/(n-1); for "svdd" (1,001 stored quantiles) the training rows'
// percentiles are close to uniform; rows above every training score get
// 1. Each row's value is bit-identical alone (prepared, one row),
// batched, in a columnar WHERE and row by row, before and after an ALTER
// (the threshold does not move the distribution) and a restart. Errors
// are anomaly_score's. Bugs caught: the percentile decreasing in the
// score, off by one rank (i/n), the batched call returning the score,
// the distribution lost in the file.
func TestAnomalyPercentile(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	mustExec(t, db, trainSmall)
	// thyroid, and a tenth of its rows pushed far out (ids from 10000).
	mustExec(t, db, "CREATE TABLE probe AS SELECT id, f0, f1, f2, f3, f4, f5 FROM thyroid "+
		"UNION ALL SELECT id + 10000, f0 * 4 + 5, f1 * 4 + 5, f2, f3, f4 * 4 + 5, f5 FROM thyroid WHERE id % 10 = 0")
	const feats = "f0, f1, f2, f3, f4, f5"

	// c is a connection of its own: db allows one connection at a time.
	c, err := ts.open("examples").Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type row struct {
		id         int64
		score, pct float64
	}
	read := func(d, where string) []row {
		q := fmt.Sprintf("SELECT id, anomaly_score('%[1]s', %[2]s), anomaly_percentile('%[1]s', %[2]s) FROM probe WHERE %[3]s "+
			"ORDER BY anomaly_score('%[1]s', %[2]s), id", d, feats, where)
		var out []row
		for _, r := range queryRows(t, db, q) {
			id, _ := strconv.ParseInt(r[0], 10, 64)
			s, _ := strconv.ParseFloat(r[1], 64)
			p, err := strconv.ParseFloat(r[2], 64)
			if err != nil {
				t.Fatalf("%s: percentile %q", q, r[2])
			}
			out = append(out, row{id: id, score: s, pct: p})
		}
		return out
	}

	for _, d := range []string{"small", "svdd"} {
		all := read(d, "1 = 1")
		if len(all) != 3772+377 {
			t.Fatalf("%s: %d rows", d, len(all))
		}
		ones, distinct := 0, map[float64]bool{}
		for i, r := range all {
			if !(r.pct >= 0 && r.pct <= 1) {
				t.Fatalf("%s: row %d percentile %v", d, r.id, r.pct)
			}
			if i > 0 && r.pct < all[i-1].pct {
				t.Fatalf("%s: row %d scores %v above row %d's %v, but its percentile %v is below %v",
					d, r.id, r.score, all[i-1].id, all[i-1].score, r.pct, all[i-1].pct)
			}
			if r.pct == 1 {
				ones++
			}
			distinct[r.pct] = true
		}
		// The 377 pushed-out rows score above every training row.
		if ones < 377 || len(distinct) < 700 {
			t.Fatalf("%s: %d rows at percentile 1 (want the 377 pushed out at least), %d distinct percentiles", d, ones, len(distinct))
		}
		// ORDER BY anomaly_percentile, then the score for rows of equal
		// percentile, lists the rows as ORDER BY anomaly_score.
		byScore := queryRows(t, db, fmt.Sprintf("SELECT id FROM probe ORDER BY anomaly_score('%[1]s', %[2]s), id", d, feats))
		byPct := queryRows(t, db, fmt.Sprintf("SELECT id FROM probe ORDER BY anomaly_percentile('%[1]s', %[2]s), anomaly_score('%[1]s', %[2]s), id", d, feats))
		if !slices.EqualFunc(byScore, byPct, slices.Equal) {
			t.Fatalf("%s: ORDER BY anomaly_percentile and ORDER BY anomaly_score differ", d)
		}
	}

	// small keeps its 800 scores: the training row of rank i (no tie)
	// is at i/799.
	train := read("small", "id <= 800")
	for i, r := range train {
		tied := i > 0 && train[i-1].score == r.score || i+1 < len(train) && train[i+1].score == r.score
		if want := float64(i) / float64(len(train)-1); !tied && r.pct != want {
			t.Fatalf("small: training row %d of rank %d has percentile %v, want %v", r.id, i, r.pct, want)
		}
	}
	// svdd's training rows (every row of thyroid) spread evenly over
	// [0, 1]: each tenth holds a tenth of them, 377.2, give or take the
	// 3.8 rows between two of the 1,001 stored quantiles (a few more for
	// tied scores).
	train = read("svdd", "id < 10000")
	var bins [10]int
	sum := 0.0
	for _, r := range train {
		bins[min(int(r.pct*10), 9)]++
		sum += r.pct
	}
	for k, n := range bins {
		if math.Abs(float64(n)-377.2) > 5 {
			t.Errorf("svdd: %d training rows at percentiles [%v, %v), want about 377: %v", n, float64(k)/10, float64(k+1)/10, bins)
		}
	}
	t.Logf("svdd: training rows per tenth of [0, 1]: %v, mean %v", bins, sum/float64(len(train)))
	if mean := sum / float64(len(train)); math.Abs(mean-0.5) > 0.002 {
		t.Errorf("svdd: mean percentile of the training rows %v, want 0.5", mean)
	}

	// Bit-identical on every path: batched (constant name), row by row
	// (a name computed per row), one row alone (prepared, name and id
	// bound), and the columnar WHERE.
	pctOf := func() map[int64][]float64 {
		rowByRow := connQuery(t, c, "SELECT id, anomaly_percentile(IF(f1 < -1e300, 'none', 'svdd'), "+feats+") FROM probe")
		batched := connQuery(t, c, "SELECT id, anomaly_percentile('svdd', "+feats+") FROM probe")
		sameScoredRows(t, "batched anomaly_percentile", batched, rowByRow)
		for _, id := range []int64{1, 17, 2000, 3772, 10010, 13770} {
			var p float64
			if err := db.QueryRow("SELECT anomaly_percentile(?, "+feats+") FROM probe WHERE id = ?", "svdd", id).Scan(&p); err != nil {
				t.Fatal(err)
			}
			if math.Float64bits(p) != math.Float64bits(rowByRow[id][0]) {
				t.Fatalf("row %d alone: %v, in a query of all rows %v", id, p, rowByRow[id][0])
			}
		}
		above := connQuery(t, c, "SELECT id FROM probe WHERE anomaly_percentile('svdd', "+feats+") > 0.9")
		want := 0
		for id, p := range rowByRow {
			if p[0] > 0.9 {
				want++
				if _, ok := above[id]; !ok {
					t.Fatalf("row %d, percentile %v, missing from WHERE anomaly_percentile > 0.9", id, p[0])
				}
			}
		}
		if len(above) != want || want < 300 {
			t.Fatalf("WHERE anomaly_percentile > 0.9: %d rows, want %d", len(above), want)
		}
		return rowByRow
	}
	before := pctOf()
	mustExec(t, db, "ALTER DETECTOR svdd SET contamination = 0.01")
	sameScoredRows(t, "percentiles after ALTER … SET contamination", pctOf(), before)
	c.Close()
	ts.stop()
	ts2 := startServer(t, dir, true)
	db = ts2.open("examples")
	if c, err = ts2.open("examples").Conn(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sameScoredRows(t, "percentiles after a restart", pctOf(), before)

	// Errors and NULLs as anomaly_score's.
	expectErr(t, db, "SELECT anomaly_percentile('nosuch', "+feats+") FROM probe", 1305)
	expectErr(t, db, "SELECT anomaly_percentile('svdd', f0, f1) FROM probe", 1582)
	expectErr(t, db, "SELECT anomaly_percentile('svdd', 'x', f1, f2, f3, f4, f5) FROM probe", 1366)
	if r := queryRows(t, db, "SELECT anomaly_percentile(NULL, "+feats+"), anomaly_percentile('svdd', NULL, f1, f2, f3, f4, f5) IS NULL FROM probe WHERE id = 1"); r[0][0] != "NULL" || r[0][1] != "0" {
		t.Fatalf("NULL name and NULL feature: %v", r)
	}
}

// writeV1Detector rewrites a detector's file in dir as an older
// anomalydb saved it.
func writeV1Detector(t *testing.T, dir, db, name string) {
	t.Helper()
	b := detectorFile(t, dir, db, name)
	const header = 8 + 4 // "ADBMODEL", uint32 version
	if string(b[:8]) != "ADBMODEL" || binary.LittleEndian.Uint32(b[8:header]) != 1 {
		t.Fatalf("detector file header %q", b[:header])
	}
	makeOld(t, filepath.Join(dir, "detectors", db, name+".model")) // detector_meta_test.go
}

// TestDetectorWithoutDistribution: a detector saved by an older
// anomalydb, without the training-score distribution, still loads and
// scores; anomaly_percentile and ALTER … SET contamination refuse it with
// 1235 (and change nothing), SET threshold works and survives a restart.
// Bugs caught: an older file refused at load, a percentile made up from
// nothing (an empty distribution read as 0 or 1 for every row).
func TestDetectorWithoutDistribution(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	mustExec(t, db, trainSmall)
	const feats = "f0, f1, f2, f3, f4, f5"
	scores := values(scoresByID(t, db, "SELECT id, anomaly_score('small', "+feats+") FROM thyroid WHERE id <= 800"))
	flagged := queryInt(t, db, "SELECT SUM(is_anomaly('small', "+feats+")) FROM thyroid WHERE id <= 800")
	ts.stop()
	writeV1Detector(t, dir, "examples", "small")

	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if r := queryRows(t, db, "SHOW DETECTORS"); len(r) != 1 || r[0][4] != "ready" {
		t.Fatalf("SHOW DETECTORS: %v", r)
	}
	again := values(scoresByID(t, db, "SELECT id, anomaly_score('small', "+feats+") FROM thyroid WHERE id <= 800"))
	if !slices.Equal(slices.Sorted(slices.Values(again)), slices.Sorted(slices.Values(scores))) {
		t.Fatal("the older file scores differently")
	}
	if n := queryInt(t, db, "SELECT SUM(is_anomaly('small', "+feats+")) FROM thyroid WHERE id <= 800"); n != flagged {
		t.Fatalf("older file: %d rows flagged, want %d", n, flagged)
	}
	file := detectorFile(t, dir, "examples", "small")
	for _, q := range []string{
		"SELECT anomaly_percentile('small', " + feats + ") FROM thyroid",
		"SELECT anomaly_percentile(IF(f1 < -1e300, 'none', 'small'), " + feats + ") FROM thyroid",
		"ALTER DETECTOR small SET contamination = 0.2",
	} {
		if msg := expectErr(t, db, q, 1235); !strings.Contains(msg, "small") {
			t.Errorf("%s: message %q does not name the detector", q, msg)
		}
	}
	if !bytes.Equal(detectorFile(t, dir, "examples", "small"), file) {
		t.Fatal("a refused ALTER DETECTOR changed the file")
	}
	th := linearQuantile(scores, 0.5)
	mustExec(t, db, "ALTER DETECTOR small SET threshold = "+strconv.FormatFloat(th, 'g', -1, 64))
	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if n, want := queryInt(t, db, "SELECT SUM(is_anomaly('small', "+feats+")) FROM thyroid WHERE id <= 800"), aboveCount(scores, th); n != want {
		t.Fatalf("older file with a new threshold, after a restart: %d rows flagged, want %d", n, want)
	}
	expectErr(t, db, "SELECT anomaly_percentile('small', "+feats+") FROM thyroid", 1235)
}

// TestAlterDetectorBinary, on the real binary: ALTER DETECTOR needs CREATE
// on the detector's database (SELECT is not enough: 1142; scoring needs
// only SELECT), and its change is on disk when it returns: a SIGKILL
// right after it loses nothing. Bugs caught: the privilege checked as
// SELECT (or not at all), the model replaced in memory before (or
// without) the file being written.
func TestAlterDetectorBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and restarts the server binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	examples := filepath.Join(repoRoot(), "testdata")
	p := startProc(t, bin, dir, "--examples", examples, "--password", "rootpw")
	root := openDSN(t, procDSN(p, "root", "rootpw", "examples"))
	mustExec(t, root, trainSmall)
	const feats = "f0, f1, f2, f3, f4, f5"
	scores := values(scoresByID(t, root, "SELECT id, anomaly_score('small', "+feats+") FROM thyroid WHERE id <= 800"))
	mustExecAll(t, root,
		"CREATE USER reader IDENTIFIED BY 'r1'", "GRANT SELECT ON examples.* TO reader",
		"CREATE USER maker IDENTIFIED BY 'm1'", "GRANT SELECT, CREATE ON examples.* TO maker")
	reader := openDSN(t, procDSN(p, "reader", "r1", "examples"))
	maker := openDSN(t, procDSN(p, "maker", "m1", "examples"))
	flagged := "SELECT SUM(is_anomaly('small', " + feats + ")) FROM thyroid WHERE id <= 800"
	before := queryInt(t, reader, flagged)
	expectErr(t, reader, "ALTER DETECTOR small SET contamination = 0.3", 1142)
	expectErr(t, reader, "ALTER DETECTOR small SET threshold = 0", 1142)
	if n := queryInt(t, reader, flagged); n != before {
		t.Fatalf("after a refused ALTER %d rows flagged, want %d", n, before)
	}
	mustExec(t, maker, "ALTER DETECTOR small SET contamination = 0.3")
	want := aboveCount(scores, linearQuantile(storedDistribution(scores), 0.7))
	if n := queryInt(t, reader, flagged); n != want || want == before {
		t.Fatalf("after ALTER by maker, reader sees %d rows flagged, want %d (before %d)", n, want, before)
	}
	p.kill() // SIGKILL, right after the OK
	p = startProc(t, bin, dir, "--examples", examples, "--password", "rootpw")
	root = openDSN(t, procDSN(p, "root", "rootpw", "examples"))
	if n := queryInt(t, root, flagged); n != want {
		t.Fatalf("after SIGKILL and restart %d rows flagged, want %d", n, want)
	}
	p.stop(t, syscall.SIGTERM)
}
