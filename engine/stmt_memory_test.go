package engine_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// insertStatement returns a multi-row INSERT into table of at least size
// bytes, in the shape mysqldump writes: one VALUES list of rows
// (INT, DOUBLE, BIGINT, DOUBLE, VARCHAR), and the number of rows.
func insertStatement(table string, size int) (string, int) {
	var sb strings.Builder
	sb.Grow(size + 256)
	sb.WriteString("INSERT INTO " + table + " VALUES ")
	n := 0
	for sb.Len() < size {
		if n > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, "(%d,%d.5,%d,%g,'row%d')", n, n, n*7, float64(n)/3, n)
		n++
	}
	return sb.String(), n
}

// procMemory returns the resident set of process pid now and its peak
// since the last resetPeak (VmRSS, VmHWM of /proc/PID/status), in bytes.
func procMemory(tb testing.TB, pid int) (rss, peak int64) {
	tb.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		kb, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss = kb << 10
		case "VmHWM:":
			peak = kb << 10
		}
	}
	if rss == 0 || peak == 0 {
		tb.Fatalf("no VmRSS/VmHWM in /proc/%d/status", pid)
	}
	return rss, peak
}

// resetPeak sets the peak resident set of process pid (VmHWM) to its
// current resident set.
func resetPeak(tb testing.TB, pid int) {
	tb.Helper()
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
		tb.Fatal(err)
	}
}

// gcTrace follows the garbage collector's trace (GODEBUG=gctrace=1) of a
// process: the live heap after each collection.
type gcTrace struct {
	mu         sync.Mutex
	last, peak int64 // live heap after the last collection, and its maximum since reset
}

// follow reads the trace lines "gc N @…: … A->B->C MB, …" from r until
// it ends.
func (g *gcTrace) follow(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "gc ") {
			continue
		}
		i := strings.Index(line, " MB")
		if i < 0 {
			continue
		}
		heaps := strings.Split(line[strings.LastIndex(line[:i], " ")+1:i], "->")
		live, err := strconv.ParseInt(heaps[len(heaps)-1], 10, 64)
		if err != nil {
			continue
		}
		g.mu.Lock()
		g.last, g.peak = live<<20, max(g.peak, live<<20)
		g.mu.Unlock()
	}
}

// reset starts a new peak and returns the live heap now.
func (g *gcTrace) reset() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.peak = g.last
	return g.last
}

func (g *gcTrace) max() int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.peak
}

// BenchmarkInsertStatementMemory measures what one large multi-row
// INSERT (sent over TCP to the real binary, as mysqldump's output is
// replayed) costs the server in memory, per byte of statement, over a
// ladder of statement sizes (see statementMemory for the metrics). The
// server runs with --max-allowed-packet 256M so that the largest
// statement is accepted.
func BenchmarkInsertStatementMemory(b *testing.B) {
	for _, mb := range []int{9, 90} {
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			stmt, rows := insertStatement("m.t", mb<<20)
			statementMemory(b, stmt, int64(len(stmt)), rows, nil)
		})
	}
}

// BenchmarkLoadDataMemory measures the same for LOAD DATA INFILE of a
// CSV file of 500,000 and of 2,000,000 rows of an INT primary key and 10
// DOUBLE columns (51 and 205 MB), per byte of file: the rows, not the
// statement, are what the server holds, up to --insert-buffer (64 MiB),
// beyond which they are staged to data files; so peak-MB should not grow
// with the file past that.
func BenchmarkLoadDataMemory(b *testing.B) {
	for _, rows := range []int{500_000, 2_000_000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) { loadDataMemory(b, rows) })
	}
}

func loadDataMemory(b *testing.B, rows int) {
	var csv bytes.Buffer
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < rows; i++ {
		fmt.Fprintf(&csv, "%d", i)
		for c := 0; c < 10; c++ {
			fmt.Fprintf(&csv, ",%.6f", rng.NormFloat64())
		}
		csv.WriteByte('\n')
	}
	var path string
	stmt := "LOAD DATA INFILE '%s' INTO TABLE m.t FIELDS TERMINATED BY ','"
	statementMemory(b, "", int64(csv.Len()), rows, func(dataDir string) string {
		// Server files are read from secure_file_priv: by default the
		// folder files beside the data directory.
		path = filepath.Join(filepath.Dir(dataDir), "files", "bulk.csv")
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, csv.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
		return fmt.Sprintf(stmt, path)
	}, "id INT PRIMARY KEY, c0 DOUBLE, c1 DOUBLE, c2 DOUBLE, c3 DOUBLE, c4 DOUBLE, c5 DOUBLE, c6 DOUBLE, c7 DOUBLE, c8 DOUBLE, c9 DOUBLE")
}

// insertColumns are the columns of insertStatement's rows.
const insertColumns = "id INT, a DOUBLE, b BIGINT, c DOUBLE, name VARCHAR(32)"

// statementMemory runs the real binary and, b.N times, creates the table
// m.t (columns, default insertColumns), runs stmt (or the statement that
// prepare, given the data directory, returns) and drops the table. It
// reports, per byte of input (size: the statement's, or the file's):
//
//   - peak/stmt: the growth of the server's peak resident set (Linux
//     VmHWM) during the statements; it includes the Go heap's slack (GOGC
//     100: up to twice the live heap) and varies from run to run with the
//     collector's timing.
//   - live/stmt: the growth of the largest live heap that a garbage
//     collection found meanwhile (GODEBUG=gctrace=1), the memory the
//     statement held at once; steadier.
func statementMemory(b *testing.B, stmt string, size int64, rows int, prepare func(dataDir string) string, columns ...string) {
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		b.Skip("needs Linux /proc/PID/clear_refs")
	}
	cols := insertColumns
	if len(columns) > 0 {
		cols = columns[0]
	}
	bin := buildBinary(b)
	dir := b.TempDir()
	if prepare != nil {
		stmt = prepare(dir)
	}
	// The server's stderr, with the collector's trace, is read here:
	// startProc hands it os.Stderr.
	b.Setenv("GODEBUG", "gctrace=1")
	r, w, err := os.Pipe()
	if err != nil {
		b.Fatal(err)
	}
	stderr := os.Stderr
	os.Stderr = w
	// A small cache: what the server keeps of written files for later
	// reads is not what the statement needs.
	p := startProc(b, bin, dir, "--max-allowed-packet", "256M", "--cache-memory", "64M")
	os.Stderr = stderr
	w.Close()
	var gc gcTrace
	go gc.follow(r)
	defer p.kill()
	// maxAllowedPacket=0: the driver takes the server's limit instead of
	// its own default of 64 MiB.
	db := openDSN(b, "root:@tcp("+p.addr+")/?maxAllowedPacket=0")
	exec := func(q string) {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%.60s: %v", q, err)
		}
	}
	exec("CREATE DATABASE m")
	pid := p.cmd.Process.Pid
	resetPeak(b, pid)
	base, _ := procMemory(b, pid)
	liveBase := gc.reset()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		exec("CREATE TABLE m.t (" + cols + ")")
		b.StartTimer()
		exec(stmt)
		b.StopTimer()
		exec("DROP TABLE m.t")
		b.StartTimer()
	}
	b.StopTimer()
	_, peak := procMemory(b, pid)
	live := gc.max()
	b.ReportMetric(float64(size)/(1<<20), "stmt-MB")
	b.ReportMetric(float64(rows), "rows")
	b.ReportMetric(float64(peak-base)/(1<<20), "peak-MB")
	b.ReportMetric(float64(peak-base)/float64(size), "peak/stmt")
	b.ReportMetric(float64(live-liveBase)/float64(size), "live/stmt")
}
