package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/google/uuid"
)

// rowsChange is one table's part of commitRows: the rows [start,
// start+n) made by makeBatch, appended to the table, or with rewrite
// replacing its contents.
type rowsChange struct {
	table    string
	start, n int64
	rewrite  bool
}

// commitRows commits the changes to tables of database db as one
// CommitTables.
func commitRows(s *Store, mem memory.Allocator, db string, changes ...rowsChange) error {
	var cs []TableChange
	for _, c := range changes {
		tbl, err := s.Table(db, c.table)
		if err != nil {
			return err
		}
		if c.rewrite {
			cs = append(cs, TableChange{Table: tbl, Rewrite: func(*Data) ([]arrow.RecordBatch, error) {
				if c.n == 0 {
					return nil, nil
				}
				return []arrow.RecordBatch{makeBatch(mem, tbl.Schema(), c.start, c.n)}, nil
			}})
			continue
		}
		rec := makeBatch(mem, tbl.Schema(), c.start, c.n)
		defer rec.Release()
		cs = append(cs, TableChange{Table: tbl, Append: []arrow.RecordBatch{rec}})
	}
	return s.CommitTables(cs)
}

// commitRows is commitRows on database "db".
func (e *plEnv) commitRows(s *Store, changes ...rowsChange) error {
	return commitRows(s, e.mem, "db", changes...)
}

// twoTables creates db.a holding the rows [0, 10) and db.b holding
// [100, 110); each table's rows are one data file.
func twoTables(t testing.TB, s *Store, mem memory.Allocator) (a, b *Table) {
	t.Helper()
	must(t, s.CreateDatabase("db"))
	a, err := s.CreateTable("db", "a", smallSchema(), nil)
	must(t, err)
	b, err = s.CreateTable("db", "b", smallSchema(), nil)
	must(t, err)
	append1(t, a, makeBatch(mem, a.Schema(), 0, 10))
	append1(t, b, makeBatch(mem, b.Schema(), 100, 10))
	return a, b
}

// txnTag returns the multi-table commit id the table's current snapshot
// carries ("" for none).
func txnTag(t *Table) string {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if snap := t.ice.CurrentSnapshot(); snap != nil && snap.Summary != nil {
		return snap.Summary.Properties[propTxn]
	}
	return ""
}

// countDataFiles counts the Parquet files under dir.
func countDataFiles(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".parquet") {
			n++
		}
		return err
	})
	must(t, err)
	return n
}

// TestCommitTables commits appends (merging small files and not) and
// rewrites of two tables together and checks the contents in memory and
// after reopening, that both snapshots carry the same transaction id and
// that no intent is left. Catches: a change applied to the wrong table
// (the changes are sorted for locking), a table left out of the commit,
// or an intent that is never removed.
func TestCommitTables(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    Options
		changes []rowsChange
		a, b    [][2]int64 // rows expected afterwards
	}{
		{
			name:    "append+append merging",
			opts:    Options{MergeFiles: 2},
			changes: []rowsChange{{"b", 110, 5, false}, {"a", 10, 3, false}},
			a:       [][2]int64{{0, 13}},
			b:       [][2]int64{{100, 15}},
		},
		{
			name:    "append+append new files",
			opts:    Options{SmallFileRows: -1},
			changes: []rowsChange{{"a", 10, 3, false}, {"b", 110, 5, false}},
			a:       [][2]int64{{0, 13}},
			b:       [][2]int64{{100, 15}},
		},
		{
			name:    "append+rewrite",
			changes: []rowsChange{{"a", 10, 3, false}, {"b", 500, 4, true}},
			a:       [][2]int64{{0, 13}},
			b:       [][2]int64{{500, 4}},
		},
		{
			name:    "truncate+rewrite",
			changes: []rowsChange{{"a", 0, 0, true}, {"b", 500, 4, true}},
			a:       nil,
			b:       [][2]int64{{500, 4}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			dir := t.TempDir()
			o := tc.opts
			o.Allocator = mem
			s, err := OpenWithOptions(dir, &o)
			must(t, err)
			a, b := twoTables(t, s, mem)
			must(t, commitRows(s, mem, "db", tc.changes...))
			assertRows(t, mem, a, tc.a...)
			assertRows(t, mem, b, tc.b...)
			if ta, tb := txnTag(a), txnTag(b); ta == "" || ta != tb {
				t.Errorf("transaction ids of the snapshots: %q and %q, want one id", ta, tb)
			}
			if n := countIntents(t, dir); n != 0 {
				t.Errorf("%d intents left after the commit", n)
			}
			must(t, s.Close())

			s, err = OpenWithOptions(dir, &o)
			must(t, err)
			defer s.Close()
			for name, want := range map[string][][2]int64{"a": tc.a, "b": tc.b} {
				tbl, err := s.Table("db", name)
				must(t, err)
				assertRows(t, mem, tbl, want...)
			}
		})
	}
}

// TestCommitTablesOneTableWritten: a multi-table commit in which only one
// table has something to write is that table's plain commit: no intent
// is written (a fault injected on the txlog directory does not matter)
// and the snapshot carries no transaction id. Catches: single-table
// commits paying for an intent (a file and two fsyncs).
func TestCommitTablesOneTableWritten(t *testing.T) {
	mem := checkedAlloc(t)
	c := &crashFS{}
	c.setFail(func(op, path string) error {
		if strings.Contains(path, string(filepath.Separator)+txlogDirName) {
			return errors.New("injected failure")
		}
		return nil
	})
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, fsys: c})
	must(t, err)
	defer s.Close()
	a, b := twoTables(t, s, mem)
	bd := b.Snapshot()
	defer bd.Release()
	must(t, commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 0, 0, false}))
	assertRows(t, mem, a, [2]int64{0, 15})
	if txnTag(a) != "" {
		t.Errorf("a's snapshot carries transaction id %q", txnTag(a))
	}
	if d := b.Snapshot(); d != bd {
		t.Error("b published new contents for an empty append")
		d.Release()
	} else {
		d.Release()
	}
	// With two tables to write, the injected failure makes the commit fail.
	if err := commitRows(s, mem, "db", rowsChange{"a", 15, 5, false}, rowsChange{"b", 110, 1, false}); err == nil {
		t.Fatal("a commit of two tables succeeded without its intent")
	}
	assertRows(t, mem, a, [2]int64{0, 15})
	assertRows(t, mem, b, [2]int64{100, 10})
}

// TestCommitTablesCheckFails: when the check or rewrite function of a
// table fails, CommitTables returns its error unchanged and writes
// nothing to any table: no data file, no snapshot, no new contents.
// Catches: committing a table before the next table's callback has run
// (what the engine did with one commit per table), or data files written
// before the callbacks and left behind.
func TestCommitTablesCheckFails(t *testing.T) {
	errConflict := errors.New("conflict")
	for _, tc := range []struct {
		name string
		b    func(b *Table, rec arrow.RecordBatch) TableChange
	}{
		{"append check", func(b *Table, rec arrow.RecordBatch) TableChange {
			return TableChange{Table: b, Check: func(*Data) error { return errConflict }, Append: []arrow.RecordBatch{rec}}
		}},
		{"rewrite", func(b *Table, rec arrow.RecordBatch) TableChange {
			return TableChange{Table: b, Rewrite: func(*Data) ([]arrow.RecordBatch, error) { return nil, errConflict }}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := checkedAlloc(t)
			dir := t.TempDir()
			s := openStore(t, dir, mem, true)
			defer s.Close()
			a, b := twoTables(t, s, mem)
			ad, bd := a.Snapshot(), b.Snapshot()
			defer ad.Release()
			defer bd.Release()
			files := countDataFiles(t, dir)
			ra := makeBatch(mem, a.Schema(), 10, 5)
			defer ra.Release()
			rb := makeBatch(mem, b.Schema(), 110, 5)
			defer rb.Release()
			// a sorts first: its change is prepared before b's fails.
			err := s.CommitTables([]TableChange{
				{Table: a, Append: []arrow.RecordBatch{ra}, Check: func(*Data) error { return nil }},
				tc.b(b, rb),
			})
			if err != errConflict {
				t.Fatalf("CommitTables = %v, want the callback's error unchanged", err)
			}
			for _, x := range []struct {
				tbl  *Table
				prev *Data
			}{{a, ad}, {b, bd}} {
				d := x.tbl.Snapshot()
				if d != x.prev {
					t.Errorf("%s published new contents", x.tbl.Name())
				}
				d.Release()
			}
			if n := countDataFiles(t, dir); n != files {
				t.Errorf("%d data files, %d before the failed commit", n, files)
			}
			must(t, s.Close())
			s = openStore(t, dir, mem, true)
			defer s.Close()
			assertTwoTables(t, mem, s)
		})
	}
}

// TestCommitTablesInvalid checks the arguments CommitTables refuses.
func TestCommitTablesInvalid(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	defer s.Close()
	a, b := twoTables(t, s, mem)
	other := openStore(t, t.TempDir(), mem, true)
	defer other.Close()
	must(t, other.CreateDatabase("db"))
	c, err := other.CreateTable("db", "c", smallSchema(), nil)
	must(t, err)
	rewrite := func(*Data) ([]arrow.RecordBatch, error) { return nil, nil }
	for name, cs := range map[string][]TableChange{
		"nil table":       {{Table: a}, {}},
		"twice":           {{Table: a}, {Table: b}, {Table: a}},
		"other store":     {{Table: a}, {Table: c}},
		"rewrite+append":  {{Table: a, Rewrite: rewrite, Check: func(*Data) error { return nil }}, {Table: b}},
		"schema mismatch": {{Table: a, Append: []arrow.RecordBatch{makeBatch(mem, allTypesSchema(), 0, 1)}}, {Table: b}},
	} {
		err := s.CommitTables(cs)
		for _, c := range cs {
			releaseBatches(c.Append)
		}
		if err == nil {
			t.Errorf("%s: CommitTables succeeded", name)
		}
	}
	assertRows(t, mem, a, [2]int64{0, 10})
	assertRows(t, mem, b, [2]int64{100, 10})
}

// failCommitOf returns a fault injector that fails the publication of a
// new metadata version (the hard link that is the commit point) of table
// db.name.
func failCommitOf(name string) func(op, path string) error {
	mdir := string(filepath.Separator) + filepath.Join("db", name, "metadata") + string(filepath.Separator)
	return func(op, path string) error {
		if op == "link" && strings.Contains(path, mdir) {
			return errors.New("injected failure")
		}
		return nil
	}
}

// TestCommitTablesFailsAfterFirstTable: when committing the second table
// fails after the first is committed, CommitTables fails, the first table
// shows its new contents, both tables refuse writes, and reopening the
// store completes the commit. Catches: removing the data files of a table
// whose commit failed (the intent needs them), or an Open that does not
// roll the commit forward.
func TestCommitTablesFailsAfterFirstTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	c := &crashFS{}
	s, err := OpenWithOptions(dir, &Options{Allocator: mem, fsys: c})
	must(t, err)
	a, b := twoTables(t, s, mem)
	c.setFail(failCommitOf("b"))
	err = commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 110, 5, false})
	c.setFail(nil)
	if err == nil {
		t.Fatal("CommitTables succeeded despite the injected failure")
	}
	t.Logf("CommitTables: %v", err)
	assertRows(t, mem, a, [2]int64{0, 15})
	assertRows(t, mem, b, [2]int64{100, 10})
	for _, tbl := range []*Table{a, b} {
		rec := makeBatch(mem, tbl.Schema(), 0, 1)
		if err := tbl.Append([]arrow.RecordBatch{rec}); err == nil {
			t.Errorf("%s accepted a write before the interrupted commit was completed", tbl.Name())
		}
		rec.Release()
	}
	if n := countIntents(t, dir); n != 1 {
		t.Fatalf("%d intents after the failed commit, want 1", n)
	}
	must(t, s.Close())

	s = openStore(t, dir, mem, false)
	defer s.Close()
	for name, want := range map[string][2]int64{"a": {0, 15}, "b": {100, 15}} {
		tbl, err := s.Table("db", name)
		must(t, err)
		assertRows(t, mem, tbl, want)
		if txnTag(tbl) == "" {
			t.Errorf("%s: the snapshot does not carry the transaction id", name)
		}
	}
	checkNoOrphans(t, s, "after reopening")
	assertNoCommitDebris(t, dir)
	must(t, commitRows(s, mem, "db", rowsChange{"a", 15, 1, false}, rowsChange{"b", 115, 1, false}))
}

// TestCommitTablesFirstCommitFails: when committing the first table
// fails, nothing is committed, the intent is gone and no data file is
// left, so that reopening does not complete a commit reported as failed.
// Catches: an intent left behind (Open would roll the failed commit
// forward).
func TestCommitTablesFirstCommitFails(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	c := &crashFS{}
	s, err := OpenWithOptions(dir, &Options{Allocator: mem, fsys: c})
	must(t, err)
	a, b := twoTables(t, s, mem)
	files := countDataFiles(t, dir)
	c.setFail(failCommitOf("a"))
	err = commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 500, 5, true})
	c.setFail(nil)
	if err == nil {
		t.Fatal("CommitTables succeeded despite the injected failure")
	}
	assertRows(t, mem, a, [2]int64{0, 10})
	assertRows(t, mem, b, [2]int64{100, 10})
	if n := countDataFiles(t, dir); n != files {
		t.Errorf("%d data files, %d before the failed commit", n, files)
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, false)
	defer s.Close()
	assertTwoTables(t, mem, s)
}

// TestRecoverIncompleteIntent: an intent that is not complete (cut short,
// or still under its temporary name) belongs to a commit that never
// committed a table; Open removes it and changes nothing. Catches: Open
// failing on it, or leaving it for a later Open to misread.
func TestRecoverIncompleteIntent(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, _ := tenRowTable(t, dir, mem, true)
	must(t, s.Close())
	txlog := filepath.Join(dir, txlogDirName)
	must(t, os.MkdirAll(txlog, 0o755))
	id := uuid.NewString()
	full := fmt.Sprintf(`{"id":%q,"tables":[{"database":"db","table":"t","table-uuid":"x","base-snapshot-id":1,"added-data-files":["/nonexistent.parquet"]},`, id)
	must(t, os.WriteFile(filepath.Join(txlog, id+".json"), []byte(full), 0o644))
	must(t, os.WriteFile(filepath.Join(txlog, "."+id+".json.tmp-abc"), []byte(full+"{}]}"), 0o644))
	s = openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err := s.Table("db", "t")
	must(t, err)
	assertRows(t, mem, tbl, [2]int64{0, 10})
	if n := countIntents(t, dir); n != 0 {
		t.Errorf("%d intents left after Open", n)
	}
}

// TestRecoverIntentOfDroppedTable: a commit interrupted after its first
// table, whose second table is then dropped, is completed for the tables
// that still exist. Catches: Open failing on an intent naming a table
// that no longer exists.
func TestRecoverIntentOfDroppedTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	c := &crashFS{}
	s, err := OpenWithOptions(dir, &Options{Allocator: mem, fsys: c, NoSync: true})
	must(t, err)
	twoTables(t, s, mem)
	c.setFail(failCommitOf("b"))
	if err := commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 110, 5, false}); err == nil {
		t.Fatal("CommitTables succeeded despite the injected failure")
	}
	c.setFail(nil)
	must(t, s.DropTable("db", "b"))
	must(t, s.Close())
	s = openStore(t, dir, mem, true)
	defer s.Close()
	a, err := s.Table("db", "a")
	must(t, err)
	assertRows(t, mem, a, [2]int64{0, 15})
	if _, err := s.Table("db", "b"); !errors.Is(err, ErrTableNotFound) {
		t.Errorf("dropped table b: %v", err)
	}
}

// TestCommitTablesNoDeadlock runs multi-table commits naming overlapping
// tables in every order, together with DropDatabase of their database,
// and requires everything to finish. Catches: write locks taken in
// argument order, or DropDatabase locking its tables in map order.
func TestCommitTablesNoDeadlock(t *testing.T) {
	mem := checkedAlloc(t)
	s := openStore(t, t.TempDir(), mem, true)
	names := []string{"a", "b", "c", "d"}
	for round := range 20 {
		db := "db" + strconv.Itoa(round)
		must(t, s.CreateDatabase(db))
		for _, n := range names {
			_, err := s.CreateTable(db, n, smallSchema(), nil)
			must(t, err)
		}
		var wg sync.WaitGroup
		var errs errorSink
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(round), uint64(w)))
				for i := 0; i < 40 && !errs.failed(); i++ {
					perm := rng.Perm(len(names))[:2+rng.IntN(len(names)-1)]
					var cs []rowsChange
					for _, j := range perm {
						cs = append(cs, rowsChange{names[j], int64(i), 1, false})
					}
					err := commitRows(s, mem, db, cs...)
					if err != nil && !errors.Is(err, ErrTableNotFound) && !errors.Is(err, ErrDatabaseNotFound) {
						errs.add(err)
					}
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(round%5) * 5 * time.Millisecond)
			if err := s.DropDatabase(db); err != nil {
				errs.add(err)
			}
		}()
		if !waitFor(t, &wg, 30*time.Second, "commits and DropDatabase") {
			return // not closing the store, which would wait for the stuck locks
		}
		errs.report(t)
	}
	must(t, s.Close())
}

// TestCrashHelperMulti is the child process of TestCrashRecoveryMulti: it
// commits one batch to each of db.a and db.b in one CommitTables after
// another until killed (b is rewritten with all its rows plus the batch
// every fourth time), printing "ready" once the store is open and
// "committed N" after each commit returns, N being each table's
// committed row count.
func TestCrashHelperMulti(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecoveryMulti")
	}
	batch, err := strconv.ParseInt(os.Getenv(crashBatchEnv), 10, 64)
	must(t, err)
	s, err := Open(dir)
	must(t, err)
	a, err := s.Table("db", "a")
	must(t, err)
	b, err := s.Table("db", "b")
	must(t, err)
	mem := memory.DefaultAllocator
	fmt.Println("ready")
	for op := 0; ; op++ {
		rows := a.NumRows()
		ra := makeBatch(mem, a.Schema(), rows, batch)
		rb := makeBatch(mem, b.Schema(), rows, batch)
		cb := TableChange{Table: b, Append: []arrow.RecordBatch{rb}}
		if op%4 == 3 {
			cb = TableChange{Table: b, Rewrite: func(cur *Data) ([]arrow.RecordBatch, error) {
				rb.Retain()
				return append(cur.retainedBatches(), rb), nil
			}}
		}
		err := s.CommitTables([]TableChange{{Table: a, Append: []arrow.RecordBatch{ra}}, cb})
		ra.Release()
		rb.Release()
		must(t, err)
		fmt.Printf("committed %d\n", rows+batch)
	}
}

// TestCrashRecoveryMulti kills a process making multi-table commits
// (TestCrashHelperMulti) with SIGKILL at random moments and checks that
// every reopen shows both tables at the same commit: the same whole
// number of batches in each, at least what was reported committed, the
// right rows in order, no intent or other debris left, and tables that
// accept the next commit. Catches, with TestPowerLoss's CommitTables
// cases, a commit of several tables that a crash can cut in half.
func TestCrashRecoveryMulti(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	// Small batches make the commits, and so the moments between two
	// tables' commits, a large share of the time.
	batch, kills, rng := crashParams(t, 200)

	dir := t.TempDir()
	mem := checkedAlloc(t)
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	for _, n := range []string{"a", "b"} {
		_, err := s.CreateTable("db", n, wideSchema(), nil)
		must(t, err)
	}
	must(t, s.Close())

	var committed int64
	intentKills := 0 // kills that left an intent: a commit cut between its first and last table, or before
	defer func() { t.Logf("%d of %d kills left an intent", intentKills, kills) }()
	for i := 0; i < kills; i++ {
		reported := max(committed, runAndKill(t, "TestCrashHelperMulti", dir, batch, time.Duration(rng.IntN(600))*time.Millisecond))
		if countIntents(t, dir) > 0 {
			intentKills++
		}
		s := openStore(t, dir, mem, false)
		a, err := s.Table("db", "a")
		must(t, err)
		b, err := s.Table("db", "b")
		must(t, err)
		rows := a.NumRows()
		t.Logf("kill %d: reported committed %d, found %d and %d rows", i, reported, rows, b.NumRows())
		if b.NumRows() != rows {
			t.Fatalf("kill %d: a has %d rows but b %d: the commit was cut in half", i, rows, b.NumRows())
		}
		if rows%int64(batch) != 0 {
			t.Fatalf("kill %d: %d rows is not a whole number of batches", i, rows)
		}
		if rows < reported || rows > reported+int64(batch) {
			t.Fatalf("kill %d: %d rows, but %d were reported committed", i, rows, reported)
		}
		assertRows(t, mem, a, [2]int64{0, rows})
		assertRows(t, mem, b, [2]int64{0, rows})
		assertNoCommitDebris(t, dir)
		ra := makeBatch(mem, a.Schema(), rows, int64(batch))
		rb := makeBatch(mem, b.Schema(), rows, int64(batch))
		must(t, s.CommitTables([]TableChange{{Table: a, Append: []arrow.RecordBatch{ra}}, {Table: b, Append: []arrow.RecordBatch{rb}}}))
		ra.Release()
		rb.Release()
		committed = rows + int64(batch)
		must(t, s.Close())
	}
}

// twoTablesPL is the setup of TestPowerLoss's CommitTables cases: db.a
// and db.b as by twoTables.
func twoTablesPL(e *plEnv, s *Store) { twoTables(e.t, s, e.mem) }

// assertTwoTables checks that db.a and db.b of s hold the rows twoTables
// gave them.
func assertTwoTables(t *testing.T, mem memory.Allocator, s *Store) {
	t.Helper()
	for name, want := range map[string][2]int64{"a": {0, 10}, "b": {100, 10}} {
		tbl, err := s.Table("db", name)
		must(t, err)
		assertRows(t, mem, tbl, want)
	}
}

// TestIntentRemovalIsDurable: once a multi-table commit has returned, or
// the Open that completed an interrupted one, its intent stays removed
// after a power cut, even once later writes have expired the snapshot
// carrying the transaction id. Catches: an unsynced removal of the intent
// (by CommitTables or by recovery): after the power cut Open would find
// the intent again with a table that is neither at its base snapshot nor
// visibly committed by it, and fail.
func TestIntentRemovalIsDurable(t *testing.T) {
	for _, byOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("completed by Open=%v", byOpen), func(t *testing.T) {
			mem := checkedAlloc(t)
			root := t.TempDir()
			dir := filepath.Join(root, "data")
			c := &crashFS{}
			o := Options{Allocator: mem, fsys: c, SmallFileRows: -1, MaxSnapshots: 2, RetainSnapshots: 1}
			s, err := OpenWithOptions(dir, &o)
			must(t, err)
			twoTables(t, s, mem)
			if byOpen {
				c.setFail(failCommitOf("b"))
				if err := commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 110, 5, false}); err == nil {
					t.Fatal("CommitTables succeeded despite the injected failure")
				}
				c.setFail(nil)
				must(t, s.Close())
				must(t, c.begin(root))
				s, err = OpenWithOptions(dir, &o)
				must(t, err)
			} else {
				must(t, c.begin(root))
				must(t, commitRows(s, mem, "db", rowsChange{"a", 10, 5, false}, rowsChange{"b", 110, 5, false}))
			}
			// Two more snapshots of a expire the one carrying the id.
			a, err := s.Table("db", "a")
			must(t, err)
			append1(t, a, makeBatch(mem, a.Schema(), 15, 1))
			append1(t, a, makeBatch(mem, a.Schema(), 16, 1))
			for _, p := range c.end() {
				t.Errorf("crashFS: %s", p)
			}
			abandon(s)

			must(t, os.RemoveAll(root))
			must(t, c.materialize(c.numPoints()-1, root))
			s = openStore(t, dir, mem, true)
			defer s.Close()
			for name, want := range map[string][2]int64{"a": {0, 17}, "b": {100, 15}} {
				tbl, err := s.Table("db", name)
				must(t, err)
				assertRows(t, mem, tbl, want)
			}
		})
	}
}
