package storage

import (
	"fmt"
	"maps"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Data is an immutable, reference-counted view of a table's committed
// contents: its rows in row order as a list of segments, their total row
// count, and the table properties committed with them (see
// Table.UpdateProperties).
//
// A segment is one data file of the table's snapshot, read from its
// Parquet file when first used and kept in the store's cache within the
// store's memory budget (Options.CacheBytes), or a record batch held in
// memory (the rows of a change not committed yet, and the rows of tables
// whose files carry equality delete files or deletion vectors written by
// other engines). A data file's segment leaves out the rows its position
// delete files delete (deletes.go). Segment and
// Scan read segments one at a time, so a scan of a table larger than
// memory holds only what it reads at a time plus the cache; ReadRows
// reads a few rows of a segment without decoding its whole file
// (rowgroups.go).
//
// Ownership: a Data owns one reference to each of its in-memory batches.
// Table.Snapshot hands out a Data with a reference taken for the caller,
// who must call Release exactly once when done (defer d.Release()). A
// Data is never changed after it is published, so it can be read
// concurrently with writers committing new contents, and the data files
// it reads stay on disk until it is released (see Table.maintain). With
// the default Go allocator a forgotten Release leaks nothing but
// postpones the expiry of old snapshots; with other allocators it leaks
// buffers.
type Data struct {
	schema *arrow.Schema
	segs   []segment
	rows   int64
	props  map[string]string // user-visible table properties; set by publish, never changed after
	refs   atomic.Int64
	// snapshot is the Iceberg snapshot id of these contents (-1: none);
	// set by publish or SnapshotView.Read, never changed after.
	snapshot int64
	// deps are Datas whose segments this one shares, released with it;
	// onFree, if set, runs once the last reference is released.
	deps   []*Data
	onFree func()

	// gen numbers every Data of the process in creation order; lineage
	// is the gen of the first Data of the chain of appends (and property
	// updates) this one ends: see Extends.
	gen, lineage uint64
}

// segment is one run of rows of a Data: an in-memory batch, or a data
// file read on demand.
type segment struct {
	rows  int64
	batch arrow.RecordBatch // in memory; nil for a file segment
	file  *fileSource       // read on demand (segment.go)
	mem   uint64            // an in-memory segment's number (see SegmentID)
}

// memSegments numbers in-memory segments.
var memSegments atomic.Uint64

// dataGen numbers Data values (see Data.gen).
var dataGen atomic.Uint64

// newData wraps batches, taking ownership of one reference to each, and
// returns a Data with a reference count of one and a lineage of its own.
// Batches with zero rows are released and dropped.
func newData(schema *arrow.Schema, batches []arrow.RecordBatch) *Data {
	d := newSegmentData(schema, nil)
	for _, b := range batches {
		d.addBatch(b)
	}
	return d
}

// newSegmentData returns a Data (one reference, a lineage of its own)
// made of segs, which it takes over (their in-memory batches included).
func newSegmentData(schema *arrow.Schema, segs []segment) *Data {
	gen := dataGen.Add(1)
	d := &Data{schema: schema, segs: make([]segment, 0, len(segs)), gen: gen, lineage: gen, snapshot: -1}
	for _, s := range segs {
		d.addSegment(s)
	}
	d.refs.Store(1)
	return d
}

// addBatch appends an in-memory segment holding b, taking over the
// caller's reference; a batch of zero rows is released and dropped.
func (d *Data) addBatch(b arrow.RecordBatch) {
	d.addSegment(segment{rows: b.NumRows(), batch: b, mem: memSegments.Add(1)})
}

// addSegment appends s (taking over its batch's reference); an empty
// segment is dropped.
func (d *Data) addSegment(s segment) {
	if s.rows == 0 {
		if s.batch != nil {
			s.batch.Release()
		}
		return
	}
	d.segs = append(d.segs, s)
	d.rows += s.rows
}

// sharedSegments returns d's segments with a new reference taken on each
// in-memory batch; the caller owns those references.
func (d *Data) sharedSegments() []segment {
	out := slices.Clone(d.segs)
	for _, s := range out {
		if s.batch != nil {
			s.batch.Retain()
		}
	}
	return out
}

// SnapshotID returns the id of the table's Iceberg snapshot whose rows d
// holds, or -1 when the table had no snapshot (it was never written).
// Table.SnapshotByID with this id reads the same rows again as long as
// the snapshot has not expired.
func (d *Data) SnapshotID() int64 { return d.snapshot }

// DetachedData wraps batches of schema that belong to no table (the SQL
// layer's view of a change it has not committed yet), taking ownership
// of one reference to each, and returns a Data with one reference for
// the caller and no properties. It extends no other Data.
func DetachedData(schema *arrow.Schema, batches []arrow.RecordBatch) *Data {
	return newData(schema, batches)
}

// Append returns a new Data (one reference, owned by the caller, no
// properties, extending no Data) holding d's rows, read from the same
// segments, followed by the rows of batches, of schema, which it takes
// over: the SQL layer's view of rows it has not committed yet. d stays
// referenced (and its files on disk) until the result is released.
// schema must describe the same columns as d's (it may name them
// differently); segments of d are read converted to d's schema and
// relabelled.
func (d *Data) Append(schema *arrow.Schema, batches []arrow.RecordBatch) *Data {
	out := newSegmentData(schema, d.sharedSegments())
	d.Retain()
	out.deps = append(out.deps, d)
	for _, b := range batches {
		out.addBatch(b)
	}
	return out
}

// Property returns one table property committed with d ("" if unset).
func (d *Data) Property(key string) string { return d.props[key] }

// Schema returns the table schema the batches conform to.
func (d *Data) Schema() *arrow.Schema { return d.schema }

// NumRows returns the total number of rows over all segments.
func (d *Data) NumRows() int64 { return d.rows }

// NumSegments returns the number of segments.
func (d *Data) NumSegments() int { return len(d.segs) }

// SegmentRows returns the number of rows of segment i.
func (d *Data) SegmentRows(i int) int64 { return d.segs[i].rows }

// SegmentID identifies the rows of segment i: two segments (of any two
// Datas of the store) with the same non-empty id hold the same rows, in
// the same order (a data file's path, which never changes, and the
// number of its rows deleted, which only grows; see deletes.go).
func (d *Data) SegmentID(i int) string {
	s := d.segs[i]
	if s.file != nil {
		if n := len(s.file.dels); n > 0 {
			return fmt.Sprintf("%s#%d", s.file.task.File.FilePath(), n)
		}
		return s.file.task.File.FilePath()
	}
	return fmt.Sprintf("memory:%d", s.mem)
}

// Segment returns the rows of segment i (0 ≤ i < NumSegments) as one
// record batch of Schema: the in-memory batch, or the data file's rows
// from the store's cache, read from disk if they are not cached. The
// caller owns one reference to the batch and must Release it; the batch
// must not be modified. An error (wrapping ErrDamaged) means the data file
// could not be read.
func (d *Data) Segment(i int) (arrow.RecordBatch, error) {
	s := d.segs[i]
	var b arrow.RecordBatch
	if s.batch != nil {
		s.batch.Retain()
		b = s.batch
	} else {
		var err error
		if b, err = s.file.get(s.rows); err != nil {
			return nil, err
		}
	}
	if !b.Schema().Equal(d.schema) {
		r := array.NewRecordBatch(d.schema, b.Columns(), b.NumRows())
		b.Release()
		b = r
	}
	return b, nil
}

// Scan calls fn with the segments holding rows from, from on, in row
// order: rec is the segment's batch (valid only during the call; Retain
// it to keep it) and first the row number of its first row; rows of rec
// before from are to be skipped by fn. It stops at the first error, of
// fn or of reading a segment, and returns it. From its second segment on
// it reads the next one ahead (Prefetch).
func (d *Data) Scan(from int64, fn func(rec arrow.RecordBatch, first int64) error) error {
	var first int64
	read := 0
	for i, s := range d.segs {
		if first+s.rows <= from {
			first += s.rows
			continue
		}
		if read++; read > 1 {
			d.Prefetch(i + 1)
		}
		rec, err := d.Segment(i)
		if err != nil {
			return err
		}
		err = fn(rec, first)
		rec.Release()
		if err != nil {
			return err
		}
		first += s.rows
	}
	return nil
}

// ReadAll returns every row of d as batches in row order, reading every
// segment: the caller owns one reference to each and must release them.
// It holds the whole table in memory; use Scan or Segment to read a
// table larger than memory.
func (d *Data) ReadAll() ([]arrow.RecordBatch, error) {
	out := make([]arrow.RecordBatch, 0, len(d.segs))
	for i := range d.segs {
		b, err := d.Segment(i)
		if err != nil {
			releaseBatches(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// Extends reports whether d's first prev.NumRows() rows are the rows of
// prev, in the same order: d was published after prev by appends and
// property updates only (Table.Append, AppendIf, UpdateProperties), with
// no Overwrite or Rewrite in between. Values derived from prev's rows by
// row number (a sorted permutation, say) stay valid for that prefix of d.
// A Data extends itself.
func (d *Data) Extends(prev *Data) bool {
	return prev != nil && prev.lineage == d.lineage && prev.gen <= d.gen
}

// extend puts d, published right after prev by an append or a property
// update, in prev's lineage (see Extends) and returns d.
func (d *Data) extend(prev *Data) *Data {
	d.lineage = prev.lineage
	return d
}

// Properties returns a copy of the table properties as of this Data: the
// ones given to CreateTable as changed by every UpdateProperties committed
// before it was published.
func (d *Data) Properties() map[string]string { return maps.Clone(d.props) }

// Retain takes an additional reference; each Retain needs its own Release.
func (d *Data) Retain() { d.refs.Add(1) }

// Release drops a reference. When the last reference is dropped the
// in-memory batches are released. Releasing more often than retained is a
// programmer error and panics.
func (d *Data) Release() {
	switch n := d.refs.Add(-1); {
	case n == 0:
		for _, s := range d.segs {
			if s.batch != nil {
				s.batch.Release()
			}
		}
		for _, dep := range d.deps {
			dep.Release()
		}
		if d.onFree != nil {
			d.onFree()
		}
	case n < 0:
		panic("storage: Data released more times than retained")
	}
}

// concatBatches copies batches (all of schema sc) into one batch allocated
// from mem. A single batch is returned with a new reference instead of being
// copied. The caller owns the result.
func concatBatches(mem memory.Allocator, sc *arrow.Schema, batches []arrow.RecordBatch) (arrow.RecordBatch, error) {
	if len(batches) == 0 {
		return nil, fmt.Errorf("storage: nothing to concatenate")
	}
	if len(batches) == 1 {
		batches[0].Retain()
		return batches[0], nil
	}
	var rows int64
	for _, b := range batches {
		rows += b.NumRows()
	}
	cols := make([]arrow.Array, sc.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(batches))
	for i := range cols {
		for j, b := range batches {
			parts[j] = b.Column(i)
		}
		c, err := array.Concatenate(parts, mem)
		if err != nil {
			return nil, fmt.Errorf("storage: concatenating column %q: %w", sc.Field(i).Name, err)
		}
		cols[i] = c
	}
	return array.NewRecordBatch(sc, cols, rows), nil
}

// withSchema returns rec relabelled with schema sc (same columns, new
// reference); rec itself is retained when it already has schema sc.
func withSchema(sc *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	if rec.Schema().Equal(sc) {
		rec.Retain()
		return rec
	}
	return array.NewRecordBatch(sc, rec.Columns(), rec.NumRows())
}
