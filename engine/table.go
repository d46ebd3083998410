package engine

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/shopspring/decimal"

	"github.com/anomalydb/anomalydb/storage"
)

// table is the SQL face of one stored Iceberg table. Scans read the
// committed Arrow batches; each writing statement collects its changes
// in an editor and commits them as one Iceberg snapshot when the
// statement completes, so a statement is applied whole or not at all.
//
// A table may be projected (sql.ProjectedTable): its scans then read and
// return only the projected columns, and Schema describes those. Writes
// and everything else work on the full schema.
type table struct {
	db     string
	st     *storage.Table
	schema sql.PrimaryKeySchema // full schema

	proj     []string   // projected column names; nil without projection
	projCols []int      // indexes in schema of the projected columns
	projSch  sql.Schema // the projected columns (nil without projection)

	ed *editor // shared by the Inserter, Updater and Deleter of one statement
}

var (
	_ sql.Table             = (*table)(nil)
	_ sql.InsertableTable   = (*table)(nil)
	_ sql.UpdatableTable    = (*table)(nil)
	_ sql.DeletableTable    = (*table)(nil)
	_ sql.ReplaceableTable  = (*table)(nil)
	_ sql.TruncateableTable = (*table)(nil)
	_ sql.PrimaryKeyTable   = (*table)(nil)
	_ sql.StatisticsTable   = (*table)(nil)
	_ sql.ProjectedTable    = (*table)(nil)
)

func newTable(db string, st *storage.Table) (*table, error) {
	sch, err := decodeSchema(st.Name(), st.Properties()[columnsProperty])
	if err != nil {
		return nil, err
	}
	return &table{db: db, st: st, schema: sch}, nil
}

// Name implements sql.Nameable.
func (t *table) Name() string { return t.st.Name() }

// String implements fmt.Stringer.
func (t *table) String() string { return t.st.Name() }

// Schema implements sql.Table: the projected columns of a projected
// table, else all columns.
func (t *table) Schema() sql.Schema {
	if t.proj != nil {
		return t.projSch
	}
	return t.schema.Schema
}

// WithProjections implements sql.ProjectedTable: a table whose scans
// return only the named columns, in the order named (none is valid: rows
// without columns). nil, or a name that is not a column, gives the table
// without projection.
func (t *table) WithProjections(names []string) sql.Table {
	nt := &table{db: t.db, st: t.st, schema: t.schema}
	if names == nil {
		return nt
	}
	cols := make([]int, len(names))
	sch := make(sql.Schema, len(names))
	for i, n := range names {
		c := t.schema.Schema.IndexOfColName(n)
		if c < 0 {
			return nt
		}
		cols[i], sch[i] = c, t.schema.Schema[c]
	}
	nt.proj, nt.projCols, nt.projSch = append([]string{}, names...), cols, sch
	return nt
}

// Projections implements sql.ProjectedTable.
func (t *table) Projections() []string { return t.proj }

// columns returns the schema indexes of the columns scans return.
func (t *table) columns() []int {
	if t.proj != nil {
		return t.projCols
	}
	cols := make([]int, len(t.schema.Schema))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *table) PrimaryKeySchema() sql.PrimaryKeySchema { return t.schema }

// Collation implements sql.Table.
func (t *table) Collation() sql.CollationID { return sql.Collation_Default }

// DataLength implements sql.StatisticsTable.
func (t *table) DataLength(*sql.Context) (uint64, error) {
	return uint64(t.st.NumRows()) * uint64(8*len(t.schema.Schema)), nil
}

// RowCount implements sql.StatisticsTable.
func (t *table) RowCount(*sql.Context) (uint64, bool, error) {
	return uint64(t.st.NumRows()), true, nil
}

// batchPartition is one committed Arrow batch.
type batchPartition struct {
	idx int
	rec arrow.RecordBatch
}

// Key implements sql.Partition.
func (p *batchPartition) Key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p.idx))
	return b[:]
}

// Partitions implements sql.Table: one partition per committed batch of
// the snapshot current when the scan starts. The snapshot is held until
// the partition iterator is closed.
func (t *table) Partitions(*sql.Context) (sql.PartitionIter, error) {
	snap := t.st.Snapshot()
	parts := make([]sql.Partition, len(snap.Batches()))
	for i, rec := range snap.Batches() {
		parts[i] = &batchPartition{idx: i, rec: rec}
	}
	return &snapshotPartitions{snap: snap, parts: parts}, nil
}

// snapshotPartitions iterates the partitions of one held snapshot.
type snapshotPartitions struct {
	snap  *storage.Data
	parts []sql.Partition
	i     int
}

// Next implements sql.PartitionIter.
func (it *snapshotPartitions) Next(*sql.Context) (sql.Partition, error) {
	if it.i >= len(it.parts) {
		return nil, io.EOF
	}
	it.i++
	return it.parts[it.i-1], nil
}

// Close implements sql.Closer.
func (it *snapshotPartitions) Close(*sql.Context) error {
	if it.snap != nil {
		it.snap.Release()
		it.snap = nil
	}
	return nil
}

// PartitionRows implements sql.Table.
func (t *table) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	bp, ok := p.(*batchPartition)
	if !ok {
		return nil, fmt.Errorf("unexpected partition %T", p)
	}
	cols := t.columns()
	readers := make([]func(int) interface{}, len(cols))
	for i, c := range cols {
		readers[i] = valueReader(t.schema.Schema[c].Type, bp.rec.Column(c))
	}
	return &batchRowIter{readers: readers, n: int(bp.rec.NumRows())}, nil
}

type batchRowIter struct {
	readers []func(int) interface{}
	i, n    int
}

// Next implements sql.RowIter.
func (it *batchRowIter) Next(*sql.Context) (sql.Row, error) {
	if it.i >= it.n {
		return nil, io.EOF
	}
	row := make(sql.Row, len(it.readers))
	for c, rd := range it.readers {
		row[c] = rd(it.i)
	}
	it.i++
	return row, nil
}

// Close implements sql.Closer.
func (it *batchRowIter) Close(*sql.Context) error { return nil }

func (t *table) editor() *editor {
	if t.ed == nil {
		t.ed = &editor{t: t}
	}
	return t.ed
}

// Inserter implements sql.InsertableTable.
func (t *table) Inserter(*sql.Context) sql.RowInserter { return t.editor() }

// Updater implements sql.UpdatableTable.
func (t *table) Updater(*sql.Context) sql.RowUpdater { return t.editor() }

// Deleter implements sql.DeletableTable.
func (t *table) Deleter(*sql.Context) sql.RowDeleter { return t.editor() }

// Replacer implements sql.ReplaceableTable.
func (t *table) Replacer(*sql.Context) sql.RowReplacer { return t.editor() }

// Truncate implements sql.TruncateableTable. It empties the table through
// storage's read-modify-write, so the count it returns is exactly the rows
// it removed even while other statements commit.
func (t *table) Truncate(*sql.Context) (int, error) {
	var n int64
	err := t.st.Rewrite(func(cur *storage.Data) ([]arrow.RecordBatch, error) {
		n = cur.NumRows()
		return nil, nil
	})
	if err != nil {
		return 0, err
	}
	return int(n), nil
}

// editor collects the changes of one writing statement. Pure inserts are
// committed as an Iceberg append; a statement that updates or deletes
// rewrites the table as one overwrite snapshot.
type editor struct {
	t *table

	base      *storage.Data // snapshot the statement started from
	baseCache []sql.Row     // base as rows, once needed
	inserts   []sql.Row     // pending inserts while in append mode
	keys      map[string]int

	// Overwrite mode: the statement's full view of the table.
	rows   []sql.Row
	alive  []bool
	byRow  map[string][]int
	rewrit bool
}

var _ sql.TableEditor = (*editor)(nil)

func (e *editor) reset() {
	if e.base != nil {
		e.base.Release()
	}
	e.base = nil
	e.baseCache = nil
	e.inserts = nil
	e.keys = nil
	e.rows, e.alive, e.byRow, e.rewrit = nil, nil, nil, false
}

func (e *editor) begin() {
	if e.base == nil {
		e.base = e.t.st.Snapshot()
	}
}

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(*sql.Context) { e.reset() }

// DiscardChanges implements sql.EditOpenerCloser.
func (e *editor) DiscardChanges(*sql.Context, error) error {
	e.reset()
	return nil
}

// StatementComplete implements sql.EditOpenerCloser: it commits the
// statement's changes as one snapshot. Storage serialises the commit with
// every other write to the table: an append re-checks its keys against
// rows committed since the statement's base snapshot, and a rewrite fails
// with ER_LOCK_DEADLOCK if anything was committed since then.
func (e *editor) StatementComplete(*sql.Context) error {
	defer e.reset()
	if e.base == nil {
		return nil
	}
	schema := e.t.st.Schema()
	if !e.rewrit {
		if len(e.inserts) == 0 {
			return nil
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, e.inserts)
		if err != nil {
			return err
		}
		defer rec.Release()
		var check func(cur *storage.Data) error
		if len(e.t.schema.PkOrdinals) > 0 {
			check = e.recheckKeys
		}
		return e.t.st.AppendIf(check, []arrow.RecordBatch{rec})
	}
	var live []sql.Row
	for i, r := range e.rows {
		if e.alive[i] {
			live = append(live, r)
		}
	}
	name := e.t.Name() // fn must not call methods of the storage table
	return e.t.st.Rewrite(func(cur *storage.Data) ([]arrow.RecordBatch, error) {
		if cur != e.base {
			return nil, mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
				"Deadlock found when trying to get lock; try restarting transaction (table %s changed during the statement)", name)
		}
		if len(live) == 0 {
			return nil, nil
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, live)
		if err != nil {
			return nil, err
		}
		return []arrow.RecordBatch{rec}, nil // Rewrite releases rec
	})
}

// recheckKeys is the AppendIf check of a statement's pending inserts: when
// another statement committed since the base snapshot, the inserted keys
// are checked again against the current rows.
func (e *editor) recheckKeys(cur *storage.Data) error {
	if cur == e.base {
		return nil
	}
	keys := e.t.keySet(cur)
	for _, r := range e.inserts {
		if k := e.t.pkKey(r); k != "" {
			if _, dup := keys[k]; dup {
				return e.t.dupErr(r)
			}
		}
	}
	return nil
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	e.begin()
	if err := e.t.checkNulls(row); err != nil {
		return err
	}
	row = row.Copy()
	if len(e.t.schema.PkOrdinals) > 0 {
		if e.keys == nil {
			if e.rewrit {
				e.keys = e.liveKeys()
			} else {
				e.keys = e.t.keySet(e.base)
			}
		}
		k := e.t.pkKey(row)
		if idx, dup := e.keys[k]; dup {
			return sql.NewUniqueKeyErr(e.t.keyString(row), true, e.existing(idx))
		}
		e.keys[k] = e.pendingIndex()
	}
	if e.rewrit {
		e.addRow(row)
		return nil
	}
	e.inserts = append(e.inserts, row)
	return nil
}

// existing returns the row a duplicate key points at.
func (e *editor) existing(idx int) sql.Row {
	if e.rewrit {
		return e.rows[idx]
	}
	if idx < 0 {
		return e.inserts[-idx-1]
	}
	rows := e.baseRows()
	return rows[idx]
}

// pendingIndex is the key-map index of the row about to be inserted:
// non-negative indexes address e.rows (or base rows), negative ones the
// pending inserts.
func (e *editor) pendingIndex() int {
	if e.rewrit {
		return len(e.rows)
	}
	return -(len(e.inserts) + 1)
}

// baseRows materialises the statement's starting snapshot once.
func (e *editor) baseRows() []sql.Row {
	if e.baseCache == nil {
		e.baseCache = recordRows(e.t.schema.Schema, e.base.Batches())
	}
	return e.baseCache
}

// toRewrite switches the statement into overwrite mode.
func (e *editor) toRewrite() {
	e.begin()
	if e.rewrit {
		return
	}
	e.rewrit = true
	base := e.baseRows()
	e.rows = make([]sql.Row, 0, len(base)+len(e.inserts))
	e.alive = make([]bool, 0, cap(e.rows))
	e.byRow = make(map[string][]int, len(base))
	for _, r := range base {
		e.addRow(r)
	}
	for _, r := range e.inserts {
		e.addRow(r)
	}
	e.inserts = nil
	if e.keys != nil {
		e.keys = e.liveKeys()
	}
}

// liveKeys indexes the primary keys of the live rows of overwrite mode.
func (e *editor) liveKeys() map[string]int {
	keys := make(map[string]int, len(e.rows))
	for i, r := range e.rows {
		if e.alive[i] {
			keys[e.t.pkKey(r)] = i
		}
	}
	return keys
}

func (e *editor) addRow(r sql.Row) {
	k := rowKey(r)
	e.byRow[k] = append(e.byRow[k], len(e.rows))
	e.rows = append(e.rows, r)
	e.alive = append(e.alive, true)
}

// find returns the index of a live row equal to r.
func (e *editor) find(r sql.Row) (int, error) {
	k := rowKey(r)
	for _, i := range e.byRow[k] {
		if e.alive[i] {
			return i, nil
		}
	}
	return 0, sql.ErrDeleteRowNotFound.New()
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(_ *sql.Context, row sql.Row) error {
	e.toRewrite()
	i, err := e.find(row)
	if err != nil {
		return err
	}
	e.alive[i] = false
	if e.keys != nil {
		delete(e.keys, e.t.pkKey(row))
	}
	return nil
}

// Update implements sql.RowUpdater.
func (e *editor) Update(_ *sql.Context, old, new sql.Row) error {
	e.toRewrite()
	if err := e.t.checkNulls(new); err != nil {
		return err
	}
	i, err := e.find(old)
	if err != nil {
		return err
	}
	if len(e.t.schema.PkOrdinals) > 0 {
		if e.keys == nil {
			e.keys = e.liveKeys()
		}
		ok, nk := e.t.pkKey(old), e.t.pkKey(new)
		if ok != nk {
			if j, dup := e.keys[nk]; dup && j != i {
				return sql.NewUniqueKeyErr(e.t.keyString(new), true, e.rows[j])
			}
			delete(e.keys, ok)
		}
	}
	e.alive[i] = false
	j := len(e.rows)
	e.addRow(new.Copy())
	if e.keys != nil {
		e.keys[e.t.pkKey(new)] = j
	}
	return nil
}

// checkNulls rejects NULL in NOT NULL columns.
func (t *table) checkNulls(row sql.Row) error {
	for i, c := range t.schema.Schema {
		if row[i] == nil && !c.Nullable {
			return sql.ErrInsertIntoNonNullableProvidedNull.New(c.Name)
		}
	}
	return nil
}

// keySet indexes the primary keys of a snapshot.
func (t *table) keySet(d *storage.Data) map[string]int {
	keys := make(map[string]int, d.NumRows())
	i := 0
	for _, rec := range d.Batches() {
		readers := make([]func(int) interface{}, len(t.schema.PkOrdinals))
		for j, o := range t.schema.PkOrdinals {
			readers[j] = valueReader(t.schema.Schema[o].Type, rec.Column(o))
		}
		row := make(sql.Row, len(t.schema.Schema))
		for r := 0; r < int(rec.NumRows()); r++ {
			for j, o := range t.schema.PkOrdinals {
				row[o] = readers[j](r)
			}
			keys[t.pkKey(row)] = i
			i++
		}
	}
	return keys
}

// pkKey encodes the primary-key values of row ("" without a key).
func (t *table) pkKey(row sql.Row) string {
	if len(t.schema.PkOrdinals) == 0 {
		return ""
	}
	var buf [64]byte
	b := buf[:0]
	for _, o := range t.schema.PkOrdinals {
		v := row[o]
		if s, ok := v.(string); ok {
			// MySQL's default collation compares keys case-insensitively.
			v = strings.ToLower(strings.TrimRight(s, " "))
		}
		b = appendKeyValue(b, v)
	}
	return string(b)
}

// keyString formats the key the way MySQL shows it in error 1062.
func (t *table) keyString(row sql.Row) string {
	parts := make([]string, len(t.schema.PkOrdinals))
	for i, o := range t.schema.PkOrdinals {
		parts[i] = fmt.Sprint(row[o])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func (t *table) dupErr(row sql.Row) error {
	return sql.NewUniqueKeyErr(t.keyString(row), true, nil)
}

// rowKey encodes a whole row exactly, for matching the rows of UPDATE
// and DELETE against the table.
func rowKey(row sql.Row) string {
	var buf [128]byte
	b := buf[:0]
	for _, v := range row {
		b = appendKeyValue(b, v)
	}
	return string(b)
}

// appendKeyValue appends the key encoding of one value to b: a type letter,
// the value and ';' (strings and bytes length-prefixed).
func appendKeyValue(b []byte, v interface{}) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "N;"...)
	case float64:
		b = strconv.AppendUint(append(b, 'f'), math.Float64bits(x), 16)
	case float32:
		b = strconv.AppendUint(append(b, 'f'), math.Float64bits(float64(x)), 16)
	case string:
		b = append(strconv.AppendInt(append(b, 's'), int64(len(x)), 10), ':')
		b = append(b, x...)
	case []byte:
		b = append(strconv.AppendInt(append(b, 's'), int64(len(x)), 10), ':')
		b = append(b, x...)
	case time.Time:
		b = strconv.AppendInt(append(b, 't'), x.UnixMicro(), 10)
	case decimal.Decimal:
		b = append(append(b, 'd'), x.String()...)
	default:
		n, err := toInt64(v)
		if err != nil {
			return fmt.Appendf(b, "?%v;", v)
		}
		b = strconv.AppendInt(append(b, 'i'), n, 10)
	}
	return append(b, ';')
}
