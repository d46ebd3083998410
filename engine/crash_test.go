package engine_test

import (
	"bufio"
	"bytes"
	gosql "database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

// buildBinary builds cmd/anomalydb once per test run (testbin removes it
// when the tests are done).
func buildBinary(t testing.TB) string { return testbin.Build(t, repoRoot()) }

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// proc is the server binary running as a child process.
type proc struct {
	cmd  *exec.Cmd
	addr string
}

func startProc(t testing.TB, bin, dir string, args ...string) *proc {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(bin, append([]string{"serve", "--addr", addr, "--data-dir", dir, "--examples", "", "--quiet"}, args...)...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr}
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not start on %s", addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends sig and requires the server to exit with status 0 within 20 s.
func (p *proc) stop(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- p.cmd.Wait() }()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("exit after %v: %v", sig, err)
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("server did not stop on %v", sig)
	}
}

func (p *proc) kill() {
	if p.cmd.Process != nil && p.cmd.ProcessState == nil {
		p.cmd.Process.Signal(syscall.SIGKILL)
		p.cmd.Wait()
	}
}

func writeCSV(t *testing.T, path string, from, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "id,a,b,c,name")
	for i := from; i < from+n; i++ {
		fmt.Fprintf(w, "%d,%d.5,%d,%g,row%d\n", i, i, i*7, float64(i)/3, i)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestCrashDuringLoadData kills the server with SIGKILL while a large
// LOAD DATA runs and checks that the table then holds exactly its
// previous or its new rows; with the file read by the server, sent by
// the client (LOCAL, which go-mysql-server runs with a checkpoint per
// row: a commit per checkpoint would leave part of the file), and sent
// by the mariadb command-line client (--local-infile=1), as users load.
func TestCrashDuringLoadData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads large files")
	}
	t.Run("server file", func(t *testing.T) { crashDuringLoadData(t, false, goLoader(false)) })
	t.Run("LOCAL", func(t *testing.T) { crashDuringLoadData(t, true, goLoader(true)) })
	t.Run("LOCAL mariadb CLI", func(t *testing.T) {
		cli := lookPathAny("mariadb", "mysql")
		requireTool(t, "the mariadb or mysql client", cli != "")
		crashDuringLoadData(t, true, cliLoader(cli))
	})
}

// crashLoadFlags start the servers of TestCrashDuringLoadData with a
// small --insert-buffer, so that the loads stage their rows to data files
// as they go and the kills also land while staged files are written.
var crashLoadFlags = []string{"--insert-buffer", "1M"}

// A loader runs one LOAD DATA statement on the server at addr and
// returns once the server has answered (or the connection is lost).
type loader func(addr, stmt string) error

// goLoader runs the statement through Go's database/sql driver, which
// sends a LOCAL file when local is set.
func goLoader(local bool) loader {
	return func(addr, stmt string) error {
		dsn := "root:@tcp(" + addr + ")/"
		if local {
			dsn += "?allowAllFiles=true"
		}
		db, err := openDSNErr(dsn)
		if err != nil {
			return err
		}
		defer db.Close()
		_, err = db.Exec(stmt)
		return err
	}
}

// cliLoader runs the statement with the mysql command-line client cli
// (mariadb or mysql) and --local-infile=1; an exit status other than 0
// is an error carrying the client's output.
func cliLoader(cli string) loader {
	return func(addr, stmt string) error {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return err
		}
		out, err := exec.Command(cli, "--no-defaults", "--protocol=TCP", "-h", host, "-P", port, "-u", "root",
			"--local-infile=1", "-e", stmt).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", filepath.Base(cli), err, bytes.TrimSpace(out))
		}
		return nil
	}
}

// lookPathAny returns the path of the first of names found in PATH, or "".
func lookPathAny(names ...string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}

// crashDuringLoadData loads 1,000 rows, then kills the server at several
// points of a 200,000-row LOAD DATA run by load and requires, after each
// restart, the 1,000 rows alone or with all 200,000 new ones, every row
// holding the values writeCSV wrote for its id, and a writable table.
func crashDuringLoadData(t *testing.T, local bool, load loader) {
	bin := buildBinary(t)
	dir := t.TempDir()
	const initial, big = 1000, 200000
	// Server files are read from secure_file_priv: by default the
	// folder files beside the data directory.
	files := filepath.Join(filepath.Dir(dir), "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		t.Fatal(err)
	}
	small := filepath.Join(files, "small.csv")
	large := filepath.Join(files, "large.csv")
	writeCSV(t, small, 0, initial)
	writeCSV(t, large, initial, big)
	stmt := "LOAD DATA INFILE '%s' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"
	if local {
		stmt = "LOAD DATA LOCAL INFILE '%s' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"
	}
	// intact counts the rows that hold what writeCSV wrote for their id.
	const intact = "SELECT COUNT(*) FROM c.t WHERE a = id + 0.5 AND b = id * 7 AND name = CONCAT('row', id)"

	p := startProc(t, bin, dir, crashLoadFlags...)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExec(t, db, "CREATE DATABASE c")
	mustExec(t, db, "CREATE TABLE c.t (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	if err := load(p.addr, fmt.Sprintf(stmt, small)); err != nil {
		t.Fatal(err)
	}
	mustExec(t, db, "CREATE TABLE c.scratch (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	db.Close()
	p.kill()
	// Measure one full load into a scratch table, as the first
	// statement of a fresh server like the loads below, to aim the kills.
	p = startProc(t, bin, dir, crashLoadFlags...)
	start := p.progress()
	if err := load(p.addr, strings.Replace(fmt.Sprintf(stmt, large), "c.t", "c.scratch", 1)); err != nil {
		t.Fatal(err)
	}
	full := p.progress() - start
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM c.scratch"); n != big {
		t.Fatalf("the timing load loaded %d rows, want %d", n, big)
	}
	db.Close()
	p.kill()
	t.Logf("a %d-row LOAD DATA takes %v of the server's %s", big, full, progressUnit)

	// The kill points: at fractions of the measured load, and when the
	// first new file appears among the table's data files (its commit
	// has begun writing the rows).
	dataDir := filepath.Join(dir, "warehouse", "c", "t", "data")
	dataFiles := func() int {
		es, _ := os.ReadDir(dataDir)
		return len(es)
	}
	points := []struct {
		name   string
		frac   float64
		commit bool
	}{
		{name: "20%", frac: 0.2}, {name: "60%", frac: 0.6}, {name: "90%", frac: 0.9},
		{name: "its first data file", commit: true},
		{name: "97%", frac: 0.97}, {name: "110%", frac: 1.1},
	}
	count := int64(initial)
	for i, at := range points {
		p := startProc(t, bin, dir, crashLoadFlags...)
		db := openDSN(t, "root:@tcp("+p.addr+")/")
		got := queryInt(t, db, "SELECT COUNT(*) FROM c.t")
		if got != count {
			t.Fatalf("kill %d: table has %d rows at restart, want %d", i, got, count)
		}
		db.Close()
		files0 := dataFiles()
		reached := func() bool { return dataFiles() > files0 }
		if !at.commit {
			target := p.progress() + time.Duration(at.frac*float64(full))
			reached = func() bool { return p.progress() >= target }
		}
		done := make(chan error, 1)
		go func() { done <- load(p.addr, fmt.Sprintf(stmt, large)) }()
		err, during := p.killWhen(reached, done)
		when := map[bool]string{true: "during the statement", false: "after it returned"}[during]

		p2 := startProc(t, bin, dir, crashLoadFlags...)
		db2 := openDSN(t, "root:@tcp("+p2.addr+")/")
		after := queryInt(t, db2, "SELECT COUNT(*) FROM c.t")
		switch after {
		case count:
			t.Logf("kill %d at %s, %s: load lost whole (client error: %v)", i, at.name, when, err)
		case count + big:
			t.Logf("kill %d at %s, %s: load committed whole", i, at.name, when)
		default:
			t.Fatalf("kill %d at %s: table has %d rows, want %d or %d", i, at.name, after, count, count+big)
		}
		if n := queryInt(t, db2, intact); n != after {
			t.Fatalf("kill %d: %d of the %d rows hold the values of their line in the file", i, n, after)
		}
		if err == nil && after != count+big {
			t.Fatalf("kill %d: LOAD DATA reported success but its rows are gone", i)
		}
		if after == count+big {
			mustExec(t, db2, fmt.Sprintf("DELETE FROM c.t WHERE id >= %d", initial))
		}
		// The table is still writable after recovery.
		mustExec(t, db2, "INSERT INTO c.t VALUES (-1, 0, 0, 0, 'x')")
		mustExec(t, db2, "DELETE FROM c.t WHERE id = -1")
		db2.Close()
		p2.kill()
	}
}

// progressUnit names what proc.progress measures.
var progressUnit = map[bool]string{true: "CPU time", false: "wall time"}[cpuTimeOK()]

// progress is how far the server has got: its CPU time (user and
// system, from /proc) where it can be read, else the wall time. Kills
// aimed by CPU time land at the same point of a statement however busy
// the machine is; wall time does not when other processes share the
// cores.
func (p *proc) progress() time.Duration {
	if d, ok := cpuTime(p.cmd.Process.Pid); ok {
		return d
	}
	return time.Duration(time.Now().UnixNano())
}

// killWhen kills the server as soon as reached reports true (polled
// every millisecond) or the statement whose result done delivers has
// returned; it returns that result and whether the kill came while the
// statement ran.
func (p *proc) killWhen(reached func() bool, done <-chan error) (err error, during bool) {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !reached() {
		select {
		case err := <-done:
			p.kill()
			return err, false
		case <-tick.C:
		}
	}
	p.kill()
	return <-done, true
}

// cpuTime returns the user and system CPU time of process pid, read
// from /proc (ok is false where there is none). /proc counts in clock
// ticks of 1/100 s (USER_HZ) on every Linux architecture.
func cpuTime(pid int) (d time.Duration, ok bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// The command name, in parentheses, may hold spaces: the fields
	// after it start with the state (field 3); utime and stime are
	// fields 14 and 15.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, true
}

// cpuTimeOK reports whether cpuTime works here.
func cpuTimeOK() bool {
	_, ok := cpuTime(os.Getpid())
	return ok
}

// TestBinarySignalsAndPassword runs the real binary: SIGTERM and SIGINT shut it down
// cleanly, a root password is enforced, and it refuses to listen beyond
// loopback without one.
func TestBinarySignalsAndPassword(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()

	p := startProc(t, bin, dir, "--password", "s3cret")
	if _, err := openDSNErr("root:wrong@tcp(" + p.addr + ")/"); err == nil {
		t.Fatal("connected with a wrong password")
	}
	db := openDSN(t, "root:s3cret@tcp("+p.addr+")/")
	mustExec(t, db, "CREATE DATABASE sig")
	mustExec(t, db, "CREATE TABLE sig.t (a INT)")
	mustExec(t, db, "INSERT INTO sig.t VALUES (1), (2)")
	db.Close()
	p.stop(t, syscall.SIGTERM)

	p2 := startProc(t, bin, dir)
	db2 := openDSN(t, "root:@tcp("+p2.addr+")/")
	if n := queryInt(t, db2, "SELECT COUNT(*) FROM sig.t"); n != 2 {
		t.Fatalf("after SIGTERM and restart: %d rows, want 2", n)
	}
	mustExec(t, db2, "INSERT INTO sig.t VALUES (3)")
	db2.Close()
	p2.stop(t, syscall.SIGINT)

	p3 := startProc(t, bin, dir)
	db3 := openDSN(t, "root:@tcp("+p3.addr+")/")
	if n := queryInt(t, db3, "SELECT COUNT(*) FROM sig.t"); n != 3 {
		t.Fatalf("after SIGINT and restart: %d rows, want 3", n)
	}

	out, err := exec.Command(bin, "serve", "--addr", "0.0.0.0:0", "--data-dir", t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "password") {
		t.Fatalf("listening on 0.0.0.0 without a password: err %v, output %s", err, out)
	}
}

// crashRows is the number of rows crashTable loads.
const crashRows = 200_000

// crashTable starts the real binary (with flags) on a new data directory
// and loads table c.t (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE,
// name VARCHAR(20)) with crashRows rows of writeCSV by a server-side LOAD
// DATA, for the crash tests of statements that rewrite a large table.
func crashTable(t *testing.T, flags ...string) (bin, dir string, p *proc) {
	t.Helper()
	bin = buildBinary(t)
	dir = t.TempDir()
	files := filepath.Join(filepath.Dir(dir), "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(files, "rows.csv")
	writeCSV(t, data, 0, crashRows)
	p = startProc(t, bin, dir, flags...)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	defer db.Close()
	mustExecAll(t, db,
		"CREATE DATABASE c",
		"CREATE TABLE c.t (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))",
		"LOAD DATA INFILE '"+data+"' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES")
	return bin, dir, p
}

// TestCrashDuringAlterTable kills the server with SIGKILL while ALTER
// TABLE rewrites a 200,000-row table (ADD COLUMN with a default, then
// MODIFY of a column's type, then one statement of five clauses that
// rewrites the rows three times and changes the indexes) and checks that
// after a restart the table has either its old columns and indexes or
// its new ones, with every row: the columns property, the index
// definitions, the Iceberg schema and the rewritten data files are one
// commit, also for several clauses. Each kill runs on a copy of the data
// directory as it was before the ALTER.
func TestCrashDuringAlterTable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and rewrites a large table")
	}
	bin, dir, p := crashTable(t)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	const contents = "SELECT COUNT(*), SUM(id), SUM(a) FROM c.t"
	want := queryRows(t, db, contents)
	db.Close()
	p.kill()

	// columns is the table's column and index lists as information_schema
	// shows them.
	columns := func(db *gosql.DB) string {
		var cols []string
		for _, r := range queryRows(t, db, "SELECT column_name, column_type FROM information_schema.columns "+
			"WHERE table_schema = 'c' AND table_name = 't' ORDER BY ordinal_position") {
			cols = append(cols, r[0]+" "+r[1])
		}
		for _, r := range queryRows(t, db, "SELECT index_name, column_name FROM information_schema.statistics "+
			"WHERE table_schema = 'c' AND table_name = 't' ORDER BY index_name, seq_in_index") {
			cols = append(cols, "index "+r[0]+"("+r[1]+")")
		}
		return strings.Join(cols, ", ")
	}
	for _, alter := range []string{
		"ALTER TABLE c.t ADD COLUMN z INT NOT NULL DEFAULT 5 AFTER id",
		"ALTER TABLE c.t MODIFY b DOUBLE",
		"ALTER TABLE c.t ADD COLUMN z2 INT NOT NULL DEFAULT 3 FIRST, DROP COLUMN name, MODIFY c FLOAT, ADD INDEX ib (b), RENAME COLUMN b TO bb",
	} {
		// Run it to the end once, on a copy: its time aims the kills,
		// and its result is the state the next ALTER starts from.
		done := t.TempDir()
		copyDir(t, dir, done)
		p := startProc(t, bin, done)
		db := openDSN(t, "root:@tcp("+p.addr+")/")
		before := columns(db)
		start := time.Now()
		mustExec(t, db, alter)
		full := time.Since(start)
		after := columns(db)
		db.Close()
		p.kill()
		t.Logf("%s takes %v on %d rows", alter, full, crashRows)

		for _, frac := range []float64{0.3, 0.8, 1.05} {
			work, err := killDuring(t, bin, dir, nil, alter, time.Duration(frac*float64(full)))

			p2 := startProc(t, bin, work)
			db2 := openDSN(t, "root:@tcp("+p2.addr+")/")
			got := columns(db2)
			switch got {
			case before:
				t.Logf("kill at %.0f%%: ALTER lost whole (client error: %v)", frac*100, err)
			case after:
				t.Logf("kill at %.0f%%: ALTER committed whole", frac*100)
			default:
				t.Fatalf("kill at %.0f%% of %s: columns %q, want %q or %q", frac*100, alter, got, before, after)
			}
			if err == nil && got != after {
				t.Fatalf("%s reported success but its columns are gone", alter)
			}
			if rows := queryRows(t, db2, contents); !reflect.DeepEqual(rows, want) {
				t.Fatalf("kill at %.0f%% of %s: contents %v, want %v", frac*100, alter, rows, want)
			}
			if got == after && strings.Contains(alter, "DEFAULT 5") {
				if n := queryInt(t, db2, "SELECT COUNT(*) FROM c.t WHERE z = 5"); n != crashRows {
					t.Fatalf("%d rows have the new column's default, want %d", n, crashRows)
				}
			}
			if got == after && strings.Contains(alter, "DEFAULT 3") {
				if n := queryInt(t, db2, "SELECT COUNT(*) FROM c.t WHERE z2 = 3 AND bb = id * 7"); n != crashRows {
					t.Fatalf("%d rows have the new column's default and b's values, want %d", n, crashRows)
				}
			}
			db2.Close()
			p2.kill()
		}
		dir = done
	}
}

// killDuring copies the data directory dir to a new one, starts the
// server bin on it (with flags), sends stmt over TCP and kills the
// server (kill -9) after the given time. It returns the copy and the
// error the client saw (nil if stmt returned before the kill).
func killDuring(t *testing.T, bin, dir string, flags []string, stmt string, after time.Duration) (work string, err error) {
	t.Helper()
	work = t.TempDir()
	copyDir(t, dir, work)
	p := startProc(t, bin, work, flags...)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	defer db.Close()
	errc := make(chan error, 1)
	go func() {
		_, err := db.Exec(stmt)
		errc <- err
	}()
	time.Sleep(after)
	p.kill()
	return work, <-errc
}

// copyDir copies the files of directory src into dst (which exists).
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCrashDuringUpdateDelete kills the real binary (kill -9) at several
// moments of an UPDATE and a DELETE that change rows in every data file
// of a 200,000-row table (files of 256 KB, so about thirty of them, each
// given a position delete file by the statement), of a point UPDATE and
// a point DELETE by primary key (one delete file each), and of a DELETE
// of a range that passes the compaction threshold of its data file (a
// row delta, then the compaction that rewrites the file without its
// deleted rows): after a restart the table holds exactly the contents
// before the statement or after it, never a mix (some delete files
// committed, others not), and a statement reported successful is never
// lost. The same for the point DELETE after which maintenance rewrites
// the delete files of more than 16 delete manifests. Bugs caught: a
// change committed file by file, delete files or replaced files removed
// before the commit, a commit acknowledged before it is durable, a
// compaction or a rewrite of delete files that loses or resurrects rows.
func TestCrashDuringUpdateDelete(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and rewrites a large table")
	}
	flags := []string{"--data-file-size", "256K"}
	bin, dir, p := crashTable(t, flags...)
	p.kill()
	if n, _ := filepath.Glob(filepath.Join(dir, "warehouse", "c", "t", "data", "*.parquet")); len(n) < 10 {
		t.Fatalf("%d data files, want many (--data-file-size 256K)", len(n))
	}
	const compaction = "DELETE FROM c.t WHERE id BETWEEN 1000 AND 3000"
	for _, stmt := range []string{
		"UPDATE c.t SET a = a + 1 WHERE id % 10 = 3",
		"DELETE FROM c.t WHERE id % 100 = 7",
		"UPDATE c.t SET a = a + 1 WHERE id = 123457",
		"DELETE FROM c.t WHERE id = 7654",
		compaction,
	} {
		var maint string
		dir, maint = crashStatement(t, bin, dir, flags, stmt)
		if (maint == "compaction") != (stmt == compaction) {
			t.Fatalf("%s: the last commit's maintenance %q; want a compaction after (and only after) %s", stmt, maint, compaction)
		}
	}

	// Point DELETEs, each on another data file, until one is followed by
	// the rewrite of the delete files of many delete manifests
	// (storage/delete_manifests.go): found on a copy, then the deletes
	// before it are applied and that one is killed at the same moments.
	scratch := t.TempDir()
	copyDir(t, dir, scratch)
	p = startProc(t, bin, scratch, flags...)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	var point []string
	for i := 0; ; i++ {
		if i == 40 {
			t.Fatal("40 point DELETEs and no rewrite of the delete files")
		}
		point = append(point, fmt.Sprintf("DELETE FROM c.t WHERE id = %d", 4000+i*(crashRows-4000)/40))
		mustExec(t, db, point[i])
		if latestMetadata(t, scratch, "c", "t").currentSnapshot().Summary["anomalydb.maintenance"] == "delete-files" {
			break
		}
	}
	db.Close()
	p.kill()
	last := len(point) - 1
	p = startProc(t, bin, dir, flags...)
	db = openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, db, point[:last]...)
	db.Close()
	p.kill()
	if _, maint := crashStatement(t, bin, dir, flags, point[last]); maint != "delete-files" {
		t.Fatalf("%s: the last commit's maintenance %q, want delete-files", point[last], maint)
	}
}

// crashStatement runs stmt on a copy of the data directory dir to the
// end, timing it, then on further copies kills the server (kill -9) at
// 30 %, 70 %, 95 % and 110 % of that time; after each restart the table
// c.t must hold exactly its contents before stmt or after it, all of
// stmt if the client saw it succeed, and still take writes. It returns
// the copy stmt completed on and the maintenance property of its last
// commit ("" for none).
func crashStatement(t *testing.T, bin, dir string, flags []string, stmt string) (done, maint string) {
	t.Helper()
	const contents = "SELECT COUNT(*), SUM(id), SUM(a) FROM c.t"
	// Once to the end on a copy: its time aims the kills, its
	// result is the state the next statement starts from.
	done = t.TempDir()
	copyDir(t, dir, done)
	p := startProc(t, bin, done, flags...)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	before := queryRows(t, db, contents)
	start := time.Now()
	mustExec(t, db, stmt)
	full := time.Since(start)
	after := queryRows(t, db, contents)
	db.Close()
	p.kill()
	t.Logf("%s takes %v on %d rows", stmt, full, crashRows)
	maint = latestMetadata(t, done, "c", "t").currentSnapshot().Summary["anomalydb.maintenance"]

	for _, frac := range []float64{0.3, 0.7, 0.95, 1.1} {
		work, err := killDuring(t, bin, dir, flags, stmt, time.Duration(frac*float64(full)))

		p2 := startProc(t, bin, work, flags...)
		db2 := openDSN(t, "root:@tcp("+p2.addr+")/")
		got := queryRows(t, db2, contents)
		switch {
		case reflect.DeepEqual(got, before):
			t.Logf("kill at %.0f%%: %s lost whole (client error: %v)", frac*100, stmt, err)
		case reflect.DeepEqual(got, after):
			t.Logf("kill at %.0f%%: %s committed whole", frac*100, stmt)
		default:
			t.Fatalf("kill at %.0f%% of %s: contents %v, want %v or %v", frac*100, stmt, got, before, after)
		}
		if err == nil && !reflect.DeepEqual(got, after) {
			t.Fatalf("%s reported success but its changes are gone", stmt)
		}
		mustExec(t, db2, "INSERT INTO c.t VALUES (-1, 0, 0, 0, 'x')") // still writable
		db2.Close()
		p2.kill()
	}
	return done, maint
}
