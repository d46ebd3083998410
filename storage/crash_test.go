package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	crashDirEnv   = "ANOMALYDB_STORAGE_CRASH_DIR"
	crashBatchEnv = "ANOMALYDB_STORAGE_CRASH_BATCH"
)

// TestCrashHelper is the child process of TestCrashRecovery: it appends
// (and every fourth time overwrites with everything plus) one batch after
// another to db.t until killed, printing "ready" once the store is open and
// "committed N" after each write returns, N being the committed row count.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	batch, err := strconv.ParseInt(os.Getenv(crashBatchEnv), 10, 64)
	must(t, err)
	s, err := Open(dir)
	must(t, err)
	tbl, err := s.Table("db", "t")
	must(t, err)
	mem := memory.DefaultAllocator
	fmt.Println("ready")
	for op := 0; ; op++ {
		rows := tbl.NumRows()
		rec := makeBatch(mem, tbl.Schema(), rows, batch)
		if op%4 == 3 {
			d := tbl.Snapshot()
			err = tbl.Overwrite(append(batchesOf(t, d)[:len(batchesOf(t, d)):len(batchesOf(t, d))], rec))
			d.Release()
		} else {
			err = tbl.Append([]arrow.RecordBatch{rec})
		}
		rec.Release()
		must(t, err)
		fmt.Printf("committed %d\n", rows+batch)
	}
}

// crashParams returns the batch size (defaultBatch unless
// ANOMALYDB_STORAGE_CRASH_ROWS is set), the number of kills (8, or
// ANOMALYDB_STORAGE_CRASH_KILLS) and the generator of the kill moments of
// a crash test, seeded from the clock or ANOMALYDB_STORAGE_CRASH_SEED (the
// seed is logged, so a failure can be repeated).
func crashParams(t *testing.T, defaultBatch int) (batch, kills int, rng *rand.Rand) {
	t.Helper()
	batch, kills = defaultBatch, 8
	if v, err := strconv.Atoi(os.Getenv("ANOMALYDB_STORAGE_CRASH_ROWS")); err == nil && v > 0 {
		batch = v
	}
	if v, err := strconv.Atoi(os.Getenv("ANOMALYDB_STORAGE_CRASH_KILLS")); err == nil && v > 0 {
		kills = v
	}
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("ANOMALYDB_STORAGE_CRASH_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	t.Logf("seed %d (set ANOMALYDB_STORAGE_CRASH_SEED to repeat), %d kills, batches of %d rows", seed, kills, batch)
	return batch, kills, rand.New(rand.NewPCG(seed, 0))
}

// TestCrashRecovery kills a writer with SIGKILL at random moments and checks
// that every reopen succeeds and shows exactly a committed state: a whole
// number of batches, at least everything reported committed, the right
// rows in the right order, no commit debris, and a table that accepts the
// next Append.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// Defaults keep the test short; for a stress run set e.g.
	// ANOMALYDB_STORAGE_CRASH_KILLS=200 ANOMALYDB_STORAGE_CRASH_ROWS=300
	// (small batches make the metadata commit a larger share of the time).
	batch, kills, rng := crashParams(t, 20000)

	dir := t.TempDir()
	mem := checkedAlloc(t)
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	_, err := s.CreateTable("db", "t", wideSchema(), nil)
	must(t, err)
	must(t, s.Close())

	var committed int64 // rows known to be committed before the helper starts
	debrisKills := 0    // kills that left commit debris behind
	defer func() { t.Logf("%d of %d kills left commit debris in the metadata directory", debrisKills, kills) }()
	for i := 0; i < kills; i++ {
		reported := max(committed, runAndKill(t, "TestCrashHelper", dir, batch, time.Duration(rng.IntN(600))*time.Millisecond))
		if countCommitDebris(t, dir) > 0 {
			debrisKills++
		}

		s := openStore(t, dir, mem, false)
		tbl, err := s.Table("db", "t")
		must(t, err)
		rows := tbl.NumRows()
		t.Logf("kill %d: reported committed %d, found %d rows", i, reported, rows)
		if rows%int64(batch) != 0 {
			t.Fatalf("kill %d: %d rows is not a whole number of batches", i, rows)
		}
		if rows < reported || rows > reported+int64(batch) {
			t.Fatalf("kill %d: %d rows, but %d were reported committed", i, rows, reported)
		}
		assertRows(t, mem, tbl, [2]int64{0, rows})
		assertNoCommitDebris(t, dir)
		append1(t, tbl, makeBatch(mem, tbl.Schema(), rows, int64(batch)))
		assertRows(t, mem, tbl, [2]int64{0, rows + int64(batch)})
		committed = rows + int64(batch)
		must(t, s.Close())
	}
}

// runAndKill starts the crash helper test helper (TestCrashHelper or
// TestCrashHelperMulti) on dir, kills it with SIGKILL after delay (counted
// from its "ready"), and returns the last row count it reported
// committed.
func runAndKill(t *testing.T, helper, dir string, batch int, delay time.Duration) int64 {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+helper+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashBatchEnv+"="+strconv.Itoa(batch))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	lines := make(chan string)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	var reported int64
	read := func(l string) {
		if n, ok := strings.CutPrefix(l, "committed "); ok {
			reported, _ = strconv.ParseInt(n, 10, 64)
		}
	}
	select {
	case l := <-lines:
		if l != "ready" {
			_ = cmd.Process.Kill()
			t.Fatalf("helper said %q", l)
		}
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("helper did not start")
	}
	timer := time.After(delay)
	for killed := false; !killed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("helper exited early: %v", cmd.Wait())
			}
			read(l)
		case <-timer:
			must(t, cmd.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	for l := range lines {
		read(l)
	}
	_ = cmd.Wait()
	return reported
}

// countCommitDebris counts claim and temporary files in the table metadata
// directories and intents of multi-table commits, complete or not (Open
// removes them all).
func countCommitDebris(t *testing.T, dir string) int {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(dir, warehouseDirName, "*", "*", "metadata", "*"))
	must(t, err)
	n := 0
	for _, m := range matches {
		if isCommitLeftover(filepath.Base(m)) {
			n++
		}
	}
	return n + countIntents(t, dir)
}

// countIntents counts the files in the txlog directory of dir.
func countIntents(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, txlogDirName))
	if errors.Is(err, fs.ErrNotExist) {
		return 0
	}
	must(t, err)
	return len(ents)
}

func assertNoCommitDebris(t *testing.T, dir string) {
	t.Helper()
	if n := countCommitDebris(t, dir); n > 0 {
		t.Errorf("%d commit debris files left after Open", n)
	}
}
