package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// latestVersion returns the highest N of metadata/vN.metadata.json of a
// table directory.
func latestVersion(t *testing.T, tdir string) int {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(tdir, "metadata", "v*.metadata.json"))
	must(t, err)
	best := 0
	for _, m := range matches {
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), "v"), ".metadata.json"))
		if err == nil {
			best = max(best, n)
		}
	}
	if best == 0 {
		t.Fatalf("no metadata version in %s", tdir)
	}
	return best
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	must(t, err)
	must(t, os.WriteFile(dst, b, 0o644))
}

// TestRecoveryRemovesDebris plants everything an interrupted commit, create,
// drop or detector save can leave behind, without a clean-shutdown marker,
// and checks that Open cleans it up, keeps the committed data, and that the
// next commit (which needs the stale version claim gone) succeeds.
func TestRecoveryRemovesDebris(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, false)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 10))
	must(t, s.SaveDetector("db", "d", []byte("x")))
	must(t, s.Close())
	must(t, os.Remove(filepath.Join(dir, cleanFileName)))

	tdir := filepath.Join(dir, warehouseDirName, "db", "t")
	mdir := filepath.Join(tdir, "metadata")
	n := latestVersion(t, tdir)
	cur := filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json", n))
	debris := []string{
		// Crash after claiming version n+1, before publishing it.
		filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json.claim", n+1)),
		// Crash after publishing version n, before removing its claim.
		filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json.claim", n)),
		// Crash while writing the metadata temp file or the version hint.
		filepath.Join(mdir, uuid.NewString()+".metadata.json"),
		filepath.Join(mdir, uuid.NewString()+"-version-hint.temp"),
		// Crash after writing data and manifests, before the commit.
		filepath.Join(tdir, "data", "00000-0-"+uuid.NewString()+"-00001.parquet"),
		filepath.Join(mdir, uuid.NewString()+"-m0.avro"),
		filepath.Join(mdir, "snap-123-0-"+uuid.NewString()+".avro"),
		// Crash during SaveDetector.
		filepath.Join(dir, detectorsDirName, "db", ".d.model.tmp-123"),
		// Crash during DropDatabase after the tables were moved.
		filepath.Join(dir, detectorsDirName, "gone", "d.model"),
		// Crash during a drop, before the trash was emptied.
		filepath.Join(dir, trashDirName, "drop-1", "t", "metadata", "v1.metadata.json"),
		// Crash during CreateTable before its first version was published.
		filepath.Join(dir, warehouseDirName, "db", "half", "metadata", uuid.NewString()+".metadata.json"),
	}
	for _, p := range debris {
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		copyFile(t, cur, p)
	}
	// Crash after publishing, before updating the version hint.
	hint := filepath.Join(mdir, "version-hint.text")
	must(t, os.WriteFile(hint, []byte("1"), 0o644))
	// A directory that is not ours is left alone.
	foreign := filepath.Join(dir, warehouseDirName, "db", "notes", "readme.txt")
	must(t, os.MkdirAll(filepath.Dir(foreign), 0o755))
	must(t, os.WriteFile(foreign, []byte("hi"), 0o644))

	s = openStore(t, dir, mem, false)
	defer func() { s.Close() }()
	for _, p := range debris {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("not removed: %s (%v)", strings.TrimPrefix(p, dir), err)
		}
	}
	for _, p := range []string{filepath.Join(dir, warehouseDirName, "db", "half"), filepath.Join(dir, detectorsDirName, "gone")} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("not removed: %s", p)
		}
	}
	if _, err := os.Stat(foreign); err != nil {
		t.Errorf("foreign file removed: %v", err)
	}
	if b, _ := os.ReadFile(hint); string(b) != strconv.Itoa(n) {
		t.Errorf("version hint %q not repaired to %d", b, n)
	}
	if got, _ := s.Tables("db"); len(got) != 1 || got[0] != "t" {
		t.Fatalf("Tables = %v", got)
	}
	tbl, err := s.Table("db", "t")
	must(t, err)
	assertRows(t, mem, tbl, [2]int64{0, 20})
	if dets, _ := s.LoadDetectors("db"); len(dets) != 1 {
		t.Fatalf("detectors = %v", dets)
	}
	// Version n+1 must be committable now.
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 20, 5))
	if got := latestVersion(t, tdir); got != n+1 {
		t.Fatalf("committed version %d, want %d", got, n+1)
	}
	must(t, s.Close())
	s = openStore(t, dir, mem, false)
	tbl, err = s.Table("db", "t")
	must(t, err)
	assertRows(t, mem, tbl, [2]int64{0, 25})
}

// TestFailedCommitChangesNothing makes a real commit fail (another writer
// holds a claim on the next metadata version) and checks that neither the
// in-memory contents nor the files on disk changed, and that the table
// works once the claim is gone.
func TestFailedCommitChangesNothing(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, tbl := tenRowTable(t, dir, mem, true)
	defer s.Close()
	tdir := filepath.Join(dir, warehouseDirName, "db", "t")
	claim := filepath.Join(tdir, "metadata", fmt.Sprintf("v%d.metadata.json.claim", latestVersion(t, tdir)+1))
	must(t, os.WriteFile(claim, []byte("{}"), 0o644))
	before := dirListing(t, dir)

	for _, op := range []func([]arrow.RecordBatch) error{tbl.Append, tbl.Overwrite} {
		rec := makeBatch(mem, tbl.Schema(), 10, 5)
		err := op([]arrow.RecordBatch{rec})
		rec.Release()
		if !errors.Is(err, table.ErrCommitFailed) {
			t.Fatalf("write with a claimed version = %v, want ErrCommitFailed", err)
		}
		assertRows(t, mem, tbl, [2]int64{0, 10})
		after := dirListing(t, dir)
		for p := range after {
			if _, ok := before[p]; !ok {
				t.Errorf("file left by failed commit: %s", p)
			}
		}
	}
	must(t, os.Remove(claim))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 10, 5))
	assertRows(t, mem, tbl, [2]int64{0, 15})
}

// TestFilesAreIceberg checks the files independently of this package: the
// metadata is Iceberg v2 JSON under <table>/metadata, data files are Parquet
// under <table>/data carrying Iceberg field IDs, a separate iceberg-go
// Hadoop catalog reads the same rows, and the Parquet files hold them all.
func TestFilesAreIceberg(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s := openStore(t, dir, mem, false)
	must(t, s.CreateDatabase("db"))
	tbl, err := s.CreateTable("db", "t", allTypesSchema(), nil)
	must(t, err)
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 0, 1000))
	append1(t, tbl, makeBatch(mem, tbl.Schema(), 1000, 200000))
	must(t, s.Close())

	tdir := filepath.Join(dir, warehouseDirName, "db", "t")
	raw, err := os.ReadFile(filepath.Join(tdir, "metadata", fmt.Sprintf("v%d.metadata.json", latestVersion(t, tdir))))
	must(t, err)
	var meta struct {
		FormatVersion     int    `json:"format-version"`
		Location          string `json:"location"`
		CurrentSnapshotID int64  `json:"current-snapshot-id"`
	}
	must(t, json.Unmarshal(raw, &meta))
	if meta.FormatVersion != 2 || meta.Location != tdir || meta.CurrentSnapshotID == 0 {
		t.Fatalf("metadata = %+v", meta)
	}
	hint, err := os.ReadFile(filepath.Join(tdir, "metadata", "version-hint.text"))
	must(t, err)
	if want := strconv.Itoa(latestVersion(t, tdir)); strings.TrimSpace(string(hint)) != want {
		t.Errorf("version hint %q, want %s", hint, want)
	}

	// An independent reader: a fresh iceberg-go Hadoop catalog.
	cat, err := hadoop.NewCatalog("reader", filepath.Join(dir, warehouseDirName), iceberg.Properties{})
	must(t, err)
	defer cat.Close()
	ice, err := cat.LoadTable(t.Context(), table.Identifier{"db", "t"})
	must(t, err)
	at, err := ice.Scan().ToArrowTable(t.Context())
	must(t, err)
	if at.NumRows() != 201000 || at.NumCols() != int64(allTypesSchema().NumFields()) {
		t.Errorf("iceberg-go reads %d rows x %d columns", at.NumRows(), at.NumCols())
	}
	at.Release()

	// The data files of the current snapshot, read as plain Parquet.
	tasks, err := ice.Scan().PlanFiles(t.Context())
	must(t, err)
	var rows int64
	idRe := regexp.MustCompile(`^[0-9]+$`)
	for _, task := range tasks {
		p := task.File.FilePath()
		if filepath.Dir(p) != filepath.Join(tdir, "data") || !strings.HasSuffix(p, ".parquet") {
			t.Errorf("data file outside <table>/data: %s", p)
		}
		rdr, err := file.OpenParquetFile(p, false)
		must(t, err)
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		must(t, err)
		sc, err := fr.Schema()
		must(t, err)
		for i, f := range sc.Fields() {
			id, ok := f.Metadata.GetValue("PARQUET:field_id")
			if !ok || !idRe.MatchString(id) || id != strconv.Itoa(i+1) {
				t.Errorf("%s: field %s has field_id %q", filepath.Base(p), f.Name, id)
			}
		}
		rows += rdr.NumRows()
		must(t, rdr.Close())
	}
	if rows != 201000 {
		t.Errorf("parquet files hold %d rows", rows)
	}
}

// TestForeignTable loads a table written by plain iceberg-go (no Arrow
// schema property), deriving the Arrow schema from the Iceberg one.
func TestForeignTable(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	cat, err := hadoop.NewCatalog("writer", filepath.Join(dir, warehouseDirName), iceberg.Properties{})
	must(t, err)
	must(t, cat.CreateNamespace(t.Context(), table.Identifier{"ext"}, nil))
	isc := iceberg.NewSchema(0,
		iceberg.NestedField{ID: 1, Name: "id", Type: iceberg.PrimitiveTypes.Int64, Required: true},
		iceberg.NestedField{ID: 2, Name: "name", Type: iceberg.PrimitiveTypes.String},
	)
	ice, err := cat.CreateTable(t.Context(), table.Identifier{"ext", "people"}, isc, catalog.WithProperties(iceberg.Properties{"owner": "x"}))
	must(t, err)
	want := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	}, nil)
	rec := makeBatch(mem, want, 0, 50)
	_, err = ice.Append(t.Context(), mustReader(t, want, rec), nil)
	rec.Release()
	must(t, err)
	must(t, cat.Close())

	s := openStore(t, dir, mem, true)
	defer s.Close()
	tbl, err := s.Table("ext", "people")
	must(t, err)
	if !tbl.Schema().Equal(want) {
		t.Fatalf("schema = %s", tbl.Schema())
	}
	if tbl.Properties()["owner"] != "x" {
		t.Fatalf("properties = %v", tbl.Properties())
	}
	assertRows(t, mem, tbl, [2]int64{0, 50})
	append1(t, tbl, makeBatch(mem, want, 50, 5))
	assertRows(t, mem, tbl, [2]int64{0, 55})
}
