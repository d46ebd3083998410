package engine_test

import (
	gosql "database/sql"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The tests of this file check the table function detect_anomalies
// (engine/detect_anomalies.go) over TCP: its rows against SELECT
// anomaly_score(…), anomaly_percentile(…), is_anomaly(…) of the same rows,
// on every path it reads its input by (a stored table's Arrow batches,
// with or without a projection, a snapshot AS OF, a transaction's own
// rows, columns whose values need converting, a query run by the engine,
// a view), its errors, prepared statements and privileges.

// triple is what SQL returns for a row: anomaly_score,
// anomaly_percentile and is_anomaly, as text.
type triple [3]string

// expectedScores returns, by the text of table's column key, the score,
// percentile and flag that the scalar functions give detector d for the
// features of table (columns f0..f5, in that order).
func expectedScores(t *testing.T, db *gosql.DB, d, table, key string) map[string]triple {
	t.Helper()
	return expectedScoresOf(t, db, d, thyroidFeatures, table, key)
}

// expectedScoresOf is expectedScores for a detector of features feats
// (in its training order).
func expectedScoresOf(t *testing.T, db *gosql.DB, d, feats, table, key string) map[string]triple {
	t.Helper()
	q := fmt.Sprintf("SELECT %s, anomaly_score('%[2]s', %[3]s), anomaly_percentile('%[2]s', %[3]s), is_anomaly('%[2]s', %[3]s) FROM %s",
		key, d, feats, table)
	out := map[string]triple{}
	for _, r := range queryRows(t, db, q) {
		out[r[0]] = triple{r[1], r[2], r[3]}
	}
	return out
}

// checkScored compares the rows of a detect_anomalies query, whose key
// column is column key and whose last three columns are the scores, with
// want, exactly: the scores must be the same DOUBLEs. It returns how many
// rows there were.
func checkScored(t *testing.T, what string, rows [][]string, key int, want map[string]triple) int {
	t.Helper()
	for _, r := range rows {
		w, ok := want[r[key]]
		if !ok {
			t.Fatalf("%s: row %v has no counterpart", what, r)
		}
		got := triple(r[len(r)-3:])
		if !sameNumber(got[0], w[0]) || !sameNumber(got[1], w[1]) || got[2] != w[2] {
			t.Fatalf("%s: row %s is %v, anomaly_score/anomaly_percentile/is_anomaly give %v", what, r[key], got, w)
		}
	}
	return len(rows)
}

// sameNumber reports whether two DOUBLEs as text are the same value (or
// both NULL).
func sameNumber(a, b string) bool {
	if a == "NULL" || b == "NULL" {
		return a == b
	}
	x, err1 := strconv.ParseFloat(a, 64)
	y, err2 := strconv.ParseFloat(b, 64)
	return err1 == nil && err2 == nil && x == y
}

// TestDetectAnomalies: detect_anomalies returns every row of its input
// with every input column, then anomaly_score, anomaly_percentile and
// is_anomaly equal to the scalar functions' (scores bit for bit), for a
// table named plainly, qualified or quoted, a projection with the
// features reordered and renamed, a query with a WHERE, a query whose
// features are strings, a table whose feature columns are VARCHAR,
// DECIMAL and NULL, a view, a snapshot AS OF, and inside a transaction
// its uncommitted rows; an outer WHERE, ORDER BY and LIMIT apply to its
// rows. Bugs caught: features taken by position instead of by name (the
// reordered projection), batch columns confused with input positions on
// the Arrow path (the projection), a conversion of VARCHAR or DECIMAL
// features unlike anomaly_score's, a percentile or flag computed from
// another score, rows dropped or repeated at block boundaries (3,772
// rows in blocks of 64, 256, 1,024, 4,096), a transaction's rows not
// seen.
func TestDetectAnomalies(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	want := expectedScores(t, db, "svdd", "thyroid", "id")
	all := queryRows(t, db, "SELECT * FROM thyroid")
	byID := map[string][]string{}
	for _, r := range all {
		byID[r[0]] = r
	}

	rows, err := db.Query("SELECT * FROM detect_anomalies('svdd', 'thyroid')")
	if err != nil {
		t.Fatal(err)
	}
	cols, _ := rows.Columns()
	rows.Close()
	if got := strings.Join(cols, ","); got != "id,f0,f1,f2,f3,f4,f5,label,anomaly_score,anomaly_percentile,is_anomaly" {
		t.Fatalf("columns %s", got)
	}
	for _, input := range []string{"thyroid", "examples.thyroid", " `examples` . `thyroid` ", "`thyroid`"} {
		got := queryRows(t, db, "SELECT * FROM detect_anomalies('svdd', '"+strings.ReplaceAll(input, "'", "''")+"')")
		if n := checkScored(t, input, got, 0, want); n != len(all) {
			t.Fatalf("%s: %d rows, want %d", input, n, len(all))
		}
		for _, r := range got {
			if !slices.Equal(r[:8], byID[r[0]]) {
				t.Fatalf("%s: input columns %v, want %v", input, r[:8], byID[r[0]])
			}
		}
	}

	for _, c := range []struct {
		input string
		rows  int64 // -1: every row of thyroid
	}{
		{"SELECT f5, f3 AS f3, f1, f0, f2, f4, id AS k FROM thyroid", -1},
		{"SELECT f5, f3, f1, f0, f2, f4, id AS k FROM thyroid WHERE id % 7 = 3", queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE id % 7 = 3")},
		{"SELECT id AS k, CAST(f0 AS CHAR) AS f0, CONCAT(' ', f1, ' ') AS f1, f2, f3, f4, f5 FROM thyroid", -1},
		{"SELECT id + 0 AS k, f0, f1, f2, f3, f4, f5 FROM thyroid UNION ALL SELECT id + 100000, f0, f1, f2, f3, f4, f5 FROM thyroid WHERE id < 0", -1},
	} {
		got := queryRows(t, db, "SELECT * FROM detect_anomalies('svdd', '"+strings.ReplaceAll(c.input, "'", "''")+"')")
		key := 6
		if strings.HasPrefix(c.input, "SELECT id") {
			key = 0
		}
		n := checkScored(t, c.input, got, key, want)
		if c.rows < 0 {
			c.rows = int64(len(all))
		}
		if int64(n) != c.rows {
			t.Fatalf("%s: %d rows, want %d", c.input, n, c.rows)
		}
	}

	// The outer statement filters, orders and limits the rows.
	var flagged []string
	for id, s := range want {
		if s[2] == "1" {
			flagged = append(flagged, id)
		}
	}
	score := func(id string) float64 { f, _ := strconv.ParseFloat(want[id][0], 64); return f }
	sort.Slice(flagged, func(i, j int) bool {
		if a, b := score(flagged[i]), score(flagged[j]); a != b {
			return a > b
		}
		return flagged[i] < flagged[j]
	})
	if n := queryInt(t, db, "SELECT COUNT(*) FROM detect_anomalies('svdd', 'thyroid') WHERE is_anomaly = 1"); n != int64(len(flagged)) || n == 0 {
		t.Fatalf("%d rows flagged, want %d", n, len(flagged))
	}
	top := queryRows(t, db, "SELECT id FROM detect_anomalies('svdd', 'thyroid') WHERE is_anomaly ORDER BY anomaly_score DESC, CAST(id AS CHAR) LIMIT 5")
	for i, r := range top {
		if r[0] != flagged[i] {
			t.Fatalf("top 5 %v, want %v", top, flagged[:5])
		}
	}
	if len(top) != 5 {
		t.Fatalf("LIMIT 5: %d rows", len(top))
	}

	// Arguments may be user variables; the outer statement joins and
	// aggregates the rows.
	mustExec(t, db, "SET @d = 'svdd', @in = 'SELECT * FROM thyroid WHERE id <= 100'")
	flags100 := 0
	for id, s := range want {
		if n, _ := strconv.Atoi(id); n <= 100 && s[2] == "1" {
			flags100++
		}
	}
	if r := queryRows(t, db, "SELECT COUNT(*), SUM(is_anomaly) FROM detect_anomalies(@d, @in)"); r[0][0] != "100" || r[0][1] != strconv.Itoa(flags100) {
		t.Errorf("detect_anomalies(@d, @in): %v, want 100 rows, %d flagged", r, flags100)
	}
	join := fmt.Sprintf("SELECT COUNT(*) FROM detect_anomalies('svdd', 'thyroid') AS s JOIN thyroid AS t ON t.id = s.id "+
		"WHERE s.anomaly_score = anomaly_score('svdd', %s) AND s.f0 <=> t.f0", "t."+strings.ReplaceAll(thyroidFeatures, ", ", ", t."))
	if n := queryInt(t, db, join); n != int64(len(all)) {
		t.Errorf("joined with thyroid: %d rows match, want %d", n, len(all))
	}

	// Feature columns of other types, and NULL features, are converted as
	// anomaly_score converts them: read from the Arrow batch (ti: FLOAT
	// and integers), or from their SQL values (tv: VARCHAR, DECIMAL,
	// the rest).
	mustExecAll(t, db,
		"CREATE TABLE ti (id INT PRIMARY KEY, f0 FLOAT, f1 INT, f2 DOUBLE, f3 SMALLINT, f4 INT UNSIGNED, f5 TINYINT)",
		"INSERT INTO ti SELECT id, f0, ROUND(f1 * 1000), IF(id % 10 = 0, NULL, f2), ROUND(f3 * 100), ROUND(f4 * 10), IF(id % 7 = 0, NULL, ROUND(f5 * 10)) FROM thyroid WHERE id <= 300",
		"CREATE TABLE tv (id INT PRIMARY KEY, f0 VARCHAR(40), f1 DECIMAL(20,12), f2 DOUBLE, f3 FLOAT, f4 INT, f5 BIGINT)",
		"INSERT INTO tv SELECT id, CAST(f0 AS CHAR), f1, IF(id % 10 = 0, NULL, f2), f3, ROUND(f4 * 10), ROUND(f5 * 100) FROM thyroid WHERE id <= 300",
		"CREATE VIEW v AS SELECT * FROM thyroid WHERE id <= 100")
	for _, tbl := range []string{"ti", "tv"} {
		w := expectedScores(t, db, "svdd", tbl, "id")
		if n := checkScored(t, tbl, queryRows(t, db, "SELECT * FROM detect_anomalies('svdd', '"+tbl+"')"), 0, w); n != 300 {
			t.Fatalf("%s: %d rows", tbl, n)
		}
	}
	if n := checkScored(t, "view", queryRows(t, db, "SELECT * FROM detect_anomalies('svdd', 'v')"), 0, want); n != 100 {
		t.Fatalf("view: %d rows", n)
	}

	// AS OF the snapshot before an insert; then, in a transaction, its
	// own rows are triple with the committed ones.
	snaps := showSnapshots(t, db, "thyroid")
	before := snaps[len(snaps)-1].id()
	mustExec(t, db, "INSERT INTO thyroid VALUES (90001, 0.5, 0.01, 0.2, 0.3, 0.4, 0.2, 0)")
	asOf := queryRows(t, db, "SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid AS OF "+before+"')")
	if n := checkScored(t, "AS OF", asOf, 0, want); n != len(all) {
		t.Fatalf("AS OF %s: %d rows, want %d", before, n, len(all))
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO thyroid VALUES (90002, 0.9, 0.2, 0.1, 0.5, 0.6, 0.7, 1), (90003, NULL, 0.02, 0.3, 0.3, 0.3, 0.3, 0)"); err != nil {
		t.Fatal(err)
	}
	inTx := func(q string) [][]string {
		t.Helper()
		r, err := tx.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer r.Close()
		var out [][]string
		for r.Next() {
			var id, s, p, f gosql.NullString
			if err := r.Scan(&id, &s, &p, &f); err != nil {
				t.Fatal(err)
			}
			out = append(out, []string{id.String, s.String, p.String, f.String})
		}
		return out
	}
	wantTx := map[string]triple{}
	for _, r := range inTx(fmt.Sprintf("SELECT id, anomaly_score('svdd', %[1]s), anomaly_percentile('svdd', %[1]s), is_anomaly('svdd', %[1]s) FROM thyroid", thyroidFeatures)) {
		wantTx[r[0]] = triple{r[1], r[2], r[3]}
	}
	got := inTx("SELECT id, anomaly_score, anomaly_percentile, is_anomaly FROM detect_anomalies('svdd', 'thyroid')")
	if n := checkScored(t, "in a transaction", got, 0, wantTx); n != len(all)+3 {
		t.Fatalf("in a transaction: %d rows, want %d", n, len(all)+3)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM detect_anomalies('svdd', 'thyroid')"); n != int64(len(all))+1 {
		t.Fatalf("after the rollback: %d rows, want %d", n, len(all)+1)
	}
}

// TestDetectAnomaliesErrors: each bad call fails with its MySQL error
// and changes nothing: an unknown detector (1305), table (1146) or
// database (1049), a feature missing from the input (1054, naming it),
// an input that is not one SELECT (1064: a syntax error, DELETE, a second
// statement, INTO, a ? inside the text), a wrong argument count (1582), a
// NULL or non-constant argument (1210), a column named like a result
// column (1060), a feature that is not a number (1366), and an error of
// the input query while it runs (3141, passed through). Bugs caught: the
// input run as whatever statement it is (DELETE deleting), errors
// reported as 1105, a missing feature taken as NULL.
func TestDetectAnomaliesErrors(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	total := queryInt(t, db, "SELECT COUNT(*) FROM thyroid")
	for _, c := range []struct {
		q    string
		code uint16
		says string
	}{
		{"SELECT * FROM detect_anomalies('nosuch', 'thyroid')", 1305, "nosuch"},
		{"SELECT * FROM detect_anomalies('svdd', 'nosuch')", 1146, "nosuch"},
		{"SELECT * FROM detect_anomalies('svdd', 'nodb.thyroid')", 1049, "nodb"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT id, f0, f1, f3, f4, f5 FROM thyroid')", 1054, "f2"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELEC * FROM thyroid')", 1064, "SELEC"},
		{"SELECT * FROM detect_anomalies('svdd', 'DELETE FROM thyroid')", 1064, "DELETE"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid; DELETE FROM thyroid')", 1064, ""},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid INTO OUTFILE ''/tmp/x''')", 1064, "INTO"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid WHERE id = ?')", 1064, "?"},
		{"SELECT * FROM detect_anomalies('svdd', 'thyroid', 1)", 1582, ""},
		{"SELECT * FROM detect_anomalies('svdd')", 1582, ""},
		{"SELECT * FROM detect_anomalies(NULL, 'thyroid')", 1210, "NULL"},
		{"SELECT * FROM detect_anomalies('svdd', NULL)", 1210, "NULL"},
		{"SELECT * FROM detect_anomalies('svdd', 42)", 1210, "string"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT *, 1 AS anomaly_score FROM thyroid')", 1060, "anomaly_score"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT f0, f0 AS F0, f1, f2, f3, f4, f5 FROM thyroid')", 1060, "F0"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT IF(id = 77, ''abc'', f0) AS f0, f1, f2, f3, f4, f5 FROM thyroid')", 1366, "abc"},
		{"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid WHERE JSON_EXTRACT(''bad'', ''$'') = 1')", 3141, ""},
	} {
		if msg := expectErr(t, db, c.q, c.code); !strings.Contains(msg, c.says) {
			t.Errorf("%s: message %q does not say %q", c.q, msg, c.says)
		}
	}
	// The input's own errors are what the query gives on its own.
	for _, q := range []string{"SELECT nosuch FROM thyroid", "SELECT * FROM thyroid WHERE id = 1 + 'x' + nosuch()"} {
		code, _ := errNumber(t, db, q)
		if code == 0 {
			t.Fatalf("%s succeeded", q)
		}
		expectErr(t, db, "SELECT * FROM detect_anomalies('svdd', '"+strings.ReplaceAll(q, "'", "''")+"')", code)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM thyroid"); n != total {
		t.Fatalf("thyroid has %d rows after the refused calls, want %d", n, total)
	}
	// No current database: go-mysql-server needs one for a table function.
	nodb := ts.open("")
	expectErr(t, nodb, "SELECT * FROM detect_anomalies('examples.svdd', 'examples.thyroid')", 1046)
}

// TestDetectAnomaliesPrepared: detect_anomalies in prepared statements
// (COM_STMT_PREPARE, the Go driver's binary protocol, and SQL PREPARE …
// EXECUTE USING): ? in the outer statement, and ? for the detector, which
// one prepared statement executes with two detectors of different
// features, each scoring as the scalar functions do. A ? for the input is
// 1210 (the result's columns depend on it). Bugs caught: the detector
// resolved once at PREPARE (the second detector triple with the first),
// a placeholder taken as the detector's name.
func TestDetectAnomaliesPrepared(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	// Another detector, whose features are in another order.
	const aeFeatures = "f5, f0, f2, f1, f4, f3"
	mustExec(t, db, "CREATE DETECTOR ae USING autoencoder WITH (epochs = 2, seed = 3, hidden = 4) AS SELECT "+aeFeatures+" FROM thyroid")
	want := map[string]map[string]triple{
		"svdd": expectedScores(t, db, "svdd", "thyroid", "id"),
		"ae":   expectedScoresOf(t, db, "ae", aeFeatures, "thyroid", "id"),
	}
	if want["svdd"]["7"] == want["ae"]["7"] {
		t.Fatal("the two detectors score alike: the test could not tell them apart")
	}
	got := queryRows(t, db, "SELECT id, anomaly_score, anomaly_percentile, is_anomaly FROM detect_anomalies('svdd', 'thyroid') WHERE id BETWEEN ? AND ?", 5, 9)
	if n := checkScored(t, "prepared", got, 0, want["svdd"]); n != 5 {
		t.Fatalf("prepared: %d rows", n)
	}
	stmt, err := db.Prepare("SELECT id, anomaly_score, anomaly_percentile, is_anomaly FROM detect_anomalies(?, 'SELECT * FROM thyroid WHERE id <= 50') WHERE id > ?")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	for _, d := range []string{"svdd", "ae", "svdd"} {
		rows, err := stmt.Query(d, 10)
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		var got [][]string
		for rows.Next() {
			var id, s, p, f string
			if err := rows.Scan(&id, &s, &p, &f); err != nil {
				t.Fatal(err)
			}
			got = append(got, []string{id, s, p, f})
		}
		rows.Close()
		if n := checkScored(t, "prepared with ? for "+d, got, 0, want[d]); n != 40 {
			t.Fatalf("prepared with ? for %s: %d rows", d, n)
		}
	}
	if _, err := stmt.Query("nosuch", 10); err == nil || !strings.Contains(err.Error(), "1305") {
		t.Errorf("prepared with an unknown detector: %v, want 1305", err)
	}
	mustExecAll(t, db,
		"PREPARE p FROM 'SELECT COUNT(*) FROM detect_anomalies(?, ''thyroid'') WHERE is_anomaly = 1'",
		"SET @d = 'ae'")
	flagged := 0
	for _, s := range want["ae"] {
		if s[2] == "1" {
			flagged++
		}
	}
	if n := queryInt(t, db, "EXECUTE p USING @d"); n != int64(flagged) {
		t.Errorf("EXECUTE … USING: %d rows flagged, want %d", n, flagged)
	}
	if _, err := db.Query("SELECT * FROM detect_anomalies('svdd', ?)", "thyroid"); err == nil || !strings.Contains(err.Error(), "1210") {
		t.Errorf("? for the input: %v, want 1210", err)
	}
}

// TestDetectAnomaliesPrivileges: detect_anomalies needs SELECT on the
// detector's database and on what its input reads, like SELECT
// anomaly_score(…) FROM …: a user with SELECT on examples only cannot
// read other.t through it, as a table name or in a query (1142), and a
// user with SELECT on other only cannot use the detector of examples
// (1142). Bugs caught: the input run with the server's rights instead of
// the user's, the detector's privilege not checked.
func TestDetectAnomaliesPrivileges(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	mustExecAll(t, db,
		"CREATE DATABASE other",
		"CREATE TABLE other.t (id INT PRIMARY KEY, f0 DOUBLE, f1 DOUBLE, f2 DOUBLE, f3 DOUBLE, f4 DOUBLE, f5 DOUBLE, l INT)",
		"INSERT INTO other.t SELECT id, f0, f1, f2, f3, f4, f5, label FROM thyroid WHERE id <= 400",
		"CREATE USER ex IDENTIFIED BY 'e1'", "GRANT SELECT ON examples.* TO ex",
		"CREATE USER ot IDENTIFIED BY 'o1'", "GRANT SELECT ON other.* TO ot",
		"CREATE USER exot IDENTIFIED BY 'b1'", "GRANT SELECT ON examples.* TO exot", "GRANT SELECT ON other.* TO exot")
	ex := openDSN(t, fmt.Sprintf("ex:e1@tcp(%s)/examples", ts.srv.Addr()))
	ot := openDSN(t, fmt.Sprintf("ot:o1@tcp(%s)/other", ts.srv.Addr()))
	both := openDSN(t, fmt.Sprintf("exot:b1@tcp(%s)/other", ts.srv.Addr()))
	if n := queryInt(t, ex, "SELECT COUNT(*) FROM detect_anomalies('svdd', 'thyroid')"); n != 3772 {
		t.Fatalf("ex on examples: %d rows", n)
	}
	for _, q := range []string{
		"SELECT * FROM detect_anomalies('svdd', 'other.t')",
		"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM other.t')",
		"SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM thyroid WHERE id IN (SELECT id FROM other.t)')",
		"SELECT * FROM evaluate_detector('svdd', 'other.t', 'l')",
	} {
		expectErr(t, ex, q, 1142)
	}
	for _, q := range []string{
		"SELECT * FROM detect_anomalies('examples.svdd', 't')",
		"SELECT * FROM evaluate_detector('examples.svdd', 't', 'l')",
	} {
		if msg := expectErr(t, ot, q, 1142); !strings.Contains(msg, "svdd") {
			t.Errorf("%s: %q does not name the detector", q, msg)
		}
	}
	want := expectedScores(t, both, "examples.svdd", "t", "id")
	if n := checkScored(t, "both", queryRows(t, both, "SELECT * FROM detect_anomalies('examples.svdd', 't')"), 0, want); n != 400 {
		t.Fatalf("both: %d rows", n)
	}
}

// TestDetectAnomaliesOlderDetector: a detector saved before training-score
// distributions were kept scores as before through detect_anomalies, with
// a NULL anomaly_percentile and a warning saying why (anomaly_percentile
// itself refuses it with 1235). Bug caught: a made-up percentile, or the
// whole statement refused for it.
func TestDetectAnomaliesOlderDetector(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	mustExec(t, db, trainSmall) // alter_detector_test.go
	ts.stop()
	writeV1Detector(t, dir, "examples", "small")
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	want := map[string]triple{}
	for _, r := range queryRows(t, db, fmt.Sprintf("SELECT id, anomaly_score('small', %[1]s), is_anomaly('small', %[1]s) FROM thyroid WHERE id <= 200", thyroidFeatures)) {
		want[r[0]] = triple{r[1], "NULL", r[2]}
	}
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := conn.QueryContext(t.Context(), "SELECT id, anomaly_score, anomaly_percentile, is_anomaly FROM detect_anomalies('small', 'SELECT * FROM thyroid WHERE id <= 200')")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for rows.Next() {
		var id, s, f string
		var p gosql.NullString
		if err := rows.Scan(&id, &s, &p, &f); err != nil {
			t.Fatal(err)
		}
		ps := "NULL"
		if p.Valid {
			ps = p.String
		}
		got = append(got, []string{id, s, ps, f})
	}
	rows.Close()
	if n := checkScored(t, "older detector", got, 0, want); n != 200 {
		t.Fatalf("%d rows", n)
	}
	var level, code, msg string
	if err := conn.QueryRowContext(t.Context(), "SHOW WARNINGS").Scan(&level, &code, &msg); err != nil || code != "1235" || !strings.Contains(msg, "small") {
		t.Errorf("warning: %s %s %s (%v), want 1235 naming the detector", level, code, msg, err)
	}
}
