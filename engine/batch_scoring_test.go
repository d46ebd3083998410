package engine_test

import (
	"context"
	gosql "database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// The tests of this file check the batched scoring paths (batch_scoring.go,
// functions/batch.go) against row-by-row scoring over SQL. A call whose
// detector name is computed from the row (anomaly_score(IF(f1 < -1e300,
// 'none', 'svdd'), …), always 'svdd' on these tables) is evaluated row by
// row: only constant names are batched, and go-mysql-server folds user
// variables and constant expressions into constants. Every query is run
// both ways on one connection and must give the same rows, bit for bit.

// connQuery runs q on c and returns its rows as id -> the other columns,
// read as float64 (NULL as NaN).
func connQuery(t *testing.T, c *gosql.Conn, q string, args ...interface{}) map[int64][]float64 {
	t.Helper()
	rows, err := c.QueryContext(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]float64{}
	for rows.Next() {
		var id int64
		vals := make([]gosql.NullFloat64, len(cols)-1)
		dst := []interface{}{&id}
		for i := range vals {
			dst = append(dst, &vals[i])
		}
		if err := rows.Scan(dst...); err != nil {
			t.Fatal(err)
		}
		fs := make([]float64, len(vals))
		for i, v := range vals {
			fs[i] = math.NaN()
			if v.Valid {
				fs[i] = v.Float64
			}
		}
		if _, dup := out[id]; dup {
			t.Fatalf("%s: id %d twice", q, id)
		}
		out[id] = fs
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// sameScoredRows fails t unless got and want hold the same ids with bit-identical
// values.
func sameScoredRows(t *testing.T, what string, got, want map[int64][]float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d rows, row by row %d", what, len(got), len(want))
	}
	for id, w := range want {
		g, ok := got[id]
		if !ok {
			t.Fatalf("%s: row %d missing (row by row has it)", what, id)
		}
		for i := range w {
			if math.Float64bits(g[i]) != math.Float64bits(w[i]) {
				t.Fatalf("%s: row %d column %d: %v, row by row %v", what, id, i+1, g[i], w[i])
			}
		}
	}
}

// TestBatchedScoringMatchesRowByRow: SELECT lists and WHERE clauses that
// call anomaly_score and is_anomaly with a constant detector name (scored
// a block of rows at a time, filters straight from the Arrow columns) give
// exactly the rows and scores of the same queries scored row by row: on
// committed rows, with a table alias, with a comparison written either way
// round and against an INT, a DOUBLE and a DECIMAL constant, with nested
// calls, with a NULL feature, under LIMIT, inside a transaction that has
// inserted rows of its own, and in DELETE. Bugs caught: a score read for
// the wrong row of a block, a feature read from the wrong column, a
// comparison mirrored the wrong way, a transaction's own rows not scored,
// a row materialized from the wrong position, the blocks' sizes losing
// rows at their edges.
func TestBatchedScoringMatchesRowByRow(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	mustExec(t, db, "CREATE DETECTOR d2 USING deep_svdd WITH (epochs = 2, seed = 3, hidden = '8,4') AS SELECT f0, f1 FROM thyroid")
	// Seven copies of thyroid in one statement: 26,404 rows in one Arrow
	// batch, four scoring blocks (8192 rows).
	mustExec(t, db, "CREATE TABLE thy AS SELECT id + 10000 * k.n AS id, f0, f1, f2, f3, f4, f5, label "+
		"FROM thyroid, (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6) AS k")
	// A committed row with a NULL feature.
	mustExec(t, db, "INSERT INTO thy (id, f0, f1, f2, f3, f4, f5, label) VALUES (100001, 0.5, 0.01, NULL, 0.02, 0.3, 0.1, 0)")

	c, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const rowD, rowD2 = "IF(f1 < -1e300, 'none', 'svdd')", "IF(f1 < -1e300, 'none', 'd2')"
	all := connQuery(t, c, "SELECT id, anomaly_score("+rowD+", "+thyroidFeatures+") FROM thy")
	const total = 7*3772 + 1
	if len(all) != total {
		t.Fatalf("%d rows, want %d", len(all), total)
	}
	var scores []float64
	for _, v := range all {
		scores = append(scores, v[0])
	}
	slices.Sort(scores)
	median := scores[len(scores)/2]
	x := strconv.FormatFloat(median, 'e', -1, 64) // a DOUBLE literal, exactly the median
	dec := strconv.FormatFloat(median, 'f', 6, 64)

	// Each query, with {d} the detector name ('svdd' batched, rowD row by
	// row) and {d2} that of the two-feature detector.
	queries := []string{
		"SELECT id, anomaly_score({d}, f0, f1, f2, f3, f4, f5), is_anomaly({d}, f0, f1, f2, f3, f4, f5) FROM thy",
		"SELECT id, anomaly_score({d}, f0, f1, f2, f3, f4, f5) FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) > " + x,
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) >= " + x,
		"SELECT id FROM thy WHERE " + x + " < anomaly_score({d}, f0, f1, f2, f3, f4, f5)",
		"SELECT id FROM thy WHERE " + x + " >= anomaly_score({d}, f0, f1, f2, f3, f4, f5)",
		"SELECT id FROM thy WHERE " + x + " > anomaly_score({d}, f0, f1, f2, f3, f4, f5)",
		"SELECT id FROM thy WHERE " + x + " <= anomaly_score({d}, f0, f1, f2, f3, f4, f5)",
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) <= " + x,
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) < " + dec,
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) > 0",
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) = " + x,
		"SELECT id, f4 FROM thy WHERE is_anomaly({d}, f0, f1, f2, f3, f4, f5)",
		"SELECT t.id FROM thy AS t WHERE anomaly_score({d}, t.f0, t.f1, t.f2, t.f3, t.f4, t.f5) > " + x,
		"SELECT id, f0 FROM thy WHERE id % 3 = 0 AND anomaly_score({d}, f0, f1, f2, f3, f4, f5) > " + x,
		"SELECT id, anomaly_score({d2}, anomaly_score({d2}, f0, f1), f1 * 2) FROM thy",
		"SELECT id FROM thy WHERE anomaly_score({d2}, anomaly_score({d2}, f0, f1), f1) > " + x,
		"SELECT id, anomaly_score({d}, f0, f1, f2, f3, f4, f5) FROM thy ORDER BY id LIMIT 5",
		// Stops in the third block.
		"SELECT id FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) > " + x + " LIMIT 9000",
		"SELECT id, anomaly_score({d}, f0, f1, f2, f3, f4, f5) AS s FROM thy ORDER BY s DESC LIMIT 7",
		"SELECT label AS id, COUNT(*) FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) > " + x + " GROUP BY label",
		"SELECT COUNT(*) AS id, SUM(f3), MIN(f5 - f0) FROM thy WHERE anomaly_score({d}, f0, f1, f2, f3, f4, f5) > " + x,
		"SELECT id, f5 * 2 + f1, label FROM thy WHERE is_anomaly({d}, f0, f1, f2, f3, f4, f5)",
	}
	subst := func(q, d, d2 string) string {
		for _, r := range [][2]string{{"{d}", d}, {"{d2}", d2}} {
			q = strings.ReplaceAll(q, r[0], r[1])
		}
		return q
	}
	check := func(label string) {
		t.Helper()
		for _, q := range queries {
			want := connQuery(t, c, subst(q, rowD, rowD2))
			got := connQuery(t, c, subst(q, "'svdd'", "'d2'"))
			sameScoredRows(t, label+": "+subst(q, "'svdd'", "'d2'"), got, want)
		}
	}
	check("committed rows")
	// The filters select some rows, not none or all (else they prove little).
	n := len(connQuery(t, c, "SELECT id FROM thy WHERE anomaly_score('svdd', "+thyroidFeatures+") > "+x))
	if n < total/3 || n > total*2/3 {
		t.Fatalf("%d rows above the median score, want about half of %d", n, total)
	}

	// A transaction's own rows, not committed: one an outlier.
	if _, err := c.ExecContext(context.Background(), "BEGIN"); err != nil {
		t.Fatal(err)
	}
	for i, f := range []string{"50, 50, 50, 50, 50, 50", "0.5, NULL, 0.001, 0.02, 0.3, 0.1"} {
		if _, err := c.ExecContext(context.Background(), fmt.Sprintf("INSERT INTO thy (id, f0, f1, f2, f3, f4, f5, label) VALUES (%d, %s, 0)", 200001+i, f)); err != nil {
			t.Fatal(err)
		}
	}
	got := connQuery(t, c, "SELECT id FROM thy WHERE anomaly_score('svdd', "+thyroidFeatures+") > "+x)
	if _, ok := got[200001]; !ok {
		t.Fatalf("the transaction's own outlier row is not above the median score")
	}
	check("inside a transaction")
	if _, err := c.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}

	// DELETE by a batched filter removes exactly the rows it selects.
	above := connQuery(t, c, "SELECT id FROM thy WHERE anomaly_score("+rowD+", "+thyroidFeatures+") > "+x)
	res, err := c.ExecContext(context.Background(), "DELETE FROM thy WHERE anomaly_score('svdd', "+thyroidFeatures+") > "+x)
	if err != nil {
		t.Fatal(err)
	}
	if k, _ := res.RowsAffected(); k != int64(len(above)) {
		t.Fatalf("DELETE removed %d rows, %d score above the median", k, len(above))
	}
	left := connQuery(t, c, "SELECT id FROM thy")
	for id := range above {
		if _, ok := left[id]; ok {
			t.Fatalf("row %d scored above the median and is still there", id)
		}
	}
	if len(left) != total-len(above) {
		t.Fatalf("%d rows left, want %d", len(left), total-len(above))
	}
}

// TestBatchedScoringErrorsAreRowByRow: a feature value that is not a
// number fails the statement only when its row is actually scored, as
// row by row: a row that the rest of the condition rules out never fails,
// even though its block is scored together. Bug caught: a block failing
// for any bad value in it.
func TestBatchedScoringErrorsAreRowByRow(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	mustExec(t, db, "CREATE DETECTOR d2 USING deep_svdd WITH (epochs = 2, seed = 3, hidden = '8,4') AS SELECT f0, f1 FROM thyroid")
	mustExec(t, db, "CREATE TABLE mixed (id INT PRIMARY KEY, a DOUBLE, b VARCHAR(10))")
	mustExec(t, db, "INSERT INTO mixed VALUES (1, 0.1, '0.2'), (2, 0.3, 'abc'), (3, 0.2, ' 1e-1 ')")
	for _, name := range []string{"'d2'", "IF(a < -1e300, 'none', 'd2')"} {
		c, err := db.Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// (Not id <> 2: the primary key's index would leave row 2 out of
		// the scan altogether.)
		ok := connQuery(t, c, "SELECT id FROM mixed WHERE b <> 'abc' AND anomaly_score("+name+", a, b) > -1")
		if len(ok) != 2 {
			t.Fatalf("%s: %d rows, want 2", name, len(ok))
		}
		// An unknown detector in a call that no row evaluates is no error
		// (scores are never negative), as row by row; nor is it one for
		// the columnar filter, which scores whole blocks.
		none := connQuery(t, c, "SELECT id FROM mixed WHERE anomaly_score("+name+", a, a) < -1 AND anomaly_score('nope', a, a) > 0")
		if len(none) != 0 {
			t.Fatalf("%s: %d rows with a negative score", name, len(none))
		}
		err = queryErr(c, "SELECT id, anomaly_score("+name+", a, b) FROM mixed")
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1366 {
			t.Fatalf("%s: a non-numeric feature: %v, want error 1366", name, err)
		}
		c.Close()
	}
}

// queryErr runs q on c, reads all its rows and returns the error of the
// query, wherever it came.
func queryErr(c *gosql.Conn, q string) error {
	rows, err := c.QueryContext(context.Background(), q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// TestScoreFilterRowsCarryWhatIsRead: above a filter on scores, a
// projection or aggregation has the filter's rows made with only the
// columns it reads (prune_rows.go), and nothing is pruned where its rows
// are read otherwise. TestBatchedScoringMatchesRowByRow checks the rows
// of such queries. Catches: rows made whole for SELECT COUNT(*) (what a
// scoring scan where most rows pass spent a tenth of its time on), a
// column read above the filter left out, pruning under a subquery or a
// condition that reads columns itself.
func TestScoreFilterRowsCarryWhatIsRead(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	trainThyroid(t, db, "svdd")
	const call = "anomaly_score('svdd', " + thyroidFeatures + ")"
	for _, c := range []struct {
		q    string
		kept []string // the columns kept, in the filter's row order; nil: not pruned
	}{
		{"SELECT COUNT(*) FROM thyroid WHERE " + call + " > 0", []string{}},
		{"SELECT id, f4 FROM thyroid WHERE is_anomaly('svdd', " + thyroidFeatures + ")", []string{"id", "f4"}},
		{"SELECT label, COUNT(*), AVG(f2) FROM thyroid WHERE " + call + " > 0 GROUP BY label", []string{"f2", "label"}},
		{"SELECT id, " + call + " FROM thyroid WHERE " + call + " > 0", nil},
		{"SELECT id FROM thyroid WHERE id > 5 AND " + call + " > 0", nil},
		{"SELECT id, (SELECT COUNT(*) FROM thyroid AS u WHERE u.id = thyroid.id) FROM thyroid WHERE " + call + " > 0", nil},
		{"SELECT id, f0, f1, f2, f3, f4, f5 FROM thyroid WHERE " + call + " > 0", nil},
	} {
		found, err := ts.srv.PrunedColumns("examples", c.q)
		if err != nil {
			t.Fatalf("%s: %v", c.q, err)
		}
		var got []string
		pruned := false
		for _, kept := range found {
			if kept == nil {
				continue
			}
			if pruned {
				t.Fatalf("%s: two pruned filters", c.q)
			}
			pruned, got = true, kept
		}
		if c.kept == nil {
			if pruned {
				t.Errorf("%s: pruned to columns %v, want not pruned", c.q, got)
			}
			continue
		}
		if !pruned {
			t.Errorf("%s: not pruned (%d candidate nodes), want %v kept", c.q, len(found), c.kept)
			continue
		}
		if !slices.Equal(got, c.kept) {
			t.Errorf("%s: kept columns at %v, want %v", c.q, got, c.kept)
		}
	}
}
