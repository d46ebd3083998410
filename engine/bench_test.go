package engine_test

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
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
