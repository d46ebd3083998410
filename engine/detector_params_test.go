package engine_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestPreparedDetectorPlaceholders: DETECTOR statements take ?
// placeholders through COM_STMT_PREPARE (the Go driver without
// interpolateParams, like node mysql2's execute) and through SQL PREPARE
// … EXECUTE USING: option values and values of the training SELECT in
// CREATE DETECTOR, the pattern of SHOW DETECTORS LIKE ?. The prepare
// answer reports the number of placeholders (the driver refuses a wrong
// number of arguments itself), a statement runs again with other values,
// a ? where a name goes (DROP DETECTOR ?) is 1064, and so is a ? in a
// statement that is not prepared. Catches: placeholders that vitess does
// not count (the disguise without ?: the driver sends no values, and the
// statement fails or trains on an unbound SELECT), values bound to the
// wrong placeholders (options before the SELECT's), an option taken as
// the text "?".
func TestPreparedDetectorPlaceholders(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	ctx := context.Background()
	count := func(where string) int64 { return queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE "+where) }
	trained := func(name string) string {
		t.Helper()
		rows := queryRows(t, db, "SHOW DETECTORS LIKE '"+name+"'")
		if len(rows) != 1 {
			t.Fatalf("SHOW DETECTORS LIKE '%s': %v", name, rows)
		}
		return rows[0][3] // training_rows
	}
	var me *mysql.MySQLError

	create, err := db.Prepare("CREATE DETECTOR d1 USING deep_svdd WITH (epochs = ?, seed = ?, hidden = ?) " +
		"AS SELECT f0, f1 FROM thyroid WHERE id > ? AND f0 < ?")
	if err != nil {
		t.Fatalf("preparing CREATE DETECTOR with placeholders: %v", err)
	}
	defer create.Close()
	if _, err := create.Exec(1, 7); err == nil || !strings.Contains(err.Error(), "expected 5 arguments, got 2") {
		t.Errorf("2 values for 5 placeholders: %v, want the driver's count error", err)
	}
	if _, err := create.Exec(1, 7, "8", 100, "0.5"); err != nil {
		t.Fatalf("prepared CREATE DETECTOR: %v", err)
	}
	if got, want := trained("d1"), count("id > 100 AND f0 < 0.5"); got != strconv.FormatInt(want, 10) {
		t.Errorf("d1 trained on %s rows, want %d", got, want)
	}
	// An option as the text "?" or "8" is refused (epochs must be a
	// number), so the options were bound: a wrong hidden layer is 1210.
	if _, err := db.Exec("CREATE DETECTOR d2 USING deep_svdd WITH (epochs = ?, hidden = ?) AS SELECT f0 FROM thyroid WHERE id <= ?", 1, "zero", 50); !errors.As(err, &me) || me.Number != 1210 {
		t.Errorf("a bad bound option value: %v, want 1210", err)
	}
	if _, err := db.Exec("CREATE DETECTOR d2 USING deep_svdd WITH (epochs = ?) AS SELECT f0 FROM thyroid WHERE id <= ?", 1, 50); err != nil {
		t.Fatalf("CREATE DETECTOR with two placeholders: %v", err)
	}
	if got := trained("d2"); got != "50" {
		t.Errorf("d2 trained on %s rows, want 50", got)
	}

	like, err := db.Prepare("SHOW DETECTORS LIKE ?")
	if err != nil {
		t.Fatalf("preparing SHOW DETECTORS LIKE ?: %v", err)
	}
	defer like.Close()
	names := func(pattern string) string {
		t.Helper()
		rows, err := like.Query(pattern)
		if err != nil {
			t.Fatalf("SHOW DETECTORS LIKE %q: %v", pattern, err)
		}
		defer rows.Close()
		cols, _ := rows.Columns()
		vals := make([]any, len(cols))
		for i := range vals {
			vals[i] = new(any)
		}
		var out []string
		for rows.Next() {
			if err := rows.Scan(vals...); err != nil {
				t.Fatal(err)
			}
			out = append(out, string((*vals[0].(*any)).([]byte)))
		}
		return strings.Join(out, ",")
	}
	for pattern, want := range map[string]string{"d%": "d1,d2", "%2": "d2", "D_": "d1,d2", "x%": ""} {
		if got := names(pattern); got != want {
			t.Errorf("SHOW DETECTORS LIKE %q (prepared) = %q, want %q", pattern, got, want)
		}
	}

	if _, err := db.Prepare("DROP DETECTOR ?"); !errors.As(err, &me) || me.Number != 1064 {
		t.Errorf("DROP DETECTOR ?: %v, want 1064 (a name is no placeholder)", err)
	}
	if _, err := db.Exec("SHOW DETECTORS LIKE ?"); !errors.As(err, &me) || me.Number != 1064 {
		t.Errorf("SHOW DETECTORS LIKE ? unprepared: %v, want 1064", err)
	}

	// SQL PREPARE … EXECUTE USING, on one session.
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{
		"PREPARE s FROM 'CREATE DETECTOR d3 USING deep_svdd WITH (epochs = ?) AS SELECT f0, f1 FROM thyroid WHERE id BETWEEN ? AND ?'",
		"SET @e = 1, @lo = 10, @hi = 29",
		"EXECUTE s USING @e, @lo, @hi",
		"PREPARE l FROM 'SHOW DETECTORS LIKE ?'",
		"SET @p = 'd3'",
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// (db's one connection is conn now.)
	var name, rows string
	var rest [10]any
	if err := conn.QueryRowContext(ctx, "EXECUTE l USING @p").Scan(&name, &rest[0], &rest[1], &rows, &rest[2], &rest[3], &rest[4], &rest[5], &rest[6], &rest[7], &rest[8], &rest[9]); err != nil || name != "d3" || rows != "20" {
		t.Errorf("EXECUTE l USING @p: %q trained on %s rows (want d3 on 20), %v", name, rows, err)
	}
	if _, err := conn.ExecContext(ctx, "CREATE DETECTOR d4 USING deep_svdd WITH (epochs = ?) AS SELECT f0 FROM thyroid"); !errors.As(err, &me) || me.Number != 1064 {
		t.Errorf("CREATE DETECTOR with ? unprepared: %v, want 1064", err)
	}
}
