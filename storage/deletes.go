package storage

// Position deletes (merge-on-read). An UPDATE or DELETE does not rewrite
// the data files holding the rows it removes: it writes, per data file
// touched, an Iceberg v2 position delete file, a Parquet file of
// (file_path, pos) rows with the spec's reserved field ids 2147483546
// and 2147483545, naming the data file as the manifests list it and the
// 0-based positions of the removed rows in it, ascending. The delete
// file's manifest entry records the data file (referenced_data_file, and
// equal lower and upper bounds of file_path), so any Iceberg reader
// applies it to that file only.
//
// A segment is then one data file minus its deleted positions (the
// union over its delete files): its rows are the live rows in file
// order, and row r of the segment is the file's r-th row not deleted.
// Deletes of a file only grow until the file is compacted (compact.go),
// so the number of deleted positions tells two states of one file apart
// (Data.SegmentID).

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Reserved field ids of a position delete file's columns (Iceberg spec).
const (
	fieldFilePath = 2147483546
	fieldPos      = 2147483545
)

// posDeletes are the deleted positions of one data file and the delete
// files that hold them. It is never modified once built: a write makes
// a new one.
type posDeletes struct {
	files []iceberg.DataFile // delete files, in commit order
	pos   []int64            // deleted positions, ascending, distinct
}

// count returns the number of deleted positions of d (nil: none).
func (d *posDeletes) count() int64 {
	if d == nil {
		return 0
	}
	return int64(len(d.pos))
}

// positions returns the deleted positions of d (nil: none).
func (d *posDeletes) positions() []int64 {
	if d == nil {
		return nil
	}
	return d.pos
}

// deleteFiles returns the delete files of d (nil: none).
func (d *posDeletes) deleteFiles() []iceberg.DataFile {
	if d == nil {
		return nil
	}
	return d.files
}

// with returns d with the delete file df, which deletes the positions
// add (ascending, none of them deleted already), added.
func (d *posDeletes) with(df iceberg.DataFile, add []int64) *posDeletes {
	out := &posDeletes{files: append(slices.Clone(d.deleteFiles()), df)}
	out.pos = mergeSorted(d.positions(), add)
	return out
}

// mergeSorted returns the union of the ascending slices a and b, in a new
// slice, ascending and without repeats.
func mergeSorted(a, b []int64) []int64 {
	out := make([]int64, 0, len(a)+len(b))
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		var v int64
		switch {
		case j >= len(b) || (i < len(a) && a[i] < b[j]):
			v, i = a[i], i+1
		case i >= len(a) || b[j] < a[i]:
			v, j = b[j], j+1
		default:
			v, i, j = a[i], i+1, j+1
		}
		if n := len(out); n == 0 || out[n-1] != v {
			out = append(out, v)
		}
	}
	return out
}

// filePositions maps live rows (ascending) of a file whose deleted
// positions are dels (ascending) to their positions in the file: live
// row r is the file's r-th row (from 0) that dels does not hold.
func filePositions(dels, live []int64) []int64 {
	out := make([]int64, len(live))
	j := 0 // dels[:j] lie before the current position
	for k, r := range live {
		p := r + int64(j)
		for j < len(dels) && dels[j] <= p {
			j++
			p++
		}
		out[k] = p
	}
	return out
}

// readDeletes reads the position delete files of tasks and returns, per
// data file path, its deletes. Each delete file is read once, even when
// it applies to several data files (another writer's may).
func readDeletes(ctx context.Context, fsys icebergio.IO, tasks []table.FileScanTask) (map[string]*posDeletes, error) {
	out := map[string]*posDeletes{}
	read := map[string]map[string][]int64{} // delete file path → data file path → positions
	for _, task := range tasks {
		if len(task.DeleteFiles) == 0 {
			continue
		}
		target := task.File.FilePath()
		d := &posDeletes{}
		var all []int64
		for _, df := range task.DeleteFiles {
			byFile, ok := read[df.FilePath()]
			if !ok {
				var err error
				if byFile, err = readDeleteFile(ctx, fsys, df.FilePath()); err != nil {
					return nil, err
				}
				read[df.FilePath()] = byFile
			}
			if p := byFile[target]; len(p) > 0 {
				d.files = append(d.files, df)
				all = append(all, p...)
			}
		}
		if len(d.files) == 0 {
			continue
		}
		slices.Sort(all)
		d.pos = slices.Compact(all)
		if n := int64(len(d.pos)); n > 0 && (d.pos[0] < 0 || d.pos[n-1] >= task.File.Count()) {
			return nil, fmt.Errorf("%w: a delete file of data file %s deletes position %d or %d of its %d rows", ErrDamaged, target, d.pos[0], d.pos[n-1], task.File.Count())
		}
		out[target] = d
	}
	return out, nil
}

// readDeleteFile reads a position delete file: the positions it deletes,
// by data file path.
func readDeleteFile(ctx context.Context, fsys icebergio.IO, path string) (map[string][]int64, error) {
	fail := func(err error) (map[string][]int64, error) {
		return nil, fmt.Errorf("%w: delete file %s could not be read: %v", ErrDamaged, path, err)
	}
	fh, err := fsys.Open(path)
	if err != nil {
		return fail(err)
	}
	pr, err := file.NewParquetReader(fh)
	if err != nil {
		fh.Close()
		return fail(err)
	}
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		return fail(err)
	}
	sc := pr.MetaData().Schema
	pathCol, posCol := sc.ColumnIndexByName("file_path"), sc.ColumnIndexByName("pos")
	if pathCol < 0 || posCol < 0 {
		return fail(fmt.Errorf("it has no file_path and pos columns"))
	}
	tbl, err := fr.ReadRowGroups(ctx, []int{pathCol, posCol}, seq(pr.NumRowGroups()))
	if err != nil {
		return fail(err)
	}
	defer tbl.Release()
	out := map[string][]int64{}
	paths, poss := tbl.Column(0).Data().Chunks(), tbl.Column(1).Data().Chunks()
	if len(paths) != len(poss) {
		// Chunks of both columns are read per row group, so they align.
		return fail(fmt.Errorf("its columns are read in different chunks"))
	}
	for c := range paths {
		ps, ok1 := paths[c].(*array.String)
		vs, ok2 := poss[c].(*array.Int64)
		if !ok1 || !ok2 || ps.Len() != vs.Len() || ps.NullN() > 0 || vs.NullN() > 0 {
			return fail(fmt.Errorf("its columns are not a non-NULL string and a non-NULL long"))
		}
		for i := range ps.Len() {
			p := ps.Value(i)
			out[p] = append(out[p], vs.Value(i))
		}
	}
	return out, nil
}

// deleteArrowSchema is the Arrow schema of a position delete file, with
// the reserved field ids.
var deleteArrowSchema = arrow.NewSchema([]arrow.Field{
	{Name: "file_path", Type: arrow.BinaryTypes.String, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{fmt.Sprint(fieldFilePath)})},
	{Name: "pos", Type: arrow.PrimitiveTypes.Int64, Metadata: arrow.NewMetadata([]string{"PARQUET:field_id"}, []string{fmt.Sprint(fieldPos)})},
}, nil)

// writeDeleteFile writes a position delete file deleting the positions
// pos (ascending, distinct, not empty) of data file df, in the table's
// data directory through the table's file system (its fsync is put off
// until the commit's publication, like a data file's), and returns its
// manifest entry's file. Nothing is committed.
func (t *Table) writeDeleteFile(ctx context.Context, df iceberg.DataFile, pos []int64) (iceberg.DataFile, error) {
	fail := func(err error) (iceberg.DataFile, error) {
		return nil, fmt.Errorf("storage: writing a delete file of %s.%s: %w", t.db, t.name, err)
	}
	fsys, err := t.ice.FS(ctx)
	if err != nil {
		return fail(err)
	}
	wfs, ok := fsys.(icebergio.WriteFileIO)
	if !ok {
		return fail(fmt.Errorf("the table's file system cannot write"))
	}
	lp, err := t.ice.LocationProvider()
	if err != nil {
		return fail(err)
	}
	path := lp.NewDataLocation(uuid.Must(uuid.NewV7()).String() + "-deletes.parquet")

	target := df.FilePath()
	pb := array.NewStringBuilder(memory.DefaultAllocator)
	defer pb.Release()
	vb := array.NewInt64Builder(memory.DefaultAllocator)
	defer vb.Release()
	for range pos {
		pb.Append(target)
	}
	vb.AppendValues(pos, nil)
	pa, va := pb.NewArray(), vb.NewArray()
	defer pa.Release()
	defer va.Release()
	rec := array.NewRecordBatch(deleteArrowSchema, []arrow.Array{pa, va}, int64(len(pos)))
	defer rec.Release()

	w, err := wfs.Create(path)
	if err != nil {
		return fail(err)
	}
	cw := &countingWriter{w: w}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(true))
	pw, err := pqarrow.NewFileWriter(deleteArrowSchema, cw, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err == nil {
		err = pw.Write(rec)
		if cerr := pw.Close(); err == nil {
			err = cerr // closes w
		}
	} else {
		_ = w.Close()
	}
	if err != nil {
		t.removeFiles([]string{path})
		return fail(err)
	}
	entry, err := deleteEntry(t.ice.Spec(), path, target, pos, cw.n)
	if err != nil {
		t.removeFiles([]string{path})
		return fail(err)
	}
	return entry, nil
}

// deleteEntry is the manifest entry's file of the position delete file
// at path, of size bytes, deleting the positions pos (ascending, not
// empty) of the data file target: one that names target as its
// referenced data file, with equal bounds of file_path.
func deleteEntry(spec iceberg.PartitionSpec, path, target string, pos []int64, size int64) (iceberg.DataFile, error) {
	le := func(v int64) []byte { return binary.LittleEndian.AppendUint64(nil, uint64(v)) }
	n := int64(len(pos))
	b, err := iceberg.NewDataFileBuilder(spec, iceberg.EntryContentPosDeletes, path, iceberg.ParquetFile, nil, nil, nil, n, size)
	if err != nil {
		return nil, err
	}
	return b.ReferencedDataFile(target).
		ValueCounts(map[int]int64{fieldFilePath: n, fieldPos: n}).
		NullValueCounts(map[int]int64{fieldFilePath: 0, fieldPos: 0}).
		LowerBoundValues(map[int][]byte{fieldFilePath: []byte(target), fieldPos: le(pos[0])}).
		UpperBoundValues(map[int][]byte{fieldFilePath: []byte(target), fieldPos: le(pos[n-1])}).
		Build(), nil
}

// deleteEntryOf rebuilds the manifest entry's file of a position delete
// file written by writeDeleteFile for the data file target, from the
// file itself (a multi-table commit's recovery, multi.go).
func deleteEntryOf(ctx context.Context, fsys icebergio.IO, spec iceberg.PartitionSpec, path, target string) (iceberg.DataFile, error) {
	byFile, err := readDeleteFile(ctx, fsys, path)
	if err != nil {
		return nil, err
	}
	pos := byFile[target]
	if len(pos) == 0 || len(byFile) != 1 || !slices.IsSorted(pos) {
		return nil, fmt.Errorf("%w: delete file %s does not delete rows of %s alone, in order", ErrDamaged, path, target)
	}
	st, ok := fsys.(icebergio.StatIO)
	if !ok {
		return nil, fmt.Errorf("storage: cannot stat %s", path)
	}
	fi, err := st.Stat(path)
	if err != nil {
		return nil, err
	}
	return deleteEntry(spec, path, target, pos, fi.Size())
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w icebergio.FileWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Close() error { return c.w.Close() }

// removeFiles deletes files (by the paths the metadata gives them) that
// were written but not committed; see removeDataFiles.
func (t *Table) removeFiles(paths []string) {
	for _, path := range paths {
		if p, err := t.store.loc.writable(path); err == nil {
			_ = t.store.fs.Remove(p)
			t.store.syncs.discard(p)
		}
	}
}

// filterDeleted returns rec, the whole of a data file whose deleted
// positions are dels, without its deleted rows: a copy in buffers of its
// size allocated from mem (rec itself, retained, without deletes).
func filterDeleted(mem memory.Allocator, rec arrow.RecordBatch, dels []int64) (arrow.RecordBatch, error) {
	if len(dels) == 0 {
		rec.Retain()
		return rec, nil
	}
	n := rec.NumRows()
	if int64(len(dels)) >= n {
		return emptyBatch(rec.Schema()), nil
	}
	live := make([]int64, 0, n-int64(len(dels)))
	j := 0
	for p := range n {
		if j < len(dels) && dels[j] == p {
			j++
			continue
		}
		live = append(live, p)
	}
	out, err := pickRows(mem, rec.Schema(), rec, seq(int(rec.NumCols())), live)
	if err != nil || live[len(live)-1]-live[0] != int64(len(live)-1) {
		return out, err
	}
	// One run of rows: pickRows sliced it, and a slice holds (and would be
	// charged for) the whole file's buffers.
	defer out.Release()
	return copyBatch(mem, out)
}

// warmDeletes keeps the cache warm across a delete: if the live rows of
// data file f are cached under its current deletes, its live rows under
// dels (which hold f's deleted positions and more) are cut from them and
// cached, and the old entry dropped. t.writeMu must be held.
func (t *Table) warmDeletes(f fileInfo, dels *posDeletes) {
	c := t.store.cache
	old := cacheKey{path: f.df.FilePath(), schema: t.schema, deleted: int(f.dels.count())}
	rec, ok := c.peek(old)
	if !ok {
		return
	}
	defer rec.Release()
	c.dropKey(old)
	// The rows of rec (the file's rows not in f.dels) that dels keeps.
	keep := make([]int64, 0, rec.NumRows())
	was, now := f.dels.positions(), dels.positions()
	i, j, k := 0, 0, int64(0)
	for p := range f.df.Count() {
		if i < len(was) && was[i] == p {
			i++
			for j < len(now) && now[j] < p {
				j++
			}
			continue
		}
		for j < len(now) && now[j] < p {
			j++
		}
		if j >= len(now) || now[j] != p {
			keep = append(keep, k)
		}
		k++
	}
	if k != rec.NumRows() || len(keep) == 0 {
		return
	}
	b, err := pickRows(t.store.opts.Allocator, rec.Schema(), rec, seq(int(rec.NumCols())), keep)
	if err != nil {
		return
	}
	defer b.Release()
	cp, err := copyBatch(t.store.opts.Allocator, b)
	if err != nil {
		return
	}
	c.put(cacheKey{path: f.df.FilePath(), schema: t.schema, deleted: int(dels.count())}, cp)
	cp.Release()
}
