package engine_test

import (
	gosql "database/sql"
	"fmt"
	"math"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procDB connects to the server binary p (no parseTime: DATETIME values
// come back as the server's text).
func procDB(t *testing.T, p *proc, db string) *gosql.DB {
	t.Helper()
	return openDSN(t, fmt.Sprintf("root:@tcp(%s)/%s", p.addr, db))
}

// snapRow is one row of SHOW SNAPSHOTS: snapshot_id, parent_id,
// committed_at, operation, total_rows, added_rows, deleted_rows,
// is_current, summary.
type snapRow []string

func (r snapRow) id() string      { return r[0] }
func (r snapRow) parent() string  { return r[1] }
func (r snapRow) at() string      { return r[2] }
func (r snapRow) total() string   { return r[4] }
func (r snapRow) current() string { return r[7] }

func showSnapshots(t *testing.T, db *gosql.DB, table string) []snapRow {
	t.Helper()
	var out []snapRow
	for _, r := range queryRows(t, db, "SHOW SNAPSHOTS FROM "+table) {
		if len(r) != 9 {
			t.Fatalf("SHOW SNAPSHOTS row %v: %d columns, want 9", r, len(r))
		}
		out = append(out, r)
	}
	return out
}

// asOfRows is the table's rows as of a snapshot id or a quoted time.
func asOfRows(t *testing.T, db *gosql.DB, table, asOf string) [][]string {
	t.Helper()
	return queryRows(t, db, fmt.Sprintf("SELECT * FROM %s AS OF %s ORDER BY id", table, asOf))
}

// TestAsOf runs the server binary: a table written four times lists four
// snapshots (SHOW SNAPSHOTS) and reads each of them back AS OF its id
// and AS OF its commit time (in the session time zone), through point
// lookups on the primary key and a secondary index, in a join with the
// current table and in COUNT(*); bad AS OF values, writes to an AS OF
// table, unknown snapshots and expired ones are MySQL errors that change
// nothing; a snapshot from before ALTER TABLE reads with its old
// columns; and all of it still holds after a restart.
//
// Catches: an AS OF read served from the current contents, the current
// table's indexes or its row count; the session time zone ignored (or
// applied twice); a write to an old snapshot accepted (or reported only
// when a row matched); the snapshot's schema replaced by the current
// one; an expired snapshot read from deleted files or misreported; the
// snapshot list lost at restart.
func TestAsOf(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir)
	root := procDB(t, p, "")
	mustExecAll(t, root, "CREATE DATABASE s", "USE s",
		"CREATE TABLE t (id INT PRIMARY KEY, v DOUBLE, n TINYINT, s VARCHAR(10), KEY kv (v))",
		"INSERT INTO t VALUES (1, 1.5, 3, 'a'), (2, 2.5, 4, 'b')",
		"INSERT INTO t VALUES (3, 3.5, 5, 'c')",
		"UPDATE t SET v = 99 WHERE id = 1",
		"DELETE FROM t WHERE id = 2")
	db := procDB(t, p, "s")
	want := [][][]string{
		{{"1", "1.5", "3", "a"}, {"2", "2.5", "4", "b"}},
		{{"1", "1.5", "3", "a"}, {"2", "2.5", "4", "b"}, {"3", "3.5", "5", "c"}},
		{{"1", "99", "3", "a"}, {"2", "2.5", "4", "b"}, {"3", "3.5", "5", "c"}},
		{{"1", "99", "3", "a"}, {"3", "3.5", "5", "c"}},
	}
	snaps := showSnapshots(t, db, "t")
	if len(snaps) != 4 {
		t.Fatalf("SHOW SNAPSHOTS: %v, want 4 snapshots", snaps)
	}
	for i, s := range snaps {
		wantParent, wantCurrent := "NULL", "0"
		if i > 0 {
			wantParent = snaps[i-1].id()
		}
		if i == 3 {
			wantCurrent = "1"
		}
		if s.parent() != wantParent || s.current() != wantCurrent || s.total() != fmt.Sprint(len(want[i])) {
			t.Errorf("snapshot %d: %v (want parent %s, current %s, %d rows)", i, s, wantParent, wantCurrent, len(want[i]))
		}
		if i > 0 && s.at() < snaps[i-1].at() {
			t.Errorf("snapshot %d committed at %s, before its parent (%s)", i, s.at(), snaps[i-1].at())
		}
		if got := asOfRows(t, db, "t", s.id()); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("AS OF %s: %v, want %v", s.id(), got, want[i])
		}
		if got := asOfRows(t, db, "t", "'"+s.id()+"'"); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("AS OF '%s': %v, want %v", s.id(), got, want[i])
		}
	}
	s2 := snaps[1].id()

	// Lookups and joins read the snapshot, never the current rows or indexes.
	checks := []struct {
		q    string
		want [][]string
	}{
		{"SELECT v FROM t AS OF " + s2 + " WHERE id = 1", [][]string{{"1.5"}}},
		{"SELECT id FROM t AS OF " + s2 + " WHERE v = 1.5", [][]string{{"1"}}},
		{"SELECT id FROM t AS OF " + s2 + " WHERE v = 99", nil},
		{"SELECT id FROM t AS OF " + s2 + " WHERE id = 2", [][]string{{"2"}}},
		{"SELECT id FROM t AS OF " + s2 + " WHERE v BETWEEN 2 AND 100 ORDER BY id", [][]string{{"2"}, {"3"}}},
		{"SELECT COUNT(*) FROM t AS OF " + snaps[0].id(), [][]string{{"2"}}},
		{"SELECT o.v, c.v FROM t AS OF " + s2 + " o JOIN t c ON o.id = c.id WHERE o.id = 1", [][]string{{"1.5", "99"}}},
		{"SELECT o.id FROM t AS OF " + s2 + " o LEFT JOIN t c ON o.id = c.id WHERE c.id IS NULL", [][]string{{"2"}}},
	}
	for _, c := range checks {
		if got := queryRows(t, db, c.q); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.q, got, c.want)
		}
	}

	// Times: committed_at is shown in the session time zone, and AS OF a
	// time reads it in the session time zone, so each round-trips.
	mustExec(t, db, "SET time_zone = '+00:00'")
	utc := showSnapshots(t, db, "t")
	mustExec(t, db, "SET time_zone = '+05:00'")
	plus5 := showSnapshots(t, db, "t")
	for i := range utc {
		a, err1 := time.Parse("2006-01-02 15:04:05", utc[i].at())
		b, err2 := time.Parse("2006-01-02 15:04:05", plus5[i].at())
		if err1 != nil || err2 != nil || b.Sub(a) != 5*time.Hour {
			t.Errorf("committed_at of snapshot %d: %s in UTC, %s at +05:00", i, utc[i].at(), plus5[i].at())
		}
		// The last snapshot committed at or before that millisecond.
		last := i
		for last+1 < len(utc) && utc[last+1].at() == utc[i].at() {
			last++
		}
		if got := asOfRows(t, db, "t", "'"+plus5[i].at()+"'"); !reflect.DeepEqual(got, want[last]) {
			t.Errorf("at +05:00, AS OF '%s': %v, want %v", plus5[i].at(), got, want[last])
		}
		if got := asOfRows(t, db, "t", "TIMESTAMP '"+plus5[i].at()+"'"); !reflect.DeepEqual(got, want[last]) {
			t.Errorf("at +05:00, AS OF TIMESTAMP '%s': %v, want %v", plus5[i].at(), got, want[last])
		}
	}
	// The UTC wall clock read at +05:00 is five hours before the first snapshot.
	expectErr(t, db, "SELECT * FROM t AS OF '"+utc[0].at()+"'", 1210)
	mustExec(t, db, "SET time_zone = '+00:00'")
	if got := asOfRows(t, db, "t", "NOW(6)"); !reflect.DeepEqual(got, want[3]) {
		t.Errorf("AS OF NOW(6): %v, want the current rows", got)
	}

	// Errors, none of which changes anything.
	for _, c := range []struct {
		q    string
		code uint16
	}{
		{"SELECT * FROM t AS OF 123", 1210},
		{"SELECT * FROM t AS OF '2000-01-01 00:00:00'", 1210},
		{"SELECT * FROM t AS OF 'yesterday'", 1525},
		{"SELECT * FROM t AS OF '12x'", 1525},
		{"SELECT * FROM nosuch AS OF " + s2, 1146},
		{"UPDATE t AS OF " + s2 + " SET v = 0", 1036},
		{"UPDATE t AS OF " + s2 + " SET v = 0 WHERE id = 999", 1036},
		{"DELETE o FROM t AS OF " + s2 + " o WHERE id = 1", 1036},
		{"UPDATE t c JOIN t AS OF " + s2 + " o ON c.id = o.id SET o.v = 0", 1036},
		{"SHOW SNAPSHOTS FROM nosuch", 1146},
		{"SHOW SNAPSHOTS FROM nodb.t", 1049},
		{"SHOW SNAPSHOTS t", 1064},
		{"SHOW SNAPSHOTS FROM t junk", 1064},
	} {
		expectErr(t, db, c.q, c.code)
	}
	if _, err := db.Query("SELECT * FROM t AS OF ? WHERE id = 1", s2); err == nil || !strings.Contains(err.Error(), "1235") {
		t.Errorf("AS OF ? (prepared): %v, want error 1235", err)
	}
	if got := asOfRows(t, db, "t", snaps[3].id()); !reflect.DeepEqual(got, want[3]) {
		t.Fatalf("after the refused writes: %v, want %v", got, want[3])
	}
	if got := showSnapshots(t, db, "t"); len(got) != 4 {
		t.Fatalf("the refused writes made snapshots: %v", got)
	}
	// Privileges: SELECT on the table, as for reading it now.
	mustExecAll(t, root, "CREATE USER 'r'@'%' IDENTIFIED BY 'pw'", "CREATE USER 'n'@'%' IDENTIFIED BY 'pw'",
		"GRANT SELECT ON s.t TO 'r'@'%'")
	reader := openDSN(t, fmt.Sprintf("r:pw@tcp(%s)/", p.addr))
	nobody := openDSN(t, fmt.Sprintf("n:pw@tcp(%s)/", p.addr))
	if got := showSnapshots(t, reader, "s.t"); len(got) != 4 {
		t.Errorf("SHOW SNAPSHOTS as a reader: %v", got)
	}
	if got := asOfRows(t, reader, "s.t", s2); !reflect.DeepEqual(got, want[1]) {
		t.Errorf("AS OF as a reader: %v", got)
	}
	expectErr(t, nobody, "SHOW SNAPSHOTS FROM s.t", 1142)
	expectErr(t, nobody, "SELECT * FROM s.t AS OF "+s2, 1142)

	// A write that reads an old snapshot is fine: restore row 2.
	mustExec(t, db, "INSERT INTO t SELECT * FROM t AS OF "+s2+" WHERE id = 2")
	if got := queryRows(t, db, "SELECT v FROM t WHERE id = 2"); !reflect.DeepEqual(got, [][]string{{"2.5"}}) {
		t.Errorf("restored row 2: %v", got)
	}

	// Columns: while they have not changed, a snapshot has the table's
	// SQL types and key; after ALTER TABLE the old snapshots keep their
	// columns, s (now s2) and n, with the types they were stored as.
	describe := func(asOf string) [][]string {
		t.Helper()
		return cols(queryRows(t, db, "DESCRIBE t AS OF "+asOf), 0, 1, 3)
	}
	if got, want := describe(s2), [][]string{{"id", "int", "PRI"}, {"v", "double", ""}, {"n", "tinyint", ""}, {"s", "varchar(10)", ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("DESCRIBE t AS OF %s: %v, want %v", s2, got, want)
	}
	mustExecAll(t, db, "ALTER TABLE t MODIFY n INT", "ALTER TABLE t RENAME COLUMN s TO s2")
	if got, want := describe(s2), [][]string{{"id", "int", ""}, {"v", "double", ""}, {"n", "int", ""}, {"s", "longtext", ""}}; !reflect.DeepEqual(got, want) {
		t.Errorf("after ALTER TABLE, DESCRIBE t AS OF %s: %v, want %v", s2, got, want)
	}
	if got := queryRows(t, db, "SELECT s, n FROM t AS OF "+s2+" WHERE id = 3"); !reflect.DeepEqual(got, [][]string{{"c", "5"}}) {
		t.Errorf("old columns as of %s: %v", s2, got)
	}
	if n, _ := errNumber(t, db, "SELECT s2 FROM t AS OF "+s2); n == 0 {
		t.Errorf("column s2 (renamed since) found as of %s", s2)
	}
	if got := queryRows(t, db, "SELECT s2 FROM t WHERE id = 3"); !reflect.DeepEqual(got, [][]string{{"c"}}) {
		t.Errorf("current columns: %v", got)
	}

	// Restart: the same snapshots, read the same way.
	before := showSnapshots(t, db, "t")
	p.stop(t, syscall.SIGTERM)
	p = startProc(t, bin, dir)
	db = procDB(t, p, "s")
	mustExec(t, db, "SET time_zone = '+00:00'")
	if after := showSnapshots(t, db, "t"); !reflect.DeepEqual(after, before) {
		t.Errorf("SHOW SNAPSHOTS after restart:\n%v\nbefore:\n%v", after, before)
	}
	for i, s := range snaps {
		if got := asOfRows(t, db, "t", s.id()); !reflect.DeepEqual(got, want[i]) {
			t.Errorf("after restart, AS OF %s: %v, want %v", s.id(), got, want[i])
		}
	}

	// Expiry: past 20 snapshots only the last 5 are kept; older ids and
	// times are errors that say so, the kept ones still read.
	for i := 10; i < 26 && len(showSnapshots(t, db, "t")) > 5; i++ {
		mustExec(t, db, fmt.Sprintf("INSERT INTO t VALUES (%d, %d, 1, 'x')", i, i))
	}
	kept := showSnapshots(t, db, "t")
	if len(kept) != 5 || kept[0].id() == snaps[0].id() {
		t.Fatalf("after many writes: %d snapshots kept, want 5", len(kept))
	}
	if msg := expectErr(t, db, "SELECT * FROM t AS OF "+snaps[0].id(), 1210); !strings.Contains(msg, "expired") {
		t.Errorf("AS OF an expired snapshot: %q does not say it expired", msg)
	}
	if msg := expectErr(t, db, "SELECT * FROM t AS OF '"+utc[0].at()+"'", 1210); !strings.Contains(msg, "expired") {
		t.Errorf("AS OF the time of an expired snapshot: %q does not say it expired", msg)
	}
	if n := len(queryRows(t, db, "SELECT * FROM t AS OF "+kept[0].id())); fmt.Sprint(n) != kept[0].total() {
		t.Errorf("oldest kept snapshot: %d rows, SHOW SNAPSHOTS says %s", n, kept[0].total())
	}
}

// trainingSnapshots is SHOW DETECTORS' training_snapshots of a detector.
func trainingSnapshots(t *testing.T, db *gosql.DB, name string) string {
	t.Helper()
	for _, r := range queryRows(t, db, "SHOW DETECTORS") {
		if r[0] == name {
			return r[colSnapshots] // detector_training_test.go
		}
	}
	t.Fatalf("no detector %s", name)
	return ""
}

// sameScores requires bit-identical scores of detectors a and b over
// every row of table f.
func sameScores(t *testing.T, db *gosql.DB, a, b string) {
	t.Helper()
	q := "SELECT id, anomaly_score('%s', x, y) FROM f"
	sa, sb := scoresByID(t, db, fmt.Sprintf(q, a)), scoresByID(t, db, fmt.Sprintf(q, b))
	if len(sa) == 0 || len(sa) != len(sb) {
		t.Fatalf("%d and %d scores", len(sa), len(sb))
	}
	for id, s := range sa {
		if math.Float64bits(s) != math.Float64bits(sb[id]) {
			t.Fatalf("row %d: %s scores %v, %s scores %v", id, a, s, b, sb[id])
		}
	}
}

// TestDetectorTrainingSnapshots runs the server binary: a detector
// records the snapshots its training read (SHOW DETECTORS'
// training_snapshots); after the table changes, training again AS OF the
// recorded snapshot with the same seed gives bit-identical scores, both
// when the training reads the snapshot's batches directly and through
// the SQL engine (a WHERE clause), and again after a restart, while
// training on the changed table does not. Catches: no or a wrong
// snapshot recorded (the current one at SHOW time, a join's second
// table missing), the record lost at restart, and AS OF training reading
// other rows than the snapshot's.
func TestDetectorTrainingSnapshots(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir)
	mustExecAll(t, procDB(t, p, ""), "CREATE DATABASE s")
	db := procDB(t, p, "s")
	mustExec(t, db, "CREATE TABLE f (id INT PRIMARY KEY, x DOUBLE, y DOUBLE)")
	mustExec(t, db, "CREATE TABLE g (id INT PRIMARY KEY, z DOUBLE)")
	var vals, gvals []string
	for i := 1; i <= 300; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %g, %g)", i, math.Sin(float64(i)), math.Cos(float64(i)*0.7)))
		gvals = append(gvals, fmt.Sprintf("(%d, %d)", i, i%7))
	}
	mustExec(t, db, "INSERT INTO f VALUES "+strings.Join(vals[:200], ","))
	mustExec(t, db, "INSERT INTO f VALUES "+strings.Join(vals[200:], ","))
	mustExec(t, db, "INSERT INTO g VALUES "+strings.Join(gvals, ","))
	const using = "USING autoencoder WITH (epochs = 3, seed = 11, hidden = '4')"
	mustExec(t, db, "CREATE DETECTOR d1 "+using+" AS SELECT x, y FROM f")
	current := func(table string) string {
		for _, s := range showSnapshots(t, db, table) {
			if s.current() == "1" {
				return s.id()
			}
		}
		t.Fatalf("%s has no current snapshot", table)
		return ""
	}
	id := current("f")
	if got := trainingSnapshots(t, db, "d1"); got != "s.f@"+id {
		t.Fatalf("d1 training_snapshots = %q, want s.f@%s", got, id)
	}
	// Through the SQL engine (a scan with a filter): the same rows, the
	// same snapshot, the same scores.
	mustExec(t, db, "CREATE DETECTOR dw "+using+" AS SELECT x, y FROM f WHERE x > -2")
	if got := trainingSnapshots(t, db, "dw"); got != "s.f@"+id {
		t.Errorf("dw training_snapshots = %q, want s.f@%s", got, id)
	}
	sameScores(t, db, "d1", "dw")
	mustExec(t, db, "CREATE DETECTOR dj "+using+" AS SELECT f.x, g.z FROM f JOIN g ON f.id = g.id")
	if got, want := trainingSnapshots(t, db, "dj"), "s.f@"+id+",s.g@"+current("g"); got != want {
		t.Errorf("dj training_snapshots = %q, want %q", got, want)
	}

	// Change the table, then train again on the recorded snapshot.
	mustExecAll(t, db, "INSERT INTO f VALUES (1000, 40, -40)", "UPDATE f SET x = x + 1 WHERE id <= 50")
	if got := trainingSnapshots(t, db, "d1"); got != "s.f@"+id {
		t.Fatalf("d1 training_snapshots changed with the table: %q", got)
	}
	mustExec(t, db, "CREATE DETECTOR d2 "+using+" AS SELECT x, y FROM f AS OF "+id)
	mustExec(t, db, "CREATE DETECTOR d3 "+using+" AS SELECT x, y FROM f AS OF "+id+" WHERE id > 0")
	mustExec(t, db, "CREATE DETECTOR dnow "+using+" AS SELECT x, y FROM f")
	for _, d := range []string{"d2", "d3"} {
		if got := trainingSnapshots(t, db, d); got != "s.f@"+id {
			t.Errorf("%s training_snapshots = %q, want s.f@%s", d, got, id)
		}
		sameScores(t, db, "d1", d)
	}
	if got := trainingSnapshots(t, db, "dnow"); got != "s.f@"+current("f") || got == "s.f@"+id {
		t.Errorf("dnow training_snapshots = %q, want the changed table's snapshot", got)
	}
	a, b := scoresByID(t, db, "SELECT id, anomaly_score('d1', x, y) FROM f"), scoresByID(t, db, "SELECT id, anomaly_score('dnow', x, y) FROM f")
	if a[1] == b[1] && a[2] == b[2] {
		t.Errorf("training on the changed table gave d1's scores: the test cannot tell snapshots apart")
	}

	// After a restart: the record, and the same training AS OF it.
	p.stop(t, syscall.SIGTERM)
	p = startProc(t, bin, dir)
	db = procDB(t, p, "s")
	if got := trainingSnapshots(t, db, "d1"); got != "s.f@"+id {
		t.Fatalf("after restart d1 training_snapshots = %q", got)
	}
	mustExec(t, db, "CREATE DETECTOR d4 "+using+" AS SELECT x, y FROM f AS OF "+id)
	sameScores(t, db, "d1", "d4")
}
