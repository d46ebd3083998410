package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Table is one Iceberg table with its committed contents held in memory.
// It is safe for concurrent use: reads (Snapshot) never block on writes,
// and writes (Append, Overwrite) are serialized per table.
type Table struct {
	store *Store
	db    string
	name  string
	ident table.Identifier
	props map[string]string // user-visible properties of ice; replaced (never modified) with writeMu held, stamped on every published Data

	writeMu sync.Mutex
	schema  *arrow.Schema // declared schema (CreateTable, then ChangeColumns); the schema of data
	canon   *arrow.Schema // Iceberg's Arrow form of the schema, with field IDs; used for writing
	ice     *table.Table  // current Iceberg metadata
	files   []fileInfo    // data files of the current snapshot, in row order
	exact   bool          // files less their position deletes hold exactly the rows of data, in order, one segment each (no other delete files)
	err     error         // set once the table is dropped, closed or in an unknown state
	damage  error         // set (with err) for a table that could not be loaded, guarded by dataMu too; see Damage

	dataMu       sync.RWMutex
	data         *Data // nil until the rows are read (Snapshot, writable)
	metadataRows int64 // the row count of the current snapshot's metadata, for NumRows before the rows are read

	// meta is ice for readers of the history that must not wait for a
	// write (snapshot_scan.go); nil for a damaged or detached table.
	// histMu is read-locked while an old snapshot's files are read;
	// maintain expires snapshots only when it can take it.
	meta   atomic.Pointer[table.Table]
	histMu sync.RWMutex
	// cleaning counts the deletions of expired snapshots' files not yet
	// run (see expire); detach waits for them.
	cleaning sync.WaitGroup

	appends appendQueue // AppendIf requests waiting for a group commit (group.go)

	// updateFiles is set (with writeMu held) when a row delta added a
	// data file of new rows, which compact may merge (compact.go).
	updateFiles bool

	// live holds the published Datas not yet freed: the current one and
	// older ones readers still hold, whose data files maintain must not
	// delete. maintainDue is set when maintain was put off for them; the
	// last of them to be freed runs it.
	live        *liveSet // shared with the *Table of a new name after a rename
	maintainDue atomic.Bool
}

// fileInfo is one data file of the current snapshot.
type fileInfo struct {
	df   iceberg.DataFile
	rows int64       // live rows: the file's less the deleted ones
	dels *posDeletes // its position deletes, nil for none (deletes.go)
}

// newTable builds a Table (without data) of database d from loaded
// Iceberg metadata; dir is the table's directory name under its database
// (see tableDir).
func newTable(s *Store, d *database, name, dir string, ice *table.Table) (*Table, error) {
	db := d.name
	sc, err := declaredSchema(ice.Schema(), ice.Properties())
	if err != nil {
		return nil, fmt.Errorf("storage: table %s.%s: %w", db, name, err)
	}
	canon, err := table.SchemaToArrowSchema(ice.Schema(), nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("storage: table %s.%s: %w", db, name, err)
	}
	props := map[string]string{}
	for k, v := range ice.Properties() {
		if !isReservedProp(k) {
			props[k] = v
		}
	}
	t := &Table{
		store:  s,
		db:     db,
		name:   name,
		ident:  table.Identifier{d.dir, dir},
		schema: sc,
		canon:  canon,
		props:  props,
		ice:    ice,
		live:   &liveSet{m: map[*Data]struct{}{}},
	}
	t.meta.Store(ice)
	return t, nil
}

// Name returns the table name as created or last renamed.
func (t *Table) Name() string { return t.name }

// dir is the name of the table's directory under its database directory,
// which is also its Iceberg catalog name: the SQL name when the table was
// created under a name that is a safe directory name, else a generated
// one (see tableDir). It never changes, not even by RenameTable.
func (t *Table) dir() string { return t.ident[1] }

// Database returns the name of the table's database as created.
func (t *Table) Database() string { return t.db }

// Schema returns the table's current Arrow schema: the fields, in order,
// as given to CreateTable or the last ChangeColumns. It is the schema of
// the current Snapshot; every batch of a Data conforms to that Data's
// Schema, which differs from this one only across a ChangeColumns.
func (t *Table) Schema() *arrow.Schema {
	t.dataMu.RLock()
	defer t.dataMu.RUnlock()
	if t.data == nil {
		return t.schema // no write before the rows are read: unchanged
	}
	return t.data.schema
}

// Properties returns a copy of the table properties: the ones given to
// CreateTable as changed by every committed UpdateProperties. It is the
// same as Snapshot().Properties().
func (t *Table) Properties() map[string]string {
	t.dataMu.RLock()
	defer t.dataMu.RUnlock()
	if t.data == nil {
		return maps.Clone(t.props) // no write before the rows are read: unchanged
	}
	return maps.Clone(t.data.props)
}

// Snapshot returns the committed contents of the table. The caller owns one
// reference to the returned Data and must Release it. The Data never
// changes: writes committed later publish a new Data. Successive calls
// return the same *Data until a write commits (writes of zero rows and
// failed writes publish nothing; a change of properties is a write), so
// pointer equality tells whether the table changed. After the table is
// dropped or the store closed, Snapshot returns an empty Data.
//
// A table's rows are read from its data files on first use (Snapshot or
// a write), not when the store opens; a table whose files cannot be read
// then becomes damaged (see Damage): its Snapshot is empty and writes
// fail.
func (t *Table) Snapshot() *Data {
	t.dataMu.RLock()
	d := t.data
	if d != nil {
		d.Retain()
	}
	t.dataMu.RUnlock()
	if d != nil {
		return d
	}
	t.loadOnce()
	return t.Snapshot()
}

// loadOnce is loadLocked taking t.writeMu, released even if the read
// panics.
func (t *Table) loadOnce() {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.loadLocked()
}

// NumRows returns the number of committed rows, from the table's metadata
// when its rows have not been read yet.
func (t *Table) NumRows() int64 {
	t.dataMu.RLock()
	defer t.dataMu.RUnlock()
	if t.data == nil {
		return t.metadataRows
	}
	return t.data.rows
}

// loadLocked reads the table's rows if they have not been read yet;
// t.writeMu must be held. A failure makes the table damaged.
func (t *Table) loadLocked() {
	t.dataMu.RLock()
	loaded := t.data != nil
	t.dataMu.RUnlock()
	if loaded {
		return
	}
	if err := t.load(t.store.ctx); err != nil {
		t.setDamage(fmt.Errorf("%w: table %s.%s could not be read: %v; DROP TABLE removes it", ErrDamaged, t.db, t.name, err))
	}
}

// writable reads the table's rows if needed and returns the error every
// write to the table gets, if any; t.writeMu must be held.
func (t *Table) writable() error {
	if t.err == nil {
		t.loadLocked()
	}
	return t.err
}

// publish makes d the current contents, taking over the caller's reference,
// and drops the table's reference to the previous contents. d carries the
// current properties from then on.
func (t *Table) publish(d *Data) {
	d.props = t.props
	d.snapshot = snapshotID(t.ice)
	if t.live == nil {
		t.live = &liveSet{m: map[*Data]struct{}{}}
	}
	t.live.mu.Lock()
	t.live.m[d] = struct{}{}
	t.live.mu.Unlock()
	d.onFree = func() { t.freed(d) }
	t.dataMu.Lock()
	old := t.data
	t.data = d
	t.dataMu.Unlock()
	if old != nil {
		old.Release()
	}
}

// detach makes every later write fail with err and empties the in-memory
// contents. It waits for an in-flight write.
func (t *Table) detach(err error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	t.detachLocked(err)
}

// detachLocked is detach with t.writeMu held. It waits for the deletion
// of expired snapshots' files, if one is running.
func (t *Table) detachLocked(err error) {
	t.cleaning.Wait()
	if t.err == nil {
		t.err = err
	}
	t.meta.Store(nil)
	t.files = nil
	t.publish(newData(t.schema, nil))
}

// check validates recs against the table schema and returns their row
// count; t.writeMu must be held (the schema changes with ChangeColumns).
func (t *Table) check(recs []arrow.RecordBatch) (int64, error) {
	var rows int64
	for i, r := range recs {
		if err := checkBatch(t.schema, r); err != nil {
			return 0, fmt.Errorf("table %s, batch %d: %w", t.name, i, err)
		}
		rows += r.NumRows()
	}
	return rows, nil
}

// Append adds the rows of recs to the table as one Iceberg snapshot (which
// concurrent appends to the table may share, see AppendIf): after a crash
// at any moment the table holds either all of them or none. The
// in-memory contents change only after the commit succeeded; on error
// nothing changed. Every batch must match Schema() (see ErrSchemaMismatch).
// The caller keeps ownership of recs; the table retains what it keeps.
// Appending zero rows does nothing.
//
// New rows normally go to a new Parquet data file. When the table ends
// with enough small data files (see Options.SmallFileRows and MergeFiles)
// of comparable size, they are rewritten together with the new rows into
// one file in the same snapshot, so that many small appends leave few
// files behind; each row is rewritten only a logarithmic number of times.
func (t *Table) Append(recs []arrow.RecordBatch) error {
	return t.AppendIf(nil, recs)
}

// AppendIf is Append made conditional on the table's current contents:
// under the table's write lock it first calls check (unless nil) with the
// current contents, and appends recs as by Append only if check returns
// nil. No other write to the table can happen between check and the
// commit, so check sees exactly the rows the appended ones will follow.
// If check returns an error nothing is written and that error is returned
// unchanged. check receives the contents even when recs hold zero rows; it
// is not called when recs do not match Schema() or the table no longer
// accepts writes. cur is valid only during the call (do not Release it);
// check runs with the table's write lock held, possibly on another
// goroutine, and must not call methods of the Store or of this Table.
// The caller keeps ownership of recs.
//
// Concurrent calls on one table are group-committed (group.go): their
// rows may share one snapshot and one data file. For each call, cur is
// then the committed contents followed by the rows of the calls of the
// same group accepted before it, so "the rows the appended ones will
// follow" still holds; a call whose check fails leaves the others
// unaffected, and a failed commit fails every call of its group. Each
// call returns once its rows are committed, durably.
func (t *Table) AppendIf(check func(cur *Data) error, recs []arrow.RecordBatch) error {
	return t.groupAppend(check, recs) // group.go
}

// appendLocked is Append of validated recs holding rows rows (> 0) with
// t.writeMu held.
func (t *Table) appendLocked(recs []arrow.RecordBatch, rows int64) error {
	clean, err := t.appendExpiring(recs, rows)
	if clean != nil {
		go clean()
	}
	return err
}

// appendExpiring is appendLocked, except that of the maintenance after
// the commit it does only the expiry's commit (see expire): it returns
// the deletion of the files only the expired snapshots used, or nil, for
// the caller to run, with or without t.writeMu.
func (t *Table) appendExpiring(recs []arrow.RecordBatch, rows int64) (clean func(), err error) {
	st, err := t.stageAppend(recs, rows)
	if err != nil {
		return nil, err
	}
	if err := st.commit(nil); err != nil {
		return nil, fmt.Errorf("storage: append to %s.%s: %w", t.db, t.name, err)
	}
	st.publish()
	return t.expire(t.store.ctx), nil
}

// staged is a write prepared with its table's write lock held: its new
// data files are written (durably, like every file iceberg-go writes for
// the store) but not committed. It is committed alone by commit, or with
// other tables' writes by Store.CommitTables, and then published; or it
// is discarded.
type staged struct {
	t        *Table
	replaced []iceberg.DataFile  // data files of the current snapshot the write removes
	added    []iceberg.DataFile  // the new data files, in row order
	written  []arrow.RecordBatch // the rows of added, in order (to warm the cache); one reference each
	prefix   []segment           // segments of the current contents kept before added's; references owned
	exact    bool                // t.exact once committed
	appends  bool                // prefix holds the current rows (an append): the new Data extends the current one

	// Delete files (deletes.go). delAdded are position delete files the
	// write adds (a row delta, which replaces no data file); delRemoved
	// are delete files of replaced data files, removed with them. dels
	// holds the deletes of the data files whose deletes the write
	// changes, by path, once committed. With fromFiles the new contents
	// are the segments of the table's files (prefix is not used).
	delAdded   []iceberg.DataFile
	delRemoved []iceberg.DataFile
	dels       map[string]*posDeletes
	fromFiles  bool
}

// stageAppend writes the data files of an Append of validated recs
// holding rows rows (> 0); t.writeMu must be held.
func (t *Table) stageAppend(recs []arrow.RecordBatch, rows int64) (*staged, error) {
	ctx := t.store.ctx
	k, _ := t.mergePlan(rows)
	merged := t.files[len(t.files)-k:]
	prefix, tail := t.splitSegments(merged)

	// toWrite goes to the new data file: the live rows of the k merged
	// trailing files (exact: one segment each, none for a file whose
	// rows are all deleted), then recs.
	var toWrite []arrow.RecordBatch
	fail := func(err error) (*staged, error) {
		releaseBatches(toWrite)
		return nil, err
	}
	for _, i := range tail {
		b, err := t.data.Segment(i)
		if err != nil {
			return fail(err)
		}
		toWrite = append(toWrite, b)
	}
	for _, r := range recs {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(t.schema, r))
		}
	}
	if k > 0 {
		merged, err := concatBatches(t.store.opts.Allocator, t.schema, toWrite)
		if err != nil {
			return fail(err)
		}
		releaseBatches(toWrite)
		toWrite = []arrow.RecordBatch{merged}
	}
	added, err := t.writeFiles(ctx, toWrite)
	if err != nil {
		return fail(err)
	}
	replaced, delRemoved := filesOf(merged)
	kept := newSegmentData(t.schema, nil)
	kept.segs = prefix
	return &staged{t: t, replaced: replaced, delRemoved: delRemoved, added: added, written: toWrite, prefix: kept.sharedSegments(), exact: t.exact, appends: true}, nil
}

// filesOf returns the data files of files and their delete files.
func filesOf(files []fileInfo) (data, deletes []iceberg.DataFile) {
	for _, f := range files {
		data = append(data, f.df)
		deletes = append(deletes, f.dels.deleteFiles()...)
	}
	return data, deletes
}

// splitSegments returns the segments of the current contents that are
// not those of the data files files (in order, not retained), and the
// indexes of those that are; t.writeMu must be held.
func (t *Table) splitSegments(files []fileInfo) (kept []segment, of []int) {
	paths := make(map[string]bool, len(files))
	for _, f := range files {
		paths[f.df.FilePath()] = true
	}
	for i, s := range t.data.segs {
		if s.file != nil && paths[s.file.task.File.FilePath()] {
			of = append(of, i)
			continue
		}
		kept = append(kept, s)
	}
	return kept, of
}

// transaction returns the Iceberg transaction that commits st as one
// snapshot whose summary carries props (nil for none).
func (st *staged) transaction(props iceberg.Properties) (*table.Transaction, error) {
	ctx := st.t.store.ctx
	txn := st.t.ice.NewTransaction()
	var err error
	switch {
	case len(st.delAdded) > 0:
		// Merge-on-read: new rows and position deletes, one snapshot.
		err = txn.NewRowDelta(props).AddRows(st.added...).AddDeletes(st.delAdded...).Commit(ctx)
	case len(st.delRemoved) > 0:
		err = txn.ReplaceFiles(ctx, st.replaced, st.added, st.delRemoved, props, table.WithoutAutoNameMapping())
	case len(st.replaced) == 0:
		err = txn.AddDataFiles(ctx, st.added, props, table.WithoutAutoNameMapping(), table.WithoutDuplicateCheck())
	default:
		err = txn.ReplaceDataFilesWithDataFiles(ctx, st.replaced, st.added, props, table.WithoutAutoNameMapping())
	}
	return txn, err
}

// commit commits st alone as one snapshot whose summary carries props.
// On error st is discarded (see Table.commit for a commit whose outcome
// is unknown).
func (st *staged) commit(props iceberg.Properties) error {
	txn, err := st.transaction(props)
	if err == nil {
		err = st.t.commit(st.t.store.ctx, txn, st.newFiles())
	} else {
		st.t.removeDataFiles(st.newFiles())
	}
	if err != nil {
		st.release()
	}
	return err
}

// newFiles returns the files st wrote: its data files and delete files.
func (st *staged) newFiles() []iceberg.DataFile {
	return append(slices.Clone(st.added), st.delAdded...)
}

// release drops what st holds in memory.
func (st *staged) release() {
	releaseBatches(st.written)
	releaseSegments(st.prefix)
	st.written, st.prefix = nil, nil
}

// publish makes the contents of the committed st the table's current
// contents.
func (st *staged) publish() {
	t := st.t
	gone := make(map[string]bool, len(st.replaced))
	for _, df := range st.replaced {
		gone[df.FilePath()] = true
	}
	files := make([]fileInfo, 0, len(t.files)-len(st.replaced)+len(st.added))
	for _, f := range t.files {
		if gone[f.df.FilePath()] {
			continue
		}
		if dels, ok := st.dels[f.df.FilePath()]; ok {
			t.warmDeletes(f, dels)
			f.dels, f.rows = dels, f.df.Count()-dels.count()
		}
		files = append(files, f)
	}
	t.files = append(files, fileInfos(st.added)...)
	t.exact = st.exact
	t.updateFiles = t.updateFiles || (len(st.delAdded) > 0 && len(st.added) > 0)
	t.warm(t.schema, st.added, st.written)
	var d *Data
	if st.fromFiles {
		releaseSegments(st.prefix)
		d = newSegmentData(t.schema, t.fileSegments(t.ice, t.schema, t.files))
	} else {
		d = newSegmentData(t.schema, st.prefix)
		for _, s := range t.fileSegments(t.ice, t.schema, fileInfos(st.added)) {
			d.addSegment(s)
		}
	}
	if st.appends {
		d.extend(t.data) // prefix holds the current rows, in order
	}
	t.publish(d)
	st.prefix = nil
	releaseBatches(st.written)
	st.written = nil
}

// discard releases the contents of an uncommitted st and removes its
// data files.
func (st *staged) discard() {
	st.t.removeDataFiles(st.newFiles())
	st.release()
}

// mergePlan decides how many trailing data files (k, holding rows rows) to
// rewrite together with an append of newRows rows. Walking back from the
// last file, a file joins while it is small and holds at most twice the
// rows gathered so far, so a merged file is at least 1.5 times the size
// of each file merged into it and a row is rewritten at most
// log1.5(SmallFileRows) times, and while the Parquet files gathered stay
// within mergeBytes (see there). A merge of fewer than Options.MergeFiles
// files (the new one included) is put off: k is then 0, and the trailing
// files wait for the appends that make the merge worth its commit.
func (t *Table) mergePlan(newRows int64) (k int, rows int64) {
	small := t.smallRows()
	if small < 0 || !t.exact || newRows >= small {
		return 0, 0
	}
	k, rows = t.mergeWalk(len(t.files)-1, newRows, 0)
	if k+1 < t.store.opts.MergeFiles {
		return 0, 0
	}
	return k, rows
}

// mergeWalk is the walk of mergePlan and trailingMerge: from data file i
// back, the files that join a merge which so far holds acc rows in bytes
// of Parquet files, while each is small (smallRows) and holds at most
// twice the rows gathered, and the Parquet files gathered stay within
// mergeBytes. It returns how many join and their rows; t.writeMu must be
// held.
func (t *Table) mergeWalk(i int, acc, bytes int64) (k int, rows int64) {
	small := t.smallRows()
	for ; i >= 0; i-- {
		f := t.files[i].rows
		bytes += t.files[i].df.FileSizeBytes()
		if f >= small || f > 2*acc || bytes > t.mergeBytes() {
			break
		}
		acc += f
		rows += f
		k++
	}
	return k, rows
}

// smallRows is the row count below which a data file of t counts as small
// (merged by appends and maintenance): Options.SmallFileRows, but at most
// half the rows of a file written full (targetRows), so that files
// written full are never merged again. Without that bound a table whose
// full files hold fewer rows than SmallFileRows (16 DOUBLE columns: about
// 30,000 rows in 4 MiB) had every file count as small, and once the
// merged trailing file passed half a file the merge of an INSERT walked
// back over every file of the table: a 10M-row table rewritten whole by
// one single-row INSERT (18 s, 2.5 GB). Negative: no merging.
func (t *Table) smallRows() int64 {
	small := t.store.opts.SmallFileRows
	if small < 0 {
		return small
	}
	return min(small, max(1, t.targetRows()/2))
}

// targetRows estimates the rows of a data file of t written full: the
// rows whose Arrow buffers make Options.TargetFileBytes (at least
// minFileRows, as writeFilesAs cuts them), from the width of a row of the
// schema (a variable-width value counted as its offset and 16 bytes, a
// boolean as one byte). Values much longer than 16 bytes make the
// estimate too high, so that in a table of long strings a file written
// full may count as small; mergeBytes then bounds what a merge takes.
func (t *Table) targetRows() int64 {
	var width int64
	for _, f := range t.schema.Fields() {
		switch dt := f.Type.(type) {
		case arrow.FixedWidthDataType:
			width += max(1, int64(dt.BitWidth())/8)
		default:
			width += 4 + 16
		}
	}
	return max(minFileRows, t.store.opts.TargetFileBytes/max(1, width))
}

// mergeBytes bounds the Parquet bytes of the files a merge of trailing
// files takes: Options.TargetFileBytes. A file's Parquet bytes are at
// most about its rows' Arrow bytes (unless its values compress well), so
// a merge stops at about one file written full even where targetRows
// misjudges the rows of one (long strings), and never walks back over
// the whole table.
func (t *Table) mergeBytes() int64 { return t.store.opts.TargetFileBytes }

// minFileRows is the fewest rows writeFilesAs puts in a data file it cuts
// (all the rows when there are fewer).
const minFileRows = 1024

// Overwrite replaces the whole contents of the table with the rows of recs
// as one Iceberg snapshot (used for UPDATE, DELETE and TRUNCATE): after a
// crash at any moment the table holds either the old or the new contents.
// Zero batches (or zero rows) empty the table. The in-memory contents change
// only after the commit succeeded; on error nothing changed. Every batch must
// match Schema(). The caller keeps ownership of recs; the table retains what
// it keeps.
//
// Overwrite does not see writes made between the caller's Snapshot and the
// call; use Rewrite for a read-modify-write that must not lose concurrent
// appends, and AppendIf for an append that depends on the current rows.
func (t *Table) Overwrite(recs []arrow.RecordBatch) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	rows, err := t.check(recs)
	if err != nil {
		return err
	}
	return t.overwriteLocked(recs, rows)
}

// Rewrite is a read-modify-write of the whole table under the table's write
// lock: fn receives the current contents (valid only during the call; do not
// Release it) and returns the new contents, which are committed as by
// Overwrite. No other write to the table can happen between the read and
// the commit. Rewrite takes ownership of the batches fn returns and releases
// them, also when fn or the commit fails. If fn returns an error nothing is
// written and that error is returned. fn runs with the table's write lock
// held and must not call methods of the Store or of this Table.
func (t *Table) Rewrite(fn func(cur *Data) ([]arrow.RecordBatch, error)) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	recs, err := fn(t.data)
	defer releaseBatches(recs)
	if err != nil {
		return err
	}
	rows, err := t.check(recs)
	if err != nil {
		return err
	}
	return t.overwriteLocked(recs, rows)
}

// overwriteLocked is Overwrite of validated recs with t.writeMu held.
func (t *Table) overwriteLocked(recs []arrow.RecordBatch, rows int64) error {
	st, err := t.stageOverwrite(recs, rows)
	if err != nil || st == nil {
		return err
	}
	if err := st.commit(nil); err != nil {
		return fmt.Errorf("storage: overwrite of %s.%s: %w", t.db, t.name, err)
	}
	st.publish()
	t.maintain(t.store.ctx)
	return nil
}

// stageOverwrite writes the data files of an Overwrite of validated recs
// holding rows rows; t.writeMu must be held. It returns nil (and no
// error) when there is nothing to write: the table is empty and stays so.
func (t *Table) stageOverwrite(recs []arrow.RecordBatch, rows int64) (*staged, error) {
	if t.err != nil {
		return nil, t.err
	}
	if rows == 0 && len(t.files) == 0 {
		return nil, nil // already empty
	}
	ctx := t.store.ctx
	var toWrite []arrow.RecordBatch
	defer func() { releaseBatches(toWrite) }()
	for _, r := range recs {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(t.schema, r))
		}
	}
	added, err := t.writeFiles(ctx, toWrite)
	if err != nil {
		return nil, err
	}
	replaced, delRemoved := filesOf(t.files)
	written := toWrite
	toWrite = nil
	return &staged{t: t, replaced: replaced, delRemoved: delRemoved, added: added, written: written, exact: true}, nil
}

// UpdateProperties is a read-modify-write of the table properties,
// committed as one Iceberg metadata commit (no new snapshot, no data
// files): under the table's write lock fn receives the current contents,
// which carry the current properties (Data.Properties), and returns the
// keys to set and the keys to remove. After a crash at any moment the
// table has either all of the changes or none of them; on error nothing
// changed. If fn returns an error nothing is written and that error is
// returned unchanged; fn has the contract of AppendIf's check (cur is
// valid only during the call; it must not call methods of the Store or
// of this Table). Keys the store manages are rejected with
// ErrReservedProperty. Once committed, Properties and every later
// Snapshot show the new properties, and Snapshot returns a new Data that
// shares the batches of the previous one. Changing nothing publishes
// nothing.
func (t *Table) UpdateProperties(fn func(cur *Data) (set map[string]string, remove []string, err error)) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	set, remove, err := fn(t.data)
	if err != nil {
		return err
	}
	for k := range set {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}
	for _, k := range remove {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}
	props := maps.Clone(t.props)
	maps.Copy(props, set)
	for _, k := range remove {
		delete(props, k)
	}
	if maps.Equal(props, t.props) {
		return nil
	}
	ctx := t.store.ctx
	txn := t.ice.NewTransaction()
	err = txn.SetProperties(set)
	if err == nil {
		err = txn.RemoveProperties(remove)
	}
	if err == nil {
		err = t.commit(ctx, txn, nil)
	}
	if err != nil {
		return fmt.Errorf("storage: updating properties of %s.%s: %w", t.db, t.name, err)
	}
	t.props = props
	t.publish(newSegmentData(t.schema, t.data.sharedSegments()).extend(t.data))
	return nil
}

// writeFiles writes batches (of the declared schema) to new Parquet data
// files and returns them in row order. Nothing is committed. On error the
// files written so far are removed.
func (t *Table) writeFiles(ctx context.Context, batches []arrow.RecordBatch) ([]iceberg.DataFile, error) {
	return t.writeFilesAs(ctx, t.ice, t.canon, batches)
}

// writeFilesAs is writeFiles for the table metadata ice, whose schema in
// Arrow form (with field IDs) is canon: the current one, or the one staged
// in a transaction that changes the columns.
func (t *Table) writeFilesAs(ctx context.Context, ice *table.Table, canon *arrow.Schema, batches []arrow.RecordBatch) ([]iceberg.DataFile, error) {
	if len(batches) == 0 {
		return nil, nil
	}
	// WriteRecords takes ownership of (and releases) every batch yielded.
	// Files are cut by the in-memory size of their rows: each yielded
	// batch holds the rows of TargetFileBytes, and with a target of one
	// byte the writer starts a new file after every batch. Within a file
	// rows go in row groups of rowGroupRows, the unit of a point read
	// (rowgroups.go).
	target := t.store.opts.TargetFileBytes
	chunk := int64(1) << 20
	for _, b := range batches {
		if n := b.NumRows(); n > 0 {
			chunk = max(minFileRows, n*target/max(1, BatchBytes(b)))
			break
		}
	}
	// Each yielded batch is one file: chunk rows (the last fewer), taken
	// across the input batches.
	recs := func(yield func(arrow.RecordBatch, error) bool) {
		var total int64
		for _, b := range batches {
			total += b.NumRows()
		}
		for lo := int64(0); lo < total; lo += chunk {
			parts := sliceRows(batches[0].Schema(), batches, lo, min(chunk, total-lo))
			joined, err := concatBatches(t.store.opts.Allocator, batches[0].Schema(), parts)
			releaseBatches(parts)
			if err != nil {
				yield(nil, err)
				return
			}
			c, err := convertBatch(ctx, canon, joined)
			joined.Release()
			if err != nil {
				yield(nil, err)
				return
			}
			if !yield(c, nil) {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, ice, canon, recs, table.WithTargetFileSize(1), table.WithParquetRowGroupLimit(int(min(chunk, rowGroupRows))),
		table.WithWriteUUID(uuid.Must(uuid.NewV7()))) {
		if err != nil {
			t.removeDataFiles(files)
			return nil, fmt.Errorf("storage: writing data files of %s.%s: %w", t.db, t.name, err)
		}
		files = append(files, df)
	}
	return files, nil
}

// commit commits txn (commitTxn: without iceberg-go's client-side
// validators), whose snapshot (if it makes one) adds the data files
// added, and makes the result the table's current metadata. When
// iceberg-go reports an error whose outcome is unknown (not a clean
// ErrCommitFailed), the catalog is asked: a new metadata version means
// the commit landed (only this Store writes the table, with t.writeMu
// held) and commit returns nil. If even that fails the table refuses
// further writes until the store is reopened, so memory never diverges
// from disk. The files of a commit known to have failed (data files,
// manifests, manifest list) are removed; iceberg-go removes its temporary
// metadata file, and Open removes a stale claim.
func (t *Table) commit(ctx context.Context, txn *table.Transaction, added []iceberg.DataFile) error {
	prev := t.ice.MetadataLocation()
	staged, _ := txn.StagedTable() // for cleanup; nil if it cannot be built
	nt, err := t.commitTxn(ctx, txn)
	if nt != nil {
		// Committed; a non-nil err here only reports post-commit cleanup.
		t.ice = nt
		t.meta.Store(nt)
		return nil
	}
	if !errors.Is(err, table.ErrCommitFailed) {
		lt, lerr := t.store.cat.LoadTable(ctx, t.ident)
		if lerr != nil {
			t.err = fmt.Errorf("storage: table %s.%s is in an unknown state after a failed commit (%v); reopen the store: %w",
				t.db, t.name, lerr, err)
			return t.err
		}
		t.ice = lt
		t.meta.Store(lt)
		if lt.MetadataLocation() != prev {
			return nil
		}
	}
	t.removeDataFiles(added)
	if staged != nil {
		t.removeStagedMetadata(ctx, staged.Table)
	}
	return err
}

// removeStagedMetadata deletes the manifest list and the new manifests of
// the snapshot staged in a transaction whose commit failed. Only files in
// the table's metadata directory that the current snapshot does not use
// are touched; errors are ignored (Open removes leftovers after a crash).
func (t *Table) removeStagedMetadata(ctx context.Context, staged *table.Table) {
	snap := staged.CurrentSnapshot()
	if snap == nil || snap.SnapshotID == snapshotID(t.ice) {
		return
	}
	fsys, err := t.ice.FS(ctx)
	if err != nil {
		return
	}
	keep := map[string]bool{}
	if cur := t.ice.CurrentSnapshot(); cur != nil {
		keep[cur.ManifestList] = true
		mans, err := cur.Manifests(fsys)
		if err != nil {
			return
		}
		for _, m := range mans {
			keep[m.FilePath()] = true
		}
	}
	mdir := filepath.Join(t.store.loc.resolve(t.ice.Location()), "metadata") + string(filepath.Separator)
	remove := func(p string) {
		if lp := t.store.loc.resolve(p); !keep[p] && strings.HasPrefix(lp, mdir) {
			_ = t.store.fs.Remove(lp)
			t.store.syncs.discard(lp)
		}
	}
	if mans, err := snap.Manifests(fsys); err == nil {
		for _, m := range mans {
			remove(m.FilePath())
		}
	}
	remove(snap.ManifestList)
}

// maintain rewrites data files that carry many deletes (compact.go),
// merges the manifests an overwrite left (manifests.go), rewrites the
// delete files of many delete manifests (delete_manifests.go) and expires old
// snapshots once there are more than Options.MaxSnapshots. It runs after
// a successful commit, with t.writeMu held; its failure does not undo
// that commit and is retried after the next one. It is skipped (and so
// retried after the next commit) while an old snapshot is being read
// (SnapshotView.Read) or the files of the last expiry are being deleted.
// The files only the expired snapshots reference are deleted in the
// background, as a group commit deletes them once its statements are
// acknowledged: the statement that expired them does not wait (the
// deletion takes 10–140 ms), and detach (so Close and DROP) waits for it.
func (t *Table) maintain(ctx context.Context) {
	t.compact(ctx) // compact.go
	t.compactManifests(ctx)
	t.consolidateDeletes(ctx) // delete_manifests.go
	if clean := t.expire(ctx); clean != nil {
		go clean() // detach waits for it (t.cleaning)
	}
}

// expire is maintain without the deletion of files: with t.writeMu held
// it commits the expiry, if one is due, and returns the function that
// deletes the files only the expired snapshots used (nil if nothing
// expired). That function needs no lock and must be called exactly once,
// soon: a group commit calls it once its statements are acknowledged and
// the next group may commit, so that neither waits for the deletions.
// Until it has run the table's history lock stays held, so no old
// snapshot is read (its files may be going), no other expiry starts, and
// detach waits.
func (t *Table) expire(ctx context.Context) (clean func()) {
	if len(t.ice.Metadata().Snapshots()) <= t.store.opts.MaxSnapshots {
		return nil
	}
	if t.oldReadsPending() {
		t.maintainDue.Store(true) // run when those readers are done (freed)
		return nil
	}
	t.maintainDue.Store(false)
	if !t.histMu.TryLock() {
		return nil
	}
	pre := t.ice
	txn := pre.NewTransaction()
	err := txn.ExpireSnapshots(table.WithRetainLast(t.store.opts.RetainSnapshots), table.WithOlderThan(0), table.WithPostCommit(false))
	if err == nil {
		err = t.commit(ctx, txn, nil)
	}
	post := t.ice
	var expired []int64
	if err == nil {
		for _, s := range pre.Metadata().Snapshots() {
			if post.Metadata().SnapshotByID(s.SnapshotID) == nil {
				expired = append(expired, s.SnapshotID)
			}
		}
	}
	if len(expired) == 0 {
		t.histMu.Unlock()
		return nil
	}
	t.cleaning.Add(1)
	return func() {
		defer t.cleaning.Done()
		defer t.histMu.Unlock()
		// What iceberg-go's expiry does after its commit: the files
		// that only the expired snapshots reference (manifest lists,
		// manifests, data files). Errors leave files behind, which Open
		// removes after an unclean shutdown.
		_ = table.NewRemoveSnapshotsUpdate(expired, true).PostCommit(ctx, pre, post)
	}
}

// oldReadsPending reports whether a reader holds contents older than the
// current ones that read a data file the current snapshot no longer
// lists (one an expiry could delete); t.writeMu must be held.
func (t *Table) oldReadsPending() bool {
	t.live.mu.Lock()
	defer t.live.mu.Unlock()
	if len(t.live.m) <= 1 {
		return false
	}
	current := make(map[string]bool, len(t.files))
	for _, f := range t.files {
		current[f.df.FilePath()] = true
	}
	for d := range t.live.m {
		for _, s := range d.segs {
			if s.file != nil && !current[s.file.task.File.FilePath()] {
				return true
			}
		}
	}
	return false
}

// liveSet holds the published Datas of a table not yet freed (see
// Table.live). onIdle, if set, runs once no Data of the set reads a data
// file any more (the deletion of a dropped table's files).
type liveSet struct {
	mu     sync.Mutex
	m      map[*Data]struct{}
	onIdle func()
}

// readersLocked reports whether a Data of the set other than except
// reads data files; s.mu must be held.
func (s *liveSet) readersLocked(except *Data) bool {
	for d := range s.m {
		if d == except {
			continue
		}
		for _, seg := range d.segs {
			if seg.file != nil {
				return true
			}
		}
	}
	return false
}

// whenIdle runs fn now if no Data of t's set but the current one reads
// data files, else once the last of them is freed; t.writeMu must be
// held.
func (t *Table) whenIdle(fn func()) {
	t.live.mu.Lock()
	if t.live.readersLocked(t.data) {
		t.live.onIdle = fn
		t.live.mu.Unlock()
		return
	}
	t.live.mu.Unlock()
	fn()
}

// freed forgets d, a published Data whose last reference was dropped,
// and runs a maintain that was put off for readers, unless the table is
// being written (a commit runs maintain when it is done; a maintain
// still due then waits for the next commit).
func (t *Table) freed(d *Data) {
	t.live.mu.Lock()
	delete(t.live.m, d)
	var idle func()
	if t.live.onIdle != nil && !t.live.readersLocked(nil) {
		idle, t.live.onIdle = t.live.onIdle, nil
	}
	t.live.mu.Unlock()
	if idle != nil {
		idle()
	}
	if !t.maintainDue.Load() || !t.writeMu.TryLock() {
		return
	}
	defer t.writeMu.Unlock()
	if t.err == nil && t.maintainDue.Load() {
		t.maintain(t.store.ctx)
	}
}

// load plans the current snapshot: its data files, less the positions
// their position delete files delete (read now: they are small), become
// the segments of the contents, read when first used. Files are ordered
// by commit (data sequence number, then write order within a commit),
// which is the order their rows were appended. A snapshot whose files
// carry equality delete files or deletion vectors (written by another
// engine) is read into memory at once, since its row counts are only
// known once the deletes are applied.
func (t *Table) load(ctx context.Context) error {
	scan := t.ice.Scan()
	tasks, err := scan.PlanFiles(ctx)
	if err != nil {
		return fmt.Errorf("storage: planning scan of %s.%s: %w", t.db, t.name, err)
	}
	slices.SortStableFunc(tasks, compareTasks)
	exact := true
	for _, task := range tasks {
		if len(task.EqualityDeleteFiles)+len(task.DeletionVectorFiles) > 0 || task.Start != 0 {
			exact = false
		}
	}
	files := make([]fileInfo, 0, len(tasks))
	var dels map[string]*posDeletes
	if exact {
		fsys, err := t.ice.FS(ctx)
		if err != nil {
			return err
		}
		if dels, err = readDeletes(ctx, fsys, tasks); err != nil {
			return fmt.Errorf("storage: reading the delete files of %s.%s: %w", t.db, t.name, err)
		}
	}
	for _, task := range tasks {
		d := dels[task.File.FilePath()]
		files = append(files, fileInfo{df: task.File, rows: task.File.Count() - d.count(), dels: d})
	}
	if exact {
		t.files, t.exact = files, true
		t.publish(newSegmentData(t.schema, t.fileSegments(t.ice, t.schema, files)))
		return nil
	}
	batches, err := readTasks(ctx, scan, tasks, t.schema)
	if err != nil {
		return fmt.Errorf("storage: reading %s.%s: %w", t.db, t.name, err)
	}
	t.files, t.exact = files, false
	t.publish(newData(t.schema, batches))
	return nil
}

// compareTasks orders scan tasks by data sequence number (commit order),
// then by the write that made the file (the write UUID in iceberg-go's
// data file names, "{partition}-{counter}-{uuid}-{file:05d}.parquet": the
// store writes with time-ordered version 7 UUIDs, so that the files of
// several writes of one commit, such as staged rows, keep their order),
// then by the task and file counters within the write, then by path.
func compareTasks(a, b table.FileScanTask) int {
	seq := func(t table.FileScanTask) int64 {
		if t.DataSequenceNumber == nil {
			return -1
		}
		return *t.DataSequenceNumber
	}
	aw, ac, af := fileCounters(a.File.FilePath())
	bw, bc, bf := fileCounters(b.File.FilePath())
	return cmp.Or(
		cmp.Compare(seq(a), seq(b)),
		strings.Compare(aw, bw),
		cmp.Compare(ac, bc),
		cmp.Compare(af, bf),
		strings.Compare(a.File.FilePath(), b.File.FilePath()),
		cmp.Compare(a.Start, b.Start),
	)
}

// fileCounters extracts the write UUID, the task counter and the file
// counter from an iceberg-go data file name, or ("", 0, 0) for other
// names.
func fileCounters(path string) (string, int64, int64) {
	base := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	parts := strings.Split(base, "-")
	if len(parts) != 8 {
		return "", 0, 0
	}
	c, err1 := strconv.ParseInt(parts[1], 10, 64)
	f, err2 := strconv.ParseInt(parts[7], 10, 64)
	if err1 != nil || err2 != nil {
		return "", 0, 0
	}
	return strings.Join(parts[2:7], "-"), c, f
}

func snapshotID(t *table.Table) int64 {
	if t == nil {
		return -1
	}
	if s := t.CurrentSnapshot(); s != nil {
		return s.SnapshotID
	}
	return -1
}

func fileInfos(dfs []iceberg.DataFile) []fileInfo {
	out := make([]fileInfo, len(dfs))
	for i, df := range dfs {
		out[i] = fileInfo{df: df, rows: df.Count()}
	}
	return out
}

// removeDataFiles deletes data files that were written but not committed.
// Failures are ignored: such files are unreferenced, and Open removes them
// after an unclean shutdown.
func (t *Table) removeDataFiles(dfs []iceberg.DataFile) {
	for _, df := range dfs {
		if p, err := t.store.loc.writable(df.FilePath()); err == nil {
			_ = t.store.fs.Remove(p)
			t.store.syncs.discard(p) // a removed file needs no fsync (deferred_sync.go)
		}
	}
}

func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// releaseSegments drops the references to the in-memory batches of segs.
func releaseSegments(segs []segment) {
	for _, s := range segs {
		if s.batch != nil {
			s.batch.Release()
		}
	}
}

// snapshotRows is the row count the current snapshot's summary records
// (see liveRecords), 0 without a snapshot or a readable count. It stands for
// NumRows until the rows are read, for statistics (information_schema
// TABLES), never for correctness.
func snapshotRows(t *table.Table) int64 {
	s := t.CurrentSnapshot()
	if s == nil || s.Summary == nil {
		return 0
	}
	n, ok := liveRecords(s.Summary.Properties)
	if !ok {
		return 0
	}
	return n
}

// liveRecords is the row count of a snapshot summary: its total-records
// (rows of its data files) less its total-position-deletes (the store's
// position deletes never delete a row twice).
func liveRecords(summary map[string]string) (int64, bool) {
	n, err := strconv.ParseInt(summary["total-records"], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	if d := summary["total-position-deletes"]; d != "" {
		del, err := strconv.ParseInt(d, 10, 64)
		if err != nil || del < 0 || del > n {
			return 0, false
		}
		n -= del
	}
	return n, true
}
