package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
)

// TestDeferredSyncs checks with crashFS how icebergFS puts off fsyncs
// (deferred_sync.go): a file written into a table is not durable when it
// is closed, and is, with its directory entry, once a rename or link into
// that table's metadata directory has returned; a file of another table
// stays as it was. A failed fsync fails that publication and every later
// one of the table while the file exists. Catches: a publication that does
// not flush first (or flushes the wrong directory), a close that still
// fsyncs at once (the deferral lost), a failed fsync forgotten after its
// first report (a later commit would publish the file), and a count of
// queued files that leaks.
func TestDeferredSyncs(t *testing.T) {
	root := t.TempDir()
	p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	for _, d := range []string{"t/data", "t/metadata", "u/data"} {
		must(t, os.MkdirAll(p(d), 0o755))
	}
	must(t, os.WriteFile(p("t/metadata/tmp"), []byte("meta"), 0o644))
	c := &crashFS{}
	must(t, c.begin(root))
	f := icebergFS{fsys: c, syncs: newDeferredSyncs(c)}
	write := func(rel, data string) {
		t.Helper()
		w, err := f.Create(p(rel))
		must(t, err)
		_, err = w.Write([]byte(data))
		must(t, err)
		must(t, w.Close())
	}
	// after returns the tree a power cut right now leaves.
	after := func() map[string]string {
		t.Helper()
		out := filepath.Join(t.TempDir(), "out")
		must(t, c.materialize(c.numPoints()-1, out))
		return readTree(t, out)
	}

	write("t/data/f.parquet", "first")
	write("t/data/f.parquet", "rows") // created again: supersedes the first
	write("u/data/g.parquet", "other")
	if got, ok := after()["t/data/f.parquet"]; ok && got != "" {
		t.Errorf("a closed data file survives a power cut before any publication (%q): its fsync was not put off", got)
	}
	must(t, f.RenameNoReplace(p("t/metadata/tmp"), p("t/metadata/v1.metadata.json")))
	tree := after()
	if tree["t/data/f.parquet"] != "rows" || tree["t/metadata/v1.metadata.json"] != "meta" {
		t.Errorf("after the publication a power cut leaves %q, want the data file and the metadata version", tree)
	}
	if got, ok := tree["u/data/g.parquet"]; ok && got != "" {
		t.Errorf("a publication into table t made table u's file durable (%q)", got)
	}

	// A failed fsync.
	failed := errors.New("injected fsync failure")
	c.setFail(func(op, path string) error {
		if op == "sync" && strings.HasSuffix(path, "h.parquet") {
			return failed
		}
		return nil
	})
	write("t/data/h.parquet", "more")
	tmp2, err := createFile(c, p("t/metadata/tmp2"))
	must(t, err)
	must(t, tmp2.Close())
	for i := range 2 {
		err := f.RenameNoReplace(p("t/metadata/tmp2"), p("t/metadata/v2.metadata.json"))
		if !errors.Is(err, failed) {
			t.Fatalf("publication %d after a failed fsync: %v, want the fsync's error", i+1, err)
		}
		if _, err := os.Stat(p("t/metadata/v2.metadata.json")); err == nil {
			t.Fatalf("publication %d after a failed fsync linked the version", i+1)
		}
	}
	c.setFail(nil)
	must(t, c.Remove(p("t/data/h.parquet"))) // what a failed commit does
	must(t, f.RenameNoReplace(p("t/metadata/tmp2"), p("t/metadata/v2.metadata.json")))
	for _, prob := range c.end() {
		t.Errorf("crashFS: %s", prob)
	}
	if n := f.syncs.files; n != 1 {
		t.Errorf("%d files counted as queued, want 1 (table u's): the count leaks, and a full count stops the deferral", n)
	}
}

// TestDeferredSyncsForgetRemovedFiles stages rows (files written, their
// fsyncs queued), discards them, and drops the table, 70 times, then
// stages rows in a table that is dropped and created again under the
// same name: nothing stays queued for removed files (the queue would
// hold their descriptors open and, once full, turn deferral off for the
// whole store), and the new table's first commit does not trip over the
// old one's queued directory. Bugs caught: removals through the store's
// file system (removeDataFiles, the trash) not discarding their queue
// entries.
func TestDeferredSyncsForgetRemovedFiles(t *testing.T) {
	mem := checkedAlloc(t)
	s, err := OpenWithOptions(t.TempDir(), &Options{Allocator: mem, TargetFileBytes: 1})
	must(t, err)
	defer s.Close()
	must(t, s.CreateDatabase("db"))
	stage := func(tbl *Table) *Staged {
		var recs []arrow.RecordBatch
		for i := range 3 {
			recs = append(recs, makeBatch(mem, tbl.Schema(), int64(i*10), 10))
		}
		defer releaseBatches(recs)
		st, err := tbl.Stage(recs)
		must(t, err)
		return st
	}
	for round := range 70 {
		name := fmt.Sprintf("t%d", round)
		tbl, err := s.CreateTable("db", name, smallSchema(), nil)
		must(t, err)
		stage(tbl).Discard()
		must(t, s.DropTable("db", name))
		if n := s.syncs.files; n != 0 {
			t.Fatalf("round %d: %d files queued after discard and drop", round, n)
		}
	}
	tbl, err := s.CreateTable("db", "again", smallSchema(), nil)
	must(t, err)
	st := stage(tbl)
	must(t, s.DropTable("db", "again"))
	st.Discard()
	tbl, err = s.CreateTable("db", "again", smallSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 10))
	if n := s.syncs.files; n != 0 {
		t.Errorf("%d files queued after a commit", n)
	}
}
