package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Multi-table commits. The Hadoop catalog commits one table at a time
// (iceberg-go's MultiTableTransaction needs a catalog implementing
// catalog.TransactionalCatalog, which the Hadoop catalog does not), so
// Store.CommitTables makes a commit of several tables atomic with a redo
// record: the intent. See doc.go, "Atomicity and crash recovery".

const (
	// txlogDirName is the directory of the intents of multi-table
	// commits, under the data directory; created on first use.
	txlogDirName = "txlog"
	// propTxn is the snapshot summary property carrying the id of the
	// multi-table commit that made the snapshot.
	propTxn = "anomalydb.txn"
)

// TableChange is one table's part of a multi-table commit (see
// Store.CommitTables): a Rewrite, or an append of Append made
// conditional on Check.
type TableChange struct {
	// Table is the table to change.
	Table *Table
	// Rewrite, if not nil, makes the change a read-modify-write of the
	// whole table with the contract of Table.Rewrite's fn: it receives
	// the current contents and returns the new contents, whose batches
	// CommitTables takes ownership of (and releases), or an error.
	// Check and Append must then be nil.
	Rewrite func(cur *Data) ([]arrow.RecordBatch, error)
	// Segments, if not nil, makes the change a read-modify-write of some
	// of the table's segments with the contract of
	// Table.RewriteSegments' fn (CommitTables owns the batches it
	// returns). Rewrite, Check and Append must then be nil.
	Segments func(cur *Data) (SegmentChange, error)
	// Check, if not nil, is called with the current contents before
	// Append is appended, with the contract of Table.AppendIf's check.
	Check func(cur *Data) error
	// Append holds the rows to append; the caller keeps ownership.
	Append []arrow.RecordBatch
	// Staged, with an append, are rows staged for the table (Table.Stage)
	// appended before Append. CommitTables uses them up whatever the
	// outcome, as Table.AppendStaged does.
	Staged []*Staged
}

// Store returns the store the table belongs to.
func (t *Table) Store() *Store { return t.store }

// CommitTables commits changes to several tables of the store atomically:
// after a crash or power loss at any moment the next Open shows every
// table changed or none. Each table is written as by Table.AppendIf or
// Table.Rewrite, as one Iceberg snapshot, and the in-memory contents
// change only once every table is committed.
//
// The write locks of all the tables are taken in a fixed order, and every
// Check and Rewrite runs (in that order) before anything is written: the
// first error one of them returns is returned unchanged and nothing is
// written. The callbacks run with every one of those locks held and must
// not call methods of the Store or of any of the tables. A table may
// appear only once. A commit that changes at most one table (changes
// with nothing to write do not count) is exactly that table's AppendIf or
// Rewrite, with no extra cost.
//
// If writing fails once some table is committed, CommitTables returns an
// error and the commit is completed by the next Open; until then the
// tables refuse writes (reopen the store). Errors before that point
// change nothing.
func (s *Store) CommitTables(changes []TableChange) error {
	var owned []arrow.RecordBatch // returned by Rewrite callbacks
	defer func() { releaseBatches(owned) }()
	for _, c := range changes {
		defer discardAll(c.Staged) // those no staged write took over
	}
	for _, c := range changes {
		if c.Table == nil {
			return errors.New("storage: CommitTables: nil table")
		}
	}
	sorted := slices.Clone(changes)
	slices.SortFunc(sorted, func(a, b TableChange) int { return compareTables(a.Table, b.Table) })
	for i, c := range sorted {
		switch {
		case c.Table.store != s:
			return fmt.Errorf("storage: CommitTables: table %s.%s belongs to another store", c.Table.db, c.Table.name)
		case c.Rewrite != nil && (c.Check != nil || c.Append != nil || c.Segments != nil),
			c.Segments != nil && (c.Check != nil || c.Append != nil),
			len(c.Staged) > 0 && (c.Rewrite != nil || c.Segments != nil):
			return fmt.Errorf("storage: CommitTables: change of %s.%s is both a rewrite and an append", c.Table.db, c.Table.name)
		case i > 0 && compareTables(sorted[i-1].Table, c.Table) == 0:
			return fmt.Errorf("storage: CommitTables: table %s.%s given twice", c.Table.db, c.Table.name)
		}
	}
	if len(sorted) == 1 {
		c := sorted[0]
		switch {
		case c.Rewrite != nil:
			return c.Table.Rewrite(c.Rewrite)
		case c.Segments != nil:
			return c.Table.RewriteSegments(c.Segments)
		case len(c.Staged) > 0:
			return c.Table.AppendStaged(c.Check, c.Staged, c.Append)
		}
		return c.Table.AppendIf(c.Check, c.Append)
	}
	tables := make([]*Table, len(sorted))
	for i, c := range sorted {
		tables[i] = c.Table
	}
	unlock := lockTables(tables)
	defer unlock()
	for _, t := range tables {
		if err := t.writable(); err != nil {
			return err
		}
	}
	rows := make([]int64, len(sorted))
	segs := make([]SegmentChange, len(sorted))
	for i, c := range sorted {
		if c.Rewrite == nil && c.Segments == nil {
			n, err := c.Table.check(c.Append) // under the lock: ChangeColumns changes the schema
			if err != nil {
				return err
			}
			rows[i] = n
			for _, st := range c.Staged {
				rows[i] += st.NumRows()
			}
		}
	}
	recs := make([][]arrow.RecordBatch, len(sorted))
	for i, c := range sorted {
		t := c.Table
		if c.Segments != nil {
			sc, err := c.Segments(t.data)
			owned = append(owned, sc.batches()...)
			if err != nil {
				return err
			}
			if rows[i], err = t.check(sc.batches()); err != nil {
				return err
			}
			segs[i] = sc
			continue
		}
		if c.Rewrite == nil {
			if c.Check != nil {
				if err := c.Check(t.data); err != nil {
					return err
				}
			}
			recs[i] = c.Append
			continue
		}
		out, err := c.Rewrite(t.data)
		owned = append(owned, out...)
		if err != nil {
			return err
		}
		if rows[i], err = t.check(out); err != nil {
			return err
		}
		recs[i] = out
	}

	// Only tables with something to write take part.
	var parts []int
	for i, c := range sorted {
		if rows[i] > 0 || (c.Rewrite != nil && len(c.Table.files) > 0) || len(segs[i].Replace) > 0 || len(segs[i].Delete) > 0 {
			parts = append(parts, i)
		}
	}
	switch len(parts) {
	case 0:
		return nil
	case 1:
		i := parts[0]
		switch {
		case sorted[i].Rewrite != nil:
			return tables[i].overwriteLocked(recs[i], rows[i])
		case sorted[i].Segments != nil:
			return tables[i].segmentsLocked(segs[i])
		case len(sorted[i].Staged) > 0:
			st, err := tables[i].stageWithStaged(nil, sorted[i].Staged, recs[i]) // checked above
			if err != nil || st == nil {
				return err
			}
			if err := st.commit(nil); err != nil {
				return fmt.Errorf("storage: append to %s.%s: %w", tables[i].db, tables[i].name, err)
			}
			st.publish()
			tables[i].maintain(s.ctx)
			return nil
		}
		return tables[i].appendLocked(recs[i], rows[i])
	}

	var writes []*staged
	for _, i := range parts {
		var st *staged
		var err error
		switch {
		case sorted[i].Rewrite != nil:
			st, err = tables[i].stageOverwrite(recs[i], rows[i])
		case sorted[i].Segments != nil:
			st, err = tables[i].stageSegments(segs[i])
		case len(sorted[i].Staged) > 0:
			st, err = tables[i].stageWithStaged(nil, sorted[i].Staged, recs[i])
		default:
			st, err = tables[i].stageAppend(recs[i], rows[i])
		}
		if err != nil {
			for _, w := range writes {
				w.discard()
			}
			return err
		}
		writes = append(writes, st)
	}
	return s.commitStaged(writes)
}

// compareTables orders tables by database and table name
// (case-insensitively): the order in which their write locks are taken.
func compareTables(a, b *Table) int {
	if c := strings.Compare(key(a.db), key(b.db)); c != 0 {
		return c
	}
	return strings.Compare(key(a.name), key(b.name))
}

// lockTables takes the write locks of tables, which must be distinct, in
// the order of compareTables, so that two callers locking overlapping
// sets cannot deadlock, and returns the function that releases them.
func lockTables(tables []*Table) (unlock func()) {
	tables = slices.Clone(tables)
	slices.SortFunc(tables, compareTables)
	for _, t := range tables {
		t.writeMu.Lock()
	}
	return func() {
		for _, t := range tables {
			t.writeMu.Unlock()
		}
	}
}

// intent is the redo record of a multi-table commit, written to
// txlog/<id>.json before the first table is committed and removed after
// the last: with it, Open can complete a commit that a crash
// interrupted.
type intent struct {
	ID     string        `json:"id"`
	Tables []intentTable `json:"tables"`
}

// intentTable is one table's commit in an intent.
type intentTable struct {
	Database string `json:"database"` // the database's directory (database.dir)
	Table    string `json:"table"`
	// UUID is the Iceberg table UUID: a table dropped and created again
	// under the same name is another table.
	UUID string `json:"table-uuid"`
	// Base is the table's current snapshot when the commit was prepared
	// (-1 for none): the snapshot the commit applies to.
	Base    int64    `json:"base-snapshot-id"`
	Added   []string `json:"added-data-files"`
	Removed []string `json:"removed-data-files"`
	// AddedDeletes are the position delete files the commit adds (a
	// row delta, deletes.go), RemovedDeletes the delete files it
	// removes with the data files they apply to.
	AddedDeletes   []intentDelete `json:"added-delete-files,omitempty"`
	RemovedDeletes []string       `json:"removed-delete-files,omitempty"`
}

// intentDelete is a position delete file an intent adds, and the data
// file whose rows it deletes.
type intentDelete struct {
	Path     string `json:"path"`
	DataFile string `json:"data-file"`
}

// valid reports whether in, read from the intent file named name, is
// complete.
func (in *intent) valid(name string) bool {
	if in.ID == "" || in.ID+".json" != name || len(in.Tables) < 1 { // 1: what recovery left of it
		return false
	}
	for _, e := range in.Tables {
		if e.Database == "" || e.Table == "" || e.UUID == "" {
			return false
		}
	}
	return true
}

// commitStaged commits writes (of at least two tables, whose write locks
// are held) atomically and publishes them: intent, one commit per table,
// removal of the intent.
func (s *Store) commitStaged(writes []*staged) error {
	ctx := s.ctx
	in := intent{ID: uuid.NewString()}
	for _, w := range writes {
		in.Tables = append(in.Tables, intentTable{
			Database: w.t.ident[0], // the database's directory
			Table:    w.t.dir(),    // the catalog name, which recovery loads
			UUID:     w.t.ice.Metadata().TableUUID().String(),
			Base:     snapshotID(w.t.ice),
			Added:    filePaths(w.added),
			Removed:  filePaths(w.replaced),

			AddedDeletes:   intentDeletes(w.delAdded),
			RemovedDeletes: filePaths(w.delRemoved),
		})
	}
	for _, w := range writes {
		// The intent names the new data files: they must be durable
		// first (their fsyncs are put off, see deferred_sync.go).
		if err := s.flushTable(w.t); err != nil {
			for _, w := range writes {
				w.discard()
			}
			return fmt.Errorf("storage: transaction %s: %w", in.ID, err)
		}
	}
	path, err := s.writeIntent(&in)
	if err != nil {
		if rerr := s.removeIntent(path); rerr != nil {
			// The intent may survive, and Open would then complete the
			// commit: its data files must stay.
			for _, w := range writes {
				w.release()
			}
			return s.poison(writes, fmt.Errorf("storage: transaction %s: writing its intent failed (%v) and removing it failed (%v); the tables are in an unknown state until the store is reopened", in.ID, err, rerr))
		}
		for _, w := range writes {
			w.discard()
		}
		return fmt.Errorf("storage: transaction %s: writing intent: %w", in.ID, err)
	}

	props := iceberg.Properties{propTxn: in.ID}
	for i, w := range writes {
		txn, err := w.transaction(props)
		if err == nil {
			// The data files stay on failure: the intent refers to them.
			err = w.t.commit(ctx, txn, nil)
		}
		if err == nil {
			continue
		}
		if i == 0 && w.t.err == nil {
			// Nothing is committed. Once the intent is durably gone,
			// nothing will be.
			if s.removeIntent(path) == nil {
				for _, w := range writes {
					w.discard()
				}
				return fmt.Errorf("storage: commit of %s.%s: %w", w.t.db, w.t.name, err)
			}
		}
		for _, c := range writes[:i] {
			c.publish()
		}
		for _, c := range writes[i:] {
			c.release()
		}
		return s.poison(writes, fmt.Errorf("storage: transaction %s failed after its intent was written (committing %s.%s: %w); reopening the store completes it",
			in.ID, w.t.db, w.t.name, err))
	}
	rerr := s.removeIntent(path)
	for _, w := range writes {
		w.publish()
	}
	if rerr != nil {
		// Committed, but the intent may come back after a power cut: the
		// tables must not change before Open has seen it again.
		_ = s.poison(writes, fmt.Errorf("storage: transaction %s is committed but its intent could not be removed (%v); reopen the store", in.ID, rerr))
		return nil
	}
	for _, w := range writes {
		w.t.maintain(ctx)
	}
	return nil
}

// poison makes every later write to the tables of writes fail with err
// (until the store is reopened) and returns err. The write locks must be
// held.
func (s *Store) poison(writes []*staged, err error) error {
	for _, w := range writes {
		if w.t.err == nil {
			w.t.err = err
		}
	}
	return err
}

// writeIntent writes in durably to its file in the txlog directory
// (created if needed) and returns the file's path, also on error.
func (s *Store) writeIntent(in *intent) (string, error) {
	dir := filepath.Join(s.dir, txlogDirName)
	path := filepath.Join(dir, in.ID+".json")
	b, err := json.Marshal(in)
	if err != nil {
		return path, err
	}
	if err := s.mkdir(dir); err != nil {
		return path, err
	}
	return path, writeFileAtomic(s.fs, path, b, s.opts.NoSync)
}

// removeIntent removes the intent file path durably; an intent that does
// not exist is not an error.
func (s *Store) removeIntent(path string) error {
	if err := s.fs.Remove(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	return s.syncDir(filepath.Dir(path))
}

// intentDeletes describes the position delete files dfs for an intent.
func intentDeletes(dfs []iceberg.DataFile) []intentDelete {
	var out []intentDelete
	for _, df := range dfs {
		target := ""
		if ref := df.ReferencedDataFile(); ref != nil {
			target = *ref
		}
		out = append(out, intentDelete{Path: df.FilePath(), DataFile: target})
	}
	return out
}

func filePaths(dfs []iceberg.DataFile) []string {
	out := make([]string, len(dfs))
	for i, df := range dfs {
		out[i] = df.FilePath()
	}
	return out
}

// recoverTransactions completes every multi-table commit whose intent is
// in the txlog directory, then removes the intents (durably, before
// anything else can write). It runs in Open before tables are loaded and
// unreferenced files removed, so the data files an intent names are
// committed before the cleanup could take them for debris.
//
// A table whose current snapshot (or any retained one) carries the
// intent's id is committed. A table still at the intent's base snapshot
// gets the recorded commit applied: it cannot conflict, as nothing else
// writes while Open runs. A table that no longer exists, or exists under
// another table UUID, was dropped after the commit and is skipped. Any
// other table makes Open fail, since it changed in a way this store never
// does. An intent that cannot be read completely, and temporary files of
// an intent being written, are debris of a commit that never started
// committing tables: they are removed, and the data files they name are
// unreferenced and removed as such.
func (s *Store) recoverTransactions() error {
	dir := filepath.Join(s.dir, txlogDirName)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", dir, err)
	}
	done := false
	for _, e := range ents {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), movePrefix) { // moves: recoverMoves
			continue
		}
		p := filepath.Join(dir, e.Name())
		var in intent
		if b, err := os.ReadFile(p); err != nil {
			return fmt.Errorf("storage: reading transaction intent: %w", err)
		} else if json.Unmarshal(b, &in) != nil || !in.valid(e.Name()) {
			// Not fsynced: an incomplete intent that comes back is
			// removed again.
			if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: removing incomplete transaction intent: %w", err)
			}
			continue
		}
		var unfinished []intentTable
		for _, e := range in.Tables {
			if err := s.rollForward(in.ID, e); err != nil {
				// The table is loaded damaged; the intent stays for it
				// until it is dropped (then rollForward has nothing to
				// do).
				s.unfinished[e.Database+"/"+e.Table] = fmt.Errorf("completing transaction %s (intent %s): %w", in.ID, p, err)
				unfinished = append(unfinished, e)
			}
		}
		if len(unfinished) > 0 {
			// The completed tables leave the intent: their commit is
			// known only by a snapshot that expires, after which they
			// would look unfinished.
			if len(unfinished) < len(in.Tables) {
				in.Tables = unfinished
				if _, err := s.writeIntent(&in); err != nil {
					return fmt.Errorf("storage: rewriting transaction intent: %w", err)
				}
			}
			continue
		}
		if err := s.fs.Remove(p); err != nil {
			return fmt.Errorf("storage: removing transaction intent: %w", err)
		}
		done = true
	}
	if done {
		return s.syncDir(dir)
	}
	return nil
}

// rollForward makes sure that the commit e of the multi-table commit id
// is applied; see recoverTransactions.
func (s *Store) rollForward(id string, e intentTable) error {
	if validateName("database", e.Database) != nil || validateName("table", e.Table) != nil {
		return fmt.Errorf("invalid table name %q.%q", e.Database, e.Table)
	}
	tdir := filepath.Join(s.warehouse, e.Database, e.Table)
	if _, err := os.Stat(tdir); errors.Is(err, fs.ErrNotExist) {
		return nil // dropped since
	}
	// Remove a stale version claim before committing.
	isTable, err := s.recoverTableDir(tdir)
	if err != nil || !isTable {
		return err
	}
	ctx := s.ctx
	ice, err := s.cat.LoadTable(ctx, table.Identifier{e.Database, e.Table})
	if err != nil {
		return fmt.Errorf("loading table %s.%s: %w", e.Database, e.Table, err)
	}
	s.loc.addTableRoot(ice, e.Database, e.Table)
	if ice.Metadata().TableUUID().String() != e.UUID {
		return nil // dropped and created again since
	}
	for _, snap := range ice.Metadata().Snapshots() {
		if snap.Summary != nil && snap.Summary.Properties[propTxn] == id {
			return nil // committed
		}
	}
	if snapshotID(ice) != e.Base {
		return fmt.Errorf("table %s.%s is neither at the transaction's base snapshot %d nor committed by it (current snapshot %d); remove the intent to open the store without completing the transaction",
			e.Database, e.Table, e.Base, snapshotID(ice))
	}
	fsys, err := ice.FS(ctx)
	if err != nil {
		return err
	}
	st := &staged{t: &Table{store: s, ice: ice}}
	for _, p := range e.Added {
		df, err := table.FileToDataFile(ctx, fsys, p, ice.Schema(), ice.Spec(), 0, ice.Properties())
		if err != nil {
			return fmt.Errorf("data file %s of %s.%s: %w", p, e.Database, e.Table, err)
		}
		st.added = append(st.added, df)
	}
	for _, d := range e.AddedDeletes {
		df, err := deleteEntryOf(ctx, fsys, ice.Spec(), d.Path, d.DataFile)
		if err != nil {
			return fmt.Errorf("delete file %s of %s.%s: %w", d.Path, e.Database, e.Table, err)
		}
		st.delAdded = append(st.delAdded, df)
	}
	if len(e.Removed)+len(e.RemovedDeletes) > 0 {
		tasks, err := ice.Scan().PlanFiles(ctx)
		if err != nil {
			return fmt.Errorf("planning scan of %s.%s: %w", e.Database, e.Table, err)
		}
		live := map[string]iceberg.DataFile{}
		for _, task := range tasks {
			live[task.File.FilePath()] = task.File
			for _, df := range task.DeleteFiles {
				live[df.FilePath()] = df
			}
		}
		for _, p := range e.Removed {
			df, ok := live[p]
			if !ok {
				return fmt.Errorf("data file %s to remove is not in %s.%s", p, e.Database, e.Table)
			}
			st.replaced = append(st.replaced, df)
		}
		for _, p := range e.RemovedDeletes {
			df, ok := live[p]
			if !ok {
				return fmt.Errorf("delete file %s to remove is not in %s.%s", p, e.Database, e.Table)
			}
			st.delRemoved = append(st.delRemoved, df)
		}
	}
	txn, err := st.transaction(iceberg.Properties{propTxn: id})
	if err == nil {
		_, err = txn.Commit(ctx)
	}
	if err != nil {
		return fmt.Errorf("committing %s.%s: %w", e.Database, e.Table, err)
	}
	return nil
}
