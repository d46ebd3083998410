package engine_test

import (
	gosql "database/sql"
	"fmt"
	"testing"
)

// BenchmarkDetectAnomaliesShuttle measures batch scoring over the MySQL
// protocol, every row of the 49,097 shuttle rows read by the client:
// SELECT * FROM detect_anomalies('svdd', 'shuttle') (the table's Arrow
// batches) and over a query (rows from the engine), next to the same
// scan with anomaly_score in the SELECT list, alone and with
// anomaly_percentile and is_anomaly (the columns detect_anomalies adds),
// and the plain scan, in the same run; then the same scoring summed on the
// server (SUM over the scores: one row back), without the cost of
// sending and reading the rows. rows/s is the figure to compare.
func BenchmarkDetectAnomaliesShuttle(b *testing.B) {
	ts := startServer(b, b.TempDir(), true)
	defer ts.stop()
	db := ts.open("examples")
	if _, err := db.Exec("CREATE DETECTOR svdd USING deep_svdd WITH (hidden = '64,32', batch_size = 256, epochs = 2, seed = 0) AS SELECT " + shuttleFeatures + " FROM shuttle"); err != nil {
		b.Fatal(err)
	}
	const rows = 49097
	run := func(b *testing.B, q string) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n := readAll(b, db, q); n != rows {
				b.Fatalf("%s: %d rows, want %d", q, n, rows)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	call := func(fn string) string { return fmt.Sprintf("%s('svdd', %s)", fn, shuttleFeatures) }
	b.Run("baseline_select_star", func(b *testing.B) {
		run(b, "SELECT * FROM shuttle")
	})
	b.Run("select_anomaly_score", func(b *testing.B) {
		run(b, "SELECT *, "+call("anomaly_score")+" FROM shuttle")
	})
	b.Run("select_score_percentile_is_anomaly", func(b *testing.B) {
		run(b, "SELECT *, "+call("anomaly_score")+", "+call("anomaly_percentile")+", "+call("is_anomaly")+" FROM shuttle")
	})
	b.Run("detect_anomalies_table", func(b *testing.B) {
		run(b, "SELECT * FROM detect_anomalies('svdd', 'shuttle')")
	})
	b.Run("detect_anomalies_query", func(b *testing.B) {
		run(b, "SELECT * FROM detect_anomalies('svdd', 'SELECT * FROM shuttle WHERE id > 0')")
	})
	// The server's side alone: one row comes back.
	sum := func(b *testing.B, q string) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if n := readAll(b, db, q); n != 1 {
				b.Fatalf("%s: %d rows", q, n)
			}
		}
		b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("sum_select_anomaly_score", func(b *testing.B) {
		sum(b, "SELECT SUM(s) FROM (SELECT *, "+call("anomaly_score")+" AS s FROM shuttle) AS x")
	})
	b.Run("sum_detect_anomalies_table", func(b *testing.B) {
		sum(b, "SELECT SUM(anomaly_score) FROM detect_anomalies('svdd', 'shuttle')")
	})
}

// readAll reads every row of q as raw bytes and returns how many there
// were.
func readAll(b *testing.B, db *gosql.DB, q string) int {
	rows, err := db.Query(q)
	if err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]gosql.RawBytes, len(cols))
	ptrs := make([]interface{}, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			b.Fatal(err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		b.Fatalf("%s: %v", q, err)
	}
	return n
}
