package engine_test

import (
	"bufio"
	gosql "database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"
)

// writeEventsCSV writes n rows of (id, shop, kind, amount, hour) to path:
// two string columns (40 shops drawn with skewed frequencies, 5 kinds)
// and two numbers, seeded.
func writeEventsCSV(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	rng := rand.New(rand.NewPCG(11, 12))
	kinds := []string{"card", "wire", "cash", "check", "crypto"}
	for i := range n {
		shop := int(math.Floor(40 * rng.Float64() * rng.Float64()))
		kind := kinds[min(rng.IntN(8), 4)]
		fmt.Fprintf(w, "%d,shop%02d,%s,%.3f,%.2f\n", i, shop, kind, math.Exp(rng.NormFloat64()+float64(shop%7)/3), 24*rng.Float64())
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestCrashDuringCreateDetector kills the server binary (SIGKILL) while
// CREATE OR REPLACE DETECTOR trains and saves a detector with learned
// embeddings of its string columns on 100,000 rows, at several moments
// from early in the training to just after its usual end, and restarts
// it each time: the detector then scores exactly as one of its two
// versions did, bit for bit (the old one or, if its statement returned
// before the kill, the new one; never none), one file holds it, and the
// server starts. A CREATE DETECTOR of a new name killed during its
// training leaves no detector and no file of that name, and the name can
// be created again. Bugs caught: the old detector (or its file) removed
// when its replacement starts training, a training saved as it goes
// (after an epoch, or as a placeholder while it runs), a statement
// acknowledged before its detector is durable, a model whose embedding
// tables do not come back from its file as they were. (A save takes
// milliseconds, so few kills land inside one: the atomicity of the file
// itself is the power-loss tests' in storage, TestPowerLoss.)
func TestCrashDuringCreateDetector(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary, loads 100,000 rows and trains on them")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	csv := filepath.Join(t.TempDir(), "events.csv")
	const rows = 100_000
	writeEventsCSV(t, csv, rows)
	p := startProc(t, bin, dir)
	connect := func() *gosql.DB {
		return openDSN(t, "root:@tcp("+p.addr+")/c?allowAllFiles=true")
	}
	admin := openDSN(t, "root:@tcp("+p.addr+")/?allowAllFiles=true")
	mustExecAll(t, admin, "CREATE DATABASE c",
		"CREATE TABLE c.events (id BIGINT PRIMARY KEY, shop VARCHAR(20), kind VARCHAR(10), amount DOUBLE, hour DOUBLE)",
		"LOAD DATA LOCAL INFILE '"+csv+"' INTO TABLE c.events FIELDS TERMINATED BY ','")
	db := connect()
	if n := queryInt(t, db, "SELECT COUNT(*) FROM events"); n != rows {
		t.Fatalf("%d rows loaded, want %d", n, rows)
	}

	// Two versions of a detector, each trained once under a name of its
	// own: the scores every later training of it must give.
	opts := [2]string{
		"categorical = 'embedding', epochs = 2, embedding_epochs = 1, seed = 3",
		"categorical = 'embedding', epochs = 2, embedding_epochs = 1, seed = 4, hidden = '16,8'",
	}
	create := func(verb, name string, v int) string {
		return fmt.Sprintf("%s %s USING autoencoder WITH (%s) AS SELECT shop, kind, amount, hour FROM events", verb, name, opts[v])
	}
	scores := func(db *gosql.DB, name string) []float64 {
		m := scoresByID(t, db, "SELECT id, anomaly_score('"+name+"', shop, kind, amount, hour) FROM events WHERE id % 50 = 0")
		out := make([]float64, rows/50)
		for id, s := range m {
			out[id/50] = s
		}
		return out
	}
	var want [2][]float64
	var took time.Duration
	for v, name := range []string{"ref_v0", "ref_v1"} {
		start := time.Now()
		mustExec(t, db, create("CREATE DETECTOR", name, v))
		took = max(took, time.Since(start))
		want[v] = scores(db, name)
	}
	if slices.Equal(want[0], want[1]) {
		t.Fatal("the two versions score alike: the test cannot tell them apart")
	}
	mustExec(t, db, create("CREATE DETECTOR", "fraud", 0))
	if !slices.Equal(scores(db, "fraud"), want[0]) {
		t.Fatal("a detector trained again with the same options and rows scores otherwise")
	}
	version := func(db *gosql.DB) int {
		got := scores(db, "fraud")
		for v := range want {
			if slices.Equal(got, want[v]) {
				return v
			}
		}
		t.Fatalf("after a kill and a restart fraud scores as neither version (first scores %v, versions %v and %v)",
			got[:3], want[0][:3], want[1][:3])
		return -1
	}

	// Kills from early in the training to just after its usual end.
	cur, landed := 0, 0
	for i, at := range []float64{0.3, 0.7, 0.95, 1.1} {
		next := 1 - cur
		done := runAsync(t.Context(), db, create("CREATE OR REPLACE DETECTOR", "fraud", next))
		var acked bool
		select {
		case err := <-done:
			acked = err == nil
		case <-time.After(time.Duration(at * float64(took))):
		}
		p.kill()
		p = startProc(t, bin, dir)
		db = connect()
		got := version(db)
		if acked && got != next {
			t.Fatalf("kill %d: CREATE OR REPLACE returned OK before the kill, but the restarted server has the old version", i)
		}
		if got == next {
			landed++
		}
		if files := detectorFiles(t, dir, "fraud"); len(files) != 1 {
			t.Fatalf("kill %d: files of fraud after the restart: %v, want its model alone", i, files)
		}
		cur = got
	}
	t.Logf("%d of 4 replacements landed before the kill (training took %v)", landed, took)

	// A new name killed during its training does not exist afterwards.
	done := runAsync(t.Context(), db, create("CREATE DETECTOR", "fresh", 1))
	select {
	case err := <-done:
		t.Fatalf("the training of fresh ended before it was killed: %v", err)
	case <-time.After(took / 3):
	}
	p.kill()
	p = startProc(t, bin, dir)
	db = connect()
	for _, r := range queryRows(t, db, "SHOW DETECTORS") {
		if r[0] == "fresh" {
			t.Fatalf("SHOW DETECTORS lists fresh, whose training was killed: %v", r)
		}
	}
	if files := detectorFiles(t, dir, "fresh"); len(files) != 0 {
		t.Fatalf("files of fresh after its training was killed: %v", files)
	}
	mustExec(t, db, create("CREATE DETECTOR", "fresh", 1))
	if !slices.Equal(scores(db, "fresh"), want[1]) {
		t.Fatal("fresh, created after its killed training, scores otherwise than its version")
	}
	p.stop(t, syscall.SIGTERM)
}
