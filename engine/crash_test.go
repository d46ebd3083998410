package engine_test

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// buildBinary builds cmd/anomalydb once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "anomalydb")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/anomalydb")
	cmd.Dir = repoRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

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

func startProc(t *testing.T, bin, dir string) *proc {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(bin, "serve", "--addr", addr, "--data-dir", dir, "--examples", "", "--quiet")
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
// previous or its new contents.
func TestCrashDuringLoadData(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and loads large files")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	const initial, big = 1000, 200000
	small := filepath.Join(t.TempDir(), "small.csv")
	large := filepath.Join(t.TempDir(), "large.csv")
	writeCSV(t, small, 0, initial)
	writeCSV(t, large, initial, big)
	load := "LOAD DATA INFILE '%s' INTO TABLE c.t FIELDS TERMINATED BY ',' IGNORE 1 LINES"

	p := startProc(t, bin, dir)
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExec(t, db, "CREATE DATABASE c")
	mustExec(t, db, "CREATE TABLE c.t (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	mustExec(t, db, fmt.Sprintf(load, small))
	// Time one full load into a scratch table to aim the kills.
	mustExec(t, db, "CREATE TABLE c.scratch (id INT PRIMARY KEY, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(20))")
	start := time.Now()
	mustExec(t, db, fmt.Sprintf("LOAD DATA INFILE '%s' INTO TABLE c.scratch FIELDS TERMINATED BY ',' IGNORE 1 LINES", large))
	full := time.Since(start)
	db.Close()
	p.kill()
	t.Logf("a %d-row LOAD DATA takes %v", big, full)

	count := int64(initial)
	for i, frac := range []float64{0.2, 0.6, 0.95, 1.1} {
		p := startProc(t, bin, dir)
		db := openDSN(t, "root:@tcp("+p.addr+")/")
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
