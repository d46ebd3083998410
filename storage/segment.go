package storage

// Segments read on demand: a table's current contents are the data files
// of its snapshot, each read from Parquet (through iceberg-go's Arrow
// scanner, which maps columns by field ID) when a scan first needs it,
// and kept in the store's cache of decoded batches within a memory
// budget. Data files are immutable, so a cached batch never goes stale:
// its key is the file's path and the schema it was converted to.

import (
	"container/list"
	"context"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// fileSource is how a file segment is read: the data file, the table
// metadata to read it with, and the schema its rows are converted to.
type fileSource struct {
	store  *Store
	ice    *table.Table // metadata of a snapshot that lists the file
	task   table.FileScanTask
	schema *arrow.Schema // declared schema of the rows
	table  string        // "db.name", for errors
	dels   []int64       // deleted positions of the file, ascending (deletes.go)
}

// fileSegments returns one segment per data file of files, read with the
// metadata ice and converted to schema.
func (t *Table) fileSegments(ice *table.Table, schema *arrow.Schema, files []fileInfo) []segment {
	segs := make([]segment, len(files))
	for i, f := range files {
		segs[i] = segment{rows: f.rows, file: &fileSource{
			store:  t.store,
			ice:    ice,
			task:   table.FileScanTask{File: f.df, Start: 0, Length: f.df.FileSizeBytes()},
			schema: schema,
			table:  t.db + "." + t.name,
			dels:   f.dels.positions(),
		}}
	}
	return segs
}

// key is the cache key of the file's live rows converted to f.schema.
func (f *fileSource) key() cacheKey {
	return cacheKey{path: f.task.File.FilePath(), schema: f.schema, deleted: len(f.dels)}
}

// get returns the file's live rows (a new reference), which must number
// rows, from the cache or read from disk.
func (f *fileSource) get(rows int64) (arrow.RecordBatch, error) {
	return f.store.cache.get(f.key(), func() (arrow.RecordBatch, error) {
		all, err := f.read(f.task.File.Count())
		if err != nil || len(f.dels) == 0 {
			return all, err
		}
		defer all.Release()
		live, err := filterDeleted(f.store.opts.Allocator, all, f.dels)
		if err == nil && live.NumRows() != rows {
			live.Release()
			return nil, fmt.Errorf("%w: table %s: data file %s holds %d rows after its deletes where the table's metadata says %d", ErrDamaged, f.table, f.task.File.FilePath(), live.NumRows(), rows)
		}
		return live, err
	})
}

// read reads all the file's rows, deleted ones included, as one batch
// of f.schema.
func (f *fileSource) read(rows int64) (arrow.RecordBatch, error) {
	fail := func(err error) (arrow.RecordBatch, error) {
		return nil, fmt.Errorf("%w: table %s: data file %s could not be read: %v", ErrDamaged, f.table, f.task.File.FilePath(), err)
	}
	if err := f.store.ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", f.table, err)
	}
	// The reader's buffers, all freed below once the rows are copied.
	ctx := compute.WithAllocator(f.store.ctx, f.store.readMem)
	// One Arrow batch of the file's rows. The reader reserves a batch's
	// worth of every column (and of its definition levels) before it
	// reads: at iceberg-go's default of 131,072 rows that is four times a
	// data file of the store's (about 30,000 rows), allocated and zeroed
	// for each file a scan reads.
	scan := f.ice.Scan(table.WithArrowBatchSize(int(max(rows, 1))))
	defer scan.Close()
	parts, err := readTasks(ctx, scan, []table.FileScanTask{f.task}, f.schema)
	if err != nil {
		return fail(err)
	}
	defer releaseBatches(parts)
	if n := sumRows(parts); n != rows || n == 0 {
		return fail(fmt.Errorf("it holds %d rows where the table's metadata says %d", n, rows))
	}
	if len(parts) == 1 {
		// The Parquet reader reserves its buffers by doubling and hands
		// out arrays over their used part: a file read in one batch
		// holds up to twice its size in memory that no buffer's length
		// or capacity shows. Kept in the cache, that slack would double
		// the memory the budget stands for; a copy costs a memcpy.
		return copyBatch(f.store.opts.Allocator, parts[0])
	}
	return concatBatches(f.store.opts.Allocator, f.schema, parts)
}

// copyBatch returns a copy of rec in buffers of exactly its size,
// allocated from mem; the caller owns it.
func copyBatch(mem memory.Allocator, rec arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i, col := range rec.Columns() {
		c, err := array.Concatenate([]arrow.Array{col}, mem)
		if err != nil {
			return nil, fmt.Errorf("storage: copying column %q: %w", rec.Schema().Field(i).Name, err)
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows()), nil
}

// readTasks reads the rows of tasks with scan, converted to schema; the
// caller owns the batches.
func readTasks(ctx context.Context, scan *table.Scan, tasks []table.FileScanTask, schema *arrow.Schema) ([]arrow.RecordBatch, error) {
	if len(tasks) == 0 {
		return nil, nil
	}
	_, recs, err := scan.ReadTasks(ctx, tasks)
	if err != nil {
		return nil, err
	}
	var out []arrow.RecordBatch
	for rec, err := range recs {
		if err != nil {
			releaseBatches(out)
			return nil, err
		}
		b, err := convertBatch(ctx, schema, rec)
		rec.Release()
		if err != nil {
			releaseBatches(out)
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

// warm puts the rows just written to the data files added (in row
// order; the files hold them in that order) in the cache under schema, so
// that the first read of a fresh write does not go to disk. recs are not
// consumed.
func (t *Table) warm(schema *arrow.Schema, added []iceberg.DataFile, recs []arrow.RecordBatch) {
	if t.store.cache.budget <= 0 || len(added) == 0 {
		return
	}
	var want int64
	for _, df := range added {
		want += df.Count()
	}
	if sumRows(recs) != want {
		return // not the rows of these files (cannot happen); nothing to warm
	}
	var off int64
	for _, df := range added {
		chunk := sliceRows(schema, recs, off, df.Count())
		// A copy: a slice would keep (and be charged for) the whole
		// batch it was cut from.
		var b arrow.RecordBatch
		var err error
		if len(chunk) == 1 {
			b, err = copyBatch(t.store.opts.Allocator, chunk[0])
		} else {
			b, err = concatBatches(t.store.opts.Allocator, schema, chunk)
		}
		releaseBatches(chunk)
		if err == nil {
			t.store.cache.put(cacheKey{path: df.FilePath(), schema: schema}, b)
			b.Release()
		}
		off += df.Count()
	}
}

// sliceRows returns rows [off, off+n) of recs as slices relabelled with
// schema; the caller owns the returned references.
func sliceRows(schema *arrow.Schema, recs []arrow.RecordBatch, off, n int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	var first int64
	for _, r := range recs {
		lo, hi := max(off, first), min(off+n, first+r.NumRows())
		if lo < hi {
			s := r.NewSlice(lo-first, hi-first)
			out = append(out, withSchema(schema, s))
			s.Release()
		}
		first += r.NumRows()
	}
	return out
}

func sumRows(bs []arrow.RecordBatch) int64 {
	var n int64
	for _, b := range bs {
		n += b.NumRows()
	}
	return n
}

// cacheKey names a decoded data file: its path, the schema its rows
// were converted to, and how many of its rows are deleted (they only
// grow, so the count tells two states of the file apart).
type cacheKey struct {
	path    string
	schema  *arrow.Schema
	deleted int // the number of the file's rows deleted (deletes.go): its live rows are cached
}

// batchCache keeps decoded data files, least recently used first out,
// within budget bytes of Arrow buffers. A batch larger than the budget is
// not kept. It is safe for concurrent use; concurrent gets of one key
// read the file once.
type batchCache struct {
	budget int64

	mu      sync.Mutex
	used    int64
	lru     list.List // of *cacheEntry, most recently used first
	entries map[cacheKey]*list.Element
	loading map[cacheKey]*cacheLoad
	hits    int64
	misses  int64
	groups  int64 // row groups read by Data.ReadRows (rowgroups.go)
	footers int   // entries that are footers, not batches
}

type cacheEntry struct {
	key    cacheKey
	rec    arrow.RecordBatch
	footer *metadata.FileMetaData // instead of rec: a data file's parsed Parquet footer (rowgroups.go)
	size   int64
}

// release drops the entry's reference to its batch.
func (e *cacheEntry) release() {
	if e.rec != nil {
		e.rec.Release()
	}
}

// cacheLoad is one read in progress that other gets of the key wait for.
type cacheLoad struct {
	done chan struct{}
	err  error
}

func newBatchCache(budget int64) *batchCache {
	return &batchCache{budget: budget, entries: map[cacheKey]*list.Element{}, loading: map[cacheKey]*cacheLoad{}}
}

// get returns the batch of key (a new reference), calling load (whose
// result it takes over) when it is not cached.
func (c *batchCache) get(key cacheKey, load func() (arrow.RecordBatch, error)) (arrow.RecordBatch, error) {
	c.mu.Lock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		e := el.Value.(*cacheEntry)
		e.rec.Retain()
		c.hits++
		c.mu.Unlock()
		return e.rec, nil
	}
	if l, ok := c.loading[key]; ok {
		c.mu.Unlock()
		<-l.done
		if l.err != nil {
			return nil, l.err
		}
		return c.get(key, load) // cached now, or too large to cache: read it
	}
	l := &cacheLoad{done: make(chan struct{})}
	c.loading[key] = l
	c.misses++
	c.mu.Unlock()

	rec, err := load()
	c.mu.Lock()
	delete(c.loading, key)
	c.mu.Unlock()
	l.err = err
	if err == nil {
		c.put(key, rec)
	}
	close(l.done)
	return rec, err
}

// holds reports whether key is cached or being read.
func (c *batchCache) holds(key cacheKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, cached := c.entries[key]
	_, loading := c.loading[key]
	return cached || loading
}

// put caches rec under key (taking a reference of its own), evicting the
// least recently used batches beyond the budget.
func (c *batchCache) put(key cacheKey, rec arrow.RecordBatch) {
	size := heldBytes(rec)
	if size > c.budget {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; ok {
		return
	}
	rec.Retain()
	c.add(&cacheEntry{key: key, rec: rec, size: size})
}

// add caches e, whose key is not cached, evicting the least recently
// used entries beyond the budget; c.mu must be held.
func (c *batchCache) add(e *cacheEntry) {
	c.entries[e.key] = c.lru.PushFront(e)
	c.used += e.size
	if e.footer != nil {
		c.footers++
	}
	for c.used > c.budget {
		c.remove(c.lru.Back())
	}
}

// remove forgets the entry of el; c.mu must be held.
func (c *batchCache) remove(el *list.Element) {
	e := el.Value.(*cacheEntry)
	c.lru.Remove(el)
	delete(c.entries, e.key)
	c.used -= e.size
	if e.footer != nil {
		c.footers--
	}
	e.release()
}

// drop forgets every cached batch of the data files in paths.
func (c *batchCache) drop(paths map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.entries {
		if paths[k.path] {
			c.remove(el)
		}
	}
}

// dropKey forgets the entry of key, if cached.
func (c *batchCache) dropKey(key cacheKey) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.remove(el)
	}
}

// purge empties the cache.
func (c *batchCache) purge() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, el := range c.entries {
		el.Value.(*cacheEntry).release()
	}
	c.entries = map[cacheKey]*list.Element{}
	c.lru.Init()
	c.used, c.footers = 0, 0
}

// CacheStats describes the store's cache of decoded data files.
type CacheStats struct {
	Budget, Used int64 // bytes of Arrow buffers (and footers) allowed and held
	Batches      int   // data files cached
	Footers      int   // Parquet footers of data files cached (for Data.ReadRows)
	Hits, Misses int64 // reads served from the cache and from disk
	// RowGroups counts the Parquet row groups Data.ReadRows read from
	// data files that were not cached (a few rows each, not cached).
	RowGroups int64
}

// CacheStats returns the current state of the store's cache of decoded
// data files (see Options.CacheBytes).
func (s *Store) CacheStats() CacheStats {
	c := s.cache
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Budget: c.budget, Used: c.used, Batches: len(c.entries) - c.footers, Footers: c.footers, Hits: c.hits, Misses: c.misses, RowGroups: c.groups}
}

// BatchBytes is the size of the Arrow buffers of rec (the bytes they
// use; slices count their whole buffers).
func BatchBytes(rec arrow.RecordBatch) int64 { return bufferBytes(rec, false) }

// heldBytes is the memory the Arrow buffers of rec hold: their capacity,
// which a builder or reader that reserved ahead makes larger than their
// size. The cache accounts for this.
func heldBytes(rec arrow.RecordBatch) int64 { return bufferBytes(rec, true) }

// bufferBytes sums the lengths, or the capacities, of rec's buffers.
func bufferBytes(rec arrow.RecordBatch, capacity bool) int64 {
	var n int64
	var add func(d arrow.ArrayData)
	add = func(d arrow.ArrayData) {
		for _, b := range d.Buffers() {
			switch {
			case b == nil:
			case capacity:
				n += int64(b.Cap())
			default:
				n += int64(b.Len())
			}
		}
		for _, c := range d.Children() {
			add(c)
		}
	}
	for _, c := range rec.Columns() {
		add(c.Data())
	}
	return n
}
