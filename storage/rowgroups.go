package storage

// Point reads: a few rows of a segment without decoding its whole data
// file. Data files are written in row groups of rowGroupRows rows (see
// Table.writeFilesAs), so the rows of a lookup by key are read from the
// row groups that hold them, and only the columns the statement needs;
// files written before that, with one row group, read their one group.
// Columns are found in the file by Iceberg field ID, as iceberg-go's
// scanner finds them; a file that lacks a requested field (written by
// another engine before the column was added, or without field IDs) is
// read whole through the scanner instead, which fills the column with
// its default.

import (
	"fmt"
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// rowGroupRows is the number of rows of one Parquet row group of the data
// files the store writes (a file of 4 MiB of rows holds a dozen or more):
// the unit a point read decodes. Smaller groups make point reads cheaper
// and whole files slower to decode. BenchmarkReadRows (CPU time, files
// of 47,000 rows of wideSchema, footers cached) measured for groups of
// 1024 / 2048 / 4096 / 8192 rows / one group per file: a point read of
// 2 columns 0.27 / 0.34 / 0.49 / 0.70 / 2.6 ms, of all 10 columns 1.0 /
// 1.5 / 2.5 / 4.1 / 13 ms, a whole file (Segment, not cached) 22 / 19 /
// 18 / 16 / 15 ms.
var rowGroupRows int64 = 2048

// ReadRows returns rows of segment i (0 ≤ i < NumSegments): one record
// batch whose row k is row rows[k] of the segment and whose column j is
// column cols[j] of Schema, with that field. rows must be ascending
// (repeats allowed) and within [0, SegmentRows(i)); cols may repeat and
// come in any order. The caller owns the batch and must Release it.
//
// The rows come from the in-memory batch, or from the store's cache when
// the segment's data file is cached; otherwise only the row groups of the
// file holding them are read, only their columns cols, and the rows are
// not cached (a later Segment still reads the file; the file's Parquet
// footer is cached, within the cache's budget, for the next ReadRows).
// The batch may share buffers with what it was read from. It is meant
// for a few rows; a read of most of a segment is cheaper through
// Segment, which caches what it reads. Errors are those of Segment: one
// wrapping ErrDamaged means the data file could not be read.
func (d *Data) ReadRows(i int, rows []int64, cols []int) (arrow.RecordBatch, error) {
	s := d.segs[i]
	for k, r := range rows {
		if r < 0 || r >= s.rows || (k > 0 && r < rows[k-1]) {
			return nil, fmt.Errorf("storage: ReadRows: rows %v are not ascending within the segment's %d rows", rows, s.rows)
		}
	}
	fields := make([]arrow.Field, len(cols))
	for j, c := range cols {
		if c < 0 || c >= d.schema.NumFields() {
			return nil, fmt.Errorf("storage: ReadRows: no column %d in %d columns", c, d.schema.NumFields())
		}
		fields[j] = d.schema.Field(c)
	}
	out := arrow.NewSchema(fields, nil)
	if len(rows) == 0 {
		return emptyBatch(out), nil
	}
	if s.file == nil {
		return pickRows(memory.DefaultAllocator, out, s.batch, cols, rows)
	}
	if rec, ok := s.file.cached(); ok {
		defer rec.Release()
		return pickRows(s.file.store.opts.Allocator, out, rec, cols, rows)
	}
	return s.file.readRows(out, rows, cols, s.rows)
}

// cached returns the file's cached live rows (a new reference), if
// cached.
func (f *fileSource) cached() (arrow.RecordBatch, bool) {
	return f.store.cache.peek(f.key())
}

// peek returns the batch of key (a new reference) if it is cached,
// counting a hit; it never loads.
func (c *batchCache) peek(key cacheKey) (arrow.RecordBatch, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		return nil, false
	}
	c.lru.MoveToFront(el)
	e := el.Value.(*cacheEntry)
	e.rec.Retain()
	c.hits++
	return e.rec, true
}

// footerFactor estimates the memory of a parsed Parquet footer from its
// size in the file: 3.6 to 5.8 times, measured on files of 10 columns
// in row groups of 4096 to 1024 rows.
const footerFactor = 6

// footer returns the cached footer of the data file at path, or nil.
// Footers are cached because parsing one costs more than reading the
// rows of a point read (a row group of the two columns of a lookup by
// key): they are most of a point read's cost otherwise.
func (c *batchCache) footer(path string) *metadata.FileMetaData {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[cacheKey{path: path}]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).footer
}

// putFooter caches md, the parsed footer of the data file at path, within
// the budget (counted as footerFactor times its size in the file). A
// parsed footer is only read, so readers of the file share it.
func (c *batchCache) putFooter(path string, md *metadata.FileMetaData) {
	size := int64(md.Size()) * footerFactor
	if size > c.budget {
		return
	}
	key := cacheKey{path: path}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok {
		c.add(&cacheEntry{key: key, footer: md, size: size})
	}
}

// readRows reads live rows rows (of a file of segRows live rows) from the
// row groups holding them, columns cols of f.schema, as a batch of schema
// out.
func (f *fileSource) readRows(out *arrow.Schema, rows []int64, cols []int, segRows int64) (arrow.RecordBatch, error) {
	ctx := f.store.ctx
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", f.table, err)
	}
	fail := func(err error) (arrow.RecordBatch, error) {
		return nil, fmt.Errorf("%w: table %s: data file %s could not be read: %v", ErrDamaged, f.table, f.task.File.FilePath(), err)
	}
	fsys, err := f.ice.FS(ctx)
	if err != nil {
		return fail(err)
	}
	// The store's file system resolves the path, also to the trash for a
	// file of a dropped table that a reader still holds (relocate.go).
	fh, err := fsys.Open(f.task.File.FilePath())
	if err != nil {
		return fail(err)
	}
	alloc := f.store.opts.Allocator
	path := f.task.File.FilePath()
	opts := []file.ReadOption{file.WithReadProps(parquet.NewReaderProperties(alloc))}
	footer := f.store.cache.footer(path)
	if footer != nil {
		opts = append(opts, file.WithMetadata(footer))
	}
	pr, err := file.NewParquetReader(fh, opts...)
	if err != nil {
		fh.Close()
		return fail(err)
	}
	defer pr.Close() // closes fh
	if footer == nil {
		f.store.cache.putFooter(path, pr.MetaData())
	}
	if n := pr.NumRows(); n != f.task.File.Count() {
		return fail(fmt.Errorf("it holds %d rows where the table's metadata says %d", n, f.task.File.Count()))
	}

	// The file's leaf column of each requested column, by field ID.
	isc := f.ice.Schema() // its fields are f.schema's (see readTasks)
	ids := make([]int, len(cols))
	for j, c := range cols {
		ids[j] = isc.Field(c).ID
	}
	leaves, ok := leafColumns(pr, ids)
	if !ok {
		// A column the file lacks: read it whole, as a scan would.
		rec, err := f.get(segRows)
		if err != nil {
			return nil, err
		}
		defer rec.Release()
		return pickRows(f.store.opts.Allocator, out, rec, cols, rows)
	}

	// From here on rows are positions in the file.
	rows = filePositions(f.dels, rows)

	// The row groups holding rows, and the first row of each.
	md := pr.MetaData()
	starts := make([]int64, md.NumRowGroups()+1)
	for g := range md.NumRowGroups() {
		starts[g+1] = starts[g] + md.RowGroup(g).NumRows()
	}
	var groups []int
	for _, r := range rows {
		g := sort.Search(len(starts)-1, func(g int) bool { return starts[g+1] > r })
		if len(groups) == 0 || groups[len(groups)-1] != g {
			groups = append(groups, g)
		}
	}
	unique := slices.Compact(slices.Sorted(slices.Values(leaves)))
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, alloc)
	if err != nil {
		return fail(err)
	}
	tbl, err := fr.ReadRowGroups(ctx, unique, groups)
	if err != nil {
		return fail(err)
	}
	defer tbl.Release()
	c := f.store.cache
	c.mu.Lock()
	c.groups += int64(len(groups))
	c.mu.Unlock()
	// Row r of the segment, in group groups[k], is row
	// at[k] + r - starts[groups[k]] of tbl: the groups read, in order.
	at := make([]int64, len(groups))
	for k := 1; k < len(groups); k++ {
		at[k] = at[k-1] + starts[groups[k-1]+1] - starts[groups[k-1]]
	}
	local := make([]int64, len(rows))
	k := 0
	for n, r := range rows {
		for r >= starts[groups[k]+1] {
			k++
		}
		local[n] = at[k] + r - starts[groups[k]]
	}
	// One column per unique leaf, in the order of unique, joined over its
	// chunks.
	read := make([]arrow.Array, len(unique))
	defer func() {
		for _, a := range read {
			if a != nil {
				a.Release()
			}
		}
	}()
	for u := range unique {
		chunks := tbl.Column(u).Data().Chunks()
		if len(chunks) == 1 {
			chunks[0].Retain()
			read[u] = chunks[0]
			continue
		}
		if read[u], err = array.Concatenate(chunks, alloc); err != nil {
			return fail(err)
		}
	}
	fileCols := make([]arrow.Array, len(cols))
	fileFields := make([]arrow.Field, len(cols))
	for j, leaf := range leaves {
		fileCols[j] = read[slices.Index(unique, leaf)]
		fileFields[j] = arrow.Field{Name: out.Field(j).Name, Type: fileCols[j].DataType(), Nullable: true}
	}
	raw := array.NewRecordBatch(arrow.NewSchema(fileFields, nil), fileCols, tbl.NumRows())
	defer raw.Release()
	picked, err := pickRows(alloc, raw.Schema(), raw, seq(len(cols)), local)
	if err != nil {
		return fail(err)
	}
	defer picked.Release()
	// Converted to the declared types, as Segment converts iceberg-go's.
	want := make([]arrow.Field, len(cols))
	for j, c := range cols {
		want[j] = f.schema.Field(c)
	}
	conv, err := convertBatch(ctx, arrow.NewSchema(want, nil), picked)
	if err != nil {
		return fail(err)
	}
	defer conv.Release()
	return withSchema(out, conv), nil
}

// leafColumns returns the Parquet leaf column of each field ID of ids: a
// top-level primitive column carrying that field ID. ok is false if one
// is missing.
func leafColumns(pr *file.Reader, ids []int) (leaves []int, ok bool) {
	sc := pr.MetaData().Schema
	byID := map[int]int{}
	for j := range sc.NumColumns() {
		col := sc.Column(j)
		if len(col.ColumnPath()) != 1 {
			continue // nested: not one of ours
		}
		if id := col.SchemaNode().FieldID(); id >= 0 {
			byID[int(id)] = j
		}
	}
	leaves = make([]int, len(ids))
	for j, id := range ids {
		leaf, found := byID[id]
		if !found {
			return nil, false
		}
		leaves[j] = leaf
	}
	return leaves, true
}

// pickRows returns the rows rows (ascending) of the columns cols of rec,
// as a batch of schema out (whose field j has the type of column
// cols[j]): consecutive rows are sliced together, the slices joined into
// arrays allocated from mem.
func pickRows(mem memory.Allocator, out *arrow.Schema, rec arrow.RecordBatch, cols []int, rows []int64) (arrow.RecordBatch, error) {
	// Runs of consecutive rows (a repeated row starts a new run).
	type run struct{ lo, hi int64 }
	var runs []run
	for _, r := range rows {
		if n := len(runs); n > 0 && runs[n-1].hi == r {
			runs[n-1].hi++
			continue
		}
		runs = append(runs, run{r, r + 1})
	}
	arrs := make([]arrow.Array, len(cols))
	defer func() {
		for _, a := range arrs {
			if a != nil {
				a.Release()
			}
		}
	}()
	for j, c := range cols {
		col := rec.Column(c)
		if len(runs) == 1 {
			arrs[j] = array.NewSlice(col, runs[0].lo, runs[0].hi)
			continue
		}
		parts := make([]arrow.Array, len(runs))
		for k, r := range runs {
			parts[k] = array.NewSlice(col, r.lo, r.hi)
		}
		joined, err := array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("storage: joining rows of column %d: %w", c, err)
		}
		arrs[j] = joined
	}
	return array.NewRecordBatch(out, arrs, int64(len(rows))), nil
}

// emptyBatch returns a batch of schema sc without rows.
func emptyBatch(sc *arrow.Schema) arrow.RecordBatch {
	cols := make([]arrow.Array, sc.NumFields())
	for j, f := range sc.Fields() {
		cols[j] = array.MakeArrayOfNull(memory.DefaultAllocator, f.Type, 0)
		defer cols[j].Release()
	}
	return array.NewRecordBatch(sc, cols, 0)
}

// seq returns 0, 1, …, n-1.
func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}
