package storage

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestRoundTripAllTypes(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, false)
	if err := s.CreateDatabase("Shop"); err != nil {
		t.Fatal(err)
	}
	props := map[string]string{"sql.types": `{"ID":"BIGINT"}`, "sql.primary-key": "ID"}
	tbl, err := s.CreateTable("shop", "Orders", allTypesSchema(), props)
	if err != nil {
		t.Fatal(err)
	}
	append1(t, tbl, makeBatch(mem, tbl.Schema(), -50, 150)) // negative keys: dates and times before 1970
	assertRows(t, mem, tbl, [2]int64{-50, 150})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openStore(t, dir, mem, false)
	defer s.Close()
	if got := s.Databases(); len(got) != 1 || got[0] != "Shop" {
		t.Fatalf("Databases() = %v", got)
	}
	if got, _ := s.Tables("SHOP"); len(got) != 1 || got[0] != "Orders" {
		t.Fatalf("Tables() = %v", got)
	}
	tbl, err = s.Table("shop", "orders")
	if err != nil {
		t.Fatal(err)
	}
	if tbl.Name() != "Orders" || tbl.Database() != "Shop" {
		t.Fatalf("names = %s.%s", tbl.Database(), tbl.Name())
	}
	if !tbl.Schema().Equal(allTypesSchema()) {
		t.Fatalf("schema after reopen:\n%s\nwant\n%s", tbl.Schema(), allTypesSchema())
	}
	if got := tbl.Properties(); !maps.Equal(got, props) {
		t.Fatalf("Properties() = %v, want %v", got, props)
	}
	assertRows(t, mem, tbl, [2]int64{-50, 150})
}

// TestOddNames round-trips names with dots, spaces and non-ASCII letters,
// looked up in another case.
func TestOddNames(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	must(t, s.CreateDatabase("my_db-x"))
	sc := arrow.NewSchema([]arrow.Field{
		{Name: "a.b", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Sp ace", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "ünï", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil)
	tbl, err := s.CreateTable("my_db-x", "Tä.ble x", sc, nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, sc, 0, 20))
	append1(t, tbl, makeBatch(mem, sc, 20, 20))
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err = s.Table("MY_DB-X", "TÄ.BLE X")
	must(t, err)
	if tbl.Name() != "Tä.ble x" || !tbl.Schema().Equal(sc) {
		t.Fatalf("table %q, schema %s", tbl.Name(), tbl.Schema())
	}
	assertRows(t, mem, tbl, [2]int64{0, 40})
}

// TestIcebergUsesStoreFS checks that iceberg-go writes a store's tables
// through the store's fileSystem (so fsync and the power-loss tests cover
// its writes), with syncing off exactly when the store runs NoSync, and
// that a closed store's file system is no longer reachable.
func TestIcebergUsesStoreFS(t *testing.T) {
	for _, noSync := range []bool{false, true} {
		mem := checkedAlloc(t)
		s := openStore(t, t.TempDir(), mem, noSync)
		must(t, s.CreateDatabase("db"))
		tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
		must(t, err)
		fsys, err := tbl.ice.FS(t.Context())
		must(t, err)
		if f, ok := fsys.(icebergFS); !ok || f.noSync != noSync || f.fsys != s.fs {
			t.Errorf("NoSync=%v: table file system is %#v", noSync, fsys)
		}
		must(t, s.Close())
		if _, err := tbl.ice.FS(t.Context()); !errors.Is(err, ErrClosed) {
			t.Errorf("NoSync=%v: file system after Close: %v, want ErrClosed", noSync, err)
		}
	}
}

// TestRewrite checks the read-modify-write: fn sees the current contents,
// its error aborts without changes, and its batches are released.
func TestRewrite(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	boom := errors.New("boom")
	err := tbl.Rewrite(func(cur *Data) ([]arrow.RecordBatch, error) {
		return []arrow.RecordBatch{makeBatch(mem, tbl.Schema(), 0, 1)}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Rewrite = %v", err)
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})
	// Keep the last 5 rows (a DELETE).
	must(t, tbl.Rewrite(func(cur *Data) ([]arrow.RecordBatch, error) {
		if cur.NumRows() != 10 {
			return nil, fmt.Errorf("cur has %d rows", cur.NumRows())
		}
		return []arrow.RecordBatch{batchesOf(t, cur)[0].NewSlice(5, 10)}, nil
	}))
	assertRows(t, mem, tbl, [2]int64{5, 5})
}

// TestAppendIf checks the conditional append: check sees the current
// contents, its error aborts without changes and is returned unchanged,
// it is not called for batches that do not match the schema, and check
// and append are atomic with respect to other writers.
func TestAppendIf(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	boom := errors.New("boom")
	rec := makeBatch(mem, tbl.Schema(), 10, 5)
	err := tbl.AppendIf(func(cur *Data) error {
		if cur.NumRows() != 10 {
			t.Errorf("check saw %d rows, want 10", cur.NumRows())
		}
		return boom
	}, []arrow.RecordBatch{rec})
	if err != boom {
		t.Fatalf("AppendIf with a failing check = %v, want %v", err, boom)
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})

	called := false
	bad := makeBatch(mem, allTypesSchema(), 0, 1)
	err = tbl.AppendIf(func(*Data) error { called = true; return nil }, []arrow.RecordBatch{bad})
	bad.Release()
	if !errors.Is(err, ErrSchemaMismatch) || called {
		t.Fatalf("AppendIf of a mismatched batch = %v (check called: %v), want ErrSchemaMismatch without check", err, called)
	}

	// The caller still owns rec after the failed call and can append it.
	must(t, tbl.AppendIf(func(cur *Data) error {
		if cur.NumRows() != 10 {
			return fmt.Errorf("check saw %d rows, want 10", cur.NumRows())
		}
		return nil
	}, []arrow.RecordBatch{rec}))
	rec.Release()
	assertRows(t, mem, tbl, [2]int64{0, 15})

	// Concurrent appenders of one row each: every check sees all earlier
	// appends, so no two checks see the same row count. Errors and counts
	// are recorded without blocking and the wait has a deadline, so a bug
	// fails the test instead of hanging it.
	const writers, each = 4, 5
	var (
		seenMu sync.Mutex
		seen   []int64
		errs   errorSink
		wg     sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for range each {
				if errs.failed() {
					return
				}
				r := makeBatch(mem, tbl.Schema(), int64(100+w), 1)
				err := tbl.AppendIf(func(cur *Data) error {
					seenMu.Lock()
					seen = append(seen, cur.NumRows())
					seenMu.Unlock()
					return nil
				}, []arrow.RecordBatch{r})
				r.Release()
				if err != nil {
					errs.add(err)
					return
				}
			}
		})
	}
	if !waitFor(t, &wg, 30*time.Second, "appenders") {
		t.FailNow() // the store stays open: closing it would wait for the stuck goroutines
	}
	errs.report(t)
	counts := map[int64]bool{}
	for _, n := range seen {
		if counts[n] {
			t.Errorf("two checks saw %d rows", n)
		}
		counts[n] = true
	}
	if n := tbl.NumRows(); n != 15+writers*each {
		t.Fatalf("%d rows after concurrent AppendIf, want %d", n, 15+writers*each)
	}
	want := tbl.Snapshot()
	defer want.Release()
	wantRows := batchesOf(t, want) // a Data reads its files while its store is open
	must(t, s.Close())

	// The appends are durable like Append's.
	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	got := tbl.Snapshot()
	defer got.Release()
	assertSameRows(t, mem, tbl.Schema(), wantRows, got)
}

func TestAppendOverwriteReopen(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", allTypesSchema(), nil)
	must(t, err)
	reopen := func() {
		t.Helper()
		must(t, s.Close())
		s = openStore(t, dir, mem, false)
		tbl, err = s.Table("db", "t")
		must(t, err)
	}
	defer func() { s.Close() }()

	assertRows(t, mem, tbl)
	reopen()
	assertRows(t, mem, tbl)

	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 300))
	reopen()
	assertRows(t, mem, tbl, [2]int64{0, 300})

	append1(t, tbl, makeBatch(mem, tbl.Schema(), 1000, 250))
	assertRows(t, mem, tbl, [2]int64{0, 300}, [2]int64{1000, 250})
	reopen()
	assertRows(t, mem, tbl, [2]int64{0, 300}, [2]int64{1000, 250})

	// Overwrite with two batches.
	a, b := makeBatch(mem, tbl.Schema(), 5000, 10), makeBatch(mem, tbl.Schema(), 6000, 20)
	must(t, tbl.Overwrite([]arrow.RecordBatch{a, b}))
	a.Release()
	b.Release()
	assertRows(t, mem, tbl, [2]int64{5000, 10}, [2]int64{6000, 20})
	reopen()
	assertRows(t, mem, tbl, [2]int64{5000, 10}, [2]int64{6000, 20})

	// Overwrite with nothing empties the table.
	must(t, tbl.Overwrite(nil))
	assertRows(t, mem, tbl)
	reopen()
	assertRows(t, mem, tbl)

	// And it can be filled again.
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 7, 3))
	reopen()
	assertRows(t, mem, tbl, [2]int64{7, 3})
}

func TestFailedAppendChangesNothing(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	defer s.Close()
	before := dirListing(t, dir)

	good := makeBatch(mem, tbl.Schema(), 10, 5)
	defer good.Release()
	wrongType := makeBatch(mem, arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	}, nil), 0, 3)
	defer wrongType.Release()
	wrongName := makeBatch(mem, arrow.NewSchema([]arrow.Field{
		{Name: "ID", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil), 0, 3)
	defer wrongName.Release()
	// NULL in the NOT NULL column: build it with a nullable field.
	nullable := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "v", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
	}, nil)
	withNull := makeBatch(mem, nullable, 0, 8) // key 0 is NULL
	defer withNull.Release()

	for name, recs := range map[string][]arrow.RecordBatch{
		"type":    {good, wrongType},
		"name":    {wrongName},
		"null":    {good, withNull},
		"nil":     {good, nil},
		"columns": {makeBatchRelease(t, mem, arrow.NewSchema(smallSchema().Fields()[:1], nil))},
	} {
		for _, op := range []func([]arrow.RecordBatch) error{tbl.Append, tbl.Overwrite} {
			if err := op(recs); !errors.Is(err, ErrSchemaMismatch) {
				t.Errorf("%s: err = %v, want ErrSchemaMismatch", name, err)
			}
		}
	}
	assertRows(t, mem, tbl, [2]int64{0, 10})
	if after := dirListing(t, dir); !maps.Equal(before, after) {
		t.Fatalf("files changed by failed appends:\nbefore %v\nafter  %v", before, after)
	}
	// A NOT NULL column without NULLs is accepted even if the batch's field
	// is nullable.
	noNull := makeBatch(mem, nullable, 1, 6)
	append1(t, tbl, noNull)
	assertRows(t, mem, tbl, [2]int64{0, 10}, [2]int64{1, 6})
}

// makeBatchRelease builds a batch that is released when the test ends.
func makeBatchRelease(t *testing.T, mem memory.Allocator, sc *arrow.Schema) arrow.RecordBatch {
	rec := makeBatch(mem, sc, 0, 2)
	t.Cleanup(rec.Release)
	return rec
}

func dirListing(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out[strings.TrimPrefix(p, dir)] = fi.Size()
		}
		return nil
	})
	must(t, err)
	return out
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSnapshotIsolation checks that a Data obtained before a write is not
// affected by it.
func TestSnapshotIsolation(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	old := tbl.Snapshot()
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 10))
	must(t, tbl.Overwrite(nil))
	if old.NumRows() != 10 || tbl.NumRows() != 0 {
		t.Fatalf("old snapshot rows = %d, current = %d", old.NumRows(), tbl.NumRows())
	}
	want := makeBatch(mem, tbl.Schema(), 0, 10)
	assertSameRows(t, mem, tbl.Schema(), []arrow.RecordBatch{want}, old)
	want.Release()
	old.Release()
}

// TestAppendKeepsCallerOwnership checks that the caller may release its
// batches right after Append, and that the table does not alias a batch the
// caller goes on to use.
func TestAppendKeepsCallerOwnership(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	rec := makeBatch(mem, tbl.Schema(), 0, 5)
	must(t, tbl.Append([]arrow.RecordBatch{rec, rec}))
	rec.Release()
	assertRows(t, mem, tbl, [2]int64{0, 5}, [2]int64{0, 5})
}

// TestManySmallAppends checks that a stream of tiny appends keeps the number
// of data files, snapshots and files on disk small, and the row order intact
// across a reopen.
func TestManySmallAppends(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, true)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	const n = 400
	var rows int64
	for i := range n {
		k := int64(1 + i%3)
		append1(t, tbl, makeBatch(mem, tbl.Schema(), rows, k))
		rows += k
	}
	assertRows(t, mem, tbl, [2]int64{0, rows})
	files, snaps := len(tbl.files), len(tbl.ice.Metadata().Snapshots())
	t.Logf("%d appends: %d rows in %d data files and %d in-memory batches; %d snapshots; %d files on disk",
		n, rows, files, tbl.data.NumSegments(), snaps, len(dirListing(t, dir)))
	if files > 20 || snaps > s.opts.MaxSnapshots || tbl.data.NumSegments() > 20 {
		t.Errorf("too many files (%d), snapshots (%d) or segments (%d)", files, snaps, tbl.data.NumSegments())
	}
	if onDisk := len(dirListing(t, dir)); onDisk > 150 {
		t.Errorf("%d files on disk", onDisk)
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	assertRows(t, mem, tbl, [2]int64{0, rows})
	if !tbl.exact || len(tbl.files) != files {
		t.Fatalf("after reopen: exact=%v files=%d, want %d", tbl.exact, len(tbl.files), files)
	}
	append1(t, tbl, makeBatch(mem, tbl.Schema(), rows, 5))
	assertRows(t, mem, tbl, [2]int64{0, rows + 5})
}

// TestMergeFiles checks that an append merges small files only once the
// merge would combine Options.MergeFiles files: with 4, three appends of
// ten rows leave three files, the fourth merges them into one, and the
// rows keep their order. Catches: a threshold that is ignored (every
// append merges: one file throughout) or never reached (four files).
func TestMergeFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, NoSync: true, MergeFiles: 4})
	must(t, err)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	for i, want := range []int{1, 2, 3, 1, 2} {
		append1(t, tbl, makeBatch(mem, tbl.Schema(), int64(i)*10, 10))
		if got := len(tbl.files); got != want {
			t.Fatalf("after append %d: %d data files, want %d", i+1, got, want)
		}
	}
	assertRows(t, mem, tbl, [2]int64{0, 50})
}

// TestConcurrentReadersAndWriters runs writers on two tables (two per
// table, serialized by the table) while readers take snapshots and check
// that each one is internally consistent: every write adds one whole
// batch of ten rows, so a snapshot holding a partial write is caught. Run
// with -race. A bug fails the test within seconds instead of hanging it:
// goroutines report errors without blocking and stop at the first one,
// and every wait has a deadline (see waitFor).
func TestConcurrentReadersAndWriters(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	must(t, s.CreateDatabase("db"))
	var tables []*Table
	for _, name := range []string{"a", "b"} {
		tbl, err := s.CreateTable("db", name, smallSchema(), nil)
		must(t, err)
		tables = append(tables, tbl)
	}
	const writes = 20
	var errs errorSink
	var writers sync.WaitGroup
	for _, tbl := range tables {
		for range 2 {
			writers.Go(func() {
				for i := range writes {
					if errs.failed() {
						return
					}
					rec := makeBatch(mem, tbl.Schema(), 0, 10)
					var err error
					if i == writes/2 {
						// Read-modify-write: keep everything, add rec.
						err = tbl.Rewrite(func(cur *Data) ([]arrow.RecordBatch, error) {
							return append(cur.retainedBatches(), rec), nil
						})
					} else {
						err = tbl.Append([]arrow.RecordBatch{rec})
						rec.Release()
					}
					if err != nil {
						errs.add(fmt.Errorf("write %d to %s: %w", i, tbl.Name(), err))
						return
					}
				}
			})
		}
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 3 {
		readers.Go(func() {
			for !errs.failed() {
				select {
				case <-stop:
					return
				default:
				}
				for _, tbl := range tables {
					if err := checkSnapshot(tbl); err != nil {
						errs.add(err)
						return
					}
				}
				runtime.Gosched() // let the writers in on a busy machine
			}
		})
	}
	writersDone := waitFor(t, &writers, 30*time.Second, "writers")
	close(stop)
	readersDone := waitFor(t, &readers, 10*time.Second, "readers")
	errs.report(t)
	if !writersDone || !readersDone {
		t.FailNow() // the store stays open: closing it would wait for the stuck goroutines
	}
	for _, tbl := range tables {
		if tbl.NumRows() != 2*writes*10 {
			t.Errorf("%s has %d rows, want %d", tbl.Name(), tbl.NumRows(), 2*writes*10)
		}
	}
	must(t, s.Close())
}

// checkSnapshot checks that a snapshot of tbl, written by
// TestConcurrentReadersAndWriters, holds whole batches of the ids 0 to 9.
func checkSnapshot(tbl *Table) error {
	d := tbl.Snapshot()
	defer d.Release()
	var n int64
	recs, err := d.ReadAll()
	if err != nil {
		return err
	}
	defer releaseBatches(recs)
	for _, b := range recs {
		n += b.NumRows()
		ids := b.Column(0).(*array.Int64)
		for j := 0; j < ids.Len(); j++ {
			if ids.Value(j) < 0 || ids.Value(j) >= 10 {
				return fmt.Errorf("snapshot of %s: bad id %d", tbl.Name(), ids.Value(j))
			}
		}
	}
	if n != d.NumRows() || n%10 != 0 {
		return fmt.Errorf("snapshot of %s: %d rows in batches, NumRows %d", tbl.Name(), n, d.NumRows())
	}
	return nil
}
