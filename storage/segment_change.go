package storage

// Writes that cost what they touch: an UPDATE or DELETE replaces only the
// segments (data files) holding the rows it changed. The other files stay
// in the new snapshot as they are; the rows of the replaced ones (and
// any appended rows) go to new files after them, in one Iceberg commit
// (a replace of data files: copy-on-write per file).

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
// its rows are deleted), and Append holds rows added after the others.
// Segments not in Replace keep their rows.
type SegmentChange struct {
	Replace map[int][]arrow.RecordBatch
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
// is committed as one Iceberg snapshot. Only the data files of the
// replaced segments are removed; their rows and the appended ones are
// written to new files, which come after the kept segments in the new
// contents (so do the rows after a reopen: row order without ORDER BY is
// not kept by an UPDATE or DELETE). After a crash at any moment the
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
	all := c.batches()
	rows, err := t.check(all)
	if err != nil {
		return nil, err
	}
	if len(c.Replace) == 0 && rows == 0 {
		return nil, nil
	}
	if !t.exact || t.data.NumSegments() != len(t.files) {
		// Segments that are not one file each (a table with delete
		// files from another engine): write the whole contents.
		return t.stageWhole(c)
	}
	var prefix []segment
	var replaced []iceberg.DataFile
	for i, s := range t.data.segs {
		if _, ok := c.Replace[i]; ok {
			replaced = append(replaced, t.files[i].df)
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
	return &staged{t: t, replaced: replaced, added: added, written: toWrite, prefix: prefix, exact: true}, nil
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
