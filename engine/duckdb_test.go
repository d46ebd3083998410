package engine_test

import (
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/storage"
)

// TestDuckDBReadsTheCurrentSnapshot checks that a table is in an open
// format in fact, not only in name: another engine, DuckDB (npm
// @duckdb/node-api, pinned in scripts/duckdb/package-lock.json), reading
// the Parquet data files that the manifests of the table's current
// Iceberg snapshot list, gets exactly the rows and values that SELECT *
// returns over the MySQL protocol from the real binary.
//
// The table is written over TCP by INSERTs, UPDATEs and a DELETE, so its
// current snapshot has several data files and the data directory also
// holds the files of older snapshots (whose rows are stale or deleted):
// listing those, or a server answering from stale rows, makes the
// comparison fail. The file list comes from storage.Table.DataFiles on
// the stopped server's data directory, which fails if the snapshot has
// delete files (a plain Parquet reader would return deleted rows).
//
// Values are compared as text with one normalisation per DuckDB type
// (see duckSameValue); the column names and DuckDB's types must be the ones
// the storage type mapping promises (storage/doc.go).
//
// A missing node or DuckDB package fails the test when CI or
// ANOMALYDB_CLIENTS=1 is set (make test installs it with make
// clients-deps), and skips it otherwise.
func TestDuckDBReadsTheCurrentSnapshot(t *testing.T) {
	script, data, p, db := duckServer(t)
	// Each statement commits one snapshot. After the UPDATEs and the
	// DELETE rewrite the table, the two small INSERTs each add a data
	// file of their own (too small to be merged with the one before).
	mustExec(t, db, duckInsert(0, 200))
	mustExec(t, db, duckInsert(1000, 20))
	mustExecAll(t, db,
		"UPDATE duck.t SET x = x * 2, name = CONCAT(name, '!'), amount = amount + 1 WHERE id % 5 = 0",
		"UPDATE duck.t SET d = NULL, n = -n WHERE id % 17 = 0",
		"DELETE FROM duck.t WHERE id % 3 = 0",
	)
	mustExec(t, db, duckInsert(2000, 10))
	mustExec(t, db, duckInsert(3000, 3))
	cols, want := duckTextRows(t, db, "SELECT * FROM duck.t ORDER BY id")
	// The DELETE came before the last two INSERTs.
	wantRows := 3 + 10
	for _, id := range append(duckIDs(0, 200), duckIDs(1000, 20)...) {
		if id%3 != 0 {
			wantRows++
		}
	}
	if len(want) != wantRows {
		t.Fatalf("the server returned %d rows, want %d", len(want), wantRows)
	}
	p.stop(t, syscall.SIGTERM)

	files := duckSnapshotFiles(t, data, "duck", "t")
	if len(files) < 2 {
		t.Fatalf("the current snapshot lists %d data file(s), want several: %v", len(files), files)
	}
	onDisk, err := filepath.Glob(filepath.Join(filepath.Dir(files[0]), "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) <= len(files) {
		t.Fatalf("the table directory holds %d Parquet files, the snapshot %d: the test needs files of older snapshots beside them", len(onDisk), len(files))
	}

	got := duckRead(t, script, files, "id")
	t.Logf("DuckDB %s read %d rows from %d of the %d Parquet files", got.DuckDB, len(got.Rows), len(files), len(onDisk))

	wantTypes := []string{"BIGINT", "INTEGER", "DOUBLE", "FLOAT", "DECIMAL(12,3)", "VARCHAR", "DATE", "TIMESTAMP"}
	var gotNames, gotTypes []string
	for _, c := range got.Columns {
		gotNames = append(gotNames, c.Name)
		gotTypes = append(gotTypes, c.Type)
	}
	if !reflect.DeepEqual(gotNames, cols) {
		t.Fatalf("DuckDB's columns %q, the server's %q", gotNames, cols)
	}
	if !reflect.DeepEqual(gotTypes, wantTypes) {
		t.Fatalf("DuckDB's column types %q, want %q", gotTypes, wantTypes)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("DuckDB read %d rows, the server returned %d", len(got.Rows), len(want))
	}
	bad := 0
	for i := range want {
		for j := range cols {
			if !duckSameValue(gotTypes[j], got.Rows[i][j], want[i][j]) {
				bad++
				if bad <= 10 {
					t.Errorf("row %d (id %s), column %s: DuckDB %s, server %s", i, duckShow(want[i][0]), cols[j], duckShow(got.Rows[i][j]), duckShow(want[i][j]))
				}
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d differing values in all", bad)
	}
}

// TestDuckDBReadsPositionDeletes is TestDuckDBReadsTheCurrentSnapshot
// for a table changed by merge-on-read: UPDATEs and DELETEs of a
// 3,000-row data file (above storage's CopyOnWriteRows) write Iceberg
// v2 position delete files instead of rewriting it, and DuckDB, reading
// the snapshot's data files less the rows its delete files name (an
// anti-join on the file path as the manifests list it and the row
// position), gets exactly the rows and values of SELECT *. Bugs caught:
// delete files with wrong positions or file paths, or not listed by the
// snapshot's manifests (DuckDB would return deleted or stale rows), and
// a server that ignores them.
func TestDuckDBReadsPositionDeletes(t *testing.T) {
	script, data, p, db := duckServer(t)
	mustExec(t, db, duckInsert(0, 3000))
	mustExecAll(t, db,
		"UPDATE duck.t SET x = x * 2, name = CONCAT(name, '!'), amount = amount + 1 WHERE id % 5 = 0",
		"DELETE FROM duck.t WHERE id % 97 = 0",
		"UPDATE duck.t SET d = NULL, n = -n WHERE id = 1234",
		"DELETE FROM duck.t WHERE id = 2001",
	)
	cols, want := duckTextRows(t, db, "SELECT * FROM duck.t ORDER BY id")
	if wantRows := 3000 - 31 - 1; len(want) != wantRows {
		t.Fatalf("the server returned %d rows, want %d", len(want), wantRows)
	}
	p.stop(t, syscall.SIGTERM)

	files := duckSnapshotDeletes(t, data, "duck", "t")
	if len(files.Deletes) < 4 || len(files.Data) < 2 {
		t.Fatalf("the current snapshot lists %d data files and %d delete files; want the first data file kept with a delete file per statement", len(files.Data), len(files.Deletes))
	}
	in := map[string]any{"orderBy": "id"}
	var paths, listed, deletes []string
	for _, f := range files.Data {
		paths, listed = append(paths, f.Path), append(listed, f.Listed)
	}
	for _, f := range files.Deletes {
		deletes = append(deletes, f.Path)
	}
	in["files"], in["listed"], in["deletes"] = paths, listed, deletes
	got := duckReadInput(t, script, in)
	t.Logf("DuckDB %s read %d rows from %d data files less %d delete files", got.DuckDB, len(got.Rows), len(files.Data), len(files.Deletes))
	var gotNames []string
	for _, c := range got.Columns {
		gotNames = append(gotNames, c.Name)
	}
	if !reflect.DeepEqual(gotNames, cols) {
		t.Fatalf("DuckDB's columns %q, the server's %q", gotNames, cols)
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("DuckDB read %d rows, the server returned %d", len(got.Rows), len(want))
	}
	bad := 0
	for i := range want {
		for j := range cols {
			if !duckSameValue(got.Columns[j].Type, got.Rows[i][j], want[i][j]) {
				bad++
				if bad <= 10 {
					t.Errorf("row %d (id %s), column %s: DuckDB %s, server %s", i, duckShow(want[i][0]), cols[j], duckShow(got.Rows[i][j]), duckShow(want[i][j]))
				}
			}
		}
	}
	if bad > 10 {
		t.Errorf("... %d differing values in all", bad)
	}
}

// duckInsert is one INSERT of n rows with ids from, whose values are a
// function of the id: doubles that print long, huge and tiny, floats,
// negative decimals, strings with quotes, a comma, a newline, UTF-8, the
// empty string and the text "NULL", dates and times before 1970, at the
// end of a leap day and with microseconds, and NULLs in every nullable
// column at different ids.
func duckInsert(from, n int) string {
	var b strings.Builder
	b.WriteString("INSERT INTO duck.t VALUES ")
	names := []string{"plain", "it''s", "a,b", "line\\nbreak", "héllo ✓", "", "NULL", `say "hi"`}
	dates := []string{"1970-01-01", "2024-02-29", "1969-07-20", "1900-01-01", "2038-01-19"}
	times := []string{"1970-01-01 00:00:00", "2024-02-29 23:59:59.999999", "1969-12-31 23:59:59.5", "2000-01-01 12:00:00.000001", "1901-12-13 20:45:52.25"}
	for i := from; i < from+n; i++ {
		if i > from {
			b.WriteString(", ")
		}
		nul := func(k int, v string) string {
			if i%k == 0 {
				return "NULL"
			}
			return v
		}
		x := []string{fmt.Sprintf("%d/7e0", i), "1e20", "-2.5e-8", "123456789.125", "0.1", "-1e-300", "2.2250738585072014e-308"}[i%7]
		fmt.Fprintf(&b, "(%d, %s, %s, %s, %s, %s, %s, %s)",
			i,
			nul(11, strconv.Itoa(i*37-3000)),
			nul(13, x),
			nul(7, fmt.Sprintf("%d.1", i)),
			nul(19, fmt.Sprintf("%d.%03d", 5000-i*61, i%1000)),
			nul(23, "'"+names[i%len(names)]+"'"),
			nul(29, "'"+dates[i%len(dates)]+"'"),
			nul(31, "'"+times[i%len(times)]+"'"),
		)
	}
	return b.String()
}

// duckTextRows runs q over the text protocol and returns the column names and
// every value as the server sent it, nil for NULL.
func duckTextRows(t *testing.T, db *gosql.DB, q string) ([]string, [][]*string) {
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
	var out [][]*string
	for rows.Next() {
		vals := make([]gosql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		row := make([]*string, len(cols))
		for i, v := range vals {
			if v.Valid {
				row[i] = &v.String
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return cols, out
}

// duckSnapshotDeletes opens the data directory of a stopped server and
// returns the data files and position delete files of the current
// snapshot of db.table.
func duckSnapshotDeletes(t *testing.T, data, db, table string) storage.SnapshotFiles {
	t.Helper()
	files, err := storedTable(t, data, db, table).SnapshotFiles()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// duckSnapshotFiles opens the data directory of a stopped server and returns
// the data files of the current snapshot of db.table (an error if it has
// delete files: Table.DataFiles).
func duckSnapshotFiles(t *testing.T, data, db, table string) []string {
	t.Helper()
	files, err := storedTable(t, data, db, table).DataFiles()
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// storedTable opens the data directory of a stopped server, closed when
// the test ends, and returns its table db.table.
func storedTable(t *testing.T, data, db, table string) *storage.Table {
	t.Helper()
	st, err := storage.Open(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tbl, err := st.Table(db, table)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

// duckResult is what scripts/duckdb/read_parquet.js prints.
type duckResult struct {
	DuckDB  string `json:"duckdb"`
	Columns []struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"columns"`
	Rows [][]*string `json:"rows"`
}

// duckRead runs the DuckDB script on files, ordered by the column orderBy.
func duckRead(t *testing.T, script string, files []string, orderBy string) duckResult {
	return duckReadInput(t, script, map[string]any{"files": files, "orderBy": orderBy})
}

// duckReadInput runs the DuckDB script on the input in (see
// scripts/duckdb/read_parquet.js).
func duckReadInput(t *testing.T, script string, input map[string]any) duckResult {
	t.Helper()
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script)
	cmd.Stdin = bytes.NewReader(in)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, stderr.String())
	}
	var res duckResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("output of %s: %v\n%s", script, err, stdout.String())
	}
	return res
}

// duckSameValue compares a value DuckDB cast to text (duck) with the text the
// server sent (server), nil being NULL on both sides, normalised by
// DuckDB's column type:
//
//   - DOUBLE: both parsed as float64, equal bits (each side prints the
//     shortest text that round-trips, but may differ in exponent form);
//   - FLOAT: both parsed as float32, equal bits;
//   - TIMESTAMP: both parsed as times, equal to the microsecond (the two
//     may print a fraction with different trailing zeros);
//   - every other type (BIGINT, INTEGER, DECIMAL(p,s) with its s digits,
//     VARCHAR, DATE): the same text, byte for byte.
func duckSameValue(typ string, duck, server *string) bool {
	if duck == nil || server == nil {
		return duck == nil && server == nil
	}
	a, b := *duck, *server
	switch typ {
	case "DOUBLE", "FLOAT":
		bits := 64
		if typ == "FLOAT" {
			bits = 32
		}
		x, err1 := strconv.ParseFloat(a, bits)
		y, err2 := strconv.ParseFloat(b, bits)
		return err1 == nil && err2 == nil && math.Float64bits(x) == math.Float64bits(y)
	case "TIMESTAMP":
		const layout = "2006-01-02 15:04:05.999999999"
		x, err1 := time.Parse(layout, a)
		y, err2 := time.Parse(layout, b)
		return err1 == nil && err2 == nil && x.Equal(y)
	}
	return a == b
}

func duckIDs(from, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = from + i
	}
	return out
}

func duckShow(s *string) string {
	if s == nil {
		return "NULL"
	}
	return strconv.Quote(*s)
}

// duckServer skips in -short mode, requires node and the DuckDB package
// (see TestDuckDBReadsTheCurrentSnapshot), starts the real binary on a
// new data directory and creates table duck.t with a column of each type
// the storage mapping covers. It returns DuckDB's reader script, the
// data directory, the server and a connection.
func duckServer(t *testing.T) (script, data string, p *proc, db *gosql.DB) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary and runs DuckDB under node")
	}
	script = filepath.Join(repoRoot(), "scripts", "duckdb", "read_parquet.js")
	_, err := os.Stat(filepath.Join(repoRoot(), "scripts", "duckdb", "node_modules", "@duckdb", "node-api", "package.json"))
	requireTool(t, "node and scripts/duckdb/node_modules/@duckdb/node-api (npm ci in scripts/duckdb/)", lookAny("node") && err == nil)

	bin := buildBinary(t)
	data = t.TempDir()
	p = startProc(t, bin, data)
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, db,
		"CREATE DATABASE duck",
		"CREATE TABLE duck.t (id BIGINT PRIMARY KEY, n INT, x DOUBLE, f FLOAT, amount DECIMAL(12,3), name VARCHAR(40), d DATE, ts DATETIME(6))",
	)
	return script, data, p, db
}
