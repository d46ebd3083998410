package main

// The front door, tested where users stand: the real binary, started as
// a new user starts it, over TCP with the Go MySQL driver. Each test
// names the one-line bug it catches.

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

// TestMain removes the binary that buildBinary builds once per run.
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }

// buildBinary builds this command once per test run.
func buildBinary(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return testbin.Build(t, root)
}

// runBinary runs the binary to completion (at most 20 s) and returns
// its stdout, stderr and exit code.
func runBinary(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	bin := buildBinary(t) // before the timeout starts: the first call builds
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir() // a server started by mistake writes nothing here
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("anomalydb %q did not exit within 20 s (did it start a server?)", args)
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// server is `anomalydb serve` running as a child process.
type server struct {
	cmd    *exec.Cmd
	ready  string // the ready line
	port   string // from the ready line
	mu     sync.Mutex
	stderr []string
	done   chan struct{} // closed when stderr reaches EOF
}

var readyLine = regexp.MustCompile(`^ready: mysql -h 127\.0\.0\.1 -P (\d+) -u root( -p)?( examples)?$`)

// startServer starts `anomalydb serve --addr 127.0.0.1:0 --data-dir TMP args...`
// and returns once it has printed its ready line, which it must within
// 60 s and before exiting.
func startServer(t *testing.T, args ...string) *server {
	t.Helper()
	args = append([]string{"serve", "--addr", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}, args...)
	cmd := exec.Command(buildBinary(t), args...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(s.kill)
	ready := make(chan string, 1)
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			s.mu.Lock()
			s.stderr = append(s.stderr, sc.Text())
			s.mu.Unlock()
			if strings.HasPrefix(sc.Text(), "ready:") {
				select {
				case ready <- sc.Text():
				default:
				}
			}
		}
	}()
	select {
	case s.ready = <-ready:
	case <-s.done:
		t.Fatalf("anomalydb %q exited without a ready line; stderr:\n%s", args, s.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("no ready line within 60 s; stderr:\n%s", s.log())
	}
	m := readyLine.FindStringSubmatch(s.ready)
	if m == nil {
		t.Fatalf("ready line %q, want %q", s.ready, readyLine)
	}
	s.port = m[1]
	return s
}

func (s *server) addr() string { return "127.0.0.1:" + s.port }

// log is what the server printed on stderr so far.
func (s *server) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.stderr, "\n")
}

// stop sends SIGTERM, waits for the exit and returns the whole stderr.
func (s *server) stop(t *testing.T) string {
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		t.Fatal("the server did not stop on SIGTERM")
	}
	if err := s.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	return s.log()
}

func (s *server) kill() {
	if s.cmd.ProcessState == nil {
		s.cmd.Process.Kill()
		<-s.done
		s.cmd.Wait()
	}
}

// open connects as user with password to db (which may be empty) and
// pings, returning the ping's error.
func (s *server) open(t *testing.T, user, password, db string) (*sql.DB, error) {
	t.Helper()
	cfg := mysql.NewConfig()
	cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = user, password, "tcp", s.addr(), db
	cfg.Timeout, cfg.ReadTimeout = 5*time.Second, 10*time.Second
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := sql.OpenDB(c)
	t.Cleanup(func() { conn.Close() })
	return conn, conn.Ping()
}

// writeExamples writes a folder with one gzipped CSV, tiny.csv.gz, of n
// rows in the layout of testdata/ (features, then the label; the server
// adds the id).
func writeExamples(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "tiny.csv.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	fmt.Fprintln(zw, "f0,f1,label")
	for i := 0; i < n; i++ {
		fmt.Fprintf(zw, "%d.5,%d,%d\n", i, -i, i%2)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadyLineThenConnect starts the server as `make run` does, waits
// for its ready line and runs the line's command at once. Bugs caught:
// the line printed before the listener is open or the examples are
// loaded (the README's Quickstart then fails with 2002 or an unknown
// database); the port taken from --addr (":0") instead of the listener;
// the per-connection and per-statement log lines shown at the default
// log level in the terminal where the user types.
func TestReadyLineThenConnect(t *testing.T) {
	s := startServer(t, "--examples", writeExamples(t, 7))
	if !strings.HasSuffix(s.ready, " -u root examples") {
		t.Fatalf("ready line %q does not open the database examples", s.ready)
	}
	db, err := s.open(t, "root", "", "examples")
	if err != nil {
		t.Fatalf("connecting right after %q: %v", s.ready, err)
	}
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM tiny").Scan(&n); err != nil || n != 7 {
		t.Fatalf("examples.tiny has %d rows (%v), want 7", n, err)
	}
	if _, err := db.Exec("SELECT * FROM no_such_table"); err == nil {
		t.Fatal("SELECT from a missing table succeeded")
	}
	db.Close()

	log := s.stop(t)
	if c := strings.Count(log, "ready:"); c != 1 {
		t.Errorf("%d ready lines, want 1:\n%s", c, log)
	}
	for _, noise := range []string{"NewConnection", "ConnectionClosed", "error running query", "secure_file_priv"} {
		if strings.Contains(log, noise) {
			t.Errorf("default log level shows %q:\n%s", noise, log)
		}
	}
}

// TestLogLevel checks that --log-level info shows the per-connection
// lines that the default hides, and that --quiet still starts. Bug
// caught: a --log-level that is parsed but never applied.
func TestLogLevel(t *testing.T) {
	s := startServer(t, "--examples", "", "--log-level", "info")
	db, err := s.open(t, "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if log := s.stop(t); !strings.Contains(log, "NewConnection") {
		t.Errorf("--log-level info: no per-connection line in\n%s", log)
	}

	q := startServer(t, "--examples", filepath.Join(t.TempDir(), "missing"), "--quiet")
	if log := q.stop(t); strings.Contains(log, "level=warning") || strings.Contains(log, "WARN") {
		t.Errorf("--quiet logs a warning:\n%s", log)
	}
}

// TestExamplesFolderMissing starts with --examples naming no folder (the
// binary run outside the repository). Bug caught: the folder silently
// ignored, so that the user's `mysql ... examples` fails with "database
// not found" and nothing says why.
func TestExamplesFolderMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "testdata")
	s := startServer(t, "--examples", missing)
	if strings.HasSuffix(s.ready, "examples") {
		t.Errorf("ready line %q names the database examples, which does not exist", s.ready)
	}
	if _, err := s.open(t, "root", "", ""); err != nil {
		t.Fatalf("the server must start without examples: %v", err)
	}
	log := s.stop(t)
	if !strings.Contains(log, "examples folder") || !strings.Contains(log, missing) {
		t.Errorf("no warning naming %s:\n%s", missing, log)
	}
}

// TestHelpListsEveryFlag runs every spelling of help. Bugs caught: a
// flag of serve (or a command) that the help does not list; help that
// exits non-zero or writes to stderr.
func TestHelpListsEveryFlag(t *testing.T) {
	fs, _ := newServeFlags()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"serve", "--help"}} {
		out, errOut, code := runBinary(t, args...)
		if code != 0 || errOut != "" {
			t.Errorf("anomalydb %q: exit %d, stderr %q; want 0 and nothing", args, code, errOut)
		}
		fs.VisitAll(func(f *flag.Flag) {
			if !strings.Contains(out, "--"+f.Name+" ") {
				t.Errorf("anomalydb %q does not list --%s:\n%s", args, f.Name, out)
			}
		})
		for _, cmd := range []string{"serve", "version", "help"} {
			if !regexp.MustCompile(`(?m)^\s+` + cmd + `\s`).MatchString(out) {
				t.Errorf("anomalydb %q does not list the command %s:\n%s", args, cmd, out)
			}
		}
	}
}

// TestUsageErrors checks that a bad command line exits 2 with a message
// and starts nothing. Bug caught: an unknown command or flag that is
// ignored (a typo such as --pasword starts a server without a password).
func TestUsageErrors(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, args := range [][]string{
		{},
		{"frob"},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--pasword", "x"},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "extra"},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--log-level", "loud"},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--max-connections", "0"},
		{"serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--connect-timeout", "1"},
		{"version", "extra"},
	} {
		out, errOut, code := runBinary(t, args...)
		if code != 2 || out != "" || !strings.Contains(errOut, "usage:") {
			t.Errorf("anomalydb %q: exit %d, stdout %q, stderr %q; want 2, nothing and a usage line", args, code, out, errOut)
		}
	}
}

// handshakeVersion reads the server version from the MySQL handshake
// packet (protocol 10: length, sequence, 0x0a, NUL-terminated version).
func handshakeVersion(t *testing.T, addr string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c, hdr[:]); err != nil {
		t.Fatal(err)
	}
	payload := make([]byte, int(hdr[0])|int(hdr[1])<<8|int(hdr[2])<<16)
	if _, err := io.ReadFull(c, payload); err != nil {
		t.Fatal(err)
	}
	end := strings.IndexByte(string(payload), 0)
	if len(payload) < 2 || payload[0] != 10 || end < 0 {
		t.Fatalf("not a protocol-10 handshake: %q", payload)
	}
	return string(payload[1:end])
}

// TestOneVersionString checks that the binary has one version string:
// `anomalydb version`, the handshake, VERSION() and @@version. Bugs
// caught: go-mysql-server's own @@version (8.0.31) and @@version_comment
// ("Dolt") left in place while the handshake says anomalydb; a missing
// @@innodb_version, which BI tools query on connecting.
func TestOneVersionString(t *testing.T) {
	out, _, code := runBinary(t, "version")
	if code != 0 {
		t.Fatalf("anomalydb version: exit %d", code)
	}
	want, _, _ := strings.Cut(out, "\n")
	if !strings.HasPrefix(want, "8.0.33-anomalydb-") {
		t.Fatalf("anomalydb version prints %q, want 8.0.33-anomalydb-<version>", want)
	}
	if !strings.Contains(out, "go1.") {
		t.Errorf("anomalydb version does not name the Go version:\n%s", out)
	}

	s := startServer(t, "--examples", "")
	if got := handshakeVersion(t, s.addr()); got != want {
		t.Errorf("handshake version %q, want %q", got, want)
	}
	db, err := s.open(t, "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	var fn, sysvar, comment string
	if err := db.QueryRow("SELECT VERSION(), @@version, @@version_comment").Scan(&fn, &sysvar, &comment); err != nil {
		t.Fatal(err)
	}
	if fn != want || sysvar != want {
		t.Errorf("VERSION() = %q, @@version = %q; want %q", fn, sysvar, want)
	}
	if !strings.Contains(comment, "anomalydb") {
		t.Errorf("@@version_comment = %q, want it to name anomalydb", comment)
	}
	var innodb string
	if err := db.QueryRow("SELECT @@innodb_version").Scan(&innodb); err != nil || innodb != "8.0.33" {
		t.Errorf("@@innodb_version = %q (%v), want 8.0.33", innodb, err)
	}
}

// TestLoginDenied1045 logs in as an unknown user and as root with a
// wrong or no password. Bug caught: go-mysql-server's auth methods all
// decline an unknown user and vitess aborts the handshake with the
// client-side code 2012 (the Go driver's 2012, the mysql client's 2027
// "malformed packet") instead of MySQL's 1045 "Access denied".
func TestLoginDenied1045(t *testing.T) {
	s := startServer(t, "--examples", "", "--password", "secret")
	if !strings.Contains(s.ready, " -p") {
		t.Errorf("ready line %q lacks -p although root has a password", s.ready)
	}
	if _, err := s.open(t, "root", "secret", ""); err != nil {
		t.Fatalf("root with its password: %v", err)
	}
	for _, c := range []struct{ user, password, using string }{
		{"nobody", "", "NO"},
		{"nobody", "secret", "YES"},
		{"root", "wrong", "YES"},
		{"root", "", "NO"},
	} {
		_, err := s.open(t, c.user, c.password, "")
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1045 {
			t.Errorf("%s with password %q: %v, want error 1045", c.user, c.password, err)
			continue
		}
		want := fmt.Sprintf("Access denied for user '%s'@'127.0.0.1' (using password: %s)", c.user, c.using)
		if me.Message != want {
			t.Errorf("%s with password %q: %q, want %q", c.user, c.password, me.Message, want)
		}
	}
}
