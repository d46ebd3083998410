package storage

import (
	"fmt"
	"maps"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Data is an immutable, reference-counted view of a table's committed
// contents: its record batches in row order, their total row count, and
// the table properties committed with them (see Table.UpdateProperties).
//
// Ownership: a Data owns one reference to each of its batches. Table.Snapshot
// hands out a Data with a reference taken for the caller, who must call
// Release exactly once when done (defer d.Release()). Batches returned by
// Batches stay valid until then and must be neither released nor modified by
// the caller; Retain a batch to keep it longer. A Data is never changed after
// it is published, so it can be read concurrently with writers committing
// new contents. With the default Go allocator a forgotten Release leaks
// nothing (the garbage collector reclaims the buffers); with other
// allocators it does.
type Data struct {
	schema  *arrow.Schema
	batches []arrow.RecordBatch
	rows    int64
	props   map[string]string // user-visible table properties; set by publish, never changed after
	refs    atomic.Int64
	// snapshot is the Iceberg snapshot id of these contents (-1: none);
	// set by publish or SnapshotView.Read, never changed after.
	snapshot int64

	// gen numbers every Data of the process in creation order; lineage
	// is the gen of the first Data of the chain of appends (and property
	// updates) this one ends: see Extends.
	gen, lineage uint64
}

// dataGen numbers Data values (see Data.gen).
var dataGen atomic.Uint64

// newData wraps batches, taking ownership of one reference to each, and
// returns a Data with a reference count of one and a lineage of its own.
// Batches with zero rows are released and dropped.
func newData(schema *arrow.Schema, batches []arrow.RecordBatch) *Data {
	gen := dataGen.Add(1)
	d := &Data{schema: schema, batches: make([]arrow.RecordBatch, 0, len(batches)), gen: gen, lineage: gen, snapshot: -1}
	for _, b := range batches {
		if b.NumRows() == 0 {
			b.Release()
			continue
		}
		d.batches = append(d.batches, b)
		d.rows += b.NumRows()
	}
	d.refs.Store(1)
	return d
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

// Property returns one table property committed with d ("" if unset).
func (d *Data) Property(key string) string { return d.props[key] }

// Schema returns the table schema the batches conform to.
func (d *Data) Schema() *arrow.Schema { return d.schema }

// Batches returns the record batches in row order. The slice and the batches
// are shared: do not modify the slice, and do not Release the batches.
func (d *Data) Batches() []arrow.RecordBatch { return d.batches }

// NumRows returns the total number of rows over all batches.
func (d *Data) NumRows() int64 { return d.rows }

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

// Release drops a reference. When the last reference is dropped the batches
// are released. Releasing more often than retained is a programmer error and
// panics.
func (d *Data) Release() {
	switch n := d.refs.Add(-1); {
	case n == 0:
		for _, b := range d.batches {
			b.Release()
		}
	case n < 0:
		panic("storage: Data released more times than retained")
	}
}

// retainedBatches returns the batches with one new reference taken on each;
// the caller owns those references.
func (d *Data) retainedBatches() []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, len(d.batches))
	for i, b := range d.batches {
		b.Retain()
		out[i] = b
	}
	return out
}

// splitTail splits batches (holding total rows) into a head holding the
// first total-n rows and a tail holding the last n rows. Batches are shared
// or sliced, never copied; every returned batch is a new reference the
// caller must Release.
func splitTail(batches []arrow.RecordBatch, n int64) (head, tail []arrow.RecordBatch) {
	var total int64
	for _, b := range batches {
		total += b.NumRows()
	}
	cut := total - n
	var off int64
	for _, b := range batches {
		rows := b.NumRows()
		switch {
		case off+rows <= cut:
			b.Retain()
			head = append(head, b)
		case off >= cut:
			b.Retain()
			tail = append(tail, b)
		default:
			head = append(head, b.NewSlice(0, cut-off))
			tail = append(tail, b.NewSlice(cut-off, rows))
		}
		off += rows
	}
	return head, tail
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
