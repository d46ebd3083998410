package engine_test

import (
	gosql "database/sql"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/internal/testcsv"
)

// cmcColumns are the attributes of engine/testdata/cmc.csv.gz (UCI
// Contraceptive Method Choice, from ../shared/datasets/categorical: every
// attribute a quoted string, then label, 1 for the 29 women with 10 or
// more children).
var cmcColumns = []string{"wifes_education", "husbands_education", "wifes_religion", "wifes_now_working",
	"husbands_occupation", "standard_of_living_index", "media_exposure", "contraceptive_method_used"}

// startCMC starts a server on a new data directory dir and creates
// mx.cmc (id, the attributes as VARCHAR, label INT) with the rows of the
// file, as a user would with INSERT; db is a connection to mx.
func startCMC(t *testing.T) (dir string, ts *testServer, db *gosql.DB) {
	t.Helper()
	dir = t.TempDir()
	ts = startServer(t, dir, false)
	recs := testcsv.Read(t, filepath.Join("testdata", "cmc.csv.gz"))
	db = ts.open("")
	mustExec(t, db, "CREATE DATABASE mx")
	cols := []string{"id INT PRIMARY KEY"}
	for _, c := range cmcColumns {
		cols = append(cols, c+" VARCHAR(8)")
	}
	mustExec(t, db, "CREATE TABLE mx.cmc ("+strings.Join(cols, ", ")+", label INT)")
	var vals []string
	for i, r := range recs[1:] {
		v := []string{fmt.Sprint(i)}
		for _, s := range r[:len(r)-1] {
			v = append(v, "'"+s+"'")
		}
		v = append(v, r[len(r)-1])
		vals = append(vals, "("+strings.Join(v, ", ")+")")
	}
	mustExec(t, db, "INSERT INTO mx.cmc VALUES "+strings.Join(vals, ", "))
	return dir, ts, ts.open("mx")
}

// scanCMC returns mx.cmc's rows (id, detector d's score, label, the
// attributes) in id order, and checks that the first alone of them score
// the same with their values as literals.
func scanCMC(t *testing.T, db *gosql.DB, d string, alone int) [][]string {
	t.Helper()
	cols := strings.Join(cmcColumns, ", ")
	scan := queryRows(t, db, "SELECT id, anomaly_score('"+d+"', "+cols+"), label, "+cols+" FROM cmc ORDER BY id")
	if len(scan) != 1473 {
		t.Fatalf("%d rows scored", len(scan))
	}
	for _, r := range scan[:alone] {
		lits := "'" + strings.Join(r[3:], "', '") + "'"
		if s := queryRows(t, db, "SELECT anomaly_score('"+d+"', "+lits+")")[0][0]; s != r[1] {
			t.Fatalf("row %s scores %s in the scan, %s alone with (%s)", r[0], r[1], s, lits)
		}
	}
	return scan
}

// sameAfterRestart restarts the server of ts on dir and checks that
// detector d scores mx.cmc's rows as in scan (scanCMC's), bit for bit.
func sameAfterRestart(t *testing.T, ts *testServer, dir, d string, scan [][]string) {
	t.Helper()
	ts.stop()
	ts = startServer(t, dir, false)
	again := scanCMC(t, ts.open("mx"), d, 0)
	for i := range scan {
		if again[i][1] != scan[i][1] {
			t.Fatalf("row %s scores %s after a restart, %s before", scan[i][0], again[i][1], scan[i][1])
		}
	}
}

// TestMixedCategoricalDetector trains detectors on the string columns of
// a real categorical table over SQL, as a user would, and checks what the
// issue promises: every row scores the same in a scan of the table and
// alone with its values as literals; a value never seen in training is
// not an error and scores differently; explanations name the user's
// columns; max_categories out of range is error 1210 and creates
// nothing; after a restart the scores are bit-identical. Bugs caught: a
// string argument parsed as a number instead of looked up (the scan and
// the literals disagree: "2" is the number 2, not the category '2'),
// codes of another column, the encoding lost on save or load, one-hot
// positions in explanations, an out-of-range option accepted.
func TestMixedCategoricalDetector(t *testing.T) {
	dir, ts, db := startCMC(t)
	cols := strings.Join(cmcColumns, ", ")
	mustExec(t, db, "CREATE DETECTOR c USING autoencoder WITH (epochs = 3, seed = 1, hidden = '8,4', max_categories = 3) AS SELECT "+cols+" FROM cmc")
	scan := scanCMC(t, db, "c", 40)
	t.Logf("AUC-ROC of c on cmc (training rows): %.3f", aucOf(t, scan))
	// A value never seen in training (an eleventh level of education).
	first := scan[0]
	lits := "'99', '" + strings.Join(first[4:], "', '") + "'"
	unseen := queryRows(t, db, "SELECT anomaly_score('c', "+lits+")")[0][0]
	if unseen == first[1] {
		t.Fatalf("an unseen value scores as the row's own value: %s", unseen)
	}
	ex := queryRows(t, db, "SELECT anomaly_explain('c', "+lits+")")[0][0]
	for _, c := range cmcColumns {
		if !strings.Contains(ex, `"`+c+`"`) {
			t.Fatalf("the explanation does not name column %s: %s", c, ex)
		}
	}
	if strings.Count(ex, `"feature"`) != len(cmcColumns) {
		t.Fatalf("the explanation has not one entry per column: %s", ex)
	}
	if !strings.Contains(ex, `{"feature": "wifes_education", "value": "99", `) {
		t.Fatalf("the explanation does not show the value given: %s", ex)
	}
	_, desc := describe(t, db, "DESCRIBE DETECTOR c", false)
	if e := desc["feature.wifes_religion.encoding"]; e != "one-hot: 2 values + other + unseen ('1', '0')" {
		t.Fatalf("DESCRIBE DETECTOR: wifes_religion encoded as %q", e)
	}
	if e := desc["feature.wifes_education.encoding"]; !strings.HasPrefix(e, "one-hot: 3 values + other + unseen ('4', ") {
		t.Fatalf("DESCRIBE DETECTOR: wifes_education encoded as %q", e)
	}
	for _, v := range []string{"0", "4097", "'many'"} {
		expectErr(t, db, "CREATE DETECTOR bad USING autoencoder WITH (max_categories = "+v+") AS SELECT "+cols+" FROM cmc", 1210)
	}
	// A string column with a single value cannot tell rows apart.
	msg := expectErr(t, db, "CREATE DETECTOR bad USING autoencoder AS SELECT "+cols+", 'x' AS constant FROM cmc", 1210)
	if !strings.Contains(msg, "constant") {
		t.Errorf("the error does not name the column: %s", msg)
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 1 {
		t.Fatalf("failed CREATE DETECTORs left detectors behind: %v", rows)
	}
	sameAfterRestart(t, ts, dir, "c", scan)
}

// TestEmbeddedCategoricalDetector trains deep_svdd with categorical =
// 'embedding' on the string columns of a real categorical table over
// SQL, as a user would, and checks: every row scores the same in a scan
// and alone with its values as literals; DESCRIBE DETECTOR shows each
// column's embedding; a value never seen in training scores as the
// column's rarest training value does (the documented rule); the option
// refused where it means nothing (ape) or misspelled is error 1210 and
// creates nothing; after a restart the scores are bit-identical. Bugs
// caught: the embedding lost on save or load (scores change after the
// restart), a scan and a single row embedded differently, the unseen
// rule not applied, a bad option accepted or leaving a detector behind.
func TestEmbeddedCategoricalDetector(t *testing.T) {
	dir, ts, db := startCMC(t)
	cols := strings.Join(cmcColumns, ", ")
	mustExec(t, db, "CREATE DETECTOR e USING deep_svdd WITH (epochs = 3, seed = 1, hidden = '8,4', categorical = 'embedding', embedding_dim = 2, embedding_epochs = 3) AS SELECT "+cols+" FROM cmc")
	scan := scanCMC(t, db, "e", 40)
	t.Logf("AUC-ROC of e on cmc (training rows): %.3f", aucOf(t, scan))
	_, desc := describe(t, db, "DESCRIBE DETECTOR e", false)
	// Two values whiten to one dimension whatever embedding_dim says.
	if e := desc["feature.wifes_religion.encoding"]; e != "embedding (1 dimension): 2 values + other + unseen ('1', '0')" {
		t.Fatalf("DESCRIBE DETECTOR: wifes_religion encoded as %q", e)
	}
	if e := desc["feature.wifes_education.encoding"]; !strings.HasPrefix(e, "embedding (2 dimensions): 4 values + other + unseen ('4', ") {
		t.Fatalf("DESCRIBE DETECTOR: wifes_education encoded as %q", e)
	}
	// The rarest level of wifes_education, and a level never seen.
	rare := queryRows(t, db, "SELECT wifes_education, COUNT(*) AS n FROM cmc GROUP BY wifes_education ORDER BY n LIMIT 2")
	if rare[0][1] == rare[1][1] {
		t.Fatalf("two levels are equally rare: %v", rare)
	}
	first := scan[0]
	rest := "', '" + strings.Join(first[4:], "', '") + "'"
	unseen := queryRows(t, db, "SELECT anomaly_score('e', '99"+rest+")")[0][0]
	rarest := queryRows(t, db, "SELECT anomaly_score('e', '"+rare[0][0]+rest+")")[0][0]
	if unseen != rarest {
		t.Fatalf("an unseen level scores %s, the rarest level %s %s", unseen, rare[0][0], rarest)
	}
	for _, w := range []string{"categorical = 'embeddings'", "embedding_dim = -1", "embedding_epochs = 0"} {
		expectErr(t, db, "CREATE DETECTOR bad USING autoencoder WITH ("+w+") AS SELECT "+cols+" FROM cmc", 1210)
	}
	msg := expectErr(t, db, "CREATE DETECTOR bad USING ape WITH (categorical = 'embedding') AS SELECT "+cols+" FROM cmc", 1210)
	if !strings.Contains(msg, "ape") {
		t.Errorf("the error does not say why: %s", msg)
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 1 {
		t.Fatalf("failed CREATE DETECTORs left detectors behind: %v", rows)
	}
	sameAfterRestart(t, ts, dir, "e", scan)
}

// aucOf is the AUC-ROC of rows (id, score, label, ...): the share of
// (anomaly, normal) pairs ordered by score, ties counting half.
func aucOf(t *testing.T, rows [][]string) float64 {
	t.Helper()
	var pos, neg []float64
	for _, r := range rows {
		s, err := strconv.ParseFloat(r[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		if r[2] == "1" {
			pos = append(pos, s)
		} else {
			neg = append(neg, s)
		}
	}
	sum := 0.0
	for _, p := range pos {
		for _, n := range neg {
			switch {
			case p > n:
				sum++
			case p == n:
				sum += 0.5
			}
		}
	}
	return sum / float64(len(pos)*len(neg))
}

// TestMixedTypeDetector trains on a table with a number, a VARCHAR with
// NULLs, a BOOLEAN, a CHAR, a DATE and a DATETIME, with the cyclic time
// encodings and missing indicators, and checks that rows score the same
// in a scan, in detect_anomalies and alone with literals (dates as
// strings, NULL as NULL). Bugs caught: dates read in another unit in one
// path (days vs seconds, microseconds), an CHAR or a NULL category
// converted differently by the scan and the function, a DATE or DATETIME
// argument refused.
func TestMixedTypeDetector(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE mt", "USE mt",
		"CREATE TABLE tx (id INT PRIMARY KEY, amount DOUBLE, merchant VARCHAR(10), online BOOLEAN, kind CHAR(4), d DATE, ts DATETIME)")
	var vals []string
	merchants := []string{"'acme'", "'bolt'", "'core'", "NULL"}
	for i := 0; i < 300; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %g, %s, %d, '%s', DATE_ADD('2024-03-01', INTERVAL %d DAY), TIMESTAMPADD(MINUTE, %d, '2024-03-01 00:00:00'))",
			i, 10+float64(i%17)/3, merchants[i%len(merchants)], i%3/2, []string{"card", "cash"}[i%5/4], i%40, i*97%10080))
	}
	mustExec(t, db, "INSERT INTO tx VALUES "+strings.Join(vals, ", "))
	feats := "amount, merchant, online, kind, d, ts"
	mustExec(t, db, "CREATE DETECTOR m USING deep_svdd WITH (epochs = 2, seed = 3, hidden = '8,4', time_cycles = 1, missing_indicator = 1) AS SELECT "+feats+" FROM tx")
	scan := queryRows(t, db, "SELECT id, anomaly_score('m', "+feats+"), "+feats+" FROM tx ORDER BY id")
	da := queryRows(t, db, "SELECT id, anomaly_score FROM detect_anomalies('m', 'SELECT id, "+feats+" FROM tx') ORDER BY id")
	for i, r := range scan {
		if da[i][1] != r[1] {
			t.Fatalf("row %s scores %s in a scan, %s in detect_anomalies", r[0], r[1], da[i][1])
		}
		if i%29 != 0 {
			continue
		}
		lit := make([]string, 0, 6)
		for _, v := range r[2:] {
			if v == "NULL" {
				lit = append(lit, v)
			} else {
				lit = append(lit, "'"+v+"'")
			}
		}
		alone := queryRows(t, db, "SELECT anomaly_score('m', "+strings.Join(lit, ", ")+")")[0][0]
		if alone != r[1] {
			t.Fatalf("row %s scores %s in the scan, %s alone with %v", r[0], r[1], alone, lit)
		}
	}
	expectErr(t, db, "SELECT anomaly_score('m', 1, 'acme', 1, 'card', '2024-03-01', 'not a date')", 1366)
	_, desc := describe(t, db, "DESCRIBE DETECTOR m", false)
	for k, v := range map[string]string{
		"feature.amount.encoding":   "numeric + missing indicator",
		"feature.merchant.encoding": "one-hot: 4 values + other + unseen (NULL, 'acme', 'bolt', 'core')",
		"feature.online.encoding":   "numeric + missing indicator", // BOOLEAN is TINYINT
		"feature.ts.encoding":       "time + missing indicator + hour and weekday cycles",
		"feature.d.encoding":        "time + missing indicator + hour and weekday cycles",
	} {
		if desc[k] != v {
			t.Errorf("DESCRIBE DETECTOR m: %s = %q, want %q", k, desc[k], v)
		}
	}
	if desc["feature.amount.mean"] == "" || desc["feature.merchant.mean"] != "" {
		t.Errorf("DESCRIBE DETECTOR m: amount mean %q, merchant mean %q (want one, and none)", desc["feature.amount.mean"], desc["feature.merchant.mean"])
	}
}
