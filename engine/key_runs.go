package engine

// Keys of staged rows. A transaction checks each row it inserts against
// the rows it inserted before (key_check.go: a map of their keys). When
// the insert log stages rows to data files (insert_log.go), the keys of a
// unique key made of one integer column move out of that map into a
// sorted run of values with their row positions per staged part: 12 bytes
// a row instead of a map entry of about 100, so a LOAD DATA of any size
// into a table with an integer primary key holds its key check in a small
// fraction of the memory the rows would take. Other keys keep the map.

import (
	"slices"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// keyRun is the sorted values of one integer key of the rows of one
// staged part, which begins at row first of the insert log, with the
// row of each (pos[i] is the part's row holding vals[i]): 12 bytes a row.
type keyRun struct {
	first int
	vals  []int64
	pos   []int32
}

// runnableKey reports whether key u is one integer column whose values
// the key encoding compares as int64 (not BIGINT UNSIGNED).
func runnableKey(sch sql.Schema, u *uniqueKey) bool {
	if len(u.cols) != 1 || u.prefix[0] != 0 {
		return false
	}
	typ := sch[u.cols[0]].Type
	return types.IsInteger(typ) && typ.Type() != types.Uint64.Type()
}

// initRuns marks the keys whose staged values go to runs and makes the
// insert log report its spills; called once the keys are known.
func (tt *txTable) initRuns() {
	tt.runs = make([][]keyRun, len(tt.uniq))
	tt.runnable = make([]bool, len(tt.uniq))
	for u, uk := range tt.uniq {
		tt.runnable[u] = runnableKey(tt.t.schema.Schema, uk)
	}
	tt.inserts.onSpill = tt.spilled
	tt.inserts.onUnspill = tt.dropRuns
}

// dropRuns forgets the runs of the staged parts from row from on.
func (tt *txTable) dropRuns(from int) {
	for u := range tt.runs {
		tt.runs[u] = slices.DeleteFunc(tt.runs[u], func(r keyRun) bool { return r.first >= from })
	}
}

// spilled takes the keys of rows [first, first+n) of the insert log, just
// staged as recs, out of the maps into runs.
func (tt *txTable) spilled(first int, recs []arrow.RecordBatch) {
	for u, uk := range tt.uniq {
		if !tt.runnable[u] {
			continue
		}
		var vals []int64
		var pos []int32
		off := 0
		for _, rec := range recs {
			vals, pos = appendInts(vals, pos, rec.Column(uk.cols[0]), off)
			off += int(rec.NumRows())
		}
		n := 0
		for _, rec := range recs {
			n += int(rec.NumRows())
		}
		if tt.keys != nil {
			for _, v := range vals {
				k := string(appendKeyValue(nil, v))
				if idx, ok := tt.keys[u][k]; ok && idx < 0 && -idx-1 >= first && -idx-1 < first+n {
					delete(tt.keys[u], k)
				}
			}
		}
		sort.Sort(byValue{vals, pos})
		tt.runs[u] = append(tt.runs[u], keyRun{first: first, vals: vals, pos: pos})
	}
}

// byValue sorts values with their row positions.
type byValue struct {
	vals []int64
	pos  []int32
}

func (b byValue) Len() int           { return len(b.vals) }
func (b byValue) Less(i, j int) bool { return b.vals[i] < b.vals[j] }
func (b byValue) Swap(i, j int) {
	b.vals[i], b.vals[j] = b.vals[j], b.vals[i]
	b.pos[i], b.pos[j] = b.pos[j], b.pos[i]
}

// appendInts appends the non-NULL values of an integer column, and their
// row numbers (from off) to pos.
func appendInts(dst []int64, pos []int32, col arrow.Array, off int) ([]int64, []int32) {
	for i := range col.Len() {
		if col.IsNull(i) {
			continue
		}
		pos = append(pos, int32(off+i))
		switch c := col.(type) {
		case *array.Int8:
			dst = append(dst, int64(c.Value(i)))
		case *array.Int16:
			dst = append(dst, int64(c.Value(i)))
		case *array.Int32:
			dst = append(dst, int64(c.Value(i)))
		case *array.Int64:
			dst = append(dst, c.Value(i))
		case *array.Uint8:
			dst = append(dst, int64(c.Value(i)))
		case *array.Uint16:
			dst = append(dst, int64(c.Value(i)))
		case *array.Uint32:
			dst = append(dst, int64(c.Value(i)))
		default:
			pos = pos[:len(pos)-1] // not an integer column (cannot happen)
		}
	}
	return dst, pos
}

// inRuns returns the insert log row number of a staged row whose value
// of key u is v.
func (tt *txTable) inRuns(u int, v interface{}) (int, bool) {
	if tt.runs == nil || len(tt.runs[u]) == 0 {
		return 0, false
	}
	n, err := toInt64(v)
	if err != nil {
		return 0, false
	}
	for _, r := range tt.runs[u] {
		if i, found := slices.BinarySearch(r.vals, n); found {
			return r.first + int(r.pos[i]), true
		}
	}
	return 0, false
}

// inRun reports whether insert log row i's value of key u is in a run.
func (tt *txTable) inRun(u, i int) bool {
	return tt.runnable != nil && tt.runnable[u] && i < tt.inserts.spilledRows
}

// syncRuns follows a truncation of the insert log: the keys of the rows
// in memory are in the maps (a truncation into a staged part adds its
// first rows back, and onUnspill dropped that part's run).
func (tt *txTable) syncRuns() {
	if tt.runs == nil {
		return
	}
	if tt.keys != nil {
		tt.inserts.each(tt.inserts.spilledRows, func(i int, r sql.Row) bool {
			tt.setKeys(r, -(i + 1))
			return true
		})
	}
}
