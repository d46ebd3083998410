package engine_test

import (
	"bufio"
	gosql "database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

const shuttleFeatures = "f0, f1, f2, f3, f4, f5, f6, f7, f8"

// BenchmarkSQLScoreShuttle measures scoring through SQL over the MySQL
// protocol: SELECT COUNT(*) FROM shuttle WHERE anomaly_score(...) > x on
// the 49,097 shuttle rows, against the same scan with a plain arithmetic
// filter as the baseline of the same run.
func BenchmarkSQLScoreShuttle(b *testing.B) {
	ts := startServer(b, b.TempDir(), true)
	defer ts.stop()
	db := ts.open("examples")
	if _, err := db.Exec("CREATE DETECTOR svdd USING deep_svdd WITH (hidden = '64,32', batch_size = 256, epochs = 20, seed = 0) AS SELECT " + shuttleFeatures + " FROM shuttle"); err != nil {
		b.Fatal(err)
	}
	const rows = 49097
	run := func(b *testing.B, q string) {
		var n int64
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if err := db.QueryRow(q).Scan(&n); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("baseline_scan_filter", func(b *testing.B) {
		run(b, "SELECT COUNT(*) FROM shuttle WHERE f0 > -1000000")
	})
	b.Run("baseline_arithmetic_filter", func(b *testing.B) {
		run(b, "SELECT COUNT(*) FROM shuttle WHERE f0 + f1 + f2 + f3 + f4 + f5 + f6 + f7 + f8 > 100")
	})
	b.Run("anomaly_score_filter", func(b *testing.B) {
		run(b, fmt.Sprintf("SELECT COUNT(*) FROM shuttle WHERE anomaly_score('svdd', %s) > 1", shuttleFeatures))
	})
}

// BenchmarkSQLCreateDetectorShuttle measures CREATE DETECTOR over the
// MySQL protocol (Deep SVDD, hidden 64,32, batch 256, 20 epochs on the
// 49,097 shuttle rows): the training SELECT, training and persistence.
func BenchmarkSQLCreateDetectorShuttle(b *testing.B) {
	ts := startServer(b, b.TempDir(), true)
	defer ts.stop()
	db := ts.open("examples")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Exec("CREATE DETECTOR svdd USING deep_svdd WITH (hidden = '64,32', batch_size = 256, epochs = 20, seed = 0) AS SELECT " + shuttleFeatures + " FROM shuttle"); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if _, err := db.Exec("DROP DETECTOR svdd"); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/create")
}

// BenchmarkBulkLoad loads 1,000,000 rows of 10 DOUBLE columns and an INT
// primary key three ways in the same run: LOAD DATA LOCAL INFILE (the
// client sends the file over the MySQL protocol), server-side LOAD DATA
// INFILE (the baseline), and INSERT … SELECT of the same rows from a
// loaded table. Each iteration loads into an empty table and drops it.
// BULK_ROWS overrides the row count (e.g. for a quick run).
func BenchmarkBulkLoad(b *testing.B) {
	rows := 1_000_000
	if v := os.Getenv("BULK_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatal(err)
		}
		rows = n
	}
	// Server files are read from secure_file_priv: by default the folder
	// files beside the data directory.
	data := b.TempDir()
	files := filepath.Join(filepath.Dir(data), "files")
	if err := os.MkdirAll(files, 0o750); err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(files, "bulk.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < rows; i++ {
		fmt.Fprintf(w, "%d", i)
		for c := 0; c < 10; c++ {
			fmt.Fprintf(w, ",%.6f", rng.NormFloat64())
		}
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()

	ts := startServer(b, data, false)
	defer ts.stop()
	db := openDSN(b, fmt.Sprintf("root:@tcp(%s)/?allowAllFiles=true", ts.srv.Addr()))
	const cols = "id INT PRIMARY KEY, c0 DOUBLE, c1 DOUBLE, c2 DOUBLE, c3 DOUBLE, c4 DOUBLE, c5 DOUBLE, c6 DOUBLE, c7 DOUBLE, c8 DOUBLE, c9 DOUBLE"
	exec := func(b *testing.B, q string) {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	exec(b, "CREATE DATABASE bulk")
	exec(b, "CREATE TABLE bulk.src ("+cols+")")
	exec(b, "LOAD DATA INFILE '"+path+"' INTO TABLE bulk.src FIELDS TERMINATED BY ','")
	run := func(b *testing.B, load string) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			exec(b, "CREATE TABLE bulk.dst ("+cols+")")
			b.StartTimer()
			exec(b, load)
			b.StopTimer()
			exec(b, "DROP TABLE bulk.dst")
			b.StartTimer()
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("server_file", func(b *testing.B) {
		run(b, "LOAD DATA INFILE '"+path+"' INTO TABLE bulk.dst FIELDS TERMINATED BY ','")
	})
	b.Run("local", func(b *testing.B) {
		run(b, "LOAD DATA LOCAL INFILE '"+path+"' INTO TABLE bulk.dst FIELDS TERMINATED BY ','")
	})
	b.Run("insert_select", func(b *testing.B) {
		run(b, "INSERT INTO bulk.dst SELECT * FROM bulk.src")
	})
}

// benchRows returns the integer in environment variable name, or def.
func benchRows(b *testing.B, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		b.Fatalf("%s=%q: want a positive integer", name, v)
	}
	return n
}

// benchConns opens n connections of their own (one each) to database db.
func benchConns(b *testing.B, ts *testServer, db string, n int) []*gosql.DB {
	conns := make([]*gosql.DB, n)
	for i := range conns {
		conns[i] = ts.open(db)
	}
	return conns
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted
// latencies, in milliseconds, by the nearest-rank method.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	i = max(0, min(i, len(sorted)-1))
	return float64(sorted[i]) / float64(time.Millisecond)
}

// insertRow is a single-row INSERT of row id into t (BIGINT primary key,
// three DOUBLEs) with values from rng.
func insertRow(rng *rand.Rand, id int) string {
	return fmt.Sprintf("INSERT INTO t VALUES (%d, %.6f, %.6f, %.6f)", id, rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64())
}

// benchTable creates table t of database db for the write benchmarks.
const benchTable = "CREATE TABLE %s.t (id BIGINT PRIMARY KEY, a DOUBLE, b DOUBLE, c DOUBLE)"

// BenchmarkConcurrentInserts measures autocommit single-row INSERTs over
// the MySQL protocol into a table with a BIGINT primary key and three
// DOUBLE columns: 16 connections at once, and 1 connection as the
// baseline of the same run. Each connection inserts INSERT_ROWS rows
// (default 200) of its own keys, one statement each, as fast as it can;
// each iteration starts from an empty table. Reported: rows/s over the
// whole run and the p50 and p99 statement latency.
func BenchmarkConcurrentInserts(b *testing.B) {
	perConn := benchRows(b, "INSERT_ROWS", 100)
	ts := startServer(b, b.TempDir(), false)
	defer ts.stop()
	admin := ts.open("")
	if _, err := admin.Exec("CREATE DATABASE ins"); err != nil {
		b.Fatal(err)
	}
	for _, conns := range []int{1, 16} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			dbs := benchConns(b, ts, "ins", conns)
			var lat []time.Duration
			var elapsed time.Duration
			for i := 0; i < b.N; i++ {
				for _, q := range []string{"DROP TABLE IF EXISTS ins.t", fmt.Sprintf(benchTable, "ins")} {
					if _, err := admin.Exec(q); err != nil {
						b.Fatal(err)
					}
				}
				lats := make([][]time.Duration, conns)
				errs := make(chan error, conns)
				start := time.Now()
				var wg sync.WaitGroup
				for c := range conns {
					wg.Add(1)
					go func() {
						defer wg.Done()
						rng := rand.New(rand.NewPCG(uint64(c), 7))
						for j := range perConn {
							q := insertRow(rng, c*perConn+j)
							t0 := time.Now()
							if _, err := dbs[c].Exec(q); err != nil {
								errs <- fmt.Errorf("connection %d: %s: %w", c, q, err)
								return
							}
							lats[c] = append(lats[c], time.Since(t0))
						}
					}()
				}
				wg.Wait()
				elapsed += time.Since(start)
				close(errs)
				for err := range errs {
					b.Fatal(err)
				}
				for _, l := range lats {
					lat = append(lat, l...)
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "rows/s")
			b.ReportMetric(percentile(lat, 50), "p50-ms")
			b.ReportMetric(percentile(lat, 99), "p99-ms")
		})
	}
}

// BenchmarkPointUpdateWhileInserting measures autocommit point UPDATEs by
// primary key (UPDATE t SET a = a + 1 WHERE id = ?) on a table of 1,000
// rows while 4 other connections insert single rows as fast as they
// can. Each iteration runs UPDATES updates (default 40) of seeded random
// keys, one after another, on a fresh table. Reported: the fraction of
// updates that succeeded (the others fail, e.g. with 1213), the p50
// latency of the successful ones, and the inserters' rows/s meanwhile.
func BenchmarkPointUpdateWhileInserting(b *testing.B) {
	const tableRows, inserters = 1000, 4
	updates := benchRows(b, "UPDATES", 40)
	ts := startServer(b, b.TempDir(), false)
	defer ts.stop()
	admin := ts.open("")
	if _, err := admin.Exec("CREATE DATABASE upd"); err != nil {
		b.Fatal(err)
	}
	var fill strings.Builder
	fill.WriteString("INSERT INTO upd.t VALUES ")
	rng := rand.New(rand.NewPCG(3, 4))
	for i := range tableRows {
		if i > 0 {
			fill.WriteString(", ")
		}
		fmt.Fprintf(&fill, "(%d, %.6f, %.6f, %.6f)", i, rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64())
	}
	dbs := benchConns(b, ts, "upd", inserters+1)
	updater := dbs[inserters]
	var okLat []time.Duration
	var failed, inserted int
	var insertTime time.Duration
	failures := map[uint16]int{}
	for i := 0; i < b.N; i++ {
		for _, q := range []string{"DROP TABLE IF EXISTS upd.t", fmt.Sprintf(benchTable, "upd"), fill.String()} {
			if _, err := admin.Exec(q); err != nil {
				b.Fatal(err)
			}
		}
		stop := make(chan struct{})
		counts := make([]int, inserters)
		errs := make(chan error, inserters)
		var wg sync.WaitGroup
		start := time.Now()
		for c := range inserters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(c), 9))
				for j := 0; ; j++ {
					select {
					case <-stop:
						return
					default:
					}
					if _, err := dbs[c].Exec(insertRow(rng, (c+1)*1_000_000+j)); err != nil {
						errs <- fmt.Errorf("inserter %d: %w", c, err)
						return
					}
					counts[c]++
				}
			}()
		}
		urng := rand.New(rand.NewPCG(5, 6))
		for range updates {
			q := fmt.Sprintf("UPDATE t SET a = a + 1 WHERE id = %d", urng.IntN(tableRows))
			t0 := time.Now()
			_, err := updater.Exec(q)
			if err == nil {
				okLat = append(okLat, time.Since(t0))
				continue
			}
			var me *mysql.MySQLError
			if !errors.As(err, &me) {
				close(stop)
				b.Fatalf("%s: %v", q, err)
			}
			failures[me.Number]++
			failed++
		}
		close(stop)
		wg.Wait()
		insertTime += time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		for _, n := range counts {
			inserted += n
		}
	}
	slices.Sort(okLat)
	b.ReportMetric(float64(len(okLat))/float64(len(okLat)+failed), "ok-fraction")
	b.ReportMetric(percentile(okLat, 50), "update-p50-ms")
	b.ReportMetric(float64(inserted)/insertTime.Seconds(), "insert-rows/s")
	if failed > 0 {
		b.Logf("failed updates by error number: %v", failures)
	}
}
