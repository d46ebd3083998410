package engine_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

// buildBinary builds cmd/anomalydb once per test run (testbin removes it
// when the tests are done).
func buildBinary(t *testing.T) string { return testbin.Build(t, repoRoot()) }

func freePort(t *testing.T) string {
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

func startProc(t *testing.T, bin, dir string, args ...string) *proc {
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
// previous or its new contents; with the file read by the server and sent
// by the client (LOCAL, which go-mysql-server runs with a checkpoint per
// row: a commit per checkpoint would leave part of the file).
func TestCrashDuringLoadData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads large files")
	}
	for _, local := range []bool{false, true} {
		name := map[bool]string{false: "server file", true: "LOCAL"}[local]
		t.Run(name, func(t *testing.T) { crashDuringLoadData(t, local) })
	}
}

func crashDuringLoadData(t *testing.T, local bool) {
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
	load := "LOAD DATA INFILE '%s' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"
	dsn := "root:@tcp(%s)/"
	if local {
		load = "LOAD DATA LOCAL INFILE '%s' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"
		dsn = "root:@tcp(%s)/?allowAllFiles=true"
	}

	p := startProc(t, bin, dir)
	db := openDSN(t, fmt.Sprintf(dsn, p.addr))
	mustExec(t, db, "CREATE DATABASE c")
	mustExec(t, db, "CREATE TABLE c.t (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	mustExec(t, db, fmt.Sprintf(load, small))
	// Time one full load into a scratch table to aim the kills.
	mustExec(t, db, "CREATE TABLE c.scratch (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	start := time.Now()
	mustExec(t, db, strings.Replace(fmt.Sprintf(load, large), "c.t", "c.scratch", 1))
	full := time.Since(start)
	db.Close()
	p.kill()
	t.Logf("a %d-row LOAD DATA takes %v", big, full)

	count := int64(initial)
	for i, frac := range []float64{0.2, 0.6, 0.9, 0.97, 1.0, 1.1} {
		p := startProc(t, bin, dir)
		db := openDSN(t, fmt.Sprintf(dsn, p.addr))
		got := queryInt(t, db, "SELECT COUNT(*) FROM c.t")
		if got != count {
			t.Fatalf("kill %d: table has %d rows at restart, want %d", i, got, count)
		}
		done := make(chan error, 1)
		go func() {
			_, err := db.Exec(fmt.Sprintf(load, large))
			done <- err
		}()
		time.Sleep(time.Duration(frac * float64(full)))
		p.kill()
		err := <-done
		db.Close()

		p2 := startProc(t, bin, dir)
		db2 := openDSN(t, "root:@tcp("+p2.addr+")/")
		after := queryInt(t, db2, "SELECT COUNT(*) FROM c.t")
		switch after {
		case count:
			t.Logf("kill %d at %.0f%%: load lost whole (client error: %v)", i, frac*100, err)
		case count + big:
			t.Logf("kill %d at %.0f%%: load committed whole", i, frac*100)
			mustExec(t, db2, fmt.Sprintf("DELETE FROM c.t WHERE id >= %d", initial))
		default:
			t.Fatalf("kill %d at %.0f%%: table has %d rows, want %d or %d", i, frac*100, after, count, count+big)
		}
		if err == nil && after != count+big {
			t.Fatalf("kill %d: LOAD DATA reported success but its rows are gone", i)
		}
		// The table is still writable after recovery.
		mustExec(t, db2, "INSERT INTO c.t VALUES (-1, 0, 0, 0, 'x')")
		mustExec(t, db2, "DELETE FROM c.t WHERE id = -1")
		db2.Close()
		p2.kill()
	}
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
