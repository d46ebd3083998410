package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// queued returns the number of AppendIf requests in tbl's queue, the
// leader included.
func queued(tbl *Table) int {
	tbl.appends.mu.Lock()
	defer tbl.appends.mu.Unlock()
	return len(tbl.appends.reqs)
}

// groupReq is one AppendIf of a test group.
type groupReq struct {
	check func(cur *Data) error
	recs  []arrow.RecordBatch
}

// appendAsGroup makes reqs one group commit of tbl and returns their
// errors: a first AppendIf of no rows holds the lead (its check blocks)
// until every request of reqs is queued behind it, in order, so the next
// leader takes them all at once. Waits are bounded: a request that does
// not queue or return fails the test.
func appendAsGroup(t *testing.T, tbl *Table, reqs []groupReq) []error {
	t.Helper()
	entered, release := make(chan struct{}), make(chan struct{})
	blockerDone := make(chan error, 1)
	go func() {
		blockerDone <- tbl.AppendIf(func(*Data) error {
			close(entered)
			<-release
			return nil
		}, nil)
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the blocking AppendIf never ran its check")
	}
	errs := make([]error, len(reqs))
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() { errs[i] = tbl.AppendIf(r.check, r.recs) })
		deadline := time.Now().Add(10 * time.Second)
		for queued(tbl) != i+2 {
			if time.Now().After(deadline) {
				close(release)
				t.Fatalf("request %d did not queue (queue holds %d)", i, queued(tbl))
			}
			time.Sleep(time.Millisecond)
		}
	}
	close(release)
	if !waitFor(t, &wg, 30*time.Second, "grouped appends") {
		t.FailNow()
	}
	must(t, <-blockerDone)
	return errs
}

// hasIDs returns a check that fails with errDup if cur holds a row whose
// id (column 0) is in [start, start+n).
func hasIDs(start, n int64, seen *[]int64) func(cur *Data) error {
	return func(cur *Data) error {
		*seen = append(*seen, cur.NumRows())
		recs := cur.retainedBatches()
		defer releaseBatches(recs)
		for _, b := range recs {
			ids := b.Column(0).(*array.Int64)
			for i := range ids.Len() {
				if v := ids.Value(i); v >= start && v < start+n {
					return fmt.Errorf("%w: id %d", errDup, v)
				}
			}
		}
		return nil
	}
}

var errDup = errors.New("duplicate id")

// TestGroupCommit: appends queued while another is being committed are
// committed together as one snapshot; each check sees the committed rows
// followed by those of the requests accepted before it in the group; a
// request whose check fails or whose batch does not match the schema
// gets its own error, and the others are committed in queue order.
//
// Bugs caught: checks that all see the contents before the group (the
// duplicate of request 1 would be accepted), one commit per request (the
// snapshot count), a failed check that fails the whole group, rows of a
// rejected request committed anyway, a group whose rows are committed out
// of queue order.
func TestGroupCommit(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	batch := func(start, n int64) []arrow.RecordBatch {
		b := makeBatch(mem, tbl.Schema(), start, n)
		t.Cleanup(b.Release)
		return []arrow.RecordBatch{b}
	}
	bad := makeBatch(mem, allTypesSchema(), 0, 1)
	defer bad.Release()
	before := tbl.Snapshot()
	defer before.Release()
	snaps := len(tbl.ice.Metadata().Snapshots())

	var seen []int64 // row counts the checks saw, in order (checks run one at a time)
	badCalled := false
	errs := appendAsGroup(t, tbl, []groupReq{
		{hasIDs(10, 2, &seen), batch(10, 2)},
		{hasIDs(12, 2, &seen), batch(12, 2)},
		{hasIDs(12, 2, &seen), batch(12, 2)}, // duplicates request 1
		{func(*Data) error { badCalled = true; return nil }, []arrow.RecordBatch{bad}},
		{hasIDs(14, 2, &seen), batch(14, 2)},
		{nil, batch(16, 2)},
	})
	for i, err := range errs {
		switch i {
		case 2:
			if !errors.Is(err, errDup) {
				t.Errorf("request 2 (a duplicate of request 1) = %v, want %v", err, errDup)
			}
		case 3:
			if !errors.Is(err, ErrSchemaMismatch) || badCalled {
				t.Errorf("request 3 (bad schema) = %v (check called: %v), want ErrSchemaMismatch without check", err, badCalled)
			}
		default:
			if err != nil {
				t.Errorf("request %d: %v", i, err)
			}
		}
	}
	if want := []int64{10, 12, 14, 14}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("the checks saw %v rows, want %v", seen, want)
	}
	assertRows(t, mem, tbl, [2]int64{0, 18})
	if got := len(tbl.ice.Metadata().Snapshots()); got != snaps+1 {
		t.Errorf("the group made %d snapshots, want 1", got-snaps)
	}
	after := tbl.Snapshot()
	defer after.Release()
	if !after.Extends(before) {
		t.Error("the contents after a group commit do not extend the ones before")
	}
	if n := len(batchesOf(t, after)); n > len(batchesOf(t, before))+1 {
		t.Errorf("the group added %d batches to the contents, want one", n-len(batchesOf(t, before)))
	}

	// The same rows survive a reopen: the group is committed, not just
	// published.
	dir := s.dir
	must(t, s.Close())
	s2 := openStore(t, dir, mem, true)
	defer s2.Close()
	tbl2, err := s2.Table("db", "t")
	must(t, err)
	assertRows(t, mem, tbl2, [2]int64{0, 18})
}

// TestGroupCommitFailure: when the commit of a group fails, every request
// of the group gets the error (also those whose checks passed), nothing
// is published, and the table goes on accepting appends. Catches: a
// failed group acknowledged to some of its requests, or published.
func TestGroupCommitFailure(t *testing.T) {
	mem := checkedAlloc(t)
	c := &crashFS{}
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, fsys: c, NoSync: true})
	must(t, err)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	before := tbl.Snapshot()
	defer before.Release()

	var reqs []groupReq
	for i := range int64(4) {
		b := makeBatch(mem, tbl.Schema(), 10+2*i, 2)
		defer b.Release()
		reqs = append(reqs, groupReq{func(*Data) error { return nil }, []arrow.RecordBatch{b}})
	}
	mdir := string(filepath.Separator) + filepath.Join("db", "t", "metadata") + string(filepath.Separator)
	c.setFail(func(op, path string) error {
		if op == "link" && strings.Contains(path, mdir) {
			return errors.New("injected failure")
		}
		return nil
	})
	errs := appendAsGroup(t, tbl, reqs)
	c.setFail(nil)
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Errorf("request %d of the failed group = %v, want the injected failure", i, err)
		}
	}
	cur := tbl.Snapshot()
	if cur != before {
		t.Error("a failed group commit published new contents")
	}
	cur.Release()
	assertRows(t, mem, tbl, [2]int64{0, 10})

	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 3))
	assertRows(t, mem, tbl, [2]int64{0, 13})
}

// TestGroupCommitConcurrent: many goroutines appending single rows at
// once all see their rows committed exactly once, in fewer snapshots than
// appends. Waits are bounded (a lost wake-up fails the test instead of
// hanging it).
func TestGroupCommitConcurrent(t *testing.T) {
	mem := checkedAlloc(t)
	// With fsync, a commit takes long enough for appends to queue behind
	// it.
	s, tbl := tenRowTable(t, t.TempDir(), mem, false)
	defer s.Close()
	seq := tbl.ice.Metadata().LastSequenceNumber()
	const writers, each = 8, 6
	var (
		wg   sync.WaitGroup
		errs errorSink
	)
	for w := range int64(writers) {
		wg.Go(func() {
			for i := range int64(each) {
				b := makeBatch(mem, tbl.Schema(), 100+w*each+i, 1)
				err := tbl.AppendIf(hasIDs(100+w*each+i, 1, new([]int64)), []arrow.RecordBatch{b})
				b.Release()
				if err != nil {
					errs.add(err)
					return
				}
			}
		})
	}
	if !waitFor(t, &wg, 60*time.Second, "appenders") {
		t.FailNow()
	}
	errs.report(t)
	d := tbl.Snapshot()
	defer d.Release()
	if d.NumRows() != 10+writers*each {
		t.Fatalf("%d rows, want %d", d.NumRows(), 10+writers*each)
	}
	ids := map[int64]int{}
	for _, b := range batchesOf(t, d) {
		col := b.Column(0).(*array.Int64)
		for i := range col.Len() {
			ids[col.Value(i)]++
		}
	}
	for w := range int64(writers * each) {
		if ids[100+w] != 1 {
			t.Errorf("id %d is there %d times", 100+w, ids[100+w])
		}
	}
	commits := tbl.ice.Metadata().LastSequenceNumber() - seq
	t.Logf("%d appends in %d commits", writers*each, commits)
	if commits >= writers*each {
		t.Errorf("%d appends took %d commits: no two were grouped", writers*each, commits)
	}
}

// TestGroupCommitExpiry: concurrent appenders on a table that keeps at
// most three snapshots, so that many group commits expire snapshots and
// their leaders delete the expired files after the lock is released,
// while the next groups commit. Afterwards the table keeps at most three
// snapshots and no file that none of them references, and every row
// reads back after a reopen. Catches: the deletion never run (files
// left, and the history lock held so that expiry stops), run for the
// wrong snapshots (the files of kept ones deleted) or racing with the
// next commit (run with -race).
func TestGroupCommitExpiry(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	opts := Options{Allocator: mem, NoSync: true, MaxSnapshots: 3, RetainSnapshots: 1}
	s, err := OpenWithOptions(dir, &opts)
	must(t, err)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	const writers, each = 4, 12
	var (
		wg   sync.WaitGroup
		errs errorSink
	)
	for w := range int64(writers) {
		wg.Go(func() {
			for i := range int64(each) {
				b := makeBatch(mem, tbl.Schema(), w*each+i, 1)
				err := tbl.Append([]arrow.RecordBatch{b})
				b.Release()
				if err != nil {
					errs.add(err)
					return
				}
			}
		})
	}
	if !waitFor(t, &wg, 60*time.Second, "appenders") {
		t.FailNow()
	}
	errs.report(t)
	if n := len(tbl.ice.Metadata().Snapshots()); n > opts.MaxSnapshots {
		t.Errorf("%d snapshots kept, want at most %d", n, opts.MaxSnapshots)
	}
	checkNoOrphans(t, s, "after the appends")
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	select {
	case err := <-closed:
		must(t, err)
	case <-time.After(60 * time.Second):
		t.Fatal("Close did not return: it waits for an expiry's deletions that never ran")
	}
	s, err = OpenWithOptions(dir, &opts)
	must(t, err)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	d := tbl.Snapshot()
	defer d.Release()
	ids := map[int64]int{}
	for _, b := range batchesOf(t, d) {
		col := b.Column(0).(*array.Int64)
		for i := range col.Len() {
			ids[col.Value(i)]++
		}
	}
	for id := range int64(writers * each) {
		if ids[id] != 1 {
			t.Errorf("after reopen, id %d is there %d times", id, ids[id])
		}
	}
}

// TestGroupCommitGathers: appenders that each send their next append
// only once the previous one returned (as clients do) are committed in
// full groups, not in alternating groups of one and of the rest. Catches:
// a leader that takes its group without waiting for the appenders of the
// previous group (about twice the commits).
func TestGroupCommitGathers(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	seq := tbl.ice.Metadata().LastSequenceNumber()
	const writers, each = 4, 10
	var (
		wg   sync.WaitGroup
		errs errorSink
	)
	start := make(chan struct{})
	for w := range int64(writers) {
		wg.Go(func() {
			<-start
			for i := range int64(each) {
				b := makeBatch(mem, tbl.Schema(), 100+w*each+i, 1)
				err := tbl.Append([]arrow.RecordBatch{b})
				b.Release()
				if err != nil {
					errs.add(err)
					return
				}
			}
		})
	}
	close(start)
	if !waitFor(t, &wg, 60*time.Second, "appenders") {
		t.FailNow()
	}
	errs.report(t)
	if n := tbl.NumRows(); n != 10+writers*each {
		t.Fatalf("%d rows, want %d", n, 10+writers*each)
	}
	commits := tbl.ice.Metadata().LastSequenceNumber() - seq
	t.Logf("%d appenders x %d appends: %d commits", writers, each, commits)
	if commits > each*3/2 {
		t.Errorf("%d appenders x %d appends took %d commits, want about %d", writers, each, commits, each)
	}
}
