package engine_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// BenchmarkPointWrites measures autocommit single-row UPDATE and DELETE
// by primary key, in process over the MySQL protocol, on a table of
// POINT_ROWS rows (default 300,000) × 16 DOUBLE columns + BIGINT primary
// key: several data files, so that a write touches one of many. Each
// iteration runs 40 UPDATEs then 40 DELETEs of seeded random keys.
// Reported: update-p50-ms, delete-p50-ms (and p99 of each).
func BenchmarkPointWrites(b *testing.B) {
	rows := benchRows(b, "POINT_ROWS", 300_000)
	const writes = 40
	ts := startServer(b, b.TempDir(), false)
	defer ts.stop()
	admin := ts.open("")
	var cols strings.Builder
	for c := range scaleColumns {
		fmt.Fprintf(&cols, ", c%d DOUBLE", c)
	}
	for _, q := range []string{"CREATE DATABASE pw", "CREATE TABLE pw.t (id BIGINT PRIMARY KEY" + cols.String() + ")"} {
		if _, err := admin.Exec(q); err != nil {
			b.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, scaleColumns)
	const chunk = 5000
	for start := 0; start < rows; start += chunk {
		var q strings.Builder
		q.WriteString("INSERT INTO pw.t VALUES ")
		for i := start; i < min(rows, start+chunk); i++ {
			if i > start {
				q.WriteString(", ")
			}
			scaleRow(rng, i, vals)
			fmt.Fprintf(&q, "(%d", i)
			for _, v := range vals {
				fmt.Fprintf(&q, ", %.6f", v)
			}
			q.WriteString(")")
		}
		if _, err := admin.Exec(q.String()); err != nil {
			b.Fatal(err)
		}
	}
	db := ts.open("pw")
	krng := rand.New(rand.NewPCG(7, 8))
	var upd, del []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, stmt := range []string{"UPDATE t SET c0 = c0 + 1 WHERE id = %d", "DELETE FROM t WHERE id = %d"} {
			for range writes {
				q := fmt.Sprintf(stmt, krng.IntN(rows))
				t0 := time.Now()
				if _, err := db.Exec(q); err != nil {
					b.Fatalf("%s: %v", q, err)
				}
				if strings.HasPrefix(stmt, "UPDATE") {
					upd = append(upd, time.Since(t0))
				} else {
					del = append(del, time.Since(t0))
				}
			}
		}
	}
	b.StopTimer()
	slices.Sort(upd)
	slices.Sort(del)
	b.ReportMetric(percentile(upd, 50), "update-p50-ms")
	b.ReportMetric(percentile(upd, 99), "update-p99-ms")
	b.ReportMetric(percentile(del, 50), "delete-p50-ms")
	b.ReportMetric(percentile(del, 99), "delete-p99-ms")
}
