package engine

import (
	"cmp"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/storage"
)

// Index lookups (see the comment at the top of index.go).
//
// A lookup returns the rows of its ranges in index order: ascending by
// the index columns, NULL first, as the column types compare, and the
// reverse for a reverse lookup. go-mysql-server relies on that: it drops
// the sort of an ORDER BY that an index lookup on the same columns
// serves (and runs ORDER BY … LIMIT and MIN/MAX of the primary key as
// such lookups). Over a sorted index a single range is a slice of it,
// read lazily, so ORDER BY id DESC LIMIT 1 reads one row; every other
// lookup collects its rows with their keys and sorts them.

var (
	_ sql.IndexAddressableTable = (*table)(nil)
	_ sql.IndexAlterableTable   = (*table)(nil)
	_ sql.IndexedTable          = (*indexedTable)(nil)
	_ sql.OrderedIndex          = (*index)(nil)
)

// Order implements sql.OrderedIndex: lookups return rows in ascending
// index order.
func (ix *index) Order() sql.IndexOrder { return sql.IndexOrderAsc }

// Reversible implements sql.OrderedIndex.
func (ix *index) Reversible() bool { return true }

// GetIndexes implements sql.IndexAddressable.
func (t *table) GetIndexes(*sql.Context) ([]sql.Index, error) {
	ixs := t.sqlIndexes()
	out := make([]sql.Index, len(ixs))
	for i, ix := range ixs {
		out[i] = ix
	}
	return out, nil
}

// PreciseMatch implements sql.IndexAddressable: the planner keeps its
// filters above an index lookup, so a lookup can never widen a result.
func (t *table) PreciseMatch() bool { return false }

// IndexedAccess implements sql.IndexAddressable.
func (t *table) IndexedAccess(*sql.Context, sql.IndexLookup) sql.IndexedTable {
	return &indexedTable{table: t}
}

// indexedTable is a table (projected or not) read through index lookups.
type indexedTable struct {
	*table
}

// LookupPartitions implements sql.IndexedTable.
func (it *indexedTable) LookupPartitions(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	return it.table.lookup(ctx, lookup)
}

// PartitionRows implements sql.Table: the rows of a lookup partition, or
// of a scan partition as the table's.
func (it *indexedTable) PartitionRows(ctx *sql.Context, p sql.Partition) (sql.RowIter, error) {
	if lp, ok := p.(*lookupPartition); ok {
		return &lookupRowIter{p: lp, t: it.table, cols: it.table.columns(), readers: map[int][]func(int) interface{}{}, recs: map[int]arrow.RecordBatch{}}, nil
	}
	return it.table.PartitionRows(ctx, p)
}

// lookupPartition yields the rows of one lookup in output order: either
// a slice of a sorted index (perm, backwards when reverse, checked
// against filter unless nil), or items collected and ordered beforehand.
type lookupPartition struct {
	data   *storage.Data // the rows the perm and positions number, held by the partition iterator; nil for none
	starts []int         // first row number of each segment of data, and the total

	perm    []uint32
	reverse bool
	filter  *keyFilter

	items []lookupItem
}

// lookupItem is one row of a lookup: the batch row pos, or a row of the
// transaction (full schema) when row is not nil.
type lookupItem struct {
	pos int
	row sql.Row
}

// keyFilter checks the index columns of a row against a lookup's ranges.
type keyFilter struct {
	ix     *index
	filter sql.Expression // go-mysql-server's range filter over key rows
}

func (f *keyFilter) match(ctx *sql.Context, key sql.Row) (bool, error) {
	v, err := sql.EvaluateCondition(ctx, f.filter, key)
	return sql.IsTrue(v), err
}

// Key implements sql.Partition.
func (p *lookupPartition) Key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], 0)
	return b[:]
}

type lookupRowIter struct {
	p       *lookupPartition
	t       *table
	cols    []int
	i       int
	readers map[int][]func(int) interface{} // per segment: the projected columns, then the index columns
	recs    map[int]arrow.RecordBatch       // the segments read, released by Close
}

// batchReaders returns the value readers of segment b: the projected
// columns, then the index columns.
func (it *lookupRowIter) batchReaders(b int) ([]func(int) interface{}, error) {
	if rd := it.readers[b]; rd != nil {
		return rd, nil
	}
	if rd, ok, err := it.pointReaders(b); ok || err != nil { // a few rows: lookup_rows.go
		it.readers[b] = rd
		return rd, err
	}
	rec, err := it.p.data.Segment(b)
	if err != nil {
		return nil, segmentErr(err)
	}
	it.recs[b] = rec
	rd := make([]func(int) interface{}, 0, len(it.cols)+4)
	for _, c := range it.cols {
		rd = append(rd, valueReader(it.t.schema.Schema[c].Type, rec.Column(c)))
	}
	if it.p.filter != nil {
		for _, c := range it.p.filter.ix.cols {
			rd = append(rd, valueReader(it.t.schema.Schema[c].Type, rec.Column(c)))
		}
	}
	it.readers[b] = rd
	return rd, nil
}

// Next implements sql.RowIter.
func (it *lookupRowIter) Next(ctx *sql.Context) (sql.Row, error) {
	p := it.p
	if p.perm == nil {
		for it.i < len(p.items) {
			item := p.items[it.i]
			it.i++
			if item.row == nil {
				return it.batchRow(item.pos)
			}
			out := make(sql.Row, len(it.cols))
			for j, c := range it.cols {
				out[j] = item.row[c]
			}
			return out, nil
		}
		return nil, io.EOF
	}
	for it.i < len(p.perm) {
		k := it.i
		if p.reverse {
			k = len(p.perm) - 1 - it.i
		}
		it.i++
		g := int(p.perm[k])
		if p.filter != nil {
			b, r := locate(p.starts, g)
			rd, err := it.batchReaders(b)
			if err != nil {
				return nil, err
			}
			rd = rd[len(it.cols):]
			key := make(sql.Row, len(rd))
			for j, read := range rd {
				key[j] = read(r)
			}
			ok, err := p.filter.match(ctx, key)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		return it.batchRow(g)
	}
	return nil, io.EOF
}

// batchRow reads the projected columns of row g of the partition's data.
func (it *lookupRowIter) batchRow(g int) (sql.Row, error) {
	b, r := locate(it.p.starts, g)
	rd, err := it.batchReaders(b)
	if err != nil {
		return nil, err
	}
	row := make(sql.Row, len(it.cols))
	for j := range it.cols {
		row[j] = rd[j](r)
	}
	return row, nil
}

// Close implements sql.Closer.
func (it *lookupRowIter) Close(*sql.Context) error {
	for _, rec := range it.recs {
		rec.Release()
	}
	clear(it.recs)
	clear(it.readers)
	return nil
}

// segmentStarts returns the first row number of each segment of d (nil
// for none), and the total.
func segmentStarts(d *storage.Data) []int {
	if d == nil {
		return []int{0}
	}
	starts := make([]int, d.NumSegments()+1)
	for i := range d.NumSegments() {
		starts[i+1] = starts[i] + int(d.SegmentRows(i))
	}
	return starts
}

// locate returns the batch, and the row in it, of row number g.
func locate(starts []int, g int) (int, int) {
	if len(starts) == 2 {
		return 0, g
	}
	b := sort.Search(len(starts)-1, func(b int) bool { return starts[b+1] > g })
	return b, g - starts[b]
}

// lookup returns the partition of the rows an index lookup selects in
// the view of the statement's transaction, or in the committed table.
func (t *table) lookup(ctx *sql.Context, lookup sql.IndexLookup) (sql.PartitionIter, error) {
	ix, ok := lookup.Index.(*index)
	if !ok || ix.t.st != t.st {
		return nil, fmt.Errorf("index %v is not an index of table %s", lookup.Index, t.Name())
	}
	ranges, ok := lookup.Ranges.(sql.MySQLRangeCollection)
	if !ok {
		return nil, fmt.Errorf("unexpected lookup ranges %T", lookup.Ranges)
	}
	if lookup.IsEmptyRange || len(ranges) == 0 {
		return &snapshotPartitions{}, nil
	}
	expr, err := expression.NewRangeFilterExpr(ix.keyExprs(), ranges)
	if err != nil {
		return nil, err
	}
	f := &keyFilter{ix: ix, filter: expr}
	if tx := t.tx(ctx); tx != nil {
		tt, err := tx.txState(t)
		if err != nil {
			return nil, err
		}
		noteRead(ctx, t, tt.base) // training_reads.go
		if !tt.changed() {
			p, err := t.lookupData(ctx, tt.base, f, ranges, lookup.IsReverse)
			if err != nil {
				return nil, err
			}
			tt.base.Retain() // the transaction may end before the scan does
			return &snapshotPartitions{snap: tt.base, parts: []sql.Partition{p}}, nil
		}
		// The transaction changed the table: its base through the index
		// (in overwrite mode only the segments it did not read) and its
		// own rows scanned (the rows it inserted; in overwrite mode the
		// live rows of the segments it read and the rows it added).
		data := tt.base
		var items []keyedItem
		key := make(sql.Row, len(ix.cols))
		var matchErr error
		scan := func(_ int, r sql.Row) bool {
			for i, o := range ix.cols {
				key[i] = r[o]
			}
			ok, err := f.match(ctx, key)
			if err != nil {
				matchErr = err
				return false
			}
			if ok {
				items = append(items, keyedItem{item: lookupItem{row: r}, key: slices.Clone(key)})
			}
			return true
		}
		if data.NumRows() > 0 {
			if items, err = t.matchData(ctx, tt.base, f, ranges); err != nil {
				return nil, err
			}
		}
		if tt.rewrit {
			_, show, _, batches, rows, err := tt.view()
			if err != nil {
				return nil, err
			}
			rows = append(recordRows(t.schema.Schema, batches), rows...)
			releaseAll(batches)
			starts := segmentStarts(data)
			items = slices.DeleteFunc(items, func(it keyedItem) bool {
				b, _ := locate(starts, it.item.pos)
				return !show[b]
			})
			for i, r := range rows {
				if !scan(i, r) {
					break
				}
			}
		} else {
			tt.inserts.each(0, scan)
		}
		if matchErr != nil {
			return nil, matchErr
		}
		p := &lookupPartition{data: data, starts: segmentStarts(data), items: ix.order(ctx, items, lookup.IsReverse)}
		data.Retain() // the transaction may end before the scan does
		return &snapshotPartitions{snap: data, parts: []sql.Partition{p}}, nil
	}
	snap, err := t.snapshot()
	if err != nil {
		return nil, err
	}
	noteRead(ctx, t, snap)
	p, err := t.lookupData(ctx, snap, f, ranges, lookup.IsReverse)
	if err != nil {
		snap.Release()
		return nil, err
	}
	return &snapshotPartitions{snap: snap, parts: []sql.Partition{p}}, nil
}

// lookupData returns the partition of the rows of d in ranges: a slice
// of d's sorted index for a single range, else the matching rows
// collected and ordered.
func (t *table) lookupData(ctx *sql.Context, d *storage.Data, f *keyFilter, ranges sql.MySQLRangeCollection, reverse bool) (*lookupPartition, error) {
	p := &lookupPartition{data: d, starts: segmentStarts(d)}
	si, err := t.cache.sorted(t.st, d, t.schema.Schema, f.ix.cols)
	if err != nil {
		return nil, err
	}
	if si != nil && len(ranges) == 1 {
		rows, exact := si.rangeRows(ctx, ranges[0])
		p.perm, p.reverse = rows, reverse
		if p.perm == nil {
			p.perm = []uint32{}
		}
		if !exact {
			p.filter = f
		}
		return p, nil
	}
	items, err := t.matchData(ctx, d, f, ranges)
	if err != nil {
		return nil, err
	}
	p.items = f.ix.order(ctx, items, reverse)
	return p, nil
}

// keyedItem is a lookup item with its index key, for ordering.
type keyedItem struct {
	item lookupItem
	key  sql.Row
}

// matchData returns the rows of d within ranges, with their keys, in row
// order: candidates from d's sorted index when there is one (see
// indexCache; their keys are read from the index), else every row,
// checked against f.
func (t *table) matchData(ctx *sql.Context, d *storage.Data, f *keyFilter, ranges sql.MySQLRangeCollection) ([]keyedItem, error) {
	cols := f.ix.cols
	var cand []int
	all := true
	si, err := t.cache.sorted(t.st, d, t.schema.Schema, cols)
	if err != nil {
		return nil, err
	}
	if si != nil {
		all = false
		cand = si.candidates(ctx, ranges)
		slices.Sort(cand)
		cand = slices.Compact(cand)
	}
	readers := make([]func(int) interface{}, len(cols))
	setBatch := func(rec arrow.RecordBatch) {
		for i, o := range cols {
			readers[i] = valueReader(t.schema.Schema[o].Type, rec.Column(o))
		}
	}
	var out []keyedItem
	test := func(first, r int) error {
		key := make(sql.Row, len(cols))
		for i, rd := range readers {
			key[i] = rd(r)
		}
		ok, err := f.match(ctx, key)
		if ok {
			out = append(out, keyedItem{item: lookupItem{pos: first + r}, key: key})
		}
		return err
	}
	if all {
		err := d.Scan(0, func(rec arrow.RecordBatch, first int64) error {
			setBatch(rec)
			for r := 0; r < int(rec.NumRows()); r++ {
				if err := test(int(first), r); err != nil {
					return err
				}
			}
			return nil
		})
		return out, segmentErr(err)
	}
	// The candidates' keys are in the index: no data file is read.
	for _, g := range cand {
		key := make(sql.Row, len(cols))
		for i := range cols {
			key[i] = si.keyValue(g, i)
		}
		ok, err := f.match(ctx, key)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, keyedItem{item: lookupItem{pos: g}, key: key})
		}
	}
	return out, nil
}

// order sorts items by key, NULL first, as the index columns' types
// compare (ties keep their order: batch rows in row order, then the
// transaction's rows), reverses them for a reverse lookup and returns
// the items.
func (ix *index) order(ctx *sql.Context, items []keyedItem, reverse bool) []lookupItem {
	slices.SortStableFunc(items, func(a, b keyedItem) int { return ix.compareKeys(ctx, a.key, b.key) })
	out := make([]lookupItem, len(items))
	for i, it := range items {
		out[i] = it.item
	}
	if reverse {
		slices.Reverse(out)
	}
	return out
}

// compareKeys compares two key rows of the index.
func (ix *index) compareKeys(ctx *sql.Context, a, b sql.Row) int {
	for i, o := range ix.cols {
		switch {
		case a[i] == nil && b[i] == nil:
			continue
		case a[i] == nil:
			return -1
		case b[i] == nil:
			return 1
		}
		if r, err := ix.t.schema.Schema[o].Type.Compare(ctx, a[i], b[i]); err == nil && r != 0 {
			return r
		}
	}
	return 0
}

// indexCache keeps, per table, the sorted indexes of the table's current
// snapshot (the provider owns one). When a lookup finds a newer current
// snapshot, each sorted index is derived from the entry's (derive: the
// rows of the segments both snapshots share keep their order, the others
// are read and merged in) when first used. forget drops the entry of a
// table that is dropped. The zero value is ready; a nil *indexCache
// caches nothing.
type indexCache struct {
	mu      sync.Mutex
	entries map[*storage.Table]*cacheEntry
}

type cacheEntry struct {
	data     *storage.Data           // identifies the snapshot (not retained: the sorted indexes hold their key columns)
	sorted   map[string]*sortedIndex // by index columns, over data
	pending  map[string]*sortedIndex // over a snapshot data extends, to be extended
	building map[string]*indexBuild  // by index columns: the build or derivation under way over data
}

// indexBuild is one build (or derivation) of a sorted index, which the
// lookups that need the same index of the same snapshot meanwhile wait
// for rather than repeat: when a group commit publishes a snapshot, the
// next group's statements (16 at once with 16 connections) all check
// their keys against it, and each repeating the build cost up to 16
// times its CPU and memory (16 full builds of a 10M-row key index when
// the first lookups of a table came together).
type indexBuild struct {
	done chan struct{} // closed once si and err are set
	si   *sortedIndex
	err  error
}

// sorted returns the sorted index of columns cols of d, building or
// extending it, or nil when d is not st's current snapshot (an older
// snapshot a transaction reads, which is then scanned).
func (c *indexCache) sorted(st *storage.Table, d *storage.Data, sch sql.Schema, cols []int) (*sortedIndex, error) {
	if c == nil || d.NumRows() == 0 || d.NumRows() > math.MaxUint32 {
		return nil, nil
	}
	sig := fmt.Sprint(cols) // and the types: an index is derived only for the same ones
	for _, o := range cols {
		sig += " " + sch[o].Type.String()
	}
	c.mu.Lock()
	e := c.entries[st]
	if e == nil || e.data != d {
		cur := st.Snapshot()
		current := cur == d
		cur.Release()
		if !current {
			c.mu.Unlock()
			return nil, nil
		}
		ne := &cacheEntry{data: d, sorted: map[string]*sortedIndex{}, pending: map[string]*sortedIndex{}, building: map[string]*indexBuild{}}
		if e != nil { // derive the new indexes from the old ones
			maps.Copy(ne.pending, e.pending)
			maps.Copy(ne.pending, e.sorted)
		}
		if c.entries == nil {
			c.entries = map[*storage.Table]*cacheEntry{}
		}
		c.entries[st], e = ne, ne
	}
	if si := e.sorted[sig]; si != nil {
		c.mu.Unlock()
		return si, nil
	}
	if b := e.building[sig]; b != nil {
		c.mu.Unlock()
		<-b.done
		return b.si, b.err
	}
	b := &indexBuild{done: make(chan struct{})}
	e.building[sig] = b
	old := e.pending[sig]
	c.mu.Unlock()
	defer close(b.done)
	if old != nil {
		b.si, b.err = old.derive(d)
	} else {
		b.si, b.err = newSortedIndex(d, sch, cols)
	}
	c.mu.Lock()
	delete(e.building, sig)
	if b.err != nil {
		b.si, b.err = nil, segmentErr(b.err)
	} else if c.entries[st] == e {
		e.sorted[sig] = b.si
		delete(e.pending, sig)
	}
	c.mu.Unlock()
	return b.si, b.err
}

// forget drops st's entry.
func (c *indexCache) forget(st *storage.Table) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, st)
}

// keyKind selects how a keyColumn compares values.
type keyKind uint8

const (
	kindInt    keyKind = iota // int32 or int64 Arrow columns
	kindFloat                 // float64
	kindString                // strings under a binary collation: byte order
	kindOther                 // anything else: the column type's Compare
)

// keyColumn reads and compares one column of a snapshot's batches.
type keyColumn struct {
	typ   sql.Type
	kind  keyKind
	arrs  []arrow.Array
	ints  []func(int) int64
	flts  [][]float64
	strs  []*array.String
	other []func(int) interface{}
}

// newKeyColumn returns the key column of a column of type typ split in
// chunks arrs (which it keeps).
func newKeyColumn(typ sql.Type, arrs []arrow.Array) *keyColumn {
	c := &keyColumn{typ: typ, kind: kindOther, arrs: arrs}
	if len(c.arrs) > 0 {
		switch c.arrs[0].(type) {
		case *array.Int32, *array.Int64:
			c.kind = kindInt
		case *array.Float64:
			c.kind = kindFloat
		case *array.String:
			if st, ok := typ.(sql.StringType); ok && st.Collation() == sql.Collation_utf8mb4_0900_bin {
				c.kind = kindString
			}
		}
	}
	for _, a := range c.arrs {
		switch x := a.(type) {
		case *array.Int32:
			v := x.Int32Values()
			c.ints = append(c.ints, func(i int) int64 { return int64(v[i]) })
		case *array.Int64:
			v := x.Int64Values()
			c.ints = append(c.ints, func(i int) int64 { return v[i] })
		case *array.Float64:
			c.flts = append(c.flts, x.Float64Values())
		case *array.String:
			c.strs = append(c.strs, x)
		}
		c.other = append(c.other, valueReader(typ, a))
	}
	return c
}

func (c *keyColumn) isNull(b, i int) bool { return c.arrs[b].IsNull(i) }

// compare compares two non-NULL values.
func (c *keyColumn) compare(b1, i1, b2, i2 int) int {
	switch c.kind {
	case kindInt:
		return cmp.Compare(c.ints[b1](i1), c.ints[b2](i2))
	case kindFloat:
		return cmp.Compare(c.flts[b1][i1], c.flts[b2][i2])
	case kindString:
		return strings.Compare(c.strs[b1].Value(i1), c.strs[b2].Value(i2))
	}
	r, _ := c.typ.Compare(context.Background(), c.other[b1](i1), c.other[b2](i2))
	return r
}

// keyValue is a range bound converted for comparison with a column.
type keyValue struct {
	i int64
	f float64
	s string
	v interface{}
}

// convert converts a range bound's key for exact comparison with the
// column's values; ok is false when that is not certain, and the bound
// is then not used to narrow the search (rows are filtered exactly).
func (c *keyColumn) convert(key interface{}) (keyValue, bool) {
	switch c.kind {
	case kindInt:
		switch key.(type) {
		case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
			n, err := toInt64(key)
			return keyValue{i: n}, err == nil
		}
	case kindFloat:
		if x, ok := key.(float64); ok && !math.IsNaN(x) {
			return keyValue{f: x}, true
		}
	case kindString:
		s, ok := key.(string)
		return keyValue{s: s}, ok
	default:
		switch key.(type) {
		case decimal.Decimal:
			return keyValue{v: key}, types.IsDecimal(c.typ)
		case time.Time:
			return keyValue{v: key}, types.IsTime(c.typ)
		}
	}
	return keyValue{}, false
}

// compareKey compares the non-NULL value at (b, i) with k.
func (c *keyColumn) compareKey(b, i int, k keyValue) int {
	switch c.kind {
	case kindInt:
		return cmp.Compare(c.ints[b](i), k.i)
	case kindFloat:
		return cmp.Compare(c.flts[b][i], k.f)
	case kindString:
		return strings.Compare(c.strs[b].Value(i), k.s)
	}
	r, _ := c.typ.Compare(context.Background(), c.other[b](i), k.v)
	return r
}
