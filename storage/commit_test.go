package storage

import (
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// A commit made without iceberg-go's validators (commitTxn) still sends
// the transaction's requirements: a transaction built on a snapshot the
// table has moved past is refused, and the table keeps its metadata.
func TestCommitTxnRefusesAStaleBase(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	stale := tbl.ice
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 10))

	tbl.writeMu.Lock()
	defer tbl.writeMu.Unlock()
	before := tbl.ice.MetadataLocation()
	txn := stale.NewTransaction()
	must(t, txn.SetProperties(iceberg.Properties{"k": "v"}))
	nt, err := tbl.commitTxn(s.ctx, txn)
	if nt != nil || err == nil {
		t.Fatalf("commit on a stale base: table %v, error %v; want it refused", nt, err)
	}
	lt, err := s.cat.LoadTable(s.ctx, tbl.ident)
	must(t, err)
	if lt.MetadataLocation() != before || lt.Properties()["k"] != "" {
		t.Fatalf("the refused commit changed the table: metadata %s (was %s), k=%q", lt.MetadataLocation(), before, lt.Properties()["k"])
	}
}

// Point changes and appends keep the metadata directory bounded: the
// metadata files that drop out of the metadata log are removed, so it
// holds the current file and at most write.metadata.previous-versions-max
// (10) older ones however many commits there were.
func TestCommitsKeepTheMetadataDirectoryBounded(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, true)
	defer s.Close()
	for i := range int64(30) {
		append1(t, tbl, makeBatch(mem, tbl.Schema(), 10+i, 1))
		must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
			return SegmentChange{Delete: map[int][]int64{0: {0}}, Append: []arrow.RecordBatch{}}, nil
		}))
	}
	mdir := filepath.Join(s.loc.resolve(tbl.ice.Location()), "metadata")
	files, err := filepath.Glob(filepath.Join(mdir, "*.metadata.json"))
	must(t, err)
	if len(files) > 11 {
		t.Fatalf("%d metadata files after 60 commits, want at most 11 (the current one and 10 older)", len(files))
	}
	d := tbl.Snapshot()
	defer d.Release()
	if n := d.NumRows(); n != 10 {
		t.Fatalf("%d rows, want 10 (10 + 30 appended - 30 deleted)", n)
	}
}
