package storage

// Writes that cost what they touch: an UPDATE or DELETE writes, for each
// segment (data file) it deletes rows of, a position delete file naming
// those rows (merge-on-read, deletes.go), and its new rows to a new data
// file, in one Iceberg commit (a row delta); no data file is rewritten.
// Maintenance later rewrites a data file whose deletes grew (compact.go).
// A change that replaces whole segments replaces their data files
// (copy-on-write per file).

import (
	"fmt"
	"maps"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

// SegmentChange changes some segments of a table's contents (see
// Table.RewriteSegments): Replace maps the index of a segment of the
// contents the change was made against to the rows that replace it (none:
// its rows are deleted); Delete maps the index of a segment to rows of it
// that are deleted (row numbers within the segment, ascending, distinct;
// a segment may not be in both); and Append holds rows added after the
// others. Segments in neither keep their rows.
type SegmentChange struct {
	Replace map[int][]arrow.RecordBatch
	Delete  map[int][]int64
	Append  []arrow.RecordBatch
}

// batches returns every batch of c, replacements in segment order first.
func (c SegmentChange) batches() []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for _, i := range slices.Sorted(maps.Keys(c.Replace)) {
		out = append(out, c.Replace[i]...)
	}
	return append(out, c.Append...)
}

// RewriteSegments is a read-modify-write of some of the table's segments
// under the table's write lock: fn receives the current contents (valid
// only during the call; do not Release it) and returns the change, which
// is committed as one Iceberg snapshot. Deleted rows are recorded in
// position delete files, one per data file, and no data file is
// rewritten; only the data files of replaced segments are removed. The
// rows of the replaced segments and the appended ones are written to new
// files, which come after the kept segments in the new contents (so do
// the rows after a reopen: row order without ORDER BY is not kept by an
// UPDATE or DELETE). After a crash at any moment the
// table holds the old or the new contents. RewriteSegments takes
// ownership of the batches fn returns and releases them, also when fn or
// the commit fails. If fn returns an error nothing is written and that
// error is returned. fn has the contract of Rewrite's fn.
func (t *Table) RewriteSegments(fn func(cur *Data) (SegmentChange, error)) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	c, err := fn(t.data)
	defer releaseBatches(c.batches())
	if err != nil {
		return err
	}
	return t.segmentsLocked(c)
}

// segmentsLocked commits change c of the current contents; t.writeMu must
// be held.
func (t *Table) segmentsLocked(c SegmentChange) error {
	st, err := t.stageSegments(c)
	if err != nil || st == nil {
		return err
	}
	if err := st.commit(nil); err != nil {
		return fmt.Errorf("storage: rewrite of %s.%s: %w", t.db, t.name, err)
	}
	st.publish()
	t.maintain(t.store.ctx)
	return nil
}

// stageSegments writes the data files of change c of the current
// contents; t.writeMu must be held. The batches of c stay the caller's.
// It returns nil (and no error) when c changes nothing.
func (t *Table) stageSegments(c SegmentChange) (*staged, error) {
	if t.err != nil {
		return nil, t.err
	}
	for i := range c.Replace {
		if i < 0 || i >= t.data.NumSegments() {
			return nil, fmt.Errorf("storage: rewrite of %s.%s: no segment %d", t.db, t.name, i)
		}
	}
	for i, rows := range c.Delete {
		if i < 0 || i >= t.data.NumSegments() {
			return nil, fmt.Errorf("storage: rewrite of %s.%s: no segment %d", t.db, t.name, i)
		}
		if _, ok := c.Replace[i]; ok {
			return nil, fmt.Errorf("storage: rewrite of %s.%s: segment %d both replaced and deleted from", t.db, t.name, i)
		}
		for k, r := range rows {
			if r < 0 || r >= t.data.segs[i].rows || (k > 0 && r <= rows[k-1]) {
				return nil, fmt.Errorf("storage: rewrite of %s.%s: deleted rows of segment %d are not ascending within its %d rows", t.db, t.name, i, t.data.segs[i].rows)
			}
		}
		if len(rows) == 0 {
			delete(c.Delete, i)
		}
	}
	all := c.batches()
	rows, err := t.check(all)
	if err != nil {
		return nil, err
	}
	if len(c.Replace) == 0 && len(c.Delete) == 0 && rows == 0 {
		return nil, nil
	}
	byPath := make(map[string]int, len(t.files))
	for i, f := range t.files {
		byPath[f.df.FilePath()] = i
	}
	for _, s := range t.data.segs {
		if _, ok := byPath[segmentPath(s)]; !ok || !t.exact {
			// Segments that are not data files (a table with other
			// delete files from another engine): write the whole
			// contents.
			return t.stageWhole(c)
		}
	}
	var touched int64 // rows of the data files rows are deleted from
	for i := range c.Delete {
		touched += t.files[byPath[segmentPath(t.data.segs[i])]].df.Count()
	}
	if len(c.Replace) == 0 && touched > t.store.opts.CopyOnWriteRows {
		return t.stageDeletes(c, byPath)
	}
	if c.Replace == nil {
		c.Replace = map[int][]arrow.RecordBatch{}
	}
	// Copy-on-write of the replaced segments; rows deleted from others
	// make them replaced by their live rows.
	for i, rows := range c.Delete {
		b, err := t.data.Segment(i)
		if err != nil {
			return nil, err
		}
		kept, err := filterDeleted(t.store.opts.Allocator, b, rows)
		b.Release()
		if err != nil {
			return nil, err
		}
		c.Replace[i] = []arrow.RecordBatch{kept}
		defer kept.Release()
	}
	all = c.batches()
	var prefix []segment
	var replaced, delRemoved []iceberg.DataFile
	for i, s := range t.data.segs {
		if _, ok := c.Replace[i]; ok {
			f := t.files[byPath[segmentPath(s)]]
			replaced = append(replaced, f.df)
			delRemoved = append(delRemoved, f.dels.deleteFiles()...)
			continue
		}
		if s.batch != nil {
			s.batch.Retain()
		}
		prefix = append(prefix, s)
	}
	var toWrite []arrow.RecordBatch
	for _, r := range all {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(t.schema, r))
		}
	}
	added, err := t.writeFiles(t.store.ctx, toWrite)
	if err != nil {
		releaseBatches(toWrite)
		releaseSegments(prefix)
		return nil, err
	}
	return &staged{t: t, replaced: replaced, delRemoved: delRemoved, added: added, written: toWrite, prefix: prefix, exact: true}, nil
}

// segmentPath is the path of the data file of segment s, "" for an
// in-memory segment.
func segmentPath(s segment) string {
	if s.file == nil {
		return ""
	}
	return s.file.task.File.FilePath()
}

// stageDeletes stages change c, which replaces no segment, as a row
// delta: one position delete file per data file rows are deleted from,
// and the appended rows in new data files. byPath maps the path of each
// data file of the table to its index in t.files.
func (t *Table) stageDeletes(c SegmentChange, byPath map[string]int) (*staged, error) {
	ctx := t.store.ctx
	st := &staged{t: t, exact: true, fromFiles: true, dels: map[string]*posDeletes{}}
	for _, i := range slices.Sorted(maps.Keys(c.Delete)) {
		f := t.files[byPath[segmentPath(t.data.segs[i])]]
		pos := filePositions(f.dels.positions(), c.Delete[i])
		df, err := t.writeDeleteFile(ctx, f.df, pos)
		if err != nil {
			st.discard()
			return nil, err
		}
		st.delAdded = append(st.delAdded, df)
		st.dels[f.df.FilePath()] = f.dels.with(df, pos)
	}
	for _, r := range c.Append {
		if r.NumRows() > 0 {
			st.written = append(st.written, withSchema(t.schema, r))
		}
	}
	added, err := t.writeFiles(ctx, st.written)
	if err != nil {
		st.discard()
		return nil, err
	}
	st.added = added
	return st, nil
}

// stageWhole stages change c as an overwrite of the whole contents.
func (t *Table) stageWhole(c SegmentChange) (*staged, error) {
	var recs []arrow.RecordBatch
	defer func() { releaseBatches(recs) }()
	for i := range t.data.NumSegments() {
		if r, ok := c.Replace[i]; ok {
			for _, b := range r {
				b.Retain()
				recs = append(recs, b)
			}
			continue
		}
		b, err := t.data.Segment(i)
		if err != nil {
			return nil, err
		}
		if rows, ok := c.Delete[i]; ok {
			kept, err := filterDeleted(t.store.opts.Allocator, b, rows)
			b.Release()
			if err != nil {
				return nil, err
			}
			b = kept
		}
		recs = append(recs, b)
	}
	for _, b := range c.Append {
		b.Retain()
		recs = append(recs, b)
	}
	rows, err := t.check(recs)
	if err != nil {
		return nil, err
	}
	return t.stageOverwrite(recs, rows)
}
