package storage

// Staged rows: a statement that appends many rows (INSERT … SELECT,
// CREATE TABLE … AS SELECT, LOAD DATA) writes them to data files as it
// goes instead of holding them in memory until COMMIT. The files are not
// part of any snapshot until the append that commits them (AppendStaged,
// or TableChange.Staged in CommitTables); a discarded Staged removes
// them, and after a crash Open removes data files no snapshot lists.

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// Staged is rows written to data files of a table but not committed.
// Its methods are not safe for concurrent use.
type Staged struct {
	t      *Table
	schema *arrow.Schema // the table's schema when staged
	files  []iceberg.DataFile
	data   *Data
	done   bool // committed or discarded
}

// ErrStagedUsed is returned when a Staged already committed or discarded
// is committed again.
var ErrStagedUsed = errors.New("storage: staged rows already committed or discarded")

// Stage writes the rows of recs (matching Schema()) to new data files
// without committing them. The caller keeps ownership of recs and must
// end the Staged with a commit (AppendStaged, CommitTables) or Discard.
// The table is not locked while the files are written.
func (t *Table) Stage(recs []arrow.RecordBatch) (*Staged, error) {
	t.writeMu.Lock()
	if err := t.writable(); err != nil {
		t.writeMu.Unlock()
		return nil, err
	}
	if _, err := t.check(recs); err != nil {
		t.writeMu.Unlock()
		return nil, err
	}
	ice, canon, schema := t.ice, t.canon, t.schema
	t.writeMu.Unlock()

	var toWrite []arrow.RecordBatch
	for _, r := range recs {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(schema, r))
		}
	}
	files, err := t.writeFilesAs(t.store.ctx, ice, canon, toWrite)
	releaseBatches(toWrite)
	if err != nil {
		return nil, err
	}
	d := newSegmentData(schema, t.fileSegments(ice, schema, fileInfos(files)))
	return &Staged{t: t, schema: schema, files: files, data: d}, nil
}

// Data returns the staged rows, read from their files; it is valid until
// the Staged is committed or discarded (do not Release it).
func (s *Staged) Data() *Data { return s.data }

// NumRows returns the number of staged rows.
func (s *Staged) NumRows() int64 { return s.data.NumRows() }

// Discard removes the staged files; a Staged already committed or
// discarded is left alone.
func (s *Staged) Discard() {
	if s.done {
		return
	}
	s.done = true
	s.t.removeDataFiles(s.files)
	s.data.Release()
}

// AppendStaged appends the staged rows of staged, then the rows of recs,
// as one snapshot, under the table's write lock and only if check
// (unless nil) accepts the current contents, as AppendIf does (no group
// commit). The Stageds are used up whatever the outcome: committed, or
// discarded on error. It fails with ErrSchemaMismatch if the table's
// columns changed since the rows were staged.
func (t *Table) AppendStaged(check func(cur *Data) error, staged []*Staged, recs []arrow.RecordBatch) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	defer discardAll(staged) // those the staged write did not take over
	st, err := t.stageWithStaged(check, staged, recs)
	if err != nil || st == nil {
		return err
	}
	if err := st.commit(nil); err != nil { // removes the files of a failed commit
		return fmt.Errorf("storage: append to %s.%s: %w", t.db, t.name, err)
	}
	st.publish()
	t.maintain(t.store.ctx)
	return nil
}

// stageWithStaged checks and stages the append of stg then recs;
// t.writeMu must be held. It returns nil when there is nothing to write.
// The returned write takes over the Stageds' files (they are done: its
// commit or discard keeps or removes them).
func (t *Table) stageWithStaged(check func(cur *Data) error, stg []*Staged, recs []arrow.RecordBatch) (*staged, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	var stagedRows int64
	for _, s := range stg {
		switch {
		case s.done:
			return nil, ErrStagedUsed
		case s.t != t:
			return nil, fmt.Errorf("storage: rows staged for %s.%s appended to %s.%s", s.t.db, s.t.name, t.db, t.name)
		case s.schema != t.schema:
			return nil, fmt.Errorf("%w: the columns of %s.%s changed since the rows were staged", ErrSchemaMismatch, t.db, t.name)
		}
		stagedRows += s.NumRows()
	}
	rows, err := t.check(recs)
	if err != nil {
		return nil, err
	}
	if check != nil {
		if err := runCheck(check, t.data); err != nil {
			return nil, err
		}
	}
	if rows+stagedRows == 0 {
		return nil, nil
	}
	var toWrite []arrow.RecordBatch
	for _, r := range recs {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(t.schema, r))
		}
	}
	written, err := t.writeFiles(t.store.ctx, toWrite)
	if err != nil {
		releaseBatches(toWrite)
		return nil, err
	}
	var added []iceberg.DataFile
	for _, s := range stg {
		added = append(added, s.files...)
	}
	added = append(added, written...)
	prefix := newSegmentData(t.schema, nil)
	prefix.segs = t.data.segs
	// Only the rows of recs are in memory to warm the cache with; the
	// staged files come first, so nothing is warmed (warm needs all rows).
	releaseBatches(toWrite)
	usedUp(stg)
	return &staged{t: t, added: added, prefix: prefix.sharedSegments(), exact: t.exact, appends: true}, nil
}

// usedUp marks Stageds whose files a staged write took over.
func usedUp(staged []*Staged) {
	for _, s := range staged {
		s.done = true
		s.data.Release()
	}
}

func discardAll(staged []*Staged) {
	for _, s := range staged {
		s.Discard()
	}
}
