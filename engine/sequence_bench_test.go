package engine_test

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkSequenceScoring measures sequence scoring through SQL over
// ordered rows (issue 12, Speed): a table of metrics (host, ts, cpu, mem)
// of 100 k and 1 M rows in 16 hosts, scored by lstm_forecast (window 8)
// with the window form, anomaly_score(...) OVER (PARTITION BY host ORDER
// BY ts), and with detect_anomalies, next to anomaly_score on a tabular
// detector (deep_svdd) over the same rows, in the same run. The scores
// are summed on the server (one row back), so the figures are the
// server's scoring, not the sending of rows. It also reports the
// training time of lstm_forecast and gru_forecast (window 8, 1 epoch) on
// 100 k of the rows. rows/s is the figure to compare.
func BenchmarkSequenceScoring(b *testing.B) {
	for _, c := range []struct {
		name string
		n    int
	}{{"100k", 100_000}, {"1M", 1_000_000}} {
		b.Run(c.name, func(b *testing.B) { benchSequence(b, c.n) })
	}
}

func benchSequence(b *testing.B, n int) {
	ts := startServer(b, b.TempDir(), false)
	defer ts.stop()
	path := filepath.Join(b.TempDir(), "m.csv")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	const hosts = 16
	for i := 0; i < n; i++ {
		h, t := i%hosts, i/hosts
		cpu := 50 + 20*math.Sin(float64(t)/10+float64(h)) + float64((i*7919)%13)/4
		fmt.Fprintf(w, "h%02d,%d,%.4f,%d\n", h, t, cpu, 30+(t+h)%7)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	db := openDSN(b, fmt.Sprintf("root:@tcp(%s)/?allowAllFiles=true", ts.srv.Addr()))
	for _, q := range []string{
		"CREATE DATABASE sb", "USE sb",
		"CREATE TABLE m (host VARCHAR(4), ts INT, cpu DOUBLE, mem DOUBLE)",
		"LOAD DATA LOCAL INFILE '" + path + "' INTO TABLE m FIELDS TERMINATED BY ','",
	} {
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	train := func(q string) time.Duration {
		start := time.Now()
		if _, err := db.Exec(q); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
		return time.Since(start)
	}
	sub := " FROM m WHERE ts < 6250" // 100 k rows
	lstm := train("CREATE DETECTOR seq USING lstm_forecast WITH (order_by = 'ts', partition_by = 'host', window = 8, epochs = 1, seed = 1) AS SELECT host, ts, cpu, mem" + sub)
	gru := train("CREATE DETECTOR gru USING gru_forecast WITH (order_by = 'ts', partition_by = 'host', window = 8, epochs = 1, seed = 1) AS SELECT host, ts, cpu, mem" + sub)
	train("CREATE DETECTOR tab USING deep_svdd WITH (epochs = 1, seed = 1) AS SELECT cpu, mem" + sub)
	b.Logf("training on 100 k rows, 1 epoch: lstm_forecast %v, gru_forecast %v", lstm.Round(time.Millisecond), gru.Round(time.Millisecond))
	sum := func(b *testing.B, q string) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n := readAll(b, db, q); n != 1 {
				b.Fatalf("%s: %d rows", q, n)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("tabular_anomaly_score", func(b *testing.B) {
		sum(b, "SELECT SUM(s) FROM (SELECT anomaly_score('tab', cpu, mem) AS s FROM m) AS x")
	})
	b.Run("window_anomaly_score", func(b *testing.B) {
		sum(b, "SELECT SUM(s) FROM (SELECT anomaly_score('seq', cpu, mem) OVER (PARTITION BY host ORDER BY ts) AS s FROM m) AS x")
	})
	b.Run("detect_anomalies", func(b *testing.B) {
		sum(b, "SELECT SUM(anomaly_score) FROM detect_anomalies('seq', 'm')")
	})
}
