package storage

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// gatedRemoveFS is the operating system's file system, except that once
// armed every Remove of a data or manifest file reports its path on
// entered and then waits until gate is closed.
type gatedRemoveFS struct {
	osFS
	armed   atomic.Bool
	entered chan string
	gate    chan struct{}
}

func (g *gatedRemoveFS) Remove(name string) error {
	if g.armed.Load() && (strings.HasSuffix(name, ".avro") || strings.HasSuffix(name, ".parquet")) {
		select {
		case g.entered <- name:
		default:
		}
		<-g.gate
	}
	return g.osFS.Remove(name)
}

// TestExpiryDeletesAfterTheStatement: a change that expires snapshots
// returns before the files only those snapshots referenced are deleted
// (that deletion takes 10–140 ms on a real disk), the deletion then runs
// in the background, and Close waits for it, leaving no unreferenced
// file. Bugs caught: maintain deleting the expired files before the
// statement returns (the change blocks on the gated Remove), and the
// background deletion never run or not waited for by Close (files left).
func TestExpiryDeletesAfterTheStatement(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	fsys := &gatedRemoveFS{entered: make(chan string, 1), gate: make(chan struct{})}
	opts := Options{Allocator: mem, NoSync: true, MaxSnapshots: 3, RetainSnapshots: 1, CopyOnWriteRows: -1, fsys: fsys}
	s, err := OpenWithOptions(dir, &opts)
	must(t, err)
	closed := false
	defer func() {
		if !closed {
			s.Close()
		}
	}()
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", smallSchema(), nil)
	must(t, err)
	for i := range int64(3) {
		b := makeBatch(mem, tbl.Schema(), i*10, 10)
		append1(t, tbl, b)
		b.Release()
	}
	if n := len(tbl.ice.Metadata().Snapshots()); n != 3 {
		t.Fatalf("%d snapshots before the change, want 3 (the next commit expires)", n)
	}
	fsys.armed.Store(true)
	done := make(chan error, 1)
	go func() {
		done <- tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
			return SegmentChange{Delete: map[int][]int64{0: {0}}, Append: []arrow.RecordBatch{}}, nil
		})
	}()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(30 * time.Second):
		close(fsys.gate)
		t.Fatal("the change waits for the deletion of the expired snapshots' files")
	}
	select {
	case <-fsys.entered:
	case <-time.After(30 * time.Second):
		close(fsys.gate)
		t.Fatal("no expired file deleted after the change")
	}
	if n := len(tbl.ice.Metadata().Snapshots()); n > opts.MaxSnapshots {
		t.Errorf("%d snapshots after the change, want at most %d", n, opts.MaxSnapshots)
	}
	close(fsys.gate)
	must(t, s.Close())
	closed = true
	s, err = OpenWithOptions(dir, &Options{Allocator: mem, NoSync: true})
	must(t, err)
	defer s.Close()
	checkNoOrphans(t, s, "after the change and Close")
	tbl, err = s.Table("db", "t")
	must(t, err)
	d := tbl.Snapshot()
	defer d.Release()
	if d.NumRows() != 29 {
		t.Errorf("%d rows after deleting one of 30", d.NumRows())
	}
}
