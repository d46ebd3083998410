package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// powerLossCase is one store operation checked against power loss at every
// point (see crashFS): after a power cut at any moment the store must open
// without error and show exactly the state before or the state after the
// operation, and once the operation has returned the state after it.
type powerLossCase struct {
	name string
	opts Options // Allocator and fsys are set by runPowerLoss
	// fresh starts recording before the first Open, which creates the data
	// directory; setup is not called and the old state is the empty store.
	fresh bool
	// setup builds the old state (not recorded).
	setup func(e *plEnv, s *Store)
	// reopen closes the store after setup and records its reopening too.
	reopen bool
	// op is the recorded operation; it must succeed.
	op func(e *plEnv, s *Store) error
	// hintMayLag is set when op makes the version-hint update fail on
	// purpose; otherwise the hint on disk must name the newest version
	// once op has returned.
	hintMayLag bool
}

// plEnv is what setup and op get to work with.
type plEnv struct {
	t   *testing.T
	mem memory.Allocator
	rec *crashFS
}

// mkTable creates table db.name of smallSchema holding the rows [start,
// start+n) made by makeBatch, creating the database if needed.
func (e *plEnv) mkTable(s *Store, db, name string, start, n int64) {
	e.t.Helper()
	if !slices.Contains(s.Databases(), db) {
		must(e.t, s.CreateDatabase(db))
	}
	_, err := s.CreateTable(db, name, smallSchema(), map[string]string{"owner": name})
	must(e.t, err)
	if n > 0 {
		must(e.t, e.appendRows(s, db, name, start, n))
	}
}

// appendRows appends the rows [start, start+n) to db.name.
func (e *plEnv) appendRows(s *Store, db, name string, start, n int64) error {
	tbl, err := s.Table(db, name)
	if err != nil {
		return err
	}
	rec := makeBatch(e.mem, tbl.Schema(), start, n)
	defer rec.Release()
	return tbl.Append([]arrow.RecordBatch{rec})
}

// overwriteRows replaces the contents of db.name with the rows [start,
// start+n) (none if n is 0).
func (e *plEnv) overwriteRows(s *Store, db, name string, start, n int64) error {
	tbl, err := s.Table(db, name)
	if err != nil {
		return err
	}
	if n == 0 {
		return tbl.Overwrite(nil)
	}
	rec := makeBatch(e.mem, tbl.Schema(), start, n)
	defer rec.Release()
	return tbl.Overwrite([]arrow.RecordBatch{rec})
}

// deleteRows deletes rows of the segments of db.name (by row number in
// each) and appends the rows [start, start+n), as one RewriteSegments.
func (e *plEnv) deleteRows(s *Store, name string, del map[int][]int64, start, n int64) error {
	tbl, err := s.Table("db", name)
	if err != nil {
		return err
	}
	return tbl.RewriteSegments(func(cur *Data) (SegmentChange, error) {
		c := SegmentChange{Delete: del}
		if n > 0 {
			c.Append = []arrow.RecordBatch{makeBatch(e.mem, cur.Schema(), start, n)}
		}
		return c, nil
	})
}

// powerLossCases are the operations TestPowerLoss checks.
func powerLossCases() []powerLossCase {
	tableOf20 := func(e *plEnv, s *Store) {
		e.mkTable(s, "db", "t", 0, 20)
		e.mkTable(s, "db", "other", 100, 3)
	}
	isHintTemp := func(op, path string) error {
		if op == "open" && strings.HasSuffix(path, "-version-hint.temp") {
			return errors.New("injected failure")
		}
		return nil
	}
	// dropDetectorsFails drops database x, whose detector directory cannot
	// be moved to the trash: the tables are gone, the detectors are left.
	dropDetectorsFails := func(e *plEnv, s *Store) {
		e.mkTable(s, "x", "t", 0, 5)
		must(e.t, s.SaveDetector("x", "d", []byte("old model")))
		e.mkTable(s, "keep", "t", 0, 5)
		e.rec.setFail(func(op, path string) error {
			if op == "rename" && strings.Contains(path, string(filepath.Separator)+detectorsDirName+string(filepath.Separator)) {
				return errors.New("injected failure")
			}
			return nil
		})
		if err := s.DropDatabase("x"); err == nil {
			e.t.Fatal("DropDatabase succeeded despite the injected failure")
		}
		e.rec.setFail(nil)
	}
	detectors := func(e *plEnv, s *Store) {
		e.mkTable(s, "db", "t", 0, 5)
		must(e.t, s.SaveDetector("db", "d", []byte("old model")))
		must(e.t, s.SaveDetector("db", "Fraud", []byte("old fraud")))
	}
	views := func(e *plEnv, s *Store) {
		e.mkTable(s, "db", "t", 0, 5)
		must(e.t, s.SaveView("db", View{Name: "v", Definition: "select 1", CreateStatement: "create view v as select 1"}, false))
		must(e.t, s.SaveView("db", View{Name: "w", Definition: "select 3", CreateStatement: "create view w as select 3"}, false))
	}
	return []powerLossCase{
		{
			name:  "Append/merging small files",
			opts:  Options{MergeFiles: 2},
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 10) },
			op:    func(e *plEnv, s *Store) error { return e.appendRows(s, "db", "t", 10, 5) },
		},
		{
			name:  "Append/new file",
			opts:  Options{SmallFileRows: -1},
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 10) },
			op:    func(e *plEnv, s *Store) error { return e.appendRows(s, "db", "t", 10, 5) },
		},
		{
			// Three AppendIf calls committed as one group (group.go): a
			// power cut shows none of them or all of them.
			name:  "AppendIf/group commit",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 10) },
			op: func(e *plEnv, s *Store) error {
				tbl, err := s.Table("db", "t")
				if err != nil {
					return err
				}
				var reqs []groupReq
				for i := range int64(3) {
					b := makeBatch(e.mem, tbl.Schema(), 10+2*i, 2)
					defer b.Release()
					reqs = append(reqs, groupReq{hasIDs(10+2*i, 2, new([]int64)), []arrow.RecordBatch{b}})
				}
				return errors.Join(appendAsGroup(e.t, tbl, reqs)...)
			},
		},
		{
			name:  "Append/first rows",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 0) },
			op:    func(e *plEnv, s *Store) error { return e.appendRows(s, "db", "t", 0, 5) },
		},
		{
			name: "Append/expiring snapshots",
			opts: Options{SmallFileRows: -1, MaxSnapshots: 2, RetainSnapshots: 1},
			setup: func(e *plEnv, s *Store) {
				e.mkTable(s, "db", "t", 0, 5)
				must(e.t, e.appendRows(s, "db", "t", 5, 5))
			},
			op: func(e *plEnv, s *Store) error { return e.appendRows(s, "db", "t", 10, 5) },
		},
		{
			name:   "Append/after reopen",
			setup:  func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 10) },
			reopen: true,
			op:     func(e *plEnv, s *Store) error { return e.appendRows(s, "db", "t", 10, 5) },
		},
		{
			// The version hint is best effort: a commit whose hint cannot
			// be written still succeeds and must be durable.
			name:       "Append/hint write fails",
			opts:       Options{SmallFileRows: -1},
			hintMayLag: true,
			setup:      func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 10) },
			op: func(e *plEnv, s *Store) error {
				e.rec.setFail(isHintTemp)
				defer e.rec.setFail(nil)
				return e.appendRows(s, "db", "t", 10, 5)
			},
		},
		{
			name:  "Overwrite/update",
			setup: tableOf20,
			op:    func(e *plEnv, s *Store) error { return e.overwriteRows(s, "db", "t", 50, 7) },
		},
		{
			name:  "Overwrite/truncate",
			setup: tableOf20,
			op:    func(e *plEnv, s *Store) error { return e.overwriteRows(s, "db", "t", 0, 0) },
		},
		{
			name:  "Rewrite/delete",
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				tbl, err := s.Table("db", "t")
				if err != nil {
					return err
				}
				return tbl.Rewrite(func(cur *Data) ([]arrow.RecordBatch, error) {
					recs := cur.retainedBatches()
					defer releaseBatches(recs)
					b, err := concatBatches(e.mem, cur.Schema(), recs)
					if err != nil {
						return nil, err
					}
					defer b.Release()
					return []arrow.RecordBatch{b.NewSlice(3, 17)}, nil
				})
			},
		},
		{
			// Merge-on-read (deletes.go): a position delete file and a
			// data file of new rows, one row delta.
			name:  "RewriteSegments/position deletes",
			opts:  Options{CopyOnWriteRows: -1},
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				return e.deleteRows(s, "t", map[int][]int64{0: {2, 5}}, 50, 2)
			},
		},
		{
			// The 17th single-row delete, each on another data file:
			// the row delta, then the rewrite of the 17 delete files of
			// as many delete manifests (delete_manifests.go), which
			// changes no row.
			name: "RewriteSegments/delete files rewritten",
			opts: Options{CopyOnWriteRows: -1, SmallFileRows: -1},
			setup: func(e *plEnv, s *Store) {
				e.mkTable(s, "db", "t", 0, 40)
				for i := range int64(maxManifests + 1) {
					must(e.t, e.appendRows(s, "db", "t", 40*(i+1), 40))
				}
				for i := range maxManifests {
					must(e.t, e.deleteRows(s, "t", map[int][]int64{i: {1}}, 0, 0))
				}
			},
			op: func(e *plEnv, s *Store) error {
				if err := e.deleteRows(s, "t", map[int][]int64{maxManifests: {1}}, 0, 0); err != nil {
					return err
				}
				tbl, err := s.Table("db", "t")
				if err != nil {
					return err
				}
				if got := tbl.ice.CurrentSnapshot().Summary.Properties[propMaintenance]; got != propDeleteFiles {
					return fmt.Errorf("the last snapshot's maintenance is %q, want %q", got, propDeleteFiles)
				}
				return nil
			},
		},
		{
			// A delete that passes CompactDeletedShare: the row delta,
			// then the compaction that rewrites the file (compact.go),
			// both showing the new rows.
			name:  "RewriteSegments/deletes and compaction",
			opts:  Options{CopyOnWriteRows: -1},
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				return e.deleteRows(s, "t", map[int][]int64{0: {0, 1, 2, 3, 7, 9}}, 0, 0)
			},
		},
		{
			// Deletes from a small file rewrite it (copy-on-write):
			// its data file replaced, no delete file.
			name:  "RewriteSegments/small file rewritten",
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				return e.deleteRows(s, "t", map[int][]int64{0: {2, 5}}, 50, 2)
			},
		},
		{
			// A multi-table commit with position deletes: the intent
			// names the delete files, which recovery commits.
			name:  "CommitTables/deletes+append",
			opts:  Options{CopyOnWriteRows: -1},
			setup: twoTablesPL,
			op: func(e *plEnv, s *Store) error {
				a, err := s.Table("db", "a")
				if err != nil {
					return err
				}
				b, err := s.Table("db", "b")
				if err != nil {
					return err
				}
				rec := makeBatch(e.mem, b.Schema(), 110, 3)
				defer rec.Release()
				return s.CommitTables([]TableChange{
					{Table: a, Segments: func(cur *Data) (SegmentChange, error) {
						return SegmentChange{Delete: map[int][]int64{0: {1, 4}}, Append: []arrow.RecordBatch{makeBatch(e.mem, cur.Schema(), 60, 1)}}, nil
					}},
					{Table: b, Append: []arrow.RecordBatch{rec}},
				})
			},
		},
		{
			// A change of table properties (how the SQL layer persists
			// index definitions) is a metadata-only commit.
			name:  "UpdateProperties",
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				tbl, err := s.Table("db", "t")
				if err != nil {
					return err
				}
				return tbl.UpdateProperties(setProps(map[string]string{"sql.indexes": `[{"name":"ix"}]`}, []string{"owner"}))
			},
		},
		{
			// ALTER TABLE: new columns, rows and properties in one
			// commit (alter_test.go).
			name:  "ChangeColumns",
			setup: tableOf20,
			op:    func(e *plEnv, s *Store) error { return alterTable(e.mem, s) },
		},
		{
			name:  "RenameColumn",
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				tbl, err := s.Table("db", "t")
				if err != nil {
					return err
				}
				return tbl.RenameColumn(1, "w", map[string]string{"sql.columns": "renamed"})
			},
		},
		{
			name:  "RenameTable",
			setup: tableOf20,
			op:    func(e *plEnv, s *Store) error { return s.RenameTable("db", "t", "renamed t") },
		},
		{
			// ALTER TABLE of several clauses: columns, rows, properties
			// and name in one commit.
			name:  "AlterTable/rewrite and rename",
			setup: tableOf20,
			op: func(e *plEnv, s *Store) error {
				return s.AlterTable("db", "t", Alteration{Schema: alteredSchema(), Sources: alteredSources, Rewrite: true, NewName: "renamed t",
					Fn: func(cur *Data) ([]arrow.RecordBatch, map[string]string, error) {
						recs, err := alterRows(e.mem, cur)
						return recs, map[string]string{"columns": "altered"}, err
					}})
			},
		},
		{
			// RENAME TABLE to another database: the table is written
			// anew there and dropped here, with a redo record (move.go).
			name: "AlterTable/move",
			setup: func(e *plEnv, s *Store) {
				tableOf20(e, s)
				tbl, err := s.Table("db", "t")
				must(e.t, err)
				must(e.t, tbl.UpdateProperties(setProps(map[string]string{"sql.auto_increment": "40"}, nil)))
				e.mkTable(s, "db2", "x", 0, 3)
			},
			op: func(e *plEnv, s *Store) error {
				return s.AlterTable("db", "t", Alteration{NewDB: "db2", NewName: "moved t"})
			},
		},
		{
			// The redo record of a two-table commit names the tables'
			// directories, which a rename does not change.
			name: "CommitTables/renamed tables",
			setup: func(e *plEnv, s *Store) {
				twoTablesPL(e, s)
				must(e.t, s.RenameTable("db", "a", "b2"))
				must(e.t, s.RenameTable("db", "b", "a"))
			},
			op: func(e *plEnv, s *Store) error {
				return e.commitRows(s, rowsChange{"a", 10, 5, false}, rowsChange{"b2", 110, 5, true})
			},
		},
		{
			// A commit of two tables (see CommitTables): both or
			// neither, whatever the point of the power cut, including
			// between the two tables' commits and during the Open that
			// completes the commit. Appends merging small files.
			name:  "CommitTables/append+append",
			opts:  Options{MergeFiles: 2},
			setup: twoTablesPL,
			op: func(e *plEnv, s *Store) error {
				return e.commitRows(s, rowsChange{"a", 10, 5, false}, rowsChange{"b", 110, 5, false})
			},
		},
		{
			name:  "CommitTables/append+overwrite",
			opts:  Options{SmallFileRows: -1},
			setup: twoTablesPL,
			op: func(e *plEnv, s *Store) error {
				return e.commitRows(s, rowsChange{"a", 10, 5, false}, rowsChange{"b", 500, 7, true})
			},
		},
		{
			name:  "CreateTable",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "other", 0, 5) },
			op: func(e *plEnv, s *Store) error {
				_, err := s.CreateTable("db", "New", allTypesSchema(), map[string]string{"k": "v"})
				return err
			},
		},
		{
			name: "DropTable",
			setup: func(e *plEnv, s *Store) {
				e.mkTable(s, "db", "a", 0, 10)
				e.mkTable(s, "db", "b", 10, 10)
			},
			op: func(e *plEnv, s *Store) error { return s.DropTable("db", "a") },
		},
		{
			name: "DropDatabase",
			setup: func(e *plEnv, s *Store) {
				e.mkTable(s, "db", "a", 0, 10)
				e.mkTable(s, "db", "b", 10, 10)
				must(e.t, s.SaveDetector("db", "d", []byte("model")))
				e.mkTable(s, "other", "c", 0, 5)
				must(e.t, s.SaveDetector("other", "d", []byte("other model")))
			},
			op: func(e *plEnv, s *Store) error { return s.DropDatabase("db") },
		},
		{
			name:  "CreateDatabase/first Open",
			fresh: true,
			op:    func(e *plEnv, s *Store) error { return s.CreateDatabase("db") },
		},
		{
			name:  "CreateDatabase",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "other", "t", 0, 5) },
			op:    func(e *plEnv, s *Store) error { return s.CreateDatabase("db") },
		},
		{
			// The detectors of a database whose drop failed half way must
			// not reappear in a new database of the same name.
			name:  "CreateDatabase/after a failed drop",
			setup: dropDetectorsFails,
			op:    func(e *plEnv, s *Store) error { return s.CreateDatabase("x") },
		},
		{
			name:   "CreateDatabase/after a failed drop and reopen",
			setup:  dropDetectorsFails,
			reopen: true,
			op:     func(e *plEnv, s *Store) error { return s.CreateDatabase("x") },
		},
		{
			name:  "SaveDetector/replace",
			setup: detectors,
			op:    func(e *plEnv, s *Store) error { return s.SaveDetector("db", "d", []byte("new model")) },
		},
		{
			name:  "SaveDetector/first",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 5) },
			op:    func(e *plEnv, s *Store) error { return s.SaveDetector("db", "d", []byte("new model")) },
		},
		{
			name:  "SaveDetector/name in another case",
			setup: detectors,
			op:    func(e *plEnv, s *Store) error { return s.SaveDetector("db", "FRAUD", []byte("new fraud")) },
		},
		{
			name:  "RenameDetector/same database",
			setup: detectors,
			op:    func(e *plEnv, s *Store) error { return s.RenameDetector("db", "d", "db", "e") },
		},
		{
			name:  "RenameDetector/name in another case",
			setup: detectors,
			op:    func(e *plEnv, s *Store) error { return s.RenameDetector("db", "fraud", "db", "FRAUD") },
		},
		{
			name: "RenameDetector/to another database",
			setup: func(e *plEnv, s *Store) {
				detectors(e, s)
				e.mkTable(s, "other", "t", 0, 1)
				must(e.t, s.SaveDetector("other", "x", []byte("other model")))
			},
			op: func(e *plEnv, s *Store) error { return s.RenameDetector("db", "Fraud", "other", "f2") },
		},
		{
			// The target database has no detector directory yet.
			name: "RenameDetector/to a database without detectors",
			setup: func(e *plEnv, s *Store) {
				detectors(e, s)
				e.mkTable(s, "other", "t", 0, 1)
			},
			reopen: true,
			op:     func(e *plEnv, s *Store) error { return s.RenameDetector("db", "d", "other", "d") },
		},
		{
			name:  "DeleteDetector",
			setup: detectors,
			op:    func(e *plEnv, s *Store) error { return s.DeleteDetector("db", "d") },
		},
		{
			// The view cases catch a views file written in place or
			// without its fsyncs (writeFileAtomic with noSync fails them).
			name:  "SaveView/first",
			setup: func(e *plEnv, s *Store) { e.mkTable(s, "db", "t", 0, 5) },
			op: func(e *plEnv, s *Store) error {
				return s.SaveView("db", View{Name: "v", Definition: "select 1", CreateStatement: "create view v as select 1"}, false)
			},
		},
		{
			name:  "SaveView/replace",
			setup: views,
			op: func(e *plEnv, s *Store) error {
				return s.SaveView("db", View{Name: "V", Definition: "select 2", CreateStatement: "create view V as select 2"}, true)
			},
		},
		{
			name:  "DeleteView",
			setup: views,
			op:    func(e *plEnv, s *Store) error { return s.DeleteView("db", "V") },
		},
		{
			// The views of a dropped database must not come back with it.
			name:  "DropDatabase/with views",
			setup: views,
			op:    func(e *plEnv, s *Store) error { return s.DropDatabase("db") },
		},
	}
}

// TestPowerLoss records each operation of powerLossCases with crashFS and,
// for every point of power loss, opens the disk a power cut there would
// leave with a normal Store. Open must succeed and show exactly the old or
// the new state (every row, detector and property compared), never the old
// state again once the new one was durable, and the new state at the last
// point: what was acknowledged is durable. Each opened state is also
// reopened after a simulated crash right after Open (recovery is
// idempotent), and power is cut at every point of that recovery too (what
// recovery writes is written safely). See also TestCrashRecovery, which
// kills a real process.
func TestPowerLoss(t *testing.T) {
	for _, pc := range powerLossCases() {
		t.Run(pc.name, func(t *testing.T) {
			t.Parallel()
			runPowerLoss(t, pc)
		})
	}
}

func runPowerLoss(t *testing.T, pc powerLossCase) {
	mem := checkedAlloc(t)
	rec := &crashFS{}
	e := &plEnv{t: t, mem: mem, rec: rec}
	// The recording covers the parent of the data directory, so that the
	// first Open's creation of the data directory is recorded too.
	root := t.TempDir()
	dir := filepath.Join(root, "data")
	open := func() *Store {
		t.Helper()
		o := pc.opts
		o.Allocator, o.fsys = mem, rec
		s, err := OpenWithOptions(dir, &o)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	}
	var s *Store
	var oldState string
	if pc.fresh {
		must(t, rec.begin(root))
		s = open()
	} else {
		s = open()
		pc.setup(e, s)
		oldState = storeState(t, s)
		if pc.reopen {
			must(t, s.Close())
			must(t, rec.begin(root))
			s = open()
		} else {
			must(t, rec.begin(root))
		}
	}
	if err := pc.op(e, s); err != nil {
		t.Fatalf("operation: %v", err)
	}
	newState := storeState(t, s)
	probs := rec.end()
	must(t, s.Close())
	for _, p := range probs {
		t.Errorf("crashFS: %s", p)
	}
	if oldState == newState {
		t.Fatalf("the operation changed nothing:\n%s", newState)
	}

	// Iceberg metadata holds absolute paths, so every power-cut state is
	// materialized in place of the original.
	v := &plVerifier{t: t, opts: pc.opts, mem: mem, root: root, dir: dir, seen: map[[32]byte]string{}}
	n := rec.numPoints()
	sawNew := false
	for k := range n {
		p := rec.point(k)
		where := fmt.Sprintf("power cut at point %d of %d, after %s %s", k, n-1, p.op, p.path)
		got := v.check(rec, k, where)
		switch got {
		case oldState:
			if sawNew {
				t.Fatalf("%s: the old state is back after the new one was durable", where)
			}
		case newState:
			sawNew = true
		default:
			t.Fatalf("%s: the store shows neither the old nor the new state:\n%s\nold:\n%s\nnew:\n%s", where, got, oldState, newState)
		}
	}
	if last := v.seen[rec.point(n-1).state.fingerprint()]; last != newState {
		t.Fatalf("the operation returned, but after a power cut the store shows the old state:\n%s\nwant:\n%s", last, newState)
	}
	if !pc.hintMayLag {
		v.materialize(rec, n-1)
		checkVersionHints(t, dir, true, "power cut after the operation returned")
	}
	t.Logf("%d points, %d distinct durable states, %d stores opened", n, len(v.seen), v.opens)
}

// plVerifier opens power-cut states and remembers what each showed.
type plVerifier struct {
	t     *testing.T
	opts  Options
	mem   memory.Allocator
	root  string // where states are materialized
	dir   string // the data directory, under root
	opens int
	seen  map[[32]byte]string // storeState by fingerprint of the durable state
}

// materialize replaces the tree under root with point k of rec.
func (v *plVerifier) materialize(rec *crashFS, k int) {
	v.t.Helper()
	must(v.t, os.RemoveAll(v.root))
	must(v.t, rec.materialize(k, v.root))
}

// open opens dir with the case's options and fsys, or with the OS's file
// system and without fsync if fsys is nil (for opens whose own durability
// is not under test).
func (v *plVerifier) open(dir string, fsys fileSystem, where string) *Store {
	v.t.Helper()
	v.opens++
	o := v.opts
	o.Allocator, o.fsys, o.NoSync = v.mem, fsys, fsys == nil
	s, err := OpenWithOptions(dir, &o)
	if err != nil {
		v.t.Fatalf("%s: Open: %v", where, err)
	}
	return s
}

// check materializes point k of rec, opens it and returns what the store
// shows. On the way it checks the version hints on disk, that Open leaves
// no unreferenced files and no commit debris, that a second Open after a
// crash right after the first shows the same, and that a power cut at any
// point of the first Open's recovery does too. States already seen are
// not checked again.
func (v *plVerifier) check(rec *crashFS, k int, where string) string {
	t := v.t
	t.Helper()
	fp := rec.point(k).state.fingerprint()
	if got, ok := v.seen[fp]; ok {
		return got
	}
	dir := v.dir
	v.materialize(rec, k)
	checkVersionHints(t, dir, false, where)

	// Open, recording the recovery.
	rrec := &crashFS{}
	must(t, rrec.begin(v.root))
	s := v.open(dir, rrec, where)
	got := storeState(t, s)
	checkNoOrphans(t, s, where)
	abandon(s)
	for _, p := range rrec.end() {
		t.Errorf("%s: recovery: crashFS: %s", where, p)
	}
	assertNoCommitDebris(t, dir)

	// Recovery is idempotent: a crash right after Open changes nothing.
	s = v.open(dir, nil, where+", reopened")
	if again := storeState(t, s); again != got {
		t.Fatalf("%s: reopening after recovery shows\n%s\nbut the first Open showed\n%s", where, again, got)
	}
	checkNoOrphans(t, s, where+", reopened")
	must(t, s.Close())

	// A power cut during recovery changes nothing either, and once Open
	// has returned its repairs are durable.
	n := rrec.numPoints()
	checked := map[[32]byte]bool{fp: true}
	for j := range n {
		rfp := rrec.point(j).state.fingerprint()
		if checked[rfp] && j < n-1 {
			continue
		}
		checked[rfp] = true
		rwhere := fmt.Sprintf("%s, then at point %d of %d of recovery (after %s %s)", where, j, n-1, rrec.point(j).op, rrec.point(j).path)
		v.materialize(rrec, j)
		checkVersionHints(t, dir, j == n-1, rwhere)
		s := v.open(dir, nil, rwhere)
		if again := storeState(t, s); again != got {
			t.Fatalf("%s: store shows\n%s\nbut the interrupted recovery showed\n%s", rwhere, again, got)
		}
		must(t, s.Close())
	}
	v.seen[fp] = got
	return got
}

// abandon drops s as if its process had been killed: the tables are
// detached and the lock released, but no clean-shutdown marker is written.
func abandon(s *Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.releaseAll()
	_ = s.cat.Close()
	unregisterIcebergFS(s.fsToken)
	_ = s.lock.Close()
}

// storeState renders everything a store shows: its databases, their
// tables with schema, properties and every row in order, and their
// detectors with their bytes.
func storeState(t testing.TB, s *Store) string {
	t.Helper()
	var b strings.Builder
	for _, db := range s.Databases() {
		fmt.Fprintf(&b, "database %q\n", db)
		tables, err := s.Tables(db)
		must(t, err)
		for _, name := range tables {
			tbl, err := s.Table(db, name)
			must(t, err)
			fmt.Fprintf(&b, "  table %q %v\n    %s\n", tbl.Name(), tbl.Properties(), strings.ReplaceAll(tbl.Schema().String(), "\n", "\n    "))
			d := tbl.Snapshot()
			for _, batch := range batchesOf(t, d) {
				for r := range int(batch.NumRows()) {
					b.WriteString("    row")
					for _, col := range batch.Columns() {
						b.WriteString(" " + col.ValueStr(r))
					}
					b.WriteByte('\n')
				}
			}
			d.Release()
		}
		dets, err := s.LoadDetectors(db)
		must(t, err)
		for _, name := range slices.Sorted(maps.Keys(dets)) {
			fmt.Fprintf(&b, "  detector %q %q\n", name, dets[name])
		}
		views, err := s.Views(db)
		must(t, err)
		for _, v := range views {
			fmt.Fprintf(&b, "  view %+v\n", v)
		}
	}
	return b.String()
}

// checkNoOrphans checks that every Parquet and Avro file in the table
// directories of s is referenced by a snapshot of its table.
func checkNoOrphans(t *testing.T, s *Store, where string) {
	t.Helper()
	for _, db := range s.Databases() {
		tables, err := s.Tables(db)
		must(t, err)
		for _, name := range tables {
			tbl, err := s.Table(db, name)
			must(t, err)
			tbl.cleaning.Wait() // expired files are deleted in the background (Table.maintain)
			tdir := filepath.Join(s.warehouse, tbl.Database(), tbl.dir())
			refs, _, err := referencedFiles(s.ctx, tbl.ice, tdir, s.loc)
			must(t, err)
			err = filepath.WalkDir(tdir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if (strings.HasSuffix(p, ".parquet") || strings.HasSuffix(p, ".avro")) && !refs[p] {
					t.Errorf("%s: unreferenced file %s left after Open", where, p)
				}
				return nil
			})
			must(t, err)
		}
	}
}

// checkVersionHints checks, in every table directory of the data
// directory dir, that version-hint.text, if present, names a metadata
// version that exists (so another engine trusting it finds a table), and
// with current that it names the newest one.
func checkVersionHints(t *testing.T, dir string, current bool, where string) {
	t.Helper()
	mdirs, err := filepath.Glob(filepath.Join(dir, warehouseDirName, "*", "*", "metadata"))
	must(t, err)
	for _, mdir := range mdirs {
		ents, err := os.ReadDir(mdir)
		must(t, err)
		versions, newest := map[int]bool{}, 0
		for _, e := range ents {
			if m := hadoopVersionFile.FindStringSubmatch(e.Name()); m != nil {
				n, _ := strconv.Atoi(m[1])
				versions[n], newest = true, max(newest, n)
			}
		}
		if newest == 0 {
			continue
		}
		b, err := os.ReadFile(filepath.Join(mdir, "version-hint.text"))
		if errors.Is(err, fs.ErrNotExist) && !current {
			continue
		}
		must(t, err)
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		switch {
		case err != nil || !versions[n]:
			t.Errorf("%s: %s: version hint %q names no metadata version", where, mdir, b)
		case current && n != newest:
			t.Errorf("%s: %s: version hint %d, newest version %d", where, mdir, n, newest)
		}
	}
}
