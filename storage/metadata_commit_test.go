package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// The store's metadata commit leaves what the Hadoop catalog's would:
// after appends, an overwrite, a property change and an expiry, the
// catalog loads the table at the version the store holds, with the same
// metadata, and the version hint names that version. A reopened store
// reads the same rows.
func TestMetadataCommitLoadsInTheCatalog(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, false)
	for i := range int64(25) { // more than MaxSnapshots: an expiry runs
		append1(t, tbl, makeBatch(mem, tbl.Schema(), 10+i, 1))
	}
	must(t, tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
		return SegmentChange{Delete: map[int][]int64{0: {0}}, Append: []arrow.RecordBatch{}}, nil
	}))
	must(t, tbl.UpdateProperties(func(*Data) (map[string]string, []string, error) {
		return map[string]string{"owner": "ops"}, nil, nil
	}))

	loc := tbl.ice.MetadataLocation()
	m := hadoopVersionFile.FindStringSubmatch(filepath.Base(loc))
	if m == nil {
		t.Fatalf("current metadata %s is not named as the Hadoop catalog names versions", loc)
	}
	lt, err := s.cat.LoadTable(s.ctx, tbl.ident)
	must(t, err)
	if lt.MetadataLocation() != loc {
		t.Fatalf("the catalog loads %s, the store holds %s", lt.MetadataLocation(), loc)
	}
	got, err := json.Marshal(lt.Metadata())
	must(t, err)
	want, err := json.Marshal(tbl.ice.Metadata())
	must(t, err)
	if string(got) != string(want) {
		t.Fatalf("the catalog loads other metadata than the store holds:\n%s\n%s", got, want)
	}
	if n := len(tbl.ice.Metadata().Snapshots()); n > s.opts.MaxSnapshots {
		t.Fatalf("%d snapshots after 27 commits, want the expiry to keep at most %d", n, s.opts.MaxSnapshots)
	}
	hint, err := os.ReadFile(filepath.Join(filepath.Dir(s.loc.resolve(loc)), "version-hint.text"))
	must(t, err)
	if strings.TrimSpace(string(hint)) != m[1] {
		t.Fatalf("version hint %q, want %s", hint, m[1])
	}
	if lt.Properties()["owner"] != "ops" {
		t.Fatalf("property owner = %q after the commit that set it", lt.Properties()["owner"])
	}
	must(t, s.Close())

	s = openStore(t, dir, mem, false)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	if tbl.ice.MetadataLocation() != loc {
		t.Fatalf("reopened at %s, want %s", tbl.ice.MetadataLocation(), loc)
	}
	d := tbl.Snapshot()
	defer d.Release()
	if n := d.NumRows(); n != 34 {
		t.Fatalf("%d rows after reopening, want 34 (10 + 25 appended - 1 deleted)", n)
	}
}

// A commit whose next version already exists on disk (a writer the store
// does not know of) is refused with ErrCommitFailed and changes nothing:
// the file is linked without replacing, as the catalog's claim does.
func TestMetadataCommitRefusesAnExistingVersion(t *testing.T) {
	mem := checkedAlloc(t)
	s, tbl := tenRowTable(t, t.TempDir(), mem, false)
	defer s.Close()

	loc := s.loc.resolve(tbl.ice.MetadataLocation())
	m := hadoopVersionFile.FindStringSubmatch(filepath.Base(loc))
	if m == nil {
		t.Fatalf("current metadata %s is not named as the Hadoop catalog names versions", loc)
	}
	version, err := strconv.Atoi(m[1])
	must(t, err)
	next := filepath.Join(filepath.Dir(loc), fmt.Sprintf("v%d.metadata.json", version+1))
	other, err := os.ReadFile(loc)
	must(t, err)
	must(t, os.WriteFile(next, other, 0o644))

	tbl.writeMu.Lock()
	txn := tbl.ice.NewTransaction()
	must(t, txn.SetProperties(iceberg.Properties{"k": "v"}))
	nt, err := tbl.commitTxn(s.ctx, txn)
	tbl.writeMu.Unlock()
	if nt != nil || !errors.Is(err, table.ErrCommitFailed) {
		t.Fatalf("commit onto an existing version: table %v, error %v; want ErrCommitFailed", nt, err)
	}
	after, err := os.ReadFile(next)
	must(t, err)
	if string(after) != string(other) {
		t.Fatal("the refused commit replaced the existing version's file")
	}
	if tbl.ice.Properties()["k"] != "" {
		t.Fatal("the refused commit changed the table in memory")
	}
	left, err := filepath.Glob(filepath.Join(filepath.Dir(loc), "*-*-*-*-*.metadata.json"))
	must(t, err)
	if len(left) != 0 {
		t.Fatalf("the refused commit left its temporary file: %v", left)
	}
}
