package engine_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// explainJSON is anomaly_explain's result.
type explainJSON struct {
	Score float64        `json:"score"`
	Top   []explainEntry `json:"top"`
}

// explainEntry is one feature of an explainJSON.
type explainEntry struct {
	Feature      string   `json:"feature"`
	Value        *float64 `json:"value"`
	Contribution float64  `json:"contribution"`
}

// parseExplain decodes s, failing t unless it is exactly the documented
// shape: an object of score and top, each entry of top an object of
// feature, value and contribution.
func parseExplain(t *testing.T, s string) explainJSON {
	t.Helper()
	var shape map[string]json.RawMessage
	if err := json.Unmarshal([]byte(s), &shape); err != nil {
		t.Fatalf("not JSON: %v: %s", err, s)
	}
	var top []map[string]json.RawMessage
	if err := json.Unmarshal(shape["top"], &top); err != nil || len(shape) != 2 || shape["score"] == nil {
		t.Fatalf("not {score, top}: %s", s)
	}
	for _, e := range top {
		if len(e) != 3 || e["feature"] == nil || e["value"] == nil || e["contribution"] == nil {
			t.Fatalf("entry %v of %s", e, s)
		}
	}
	var out explainJSON
	if err := json.Unmarshal([]byte(s), &out); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return out
}

// TestAnomalyExplain: anomaly_explain over the MySQL protocol, for a
// detector of each explanation method (integrated gradients: deep_svdd;
// reconstruction error: autoencoder), with feature names from the
// training SELECT (an alias among them). Catches: a score that is not
// anomaly_score's to the bit (text and binary protocol), features named
// or valued wrongly, contributions that do not sum to 1 or are out of
// order, top-k ignored or off by one, output that differs between two
// identical calls, a prepared statement that binds k or the features
// wrongly, and each bad input's error number.
func TestAnomalyExplain(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	names := []string{"tsh", "f1", "f2", "f3", "f4", "f5"}
	const features = "f0, f1, f2, f3, f4, f5"
	for _, alg := range []string{"deep_svdd", "autoencoder"} {
		mustExec(t, db, "CREATE DETECTOR ex_"+alg+" USING "+alg+" WITH (epochs = 2, seed = 5, hidden = '8,3') "+
			"AS SELECT f0 AS tsh, f1, f2, f3, f4, f5 FROM thyroid")
	}
	for _, alg := range []string{"deep_svdd", "autoencoder"} {
		d := "'ex_" + alg + "'"
		q := "SELECT anomaly_explain(" + d + ", " + features + "), anomaly_score(" + d + ", " + features + "), " +
			features + " FROM thyroid WHERE id IN (1, 17, 2000, 3772) ORDER BY id"
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		var first string
		for rows.Next() {
			var text string
			var score float64
			vals := make([]float64, 6)
			if err := rows.Scan(&text, &score, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4], &vals[5]); err != nil {
				t.Fatal(err)
			}
			if first == "" {
				first = text
			}
			e := parseExplain(t, text)
			checkExplainJSON(t, alg, e, names, vals, score, 6)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()

		// Deterministic: the same call gives the same bytes.
		one := "SELECT anomaly_explain(" + d + ", " + features + ") FROM thyroid WHERE id = 1"
		if again := queryRows(t, db, one)[0][0]; again != first {
			t.Fatalf("%s: second call\n%s\nfirst\n%s", alg, again, first)
		}

		// Top k: the first k of the full ranking; k is rounded as an INT
		// argument, may be a numeric string, and beyond n means all.
		full := parseExplain(t, first)
		for _, c := range []struct {
			k    string
			want int
		}{{"1", 1}, {"3", 3}, {"2.4", 2}, {"'4'", 4}, {"6", 6}, {"1000", 6}} {
			got := parseExplain(t, queryRows(t, db, "SELECT anomaly_explain("+d+", "+c.k+", "+features+") FROM thyroid WHERE id = 1")[0][0])
			if got.Score != full.Score || !reflect.DeepEqual(got.Top, full.Top[:c.want]) {
				t.Errorf("%s k = %s: %+v, want the first %d of %+v", alg, c.k, got, c.want, full)
			}
		}
		if v := queryRows(t, db, "SELECT anomaly_explain("+d+", NULL, "+features+") FROM thyroid WHERE id = 1")[0][0]; v != "NULL" {
			t.Errorf("%s: k NULL gives %s, want NULL", alg, v)
		}
		// A NULL feature is imputed, as in anomaly_score, and shown as null.
		got := parseExplain(t, queryRows(t, db, "SELECT anomaly_explain("+d+", NULL, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 1")[0][0])
		s := queryFloat(t, db, "SELECT anomaly_score("+d+", NULL, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 1")
		if math.Float64bits(got.Score) != math.Float64bits(s) {
			t.Errorf("%s with a NULL feature: score %v, anomaly_score %v", alg, got.Score, s)
		}
		for _, e := range got.Top {
			if (e.Feature == "tsh") != (e.Value == nil) {
				t.Errorf("%s: NULL tsh: %+v", alg, got)
			}
		}
	}

	// Prepared statements (binary protocol): the name, k and the features
	// as parameters; the score compared with a prepared anomaly_score.
	st, err := db.Prepare("SELECT anomaly_explain(?, ?, f0, f1, f2, f3, f4, f5), anomaly_score(?, f0, f1, f2, f3, f4, f5), " +
		features + " FROM thyroid WHERE id = ?")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, id := range []int{2, 500, 3000} {
		for k := 1; k <= 6; k += 5 {
			var text string
			var score float64
			vals := make([]float64, 6)
			if err := st.QueryRow("ex_deep_svdd", k, "ex_deep_svdd", id).Scan(&text, &score, &vals[0], &vals[1], &vals[2], &vals[3], &vals[4], &vals[5]); err != nil {
				t.Fatal(err)
			}
			checkExplainJSON(t, "prepared", parseExplain(t, text), names, vals, score, k)
		}
	}
	pf, err := db.Prepare("SELECT anomaly_explain('ex_autoencoder', ?, ?, ?, ?, ?, ?, ?)")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	var text string
	if err := pf.QueryRow(2, 1.5, 0.01, 2, 0.1, 0.2, 0.3).Scan(&text); err != nil {
		t.Fatal(err)
	}
	want := queryRows(t, db, "SELECT anomaly_explain('ex_autoencoder', 2, 1.5e0, 0.01e0, 2e0, 0.1e0, 0.2e0, 0.3e0)")[0][0]
	if text != want {
		t.Errorf("prepared with parameters:\n%s\nliterals:\n%s", text, want)
	}
	mustExec(t, db, "PREPARE p FROM 'SELECT anomaly_explain(?, 2, f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 1'")
	mustExec(t, db, "SET @d = 'ex_deep_svdd'")
	if got, full := queryRows(t, db, "EXECUTE p USING @d")[0][0], parseExplain(t, queryRows(t, db,
		"SELECT anomaly_explain('ex_deep_svdd', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 1")[0][0]); !reflect.DeepEqual(parseExplain(t, got).Top, full.Top[:2]) {
		t.Errorf("SQL PREPARE: %s, want the first 2 of %+v", got, full)
	}

	// Explaining the rows a detector flags: the WHERE is scored on the
	// batched (columnar) path, the explanation row by row, and they agree.
	flagged := queryRows(t, db, "SELECT anomaly_explain('ex_deep_svdd', 2, "+features+"), anomaly_score('ex_deep_svdd', "+features+
		") FROM thyroid WHERE is_anomaly('ex_deep_svdd', "+features+")")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE is_anomaly('ex_deep_svdd', "+features+")"); n != int64(len(flagged)) || n < 100 {
		t.Fatalf("%d explanations of %d flagged rows", len(flagged), n)
	}
	for _, r := range flagged {
		s, err := strconv.ParseFloat(r[1], 64)
		if e := parseExplain(t, r[0]); err != nil || math.Float64bits(e.Score) != math.Float64bits(s) || len(e.Top) != 2 {
			t.Fatalf("flagged row: %s, anomaly_score %s", r[0], r[1])
		}
	}

	// The result is JSON that MySQL's JSON functions read.
	top := queryRows(t, db, "SELECT JSON_UNQUOTE(JSON_EXTRACT(anomaly_explain('ex_deep_svdd', 1, "+features+"), '$.top[0].feature')), "+
		"anomaly_explain('ex_deep_svdd', 1, "+features+") FROM thyroid WHERE id = 1")[0]
	if e := parseExplain(t, top[1]); top[0] != e.Top[0].Feature {
		t.Errorf("JSON_EXTRACT of the top feature: %q, the JSON says %q", top[0], e.Top[0].Feature)
	}

	// Bad input: the errors of anomaly_score for the same mistakes, 1210
	// for k below 1.
	n0, _ := errNumber(t, db, "SELECT anomaly_score('ex_deep_svdd')")
	for _, c := range []struct {
		query string
		code  uint16
	}{
		{"SELECT anomaly_explain('ex_deep_svdd', 0, " + features + ") FROM thyroid", 1210},
		{"SELECT anomaly_explain('ex_deep_svdd', -3, " + features + ") FROM thyroid", 1210},
		{"SELECT anomaly_explain('ex_deep_svdd', 0.4, " + features + ") FROM thyroid", 1210},
		{"SELECT anomaly_explain('nope', " + features + ") FROM thyroid", 1305},
		{"SELECT anomaly_explain('nope', 2, " + features + ") FROM thyroid", 1305},
		{"SELECT anomaly_explain('ex_deep_svdd', f0, f1) FROM thyroid", 1582},
		{"SELECT anomaly_explain('ex_deep_svdd', 1, 2, " + features + ") FROM thyroid", 1582},
		{"SELECT anomaly_explain('ex_deep_svdd', 'abc', " + features + ") FROM thyroid", 1366},
		{"SELECT anomaly_explain('ex_deep_svdd')", n0},
	} {
		expectErr(t, db, c.query, c.code)
	}
	if n0 == 0 {
		t.Errorf("anomaly_score('ex_deep_svdd') did not fail")
	}
	var me *mysql.MySQLError
	if err := st.QueryRow("ex_deep_svdd", 0, "ex_deep_svdd", 1).Scan(new(string), new(float64), new(float64), new(float64),
		new(float64), new(float64), new(float64), new(float64)); !errors.As(err, &me) || me.Number != 1210 {
		t.Errorf("prepared with k = 0: %v, want error 1210", err)
	}
}

// checkExplainJSON checks one explanation of a row with feature values
// vals (names in training order) scored score by anomaly_score.
func checkExplainJSON(t *testing.T, what string, e explainJSON, names []string, vals []float64, score float64, k int) {
	t.Helper()
	if math.Float64bits(e.Score) != math.Float64bits(score) {
		t.Fatalf("%s: score %s, anomaly_score %s", what, strconv.FormatFloat(e.Score, 'g', -1, 64), strconv.FormatFloat(score, 'g', -1, 64))
	}
	if len(e.Top) != k {
		t.Fatalf("%s: %d features, want %d: %+v", what, len(e.Top), k, e)
	}
	sum := 0.0
	for i, f := range e.Top {
		j := slices.Index(names, f.Feature)
		if j < 0 || f.Value == nil || *f.Value != vals[j] || slices.IndexFunc(e.Top[:i], func(p explainEntry) bool { return p.Feature == f.Feature }) >= 0 {
			t.Fatalf("%s: entry %d of %+v (row %v)", what, i, e, vals)
		}
		if !(f.Contribution >= 0 && f.Contribution <= 1) || (i > 0 && f.Contribution > e.Top[i-1].Contribution) {
			t.Fatalf("%s: contribution %d of %+v", what, i, e)
		}
		sum += f.Contribution
	}
	if k == len(names) && math.Abs(sum-1) > 1e-12 {
		t.Fatalf("%s: contributions sum to %v: %+v", what, sum, e)
	}
	if k < len(names) && !(sum <= 1+1e-12) {
		t.Fatalf("%s: top %d contributions sum to %v", what, k, sum)
	}
}
