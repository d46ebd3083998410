package engine_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// TestScanReadsAhead runs a server whose data files hold 64 KB of rows
// (a table of 30,000 rows is a dozen files), restarts it so that nothing
// is cached, and checks that a scan reads the data files ahead of
// itself (storage.Data.Prefetch): from its second file on, the next file
// is read into the cache on another goroutine, so the scan finds it
// there (a cache hit) instead of decoding it (a miss), for every file
// but the first two; while a LIMIT 1 that stops in the first file reads
// that file alone; and the rows are right. Both paths of a scan are
// checked: go-mysql-server's partitions (a projection with a filter)
// and the columnar path of anomaly_score; and so is a training's read of
// the table (storage.Data.Scan). Bugs caught: no read-ahead (hits stay
// 0); a read-ahead of the wrong file (the scan misses it anyway); a
// read-ahead from the first partition on.
func TestScanReadsAhead(t *testing.T) {
	dir := t.TempDir()
	cfg := engine.Config{DataDir: dir, DataFileBytes: 64 << 10, CacheMemory: 256 << 20}
	ts := startServerConfig(t, cfg)
	db := ts.open("")
	mustExecAll(t, db, "CREATE DATABASE p", "USE p", "CREATE TABLE k (id BIGINT PRIMARY KEY, v DOUBLE, w DOUBLE)")
	const rows = 30_000
	insertRows(t, db, "k", rows, func(i int) string { return fmt.Sprintf("(%d, %d.5, %d)", i, i, i%7) })
	mustExec(t, db, "CREATE DETECTOR d USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT v, w FROM k")
	files := 0
	md := latestMetadata(t, dir, "p", "k")
	for _, s := range md.Snapshots {
		if md.Current != nil && s.ID == *md.Current {
			files, _ = strconv.Atoi(s.Summary["total-data-files"])
		}
	}
	db.Close()
	ts.stop()

	for _, c := range []struct {
		name, q, want string
	}{
		{"a filter", "SELECT COUNT(*), CAST(SUM(id) AS SIGNED) FROM k WHERE v > -1", fmt.Sprintf("%d %d", rows, rows*(rows-1)/2)},
		{"anomaly_score", "SELECT COUNT(*) FROM k WHERE anomaly_score('d', v, w) > -1", fmt.Sprint(rows)},
	} {
		ts = startServerConfig(t, cfg)
		db = ts.open("p")
		before := ts.srv.CacheStats()
		expectRows(t, db, "SELECT id FROM k LIMIT 1", [][]string{r("0")})
		if after := ts.srv.CacheStats(); after.Misses != before.Misses+1 || after.Hits != before.Hits {
			t.Errorf("LIMIT 1: cache %+v then %+v; want one file read, none ahead", before, after)
		}
		before = ts.srv.CacheStats()
		got := strings.Join(queryRows(t, db, c.q)[0], " ")
		after := ts.srv.CacheStats()
		if got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
		// The first file is cached (LIMIT 1), the second read by the
		// scan, every later one read ahead and then found in the cache.
		if files < 4 || after.Misses-before.Misses != int64(files-1) || after.Hits-before.Hits != int64(files-1) {
			t.Errorf("%s over %d files (the first cached): cache %+v then %+v; want %d misses and %d hits (every file after the second read ahead)",
				c.name, files, before, after, files-1, files-1)
		}
		db.Close()
		ts.stop()
	}

	ts = startServerConfig(t, cfg)
	db = ts.open("p")
	before := ts.srv.CacheStats()
	mustExec(t, db, "CREATE DETECTOR d2 USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT v, w FROM k")
	after := ts.srv.CacheStats()
	if after.Misses-before.Misses != int64(files) || after.Hits-before.Hits != int64(files-2) {
		t.Errorf("training over %d files (none cached): cache %+v then %+v; want %d misses and %d hits (every file after the second read ahead)",
			files, before, after, files, files-2)
	}
}
