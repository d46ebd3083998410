package engine_test

import (
	gosql "database/sql"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// rollupSale is one row of the test table r.sales.
type rollupSale struct {
	id              int
	region, product string // "" is NULL
	qty             int
	price           float64
}

// rollupSales has NULLs in both grouping columns, a region with one
// product and products spread over regions.
var rollupSales = []rollupSale{
	{1, "east", "apple", 1, 2.5},
	{2, "east", "pear", 2, 1.0},
	{3, "west", "apple", 3, 4.0},
	{4, "", "apple", 4, 1.5},
	{5, "west", "", 5, 2.0},
	{6, "east", "apple", 6, 3.0},
	{7, "north", "plum", 7, 0.5},
	{8, "west", "apple", 10, 5.5},
	{9, "", "", 11, 6.0},
}

func rollupServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE r")
	mustExec(t, db, "CREATE TABLE r.sales (id INT PRIMARY KEY, region VARCHAR(10), product VARCHAR(10), qty INT, price DOUBLE)")
	for _, s := range rollupSales {
		mustExec(t, db, "INSERT INTO r.sales VALUES (?, ?, ?, ?, ?)", s.id, nullable(s.region), nullable(s.product), s.qty, s.price)
	}
	db.Close()
	return ts
}

func nullable(s string) interface{} {
	if s == "" {
		return nil
	}
	return s
}

// rollupGroup is one row of the model of GROUP BY region, product WITH
// ROLLUP: level 0 a (region, product) group, 1 a region's
// super-aggregate, 2 the grand total.
type rollupGroup struct {
	level           int
	region, product string // "" is NULL
	count, sum      int
	priceSum        float64
}

func (g rollupGroup) avg() float64 { return g.priceSum / float64(g.count) }

func cell(s string) string {
	if s == "" {
		return "NULL"
	}
	return s
}

// modelRollup computes, from rollupSales, the rows of GROUP BY region,
// product WITH ROLLUP over the sales that keep selects, in MySQL's order:
// groups ascending (NULL first), each followed by its super-aggregate,
// the grand total last. No sale kept, no row.
func modelRollup(keep func(rollupSale) bool) []rollupGroup {
	type key struct{ region, product string }
	detail := map[key]*rollupGroup{}
	super := map[string]*rollupGroup{}
	total := &rollupGroup{level: 2}
	add := func(g *rollupGroup, s rollupSale) {
		g.count++
		g.sum += s.qty
		g.priceSum += s.price
	}
	for _, s := range rollupSales {
		if keep != nil && !keep(s) {
			continue
		}
		k := key{s.region, s.product}
		if detail[k] == nil {
			detail[k] = &rollupGroup{region: s.region, product: s.product}
		}
		if super[s.region] == nil {
			super[s.region] = &rollupGroup{level: 1, region: s.region}
		}
		add(detail[k], s)
		add(super[s.region], s)
		add(total, s)
	}
	if total.count == 0 {
		return nil
	}
	var regions []string
	for r := range super {
		regions = append(regions, r)
	}
	sort.Strings(regions) // "" (NULL) first, as MySQL sorts NULL
	var out []rollupGroup
	for _, r := range regions {
		var products []string
		for k := range detail {
			if k.region == r {
				products = append(products, k.product)
			}
		}
		sort.Strings(products)
		for _, p := range products {
			out = append(out, *detail[key{r, p}])
		}
		out = append(out, *super[r])
	}
	return append(out, *total)
}

// sameRows compares rows cell by cell, numbers with a tolerance (AVG's
// digits).
func sameRows(got, want [][]string) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if len(got[i]) != len(want[i]) {
			return false
		}
		for j := range got[i] {
			g, w := got[i][j], want[i][j]
			if g == w {
				continue
			}
			gf, err1 := strconv.ParseFloat(g, 64)
			wf, err2 := strconv.ParseFloat(w, 64)
			if err1 != nil || err2 != nil || math.Abs(gf-wf) > 1e-9*math.Max(1, math.Abs(wf)) {
				return false
			}
		}
	}
	return true
}

func checkRows(t *testing.T, db *gosql.DB, q string, want [][]string, args ...interface{}) {
	t.Helper()
	got := queryRows(t, db, q, args...)
	if !sameRows(got, want) {
		t.Errorf("%s\n got: %v\nwant: %v", q, got, want)
	}
}

func checkColumns(t *testing.T, db *gosql.DB, q string, want []string) {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cols, want) {
		t.Errorf("%s: columns %q, want %q", q, cols, want)
	}
}

// TestRollupTwoColumns: COUNT, SUM and AVG over two grouping columns,
// with NULLs in both: the detail rows, each region's super-aggregate and
// the grand total, in MySQL's order, under MySQL's column names. Bug
// caught: WITH ROLLUP is a syntax error (1064), or the super-aggregate
// rows are missing, misplaced or aggregate the wrong rows.
func TestRollupTwoColumns(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	q := "SELECT region, product, COUNT(*), SUM(qty) AS total, AVG(price) FROM sales GROUP BY region, product WITH ROLLUP"
	checkColumns(t, db, q, []string{"region", "product", "COUNT(*)", "total", "AVG(price)"})
	var want [][]string
	for _, g := range modelRollup(nil) {
		want = append(want, []string{cell(g.region), cell(g.product), strconv.Itoa(g.count), strconv.Itoa(g.sum), fmt.Sprint(g.avg())})
	}
	checkRows(t, db, q, want)

	// Lower case, a WHERE, a comment between WITH and ROLLUP, a trailing
	// semicolon.
	q = "select region, product, sum(qty) from sales where qty > 2 group by region, product with /* rollup */ rollup;"
	want = nil
	for _, g := range modelRollup(func(s rollupSale) bool { return s.qty > 2 }) {
		want = append(want, []string{cell(g.region), cell(g.product), strconv.Itoa(g.sum)})
	}
	checkRows(t, db, q, want)

	// One grouping column.
	q = "SELECT region, COUNT(*) FROM sales GROUP BY region WITH ROLLUP"
	want = nil
	for _, g := range modelRollup(nil) {
		if g.level > 0 {
			want = append(want, []string{cell(g.region), strconv.Itoa(g.count)})
		}
	}
	checkRows(t, db, q, want)

	// No row: no grand total either, as in MySQL.
	checkRows(t, db, "SELECT region, COUNT(*), SUM(qty) FROM sales WHERE qty > 1000 GROUP BY region WITH ROLLUP", nil)
}

// TestRollupGrouping: GROUPING() is 1 for a rolled-up column, which tells
// a super-aggregate row from a group whose value is NULL. Bug caught:
// GROUPING unknown, or 0 on super-aggregate rows.
func TestRollupGrouping(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	q := "SELECT region, product, GROUPING(region), GROUPING(product), GROUPING(region, product), SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP"
	var want [][]string
	for _, g := range modelRollup(nil) {
		gr, gp := 0, 0
		if g.level >= 1 {
			gp = 1
		}
		if g.level == 2 {
			gr = 1
		}
		want = append(want, []string{cell(g.region), cell(g.product), strconv.Itoa(gr), strconv.Itoa(gp), strconv.Itoa(gr<<1 | gp), strconv.Itoa(g.sum)})
	}
	checkRows(t, db, q, want)

	// Labels for the super-aggregate rows, as reports write them.
	q = "SELECT IF(GROUPING(region), 'All regions', region) AS r, SUM(qty) FROM sales GROUP BY region WITH ROLLUP"
	want = nil
	for _, g := range modelRollup(nil) {
		switch g.level {
		case 1:
			want = append(want, []string{cell(g.region), strconv.Itoa(g.sum)})
		case 2:
			want = append(want, []string{"All regions", strconv.Itoa(g.sum)})
		}
	}
	checkColumns(t, db, q, []string{"r", "SUM(qty)"})
	checkRows(t, db, q, want)
}

// TestRollupHavingOrderLimit: HAVING filters the super-aggregate rows
// too, ORDER BY and LIMIT apply to the whole result. Bug caught: HAVING,
// ORDER BY or LIMIT applied to one level only.
func TestRollupHavingOrderLimit(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	all := modelRollup(nil)
	row := func(g rollupGroup) []string {
		return []string{cell(g.region), cell(g.product), strconv.Itoa(g.sum)}
	}

	for _, q := range []string{
		"SELECT region, product, SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP HAVING SUM(qty) > 6",
		"SELECT region, product, SUM(qty) AS total FROM sales GROUP BY region, product WITH ROLLUP HAVING total > 6",
	} {
		var want [][]string
		for _, g := range all {
			if g.sum > 6 {
				want = append(want, row(g))
			}
		}
		checkRows(t, db, q, want)
	}

	// HAVING on a grouping column sees NULL on the rows where it is
	// rolled up.
	var want [][]string
	for _, g := range all {
		if g.product == "" {
			want = append(want, row(g))
		}
	}
	checkRows(t, db, "SELECT region, product, SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP HAVING product IS NULL", want)

	// ORDER BY an aggregate, descending, then LIMIT: ties keep the rollup
	// order.
	sorted := append([]rollupGroup{}, all...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].sum > sorted[j].sum })
	want = nil
	for _, g := range sorted[:5] {
		want = append(want, row(g))
	}
	for _, q := range []string{
		"SELECT region, product, SUM(qty) AS total FROM sales GROUP BY region, product WITH ROLLUP ORDER BY total DESC LIMIT 5",
		"SELECT region, product, SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP ORDER BY 3 DESC LIMIT 5",
		"SELECT region, product, SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP ORDER BY SUM(qty) DESC LIMIT 5",
	} {
		checkRows(t, db, q, want)
	}

	// ORDER BY a grouping column: the rolled-up NULLs sort first; LIMIT
	// with an offset.
	sorted = append([]rollupGroup{}, all...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].region > sorted[j].region })
	want = nil
	for _, g := range sorted[1:4] {
		want = append(want, row(g))
	}
	checkRows(t, db, "SELECT region, product, SUM(qty) FROM sales GROUP BY region, product WITH ROLLUP ORDER BY region DESC LIMIT 1, 3", want)
}

// TestRollupGroupByForms: GROUP BY a position, an alias, an expression.
func TestRollupGroupByForms(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	var want [][]string
	for _, g := range modelRollup(nil) {
		if g.level > 0 {
			want = append(want, []string{cell(strings.ToUpper(g.region)), strconv.Itoa(g.sum)})
		}
	}
	for _, q := range []string{
		"SELECT UPPER(region) AS r, SUM(qty) FROM sales GROUP BY 1 WITH ROLLUP",
		"SELECT UPPER(region) AS r, SUM(qty) FROM sales GROUP BY r WITH ROLLUP",
		"SELECT UPPER(region) AS r, SUM(qty) FROM sales GROUP BY UPPER(region) WITH ROLLUP",
		"SELECT * FROM (SELECT UPPER(region) AS r, SUM(qty) AS s FROM sales GROUP BY UPPER(region) WITH ROLLUP) AS x",
	} {
		checkRows(t, db, q, want)
	}
	// In a UNION, and over a CTE.
	checkRows(t, db, "SELECT UPPER(region), SUM(qty) FROM sales GROUP BY 1 WITH ROLLUP UNION ALL SELECT 'x', 1", append(want[:len(want):len(want)], []string{"x", "1"}))
	checkRows(t, db, "WITH c AS (SELECT UPPER(region) AS r, qty FROM sales) SELECT r, SUM(qty) FROM c GROUP BY r WITH ROLLUP", want)
	checkColumns(t, db, "SELECT UPPER(region), SUM(qty) FROM sales GROUP BY UPPER(region) WITH ROLLUP", []string{"UPPER(region)", "SUM(qty)"})
}

// TestRollupPreparedAndMulti: WITH ROLLUP in a prepared statement with
// placeholders (COM_STMT_PREPARE) and in a multi-statement query. Bug
// caught: vitess rejects the prepared statement before the server's
// parser sees it, or the statement after a rewritten one is lost.
func TestRollupPreparedAndMulti(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	var want [][]string
	for _, g := range modelRollup(func(s rollupSale) bool { return s.qty > 2 }) {
		if g.level > 0 && g.sum > 5 {
			want = append(want, []string{cell(g.region), strconv.Itoa(g.sum)})
		}
	}
	// With arguments the Go driver prepares the statement.
	checkRows(t, db, "SELECT region, SUM(qty) FROM sales WHERE qty > ? GROUP BY region WITH ROLLUP HAVING SUM(qty) > ?", want, 2, 5)

	// SQL PREPARE and EXECUTE.
	mustExec(t, db, "PREPARE p FROM 'SELECT region, SUM(qty) FROM sales WHERE qty > ? GROUP BY region WITH ROLLUP HAVING SUM(qty) > ?'")
	mustExec(t, db, "SET @a = 2, @b = 5")
	checkRows(t, db, "EXECUTE p USING @a, @b", want)

	mdb := openDSN(t, fmt.Sprintf("root:@tcp(%s)/r?multiStatements=true", ts.srv.Addr()))
	rows, err := mdb.Query("SELECT region, SUM(qty) FROM sales WHERE qty > 2 GROUP BY region WITH ROLLUP HAVING SUM(qty) > 5; SELECT 42")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got [][]string
	for rows.Next() {
		var r gosql.NullString
		var s string
		if err := rows.Scan(&r, &s); err != nil {
			t.Fatal(err)
		}
		got = append(got, []string{cell(r.String), s})
	}
	if !sameRows(got, want) {
		t.Errorf("multi-statement, first result: got %v, want %v", got, want)
	}
	if !rows.NextResultSet() || !rows.Next() {
		t.Fatalf("multi-statement: no second result (%v)", rows.Err())
	}
	var n int
	if err := rows.Scan(&n); err != nil || n != 42 {
		t.Errorf("multi-statement, second result: %d, %v", n, err)
	}
}

// TestRollupUnsupported: forms of WITH ROLLUP that are not rewritten fail
// with a MySQL error, not a wrong result. Bug caught: a wrong answer
// instead of an error.
func TestRollupUnsupported(t *testing.T) {
	ts := rollupServer(t)
	db := ts.open("r")
	for _, q := range []string{
		"SELECT * FROM sales GROUP BY region WITH ROLLUP",
		"SELECT DISTINCT region, SUM(qty) FROM sales GROUP BY region WITH ROLLUP",
		"SELECT region, SUM(qty), ROW_NUMBER() OVER () FROM sales GROUP BY region WITH ROLLUP",
	} {
		msg := expectErr(t, db, q, 1235)
		if !strings.Contains(msg, "doesn't yet support") {
			t.Errorf("%s: message %q", q, msg)
		}
	}
	expectErr(t, db, "SELECT region, GROUPING(product), SUM(qty) FROM sales GROUP BY region WITH ROLLUP", 3580)
	// WITH ROLLUP where MySQL does not accept it either.
	expectErr(t, db, "SELECT region FROM sales WITH ROLLUP", 1064)
	expectErr(t, db, "SELECT region FROM sales ORDER BY region WITH ROLLUP", 1064)
	// A CTE named rollup is not WITH ROLLUP.
	checkRows(t, db, "WITH rollup AS (SELECT 1 AS x) SELECT x FROM rollup", [][]string{{"1"}})
}
