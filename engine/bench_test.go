package engine_test

import (
	"fmt"
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
