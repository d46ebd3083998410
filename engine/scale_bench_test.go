package engine_test

import (
	"bufio"
	"bytes"
	"cmp"
	gosql "database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/storage"
)

// scaleColumns is the width of BenchmarkScale's table: a BIGINT primary
// key and this many DOUBLE columns.
const scaleColumns = 16

// scaleWrites is how many single-row UPDATEs and DELETEs BenchmarkScale
// times (each rewrites the data file of its row).
const scaleWrites = 50

// scaleRows returns the table sizes BenchmarkScale runs, side by side:
// ANOMALYDB_SCALE_ROWS (comma-separated) or 1,000,000 and 10,000,000.
func scaleRows(b *testing.B) []int {
	spec := os.Getenv("ANOMALYDB_SCALE_ROWS")
	if spec == "" {
		spec = "1000000,10000000"
	}
	var out []int
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 {
			b.Fatalf("ANOMALYDB_SCALE_ROWS: %q is not a row count of at least 1000", f)
		}
		out = append(out, n)
	}
	return out
}

// scaleValue is the value of column c of row i of BenchmarkScale's table:
// seeded normal noise, with every 1000th row shifted far out (anomalies).
func scaleRow(rng *rand.Rand, i int, vals []float64) {
	for c := range vals {
		vals[c] = rng.NormFloat64()
		if i%1000 == 999 {
			vals[c] += 6
		}
	}
}

// BenchmarkScale runs the real binary on a table of N rows × 16 DOUBLE
// columns + BIGINT primary key for each N of scaleRows, once each, and
// reports (b.ReportMetric; one line per N, so growth with N shows):
//
//   - load_rows/s: server-side LOAD DATA INFILE of the table's CSV;
//     insert_select_rows/s: INSERT INTO copy SELECT * FROM the table;
//   - rss_after_load_MB, rss_after_restart_MB, rss_peak_scoring_MB: the
//     server's resident set (Linux /proc), after the load, after a
//     restart, and its peak during the scans below (in a server started
//     again just before them, then an untimed scan that fills the cache);
//   - restart_s: SIGTERM, start again, until it accepts connections;
//     first_read_s: the first statement that reads the table's rows after
//     it (SUM of a column: COUNT(*) alone is answered from metadata);
//   - point_select_p50_ms / _p99_ms: SELECT … WHERE id = ? for 1000
//     random ids; update_p50_ms, delete_p50_ms: single-row UPDATE and
//     DELETE by primary key (scaleWrites each), and their p99;
//   - insert16_rows/s, insert16_p50_ms, insert16_p99_ms,
//     insert16_max_ms: 16 connections each inserting single rows (new
//     keys, autocommit) as fast as it can for scaleInsertTime (30 s, or
//     ANOMALYDB_SCALE_INSERT_SECONDS), and the statements' latency (the
//     longest shows a stall the quantiles hide);
//   - train_s, rss_peak_train_MB: CREATE DETECTOR … USING deep_svdd
//     (hidden '64,32', batch 256, 1 epoch) on all the rows, and
//     rss_before_train_MB, the resident set it starts from (what the
//     writes above left: the cache, the key index, the heap's headroom);
//   - score_rows/s: SELECT COUNT(*) … WHERE anomaly_score(…) > x over the
//     16 columns; scan_rows/s: SELECT COUNT(*) … WHERE c0 > x in the same
//     run (each the median of three, alternately, after a scan that fills
//     the cache); score_vs_scan: their ratio; inprocess_rows/s: the saved model
//     scoring the same rows from Arrow batches in this process;
//     score_vs_inprocess: ratio; score_cpu_s: the server's CPU time
//     (user and system, /proc) during the scoring scan, median of three,
//     which varies less between runs than the rate.
//
// The server runs with --cache-memory scaleCache (512M), smaller than the
// table's data at 10M rows (1.4 GB), so that its memory during scans
// shows whether it is bounded by the cache rather than the table.
//
// It needs about 200 bytes of disk per row for the CSV and the table.
// Run it alone:
//
//	ANOMALYDB_SCALE_ROWS=1000000,10000000 go test ./engine -run '^$' -bench Scale -benchtime 1x -timeout 60m
//
// scaleCache is the --cache-memory of BenchmarkScale's server, unless
// ANOMALYDB_SCALE_CACHE gives another (to see at 1M rows what a table
// larger than the cache costs, as at 10M rows with 512M).
var scaleCache = cmp.Or(os.Getenv("ANOMALYDB_SCALE_CACHE"), "512M")

func BenchmarkScale(b *testing.B) {
	if _, err := os.Stat("/proc/self/clear_refs"); err != nil {
		b.Skip("needs Linux /proc")
	}
	bin := buildBinary(b)
	for _, n := range scaleRows(b) {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			for range b.N {
				scaleRun(b, bin, n)
			}
		})
	}
}

func scaleRun(b *testing.B, bin string, n int) {
	dir := b.TempDir()
	data := filepath.Join(dir, "data")
	csvPath := filepath.Join(dir, "files", "big.csv")
	if err := os.MkdirAll(filepath.Dir(csvPath), 0o750); err != nil {
		b.Fatal(err)
	}
	writeScaleCSV(b, csvPath, n)

	cols := make([]string, scaleColumns)
	defs := make([]string, scaleColumns)
	for c := range cols {
		cols[c] = fmt.Sprintf("c%d", c)
		defs[c] = cols[c] + " DOUBLE"
	}
	features := strings.Join(cols, ", ")
	create := "CREATE TABLE %s (id BIGINT PRIMARY KEY, " + strings.Join(defs, ", ") + ")"

	p := startProc(b, bin, data, "--cache-memory", scaleCache)
	db := scaleDB(b, p)
	scaleExec(b, db, "CREATE DATABASE s")
	scaleExec(b, db, fmt.Sprintf(create, "s.big"))
	start := time.Now()
	scaleExec(b, db, fmt.Sprintf("LOAD DATA INFILE '%s' INTO TABLE s.big FIELDS TERMINATED BY ','", csvPath))
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "load_rows/s")
	rss, _ := procMemory(b, p.cmd.Process.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "rss_after_load_MB")

	scaleExec(b, db, fmt.Sprintf(create, "s.big2"))
	start = time.Now()
	scaleExec(b, db, "INSERT INTO s.big2 SELECT * FROM s.big")
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "insert_select_rows/s")
	scaleExec(b, db, "DROP TABLE s.big2")
	db.Close()

	// Restart.
	scaleStop(b, p)
	start = time.Now()
	p = startProc(b, bin, data, "--cache-memory", scaleCache)
	b.ReportMetric(time.Since(start).Seconds(), "restart_s")
	rss, _ = procMemory(b, p.cmd.Process.Pid)
	b.ReportMetric(float64(rss)/(1<<20), "rss_after_restart_MB")
	db = scaleDB(b, p)
	start = time.Now()
	var got int64
	var sum float64
	if err := db.QueryRow("SELECT COUNT(c0), SUM(c0) FROM s.big").Scan(&got, &sum); err != nil || got != int64(n) {
		b.Fatalf("COUNT(c0) after restart: %d, %v; want %d", got, err, n)
	}
	b.ReportMetric(time.Since(start).Seconds(), "first_read_s")

	// Point reads and writes by primary key.
	rng := rand.New(rand.NewPCG(7, 8))
	var lat []time.Duration
	for range 1000 {
		id := rng.IntN(n)
		var v float64
		t0 := time.Now()
		if err := db.QueryRow("SELECT c0 FROM s.big WHERE id = ?", id).Scan(&v); err != nil {
			b.Fatalf("point select of id %d: %v", id, err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(quantileMS(lat, 0.5), "point_select_p50_ms")
	b.ReportMetric(quantileMS(lat, 0.99), "point_select_p99_ms")
	writes := scaleWrites
	for _, stmt := range []string{"UPDATE s.big SET c1 = c1 + 1 WHERE id = ?", "DELETE FROM s.big WHERE id = ?"} {
		lat = lat[:0]
		for range writes {
			id := rng.IntN(n)
			t0 := time.Now()
			if _, err := db.Exec(stmt, id); err != nil {
				b.Fatalf("%s (%d): %v", stmt, id, err)
			}
			lat = append(lat, time.Since(t0))
		}
		b.ReportMetric(quantileMS(lat, 0.5), strings.ToLower(strings.Fields(stmt)[0])+"_p50_ms")
		b.ReportMetric(quantileMS(lat, 0.99), strings.ToLower(strings.Fields(stmt)[0])+"_p99_ms")
	}

	// 16 connections inserting single rows, each statement its own
	// autocommit transaction, for scaleInsertTime.
	inserted, lat := scaleInserts(b, p.addr, n)
	b.ReportMetric(float64(inserted)/scaleInsertTime.Seconds(), "insert16_rows/s")
	b.ReportMetric(quantileMS(lat, 0.5), "insert16_p50_ms")
	b.ReportMetric(quantileMS(lat, 0.99), "insert16_p99_ms")
	b.ReportMetric(quantileMS(lat, 1), "insert16_max_ms")

	// Training.
	pid := p.cmd.Process.Pid
	rss, _ = procMemory(b, pid)
	b.ReportMetric(float64(rss)/(1<<20), "rss_before_train_MB")
	resetPeak(b, pid)
	start = time.Now()
	scaleExec(b, db, "CREATE DETECTOR s.d USING deep_svdd WITH (hidden = '64,32', batch_size = 256, epochs = 1, seed = 0) AS SELECT "+features+" FROM s.big")
	b.ReportMetric(time.Since(start).Seconds(), "train_s")
	_, peak := procMemory(b, pid)
	b.ReportMetric(float64(peak)/(1<<20), "rss_peak_train_MB")

	// Scoring next to a plain scan filter, same rows, same run.
	rows := int64(n - writes + inserted) // the DELETEs above removed writes rows
	timeCount := func(q string) float64 {
		t0 := time.Now()
		var c int64
		if err := db.QueryRow(q).Scan(&c); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		return float64(rows) / time.Since(t0).Seconds()
	}
	// A fresh server, so that its peak shows the scans (and the cache
	// they fill), not what the writes and the training left behind.
	db.Close()
	scaleStop(b, p)
	p = startProc(b, bin, data, "--cache-memory", scaleCache)
	db = scaleDB(b, p)
	pid = p.cmd.Process.Pid
	resetPeak(b, pid)
	timeCount("SELECT COUNT(*) FROM s.big WHERE c1 > -1000000") // the timed scans find the cache as this one leaves it
	// Each three times, alternately, and the median of each: a server's
	// first scans after the fill pay for memory the fill did not leave
	// behind (page faults), and runs on this machine vary by a quarter
	// from one server process to the next.
	var scans, scores, scoreCPU []float64
	for range 3 {
		scans = append(scans, timeCount("SELECT COUNT(*) FROM s.big WHERE c0 > -1000000"))
		c0 := procCPU(b, pid)
		scores = append(scores, timeCount("SELECT COUNT(*) FROM s.big WHERE anomaly_score('s.d', "+features+") > 1"))
		scoreCPU = append(scoreCPU, procCPU(b, pid)-c0)
	}
	slices.Sort(scans)
	slices.Sort(scores)
	slices.Sort(scoreCPU)
	scan, score := scans[1], scores[1]
	b.ReportMetric(scoreCPU[1], "score_cpu_s")
	_, peak = procMemory(b, pid)
	b.ReportMetric(float64(peak)/(1<<20), "rss_peak_scoring_MB")
	b.ReportMetric(scan, "scan_rows/s")
	b.ReportMetric(score, "score_rows/s")
	b.ReportMetric(score/scan, "score_vs_scan")
	db.Close()
	scaleStop(b, p)

	inproc := scoreInProcess(b, data, n)
	b.ReportMetric(inproc, "inprocess_rows/s")
	b.ReportMetric(score/inproc, "score_vs_inprocess")
}

// scoreInProcess loads detector s.d from the stopped server's data
// directory and scores the table's rows (regenerated) from Arrow batches
// of 65,536 rows, as the engine's batches are; rows/s.
func scoreInProcess(b *testing.B, data string, n int) float64 {
	store, err := storage.Open(data)
	if err != nil {
		b.Fatal(err)
	}
	blobs, err := store.LoadDetectors("s")
	store.Close()
	if err != nil {
		b.Fatal(err)
	}
	m, err := detectors.UnmarshalModel(blobs["d"])
	if err != nil {
		b.Fatal(err)
	}
	fields := make([]arrow.Field, scaleColumns)
	feats := make([]int, scaleColumns)
	for c := range fields {
		fields[c] = arrow.Field{Name: fmt.Sprintf("c%d", c), Type: arrow.PrimitiveTypes.Float64}
		feats[c] = c
	}
	sc := arrow.NewSchema(fields, nil)
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, scaleColumns)
	var batches []arrow.RecordBatch
	bld := array.NewRecordBuilder(memory.DefaultAllocator, sc)
	defer bld.Release()
	for i := 0; i < n; i++ {
		scaleRow(rng, i, vals)
		for c, v := range vals {
			bld.Field(c).(*array.Float64Builder).Append(v)
		}
		if (i+1)%65536 == 0 || i == n-1 {
			batches = append(batches, bld.NewRecordBatch())
		}
	}
	defer func() {
		for _, r := range batches {
			r.Release()
		}
	}()
	var dst []float64
	start := time.Now()
	for _, r := range batches {
		if dst, err = m.ScoreBatch(r, feats, dst); err != nil {
			b.Fatal(err)
		}
	}
	return float64(n) / time.Since(start).Seconds()
}

// writeScaleCSV writes n rows of id and scaleColumns values to path.
func writeScaleCSV(b *testing.B, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, scaleColumns)
	buf := make([]byte, 0, 512)
	for i := 0; i < n; i++ {
		scaleRow(rng, i, vals)
		buf = strconv.AppendInt(buf[:0], int64(i), 10)
		for _, v := range vals {
			buf = append(buf, ',')
			buf = strconv.AppendFloat(buf, v, 'g', -1, 64)
		}
		buf = append(buf, '\n')
		w.Write(buf)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// scaleInsertTime is how long BenchmarkScale's 16 connections insert
// rows: 30 s, or ANOMALYDB_SCALE_INSERT_SECONDS.
var scaleInsertTime = func() time.Duration {
	if s, err := strconv.Atoi(os.Getenv("ANOMALYDB_SCALE_INSERT_SECONDS")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 30 * time.Second
}()

// scaleInserts has 16 connections to the server at addr insert single
// rows into s.big, keys n, n+1, … (above the loaded rows'), each statement
// autocommitted, until scaleInsertTime has passed; it returns the rows
// inserted and every statement's latency.
func scaleInserts(b *testing.B, addr string, n int) (int, []time.Duration) {
	const conns = 16
	lats := make([][]time.Duration, conns)
	errs := make(chan error, conns)
	stop := time.Now().Add(scaleInsertTime)
	var wg sync.WaitGroup
	for c := range conns {
		db, err := openDSNErr("root:@tcp(" + addr + ")/")
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		db.SetMaxOpenConns(1)
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 9))
			vals := make([]float64, scaleColumns)
			var q strings.Builder
			for j := 0; time.Now().Before(stop); j++ {
				id := n + j*conns + c
				scaleRow(rng, id, vals)
				q.Reset()
				fmt.Fprintf(&q, "INSERT INTO s.big VALUES (%d", id)
				for _, v := range vals {
					fmt.Fprintf(&q, ", %g", v)
				}
				q.WriteString(")")
				t0 := time.Now()
				if _, err := db.Exec(q.String()); err != nil {
					errs <- fmt.Errorf("connection %d: %s: %w", c, q.String(), err)
					return
				}
				lats[c] = append(lats[c], time.Since(t0))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	return len(all), all
}

func scaleDB(b *testing.B, p *proc) *gosql.DB {
	db, err := openDSNErr("root:@tcp(" + p.addr + ")/")
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	return db
}

func scaleExec(b *testing.B, db *gosql.DB, q string) {
	if _, err := db.Exec(q); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
}

// scaleStop stops the server with SIGTERM and waits for it to exit.
func scaleStop(b *testing.B, p *proc) {
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		b.Fatal(err)
	}
	if err := p.cmd.Wait(); err != nil {
		b.Fatalf("server exit: %v", err)
	}
}

// quantileMS is the q-quantile of lat (nearest rank) in milliseconds.
func quantileMS(lat []time.Duration, q float64) float64 {
	s := slices.Clone(lat)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return float64(s[max(i, 0)].Microseconds()) / 1000
}

// procCPU returns the CPU time, user and system, process pid has used
// (Linux /proc/pid/stat), in seconds.
func procCPU(b *testing.B, pid int) float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The fields after the command name, which is in parentheses.
	f := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, err1 := strconv.ParseFloat(f[11], 64)
	stime, err2 := strconv.ParseFloat(f[12], 64)
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, raw)
	}
	return (utime + stime) / 100 // clock ticks: USER_HZ is 100 on Linux
}
