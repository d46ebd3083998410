package engine

// Keys of staged rows. A transaction checks each row it inserts against
// the rows it inserted before (key_check.go: a map of their keys). When
// the insert log stages rows to data files (insert_log.go), the keys of a
// unique key made of one integer column move out of that map into a
// sorted run of int64 per staged part: 8 bytes a row instead of a map
// entry of about 100, so a LOAD DATA of any size into a table with an
// integer primary key holds its key check in a small fraction of the
// memory the rows would take. Other keys keep the map.

import (
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// keyRun is the sorted values of one integer key of the rows of one
// staged part, which begins at row first of the insert log.
type keyRun struct {
	first int
	vals  []int64
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
		for _, rec := range recs {
			vals = appendInts(vals, rec.Column(uk.cols[0]))
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
		slices.Sort(vals)
		tt.runs[u] = append(tt.runs[u], keyRun{first: first, vals: vals})
	}
}

// appendInts appends the non-NULL values of an integer column.
func appendInts(dst []int64, col arrow.Array) []int64 {
	for i := range col.Len() {
		if col.IsNull(i) {
			continue
		}
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
		}
	}
	return dst
}

// inRuns reports whether a staged row has value v of key u.
func (tt *txTable) inRuns(u int, v interface{}) bool {
	if tt.runs == nil || len(tt.runs[u]) == 0 {
		return false
	}
	n, err := toInt64(v)
	if err != nil {
		return false
	}
	for _, r := range tt.runs[u] {
		if _, found := slices.BinarySearch(r.vals, n); found {
			return true
		}
	}
	return false
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
