package engine_test

import (
	gosql "database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The tests of this file check the table function evaluate_detector
// (engine/evaluate_detector.go) over TCP, against metrics the test
// computes from the scores, flags and labels that plain SQL returns, by
// their definitions (detectors/evaluation_test.go checks the same
// metrics against scikit-learn's exact values on fixtures).

// evaluation is evaluate_detector's row, in its column order.
type evaluation struct {
	rows, anomalies                     int64
	aucROC, aucPR, precisionAtN, recall float64
	precision                           gosql.NullFloat64
	f1, bestF1, bestF1Threshold         float64
}

func evaluate(t *testing.T, db *gosql.DB, q string, args ...interface{}) evaluation {
	t.Helper()
	var e evaluation
	err := db.QueryRow(q, args...).Scan(&e.rows, &e.anomalies, &e.aucROC, &e.aucPR, &e.precisionAtN,
		&e.recall, &e.precision, &e.f1, &e.bestF1, &e.bestF1Threshold)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return e
}

// labelled is one row's score, flag and label as SQL gives them.
type labelled struct {
	score float64
	flag  bool
	label int
}

// definitions computes the evaluation of rows by the metrics'
// definitions, row by row: AUC-ROC over every (anomaly, normal) pair, a
// tie counting 1/2; AUC-PR as Σ (R_k − R_{k−1}) P_k over the distinct
// scores; precision@n as each anomaly's chance of being among the n
// highest, tied rows in random order; the threshold metrics from
// is_anomaly; best F1 over "flag every row scoring at least s".
func definitions(rows []labelled) evaluation {
	var e evaluation
	var distinct []float64
	for _, r := range rows {
		e.rows++
		e.anomalies += int64(r.label)
		distinct = append(distinct, r.score)
	}
	slices.Sort(distinct)
	distinct = slices.Compact(distinct)
	slices.Reverse(distinct)
	p, n := float64(e.anomalies), float64(e.rows-e.anomalies)

	var wins float64
	var atN float64
	var tp, flagged float64
	for _, a := range rows {
		if a.flag {
			flagged++
			tp += float64(a.label)
		}
		if a.label != 1 {
			continue
		}
		above, tied := 0.0, 0.0
		for _, b := range rows {
			switch {
			case b.score > a.score:
				above++
			case b.score == a.score:
				tied++
			}
			if b.label == 0 {
				switch {
				case a.score > b.score:
					wins++
				case a.score == b.score:
					wins += 0.5
				}
			}
		}
		atN += math.Max(0, math.Min(1, (p-above)/tied))
	}
	e.aucROC = wins / (p * n)
	e.precisionAtN = atN / p
	e.recall = tp / p
	if flagged > 0 {
		e.precision = gosql.NullFloat64{Float64: tp / flagged, Valid: true}
	}
	e.f1 = 2 * tp / (flagged + p)

	prevR := 0.0
	e.bestF1 = -1
	for _, s := range distinct {
		tp, k := 0.0, 0.0
		for _, r := range rows {
			if r.score >= s {
				k++
				tp += float64(r.label)
			}
		}
		e.aucPR += (tp/p - prevR) * tp / k
		prevR = tp / p
		if f1 := 2 * tp / (k + p); f1 > e.bestF1 {
			e.bestF1 = f1
		}
	}
	return e
}

// labelledRows returns the score, flag and label of detector d for the
// rows of thyroid where cond holds (label not NULL).
func labelledRowsOf(t *testing.T, db *gosql.DB, d, cond string) []labelled {
	t.Helper()
	var out []labelled
	q := fmt.Sprintf("SELECT anomaly_score('%[1]s', %[2]s), is_anomaly('%[1]s', %[2]s), label FROM thyroid WHERE %s", d, thyroidFeatures, cond)
	for _, r := range queryRows(t, db, q) {
		s, err := strconv.ParseFloat(r[0], 64)
		if err != nil {
			t.Fatal(err)
		}
		l, _ := strconv.Atoi(r[2])
		out = append(out, labelled{score: s, flag: r[1] == "1", label: l})
	}
	return out
}

// near compares two evaluations, to 1e-9 for the metrics; the best-F1
// threshold is not compared (definitions does not compute it).
func near(t *testing.T, what string, got, want evaluation) {
	t.Helper()
	close := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }
	if got.rows != want.rows || got.anomalies != want.anomalies ||
		!close(got.aucROC, want.aucROC) || !close(got.aucPR, want.aucPR) || !close(got.precisionAtN, want.precisionAtN) ||
		!close(got.recall, want.recall) || got.precision.Valid != want.precision.Valid || !close(got.precision.Float64, want.precision.Float64) ||
		!close(got.f1, want.f1) || !close(got.bestF1, want.bestF1) {
		t.Errorf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

// TestEvaluateDetector: evaluate_detector's row equals the metrics
// computed by their definitions from what anomaly_score, is_anomaly and
// the labels give, for a table and for queries (NULL labels skipped with
// a warning, a label renamed, labels as strings), as a prepared
// statement with ? for every argument; setting the detector's threshold
// to best_f1_threshold makes f1_at_threshold best_f1. Bugs caught: the
// label column or features read from the wrong column, NULL labels
// counted as 0, scores of the wrong detector, a best-F1 threshold that
// flags one group of tied rows too many or too few, the threshold metrics
// using a threshold other than the detector's current one.
func TestEvaluateDetector(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	all := labelledRowsOf(t, db, "svdd", "1 = 1")
	want := definitions(all)
	if want.anomalies == 0 || want.anomalies == want.rows {
		t.Fatalf("thyroid has %d anomalies in %d rows", want.anomalies, want.rows)
	}
	for _, input := range []string{
		"thyroid",
		"SELECT " + thyroidFeatures + ", label FROM thyroid",
		"SELECT label AS Truth, f5, f4, f3, f2, f1, f0 FROM thyroid",
		"SELECT " + thyroidFeatures + ", CAST(label AS CHAR) AS label FROM thyroid",
	} {
		label := "label"
		if strings.Contains(input, "Truth") {
			label = "truth"
		}
		q := fmt.Sprintf("SELECT * FROM evaluate_detector('svdd', '%s', '%s')", input, label)
		near(t, input, evaluate(t, db, q), want)
	}
	got := evaluate(t, db, "SELECT * FROM evaluate_detector(?, ?, ?)", "svdd", "SELECT * FROM thyroid", "label")
	near(t, "prepared", got, want)

	// NULL labels are skipped, and a warning counts them. (db has one
	// connection, which conn holds until it is closed.)
	wantNull := definitions(labelledRowsOf(t, db, "svdd", "id % 3 <> 0"))
	skipped := queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE id % 3 = 0")
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var e evaluation
	if err := conn.QueryRowContext(t.Context(), "SELECT * FROM evaluate_detector('svdd', 'SELECT f0, f1, f2, f3, f4, f5, IF(id % 3 = 0, NULL, label) AS label FROM thyroid', 'label')").Scan(
		&e.rows, &e.anomalies, &e.aucROC, &e.aucPR, &e.precisionAtN, &e.recall, &e.precision, &e.f1, &e.bestF1, &e.bestF1Threshold); err != nil {
		t.Fatal(err)
	}
	near(t, "NULL labels", e, wantNull)
	var level, code, msg string
	if err := conn.QueryRowContext(t.Context(), "SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != "1048" || !strings.Contains(msg, strconv.FormatInt(skipped, 10)+" row") {
		t.Errorf("warning %s %s %q (%v), want 1048 counting %d rows", level, code, msg, err, skipped)
	}
	conn.Close()

	// The best-F1 threshold, set as the detector's, gives the best F1.
	mustExec(t, db, "ALTER DETECTOR svdd SET threshold = "+strconv.FormatFloat(got.bestF1Threshold, 'g', -1, 64))
	after := evaluate(t, db, "SELECT * FROM evaluate_detector('svdd', 'thyroid', 'label')")
	if after.f1 != got.bestF1 {
		t.Errorf("threshold %v: F1 %v, want best_f1 %v", got.bestF1Threshold, after.f1, got.bestF1)
	}
	near(t, "after ALTER", after, definitions(labelledRowsOf(t, db, "svdd", "1 = 1")))
	if after.f1 == got.f1 {
		t.Errorf("F1 %v at the training threshold and at the best one: the test cannot tell them apart", got.f1)
	}
}

// TestEvaluateDetectorErrors: bad calls fail with their MySQL errors:
// unknown detector 1305; a label column missing from the input, or a
// feature, 1054 naming it; labels other than 0/1/NULL (2, 0.5, 'abc'),
// a label column that is a feature, and labels of one class only (or no
// row) 1210; an input that is not one SELECT 1064 (and runs nothing);
// the input's own errors passed through (1146, 3141); wrong argument
// count 1582; a NULL argument 1210. Bugs caught: a label 2 counted as an
// anomaly, 0.5 rounded, a missing label column read as NULLs (every row
// skipped), a one-class evaluation returning AUC NaN.
func TestEvaluateDetectorErrors(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	total := queryInt(t, db, "SELECT COUNT(*) FROM thyroid")
	feats := "SELECT " + thyroidFeatures + ", "
	for _, c := range []struct {
		input, label string
		code         uint16
		says         string
	}{
		{feats + "label FROM thyroid", "nolabel", 1054, "nolabel"},
		{"SELECT f0, f1, f2, f4, f5, label FROM thyroid", "label", 1054, "f3"},
		{feats + "label + 1 AS label FROM thyroid", "label", 1210, "2"},
		{feats + "IF(id = 9, 0.5, label) AS label FROM thyroid", "label", 1210, "0.5"},
		{feats + "IF(id = 9, ''abc'', label) AS label FROM thyroid", "label", 1210, "abc"},
		{feats + "label FROM thyroid", "f2", 1210, "f2"},
		{feats + "label FROM thyroid WHERE label = 0", "label", 1210, "label"},
		{feats + "label FROM thyroid WHERE label = 1", "label", 1210, "label"},
		{feats + "label FROM thyroid WHERE 1 = 0", "label", 1210, "label"},
		{feats + "NULL AS label FROM thyroid", "label", 1210, "label"},
		{"SELEC * FROM thyroid", "label", 1064, "SELEC"},
		{"DELETE FROM thyroid", "label", 1064, "DELETE"},
		{"nosuch", "label", 1146, "nosuch"},
		{feats + "label FROM thyroid WHERE JSON_EXTRACT(''bad'', ''$'') = 1", "label", 3141, ""},
	} {
		q := fmt.Sprintf("SELECT * FROM evaluate_detector('svdd', '%s', '%s')", c.input, c.label)
		if msg := expectErr(t, db, q, c.code); !strings.Contains(msg, c.says) {
			t.Errorf("%s: message %q does not say %q", q, msg, c.says)
		}
	}
	expectErr(t, db, "SELECT * FROM evaluate_detector('nosuch', 'thyroid', 'label')", 1305)
	expectErr(t, db, "SELECT * FROM evaluate_detector('svdd', 'thyroid')", 1582)
	expectErr(t, db, "SELECT * FROM evaluate_detector('svdd', 'thyroid', NULL)", 1210)
	if n := queryInt(t, db, "SELECT COUNT(*) FROM thyroid"); n != total {
		t.Fatalf("thyroid has %d rows after the refused calls, want %d", n, total)
	}
}
