package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/dolthub/vitess/go/mysql"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
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
	db      string
	st      *storage.Table
	schema  sql.PrimaryKeySchema // full schema
	cols    string               // the columns property schema was decoded from (see snapshot)
	indexes []indexMeta          // secondary indexes, from the table's properties (index.go)
	cache   *indexCache          // the provider's sorted indexes (index_lookup.go); nil for none
	stage   *alterStage          // the running ALTER TABLE's stage this table shows, or nil (alter_stage.go)

	proj     []string   // projected column names; nil without projection
	projCols []int      // indexes in schema of the projected columns
	projSch  sql.Schema // the projected columns (nil without projection)

	prune []constraint // scans skip the segments these rule out (segment_pruning.go)

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
	_ sql.TemporaryTable    = (*table)(nil)
)

func newTable(db string, st *storage.Table, cache *indexCache) (*table, error) {
	props := st.Properties()
	sch, err := decodeSchema(st.Name(), props[columnsProperty])
	if err != nil {
		return nil, err
	}
	idx, err := decodeIndexes(st.Name(), sch.Schema, props[indexesProperty])
	if err != nil {
		return nil, err
	}
	return &table{db: db, st: st, schema: sch, cols: props[columnsProperty], indexes: idx, cache: cache}, nil
}

// snapshot returns the table's committed contents (a stage's rows for
// a table of a running ALTER TABLE), which the caller must Release, or
// ER_TABLE_DEF_CHANGED when the columns changed (ALTER TABLE) after t was
// resolved.
func (t *table) snapshot() (*storage.Data, error) {
	if t.stage != nil {
		return t.stage.data(), nil
	}
	d := t.st.Snapshot()
	if err := damageErr(t.st); err != nil {
		d.Release()
		return nil, err
	}
	if d.Property(columnsProperty) != t.cols {
		d.Release()
		return nil, errTableDefChanged(t.Name())
	}
	return d, nil
}

// txState returns the transaction's state of t, or ER_TABLE_DEF_CHANGED
// when the transaction began using the table under other columns.
func (tx *transaction) txState(t *table) (*txTable, error) {
	tt := tx.table(t)
	if err := damageErr(t.st); err != nil {
		return nil, err
	}
	if tt.t.cols != t.cols || tt.base.Property(columnsProperty) != t.cols {
		return nil, errTableDefChanged(t.Name())
	}
	return tt, nil
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
	nt := &table{db: t.db, st: t.st, schema: t.schema, cols: t.cols, indexes: t.indexes, cache: t.cache, stage: t.stage}
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

// RowCount implements sql.StatisticsTable (go-mysql-server answers
// COUNT(*) from it): the rows the statement's transaction sees, which
// reads the table as any scan does (its first read fixes the
// transaction's snapshot of the table), else the committed rows.
func (t *table) RowCount(ctx *sql.Context) (uint64, bool, error) {
	if t.stage != nil {
		d := t.stage.data()
		defer d.Release()
		return uint64(d.NumRows()), true, nil
	}
	if tx := txOf(ctx); tx != nil {
		tt, err := tx.txState(t)
		if err != nil {
			return 0, false, err
		}
		return uint64(tt.numRows()), true, nil
	}
	return uint64(t.st.NumRows()), true, nil
}

// tx returns the transaction ctx's statement reads t in, nil for none
// and for a table of a running ALTER TABLE (which reads the stage).
func (t *table) tx(ctx *sql.Context) *transaction {
	if t.stage != nil {
		return nil
	}
	return txOf(ctx)
}

// IsTemporary implements sql.TemporaryTable (go-mysql-server's check of
// READ ONLY transactions needs it): stored tables are never temporary.
func (t *table) IsTemporary() bool { return false }

// batchPartition is one committed Arrow batch: rec, or segment seg of
// data, read from its data file (through the store's cache) when the
// partition's rows are iterated.
type batchPartition struct {
	idx  int
	rec  arrow.RecordBatch
	data *storage.Data
	seg  int
}

// batch returns the partition's rows; the caller must Release them. A
// data file that cannot be read gives error 1194.
func (p *batchPartition) batch() (arrow.RecordBatch, error) {
	if p.rec != nil {
		p.rec.Retain()
		return p.rec, nil
	}
	rec, err := p.data.Segment(p.seg)
	if err != nil {
		return nil, segmentErr(err)
	}
	return rec, nil
}

// segmentErr is error 1194 for a data file that cannot be read, else err.
func segmentErr(err error) error {
	if errors.Is(err, storage.ErrDamaged) {
		return mysql.NewSQLError(codeCrashed, mysql.SSUnknownSQLState, "%s", err.Error())
	}
	return err
}

// dataPartitions returns one partition per segment of d, numbered from
// idx, which read d while it is held.
func dataPartitions(d *storage.Data, idx int) []sql.Partition {
	parts := make([]sql.Partition, d.NumSegments())
	for i := range parts {
		parts[i] = &batchPartition{idx: idx + i, data: d, seg: i}
	}
	return parts
}

// Key implements sql.Partition.
func (p *batchPartition) Key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p.idx))
	return b[:]
}

// rowsPartition holds rows a transaction has written but not committed.
type rowsPartition struct {
	idx  int
	rows []sql.Row // full-schema rows
}

// Key implements sql.Partition.
func (p *rowsPartition) Key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(p.idx))
	return b[:]
}

// Partitions implements sql.Table. Inside a transaction a scan sees the
// transaction's view of the table (its base snapshot, one partition per
// batch, plus the rows it wrote, see txTable.view); the transaction holds
// the snapshot. Otherwise it sees one partition per committed batch of the
// snapshot current when the scan starts, held until the partition
// iterator is closed.
func (t *table) Partitions(ctx *sql.Context) (sql.PartitionIter, error) {
	if tx := t.tx(ctx); tx != nil {
		tt, err := tx.txState(t)
		if err != nil {
			return nil, err
		}
		noteRead(ctx, t, tt.base) // training_reads.go
		base, show, staged, batches, rows, err := tt.view()
		if err != nil {
			return nil, err
		}
		var parts []sql.Partition
		for _, p := range dataPartitions(base, 0) {
			if seg := p.(*batchPartition).seg; (show == nil || show[seg]) && t.keeps(base, seg) {
				p.(*batchPartition).idx = len(parts)
				parts = append(parts, p)
			}
		}
		for _, d := range staged {
			d.Retain() // the transaction may end before the scan does
			for _, p := range dataPartitions(d, len(parts)) {
				if t.keeps(d, p.(*batchPartition).seg) {
					p.(*batchPartition).idx = len(parts)
					parts = append(parts, p)
				}
			}
		}
		for _, rec := range batches {
			parts = append(parts, &batchPartition{idx: len(parts), rec: rec})
		}
		if len(rows) > 0 {
			parts = append(parts, &rowsPartition{idx: len(parts), rows: rows})
		}
		base.Retain() // the transaction may end before the scan does
		return &snapshotPartitions{snap: base, more: staged, owned: batches, parts: parts}, nil
	}
	snap, err := t.snapshot()
	if err != nil {
		return nil, err
	}
	noteRead(ctx, t, snap)
	it := snapshotPartitionsOf(snap)
	if t.prune != nil {
		it.parts = slices.DeleteFunc(it.parts, func(p sql.Partition) bool { return !t.keeps(snap, p.(*batchPartition).seg) })
	}
	return it, nil
}

// snapshotPartitionsOf returns one partition per batch of snap, taking
// over the caller's reference, which the iterator's Close releases.
func snapshotPartitionsOf(snap *storage.Data) *snapshotPartitions {
	return &snapshotPartitions{snap: snap, parts: dataPartitions(snap, 0)}
}

// snapshotPartitions iterates the partitions of one held snapshot.
type snapshotPartitions struct {
	snap  *storage.Data
	more  []*storage.Data     // further contents read, released by Close
	owned []arrow.RecordBatch // released by Close
	parts []sql.Partition
	i     int
}

// Next implements sql.PartitionIter. From the second partition on, it
// has the data file of the one after read ahead (storage.Data.Prefetch),
// so that a scan decodes the next file on another core while it works
// on the current one; a scan that stops after its first partition (a
// small LIMIT) reads nothing more.
func (it *snapshotPartitions) Next(*sql.Context) (sql.Partition, error) {
	if it.i >= len(it.parts) {
		return nil, io.EOF
	}
	it.i++
	if it.i > 1 && it.i < len(it.parts) {
		if bp, ok := it.parts[it.i].(*batchPartition); ok && bp.data != nil {
			bp.data.Prefetch(bp.seg)
		}
	}
	return it.parts[it.i-1], nil
}

// Close implements sql.Closer.
func (it *snapshotPartitions) Close(*sql.Context) error {
	if it.snap != nil {
		it.snap.Release()
		it.snap = nil
	}
	releaseAll(it.owned)
	it.owned = nil
	for _, d := range it.more {
		d.Release()
	}
	it.more = nil
	return nil
}

// PartitionRows implements sql.Table.
func (t *table) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	cols := t.columns()
	if rp, ok := p.(*rowsPartition); ok {
		return &pendingRowIter{rows: rp.rows, cols: cols}, nil
	}
	bp, ok := p.(*batchPartition)
	if !ok {
		return nil, fmt.Errorf("unexpected partition %T", p)
	}
	rec, err := bp.batch()
	if err != nil {
		return nil, err
	}
	return newBatchRowIter(t.schema.Schema, cols, rec), nil
}

// pendingRowIter returns a transaction's uncommitted rows, projected.
type pendingRowIter struct {
	rows []sql.Row
	cols []int
	i    int
}

// Next implements sql.RowIter.
func (it *pendingRowIter) Next(*sql.Context) (sql.Row, error) {
	if it.i >= len(it.rows) {
		return nil, io.EOF
	}
	r := it.rows[it.i]
	it.i++
	out := make(sql.Row, len(it.cols))
	for j, c := range it.cols {
		out[j] = r[c]
	}
	return out, nil
}

// Close implements sql.Closer.
func (it *pendingRowIter) Close(*sql.Context) error { return nil }

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

// Truncate implements sql.TruncateableTable. go-mysql-server calls it for
// TRUNCATE TABLE and also for a DELETE without WHERE or LIMIT. Such a
// DELETE deletes every row in the statement's transaction, so ROLLBACK
// undoes it. TRUNCATE TABLE is DDL: as in MySQL it first commits the open
// transaction, then empties the table through storage's
// read-modify-write, so the count it returns is exactly the rows it
// removed even while other statements commit.
func (t *table) Truncate(ctx *sql.Context) (int, error) {
	if tx := txOf(ctx); tx != nil {
		if !isTruncateStatement(ctx.Query()) {
			return t.deleteAllInTx(ctx, tx)
		}
		if err := tx.commit(); err != nil {
			return 0, err
		}
	}
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

// editor applies one writing statement's changes to the table's state in
// the statement's transaction (txn.go). Nothing reaches storage before the
// transaction commits, so a statement is applied whole or not at all,
// and go-mysql-server's per-row checkpoints (INSERT IGNORE, LOAD DATA
// LOCAL) are undo-log marks, not commits. A context without one of our
// transactions (in-process use) gets a statement-private transaction,
// committed when the statement completes.
type editor struct {
	t    *table
	own  *transaction // statement-private transaction, if any
	tt   *txTable     // the table in the statement's transaction, once touched
	mark int          // tt's undo position when the statement touched it
}

var _ sql.TableEditor = (*editor)(nil)

// state returns the table's transaction state, marking where the
// statement's changes begin on first use.
func (e *editor) state(ctx *sql.Context) (*txTable, error) {
	if e.tt != nil {
		return e.tt, nil
	}
	tx := txOf(ctx)
	if tx == nil {
		if e.own == nil {
			e.own = newTransaction(false)
		}
		tx = e.own
	}
	if tx.readOnly {
		return nil, errReadOnlyTx()
	}
	tt, err := tx.txState(e.t)
	if err != nil {
		return nil, err
	}
	e.tt = tt
	e.tt.beginStatement(ctx.Pid())
	e.mark = len(e.tt.undo)
	return e.tt, nil
}

// stmtState returns the table's state in the transaction if the current
// statement changed it, else nil.
func (e *editor) stmtState(ctx *sql.Context) *txTable {
	if e.tt != nil {
		return e.tt
	}
	tx := txOf(ctx)
	if tx == nil {
		return nil
	}
	if tt := tx.lookup(e.t); tt != nil && tt.stmtPid == ctx.Pid() {
		return tt
	}
	return nil
}

// StatementBegin implements sql.EditOpenerCloser.
func (e *editor) StatementBegin(ctx *sql.Context) {
	e.tt = nil
	if tx := txOf(ctx); tx != nil {
		tx.mark()
	}
}

// DiscardChanges implements sql.EditOpenerCloser. An ignorable error
// (INSERT IGNORE's duplicate, LOAD DATA LOCAL's bad value) undoes the
// current row's checkpoint; any other error fails the statement, so
// everything the statement changed is undone, across its per-row
// checkpoints. The transaction's earlier changes stay.
func (e *editor) DiscardChanges(ctx *sql.Context, err error) error {
	if _, ignorable := err.(sql.IgnorableError); ignorable {
		if e.tt != nil {
			e.tt.undoTo(e.mark)
		}
	} else if tt := e.stmtState(ctx); tt != nil {
		// The error may come from the statement's source (a LOAD DATA
		// file) after a checkpoint, before this one touched the table.
		tt.undoTo(tt.stmtMark)
	}
	e.tt = nil
	if e.own != nil {
		e.own.release()
		e.own = nil
	}
	return nil
}

// StatementComplete implements sql.EditOpenerCloser: the statement's
// changes become part of its transaction (committed here only for a
// statement-private transaction).
func (e *editor) StatementComplete(*sql.Context) error {
	e.tt = nil
	if e.own != nil {
		own := e.own
		e.own = nil
		return own.commit()
	}
	return nil
}

// Close implements sql.Closer.
func (e *editor) Close(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (e *editor) Insert(ctx *sql.Context, row sql.Row) error {
	tt, err := e.state(ctx)
	if err != nil {
		return err
	}
	if err := e.t.checkNulls(row); err != nil {
		return err
	}
	return tt.insert(row.Copy())
}

// Delete implements sql.RowDeleter.
func (e *editor) Delete(ctx *sql.Context, row sql.Row) error {
	tt, err := e.state(ctx)
	if err != nil {
		return err
	}
	return tt.delete(row)
}

// Update implements sql.RowUpdater.
func (e *editor) Update(ctx *sql.Context, old, new sql.Row) error {
	tt, err := e.state(ctx)
	if err != nil {
		return err
	}
	if err := e.t.checkNulls(new); err != nil {
		return err
	}
	e.t.noteAutoInc(new)
	return tt.update(old, new)
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

// uniqueKey is a key no two rows of a table may share: the primary key or
// a UNIQUE index. Keys compare as MySQL's default collation does for the
// primary key: strings case-insensitively and without trailing spaces
// (see keyOf); a prefix key part compares only the first prefix
// characters.
type uniqueKey struct {
	name    string // "PRIMARY" or the index name
	primary bool
	cols    []int // ordinals in the full schema
	prefix  []int // characters compared of each part; 0 for the whole value
}

// uniqueKeys returns the unique keys of a table with schema sch and the
// secondary indexes idx: the primary key first, if any.
func uniqueKeys(sch sql.PrimaryKeySchema, idx []indexMeta) []*uniqueKey {
	var keys []*uniqueKey
	if len(sch.PkOrdinals) > 0 {
		keys = append(keys, &uniqueKey{name: "PRIMARY", primary: true, cols: sch.PkOrdinals, prefix: make([]int, len(sch.PkOrdinals))})
	}
	for _, m := range idx {
		if !m.Unique {
			continue
		}
		u := &uniqueKey{name: m.Name, cols: make([]int, len(m.Columns)), prefix: make([]int, len(m.Columns))}
		for i, c := range m.Columns {
			u.cols[i] = sch.Schema.IndexOfColName(c.Name)
			u.prefix[i] = int(c.Length)
		}
		keys = append(keys, u)
	}
	return keys
}

// uniqueKeysAt returns the unique keys of t as defined in the properties
// committed with d, which may be newer or older than t's own. It calls no
// method of the storage table, so AppendIf checks may use it.
func (t *table) uniqueKeysAt(d *storage.Data) []*uniqueKey {
	idx, err := decodeIndexes("", t.schema.Schema, d.Properties()[indexesProperty])
	if err != nil {
		idx = t.indexes // cannot happen: the properties were checked when written
	}
	return uniqueKeys(t.schema, idx)
}

// keyOf encodes the key values of row; ok is false when a part is NULL,
// which MySQL's unique indexes do not compare (the primary key has no
// NULLs).
func (u *uniqueKey) keyOf(row sql.Row) (key string, ok bool) {
	var buf [64]byte
	b := buf[:0]
	for i, o := range u.cols {
		v := row[o]
		if v == nil {
			return "", false
		}
		if s, isStr := v.(string); isStr {
			if n := u.prefix[i]; n > 0 {
				s = prefixChars(s, n)
			}
			// MySQL's default collation compares keys case-insensitively.
			v = strings.ToLower(strings.TrimRight(s, " "))
		}
		b = appendKeyValue(b, v)
	}
	return string(b), true
}

// prefixChars returns the first n characters of s.
func prefixChars(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}

// keyString formats the key of row the way MySQL shows it in error 1062.
func (u *uniqueKey) keyString(row sql.Row) string {
	parts := make([]string, len(u.cols))
	for i, o := range u.cols {
		parts[i] = fmt.Sprint(row[o])
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// dupErr is error 1062 for row, whose key equals the one of existing
// (nil when unknown).
func (u *uniqueKey) dupErr(row, existing sql.Row) error {
	return sql.NewUniqueKeyErr(u.keyString(row), u.primary, existing)
}

// keySets indexes the keys of a snapshot's rows: one map per unique key,
// from the encoded key to the row's number in d. Only the key columns are
// read.
func (t *table) keySets(d *storage.Data, keys []*uniqueKey) ([]map[string]int, error) {
	return t.keySetsFrom(d, keys, 0)
}

// keySetsFrom is keySets of the rows of d from row number from on.
func (t *table) keySetsFrom(d *storage.Data, keys []*uniqueKey, from int64) ([]map[string]int, error) {
	sets := make([]map[string]int, len(keys))
	for i := range sets {
		sets[i] = make(map[string]int, max(0, d.NumRows()-from))
	}
	if len(keys) == 0 {
		return sets, nil
	}
	var cols []int
	for _, u := range keys {
		for _, o := range u.cols {
			if !slices.Contains(cols, o) {
				cols = append(cols, o)
			}
		}
	}
	row := make(sql.Row, len(t.schema.Schema))
	readers := make([]func(int) interface{}, len(cols))
	err := d.Scan(from, func(rec arrow.RecordBatch, first int64) error {
		start := int(max(0, from-first))
		n := int(first) + start
		for j, o := range cols {
			readers[j] = valueReader(t.schema.Schema[o].Type, rec.Column(o))
		}
		for r := start; r < int(rec.NumRows()); r++ {
			for j, rd := range readers {
				row[cols[j]] = rd(r)
			}
			for i, u := range keys {
				if k, ok := u.keyOf(row); ok {
					sets[i][k] = n
				}
			}
			n++
		}
		return nil
	})
	if err != nil {
		return nil, segmentErr(err)
	}
	return sets, nil
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

// deleteAllInTx deletes every row the transaction sees, undoably.
func (t *table) deleteAllInTx(ctx *sql.Context, tx *transaction) (int, error) {
	if tx.readOnly {
		return 0, errReadOnlyTx()
	}
	tt := tx.table(t)
	tt.beginStatement(ctx.Pid())
	if err := tt.toRewrite(); err != nil {
		return 0, err
	}
	if err := tt.readAll(); err != nil {
		return 0, err
	}
	n := 0
	for i := range tt.rw.nBase + len(tt.rw.added) {
		if tt.rw.isAlive(i) {
			if err := tt.kill(i); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, nil
}

// isTruncateStatement reports whether query is a TRUNCATE statement (and
// not a DELETE that go-mysql-server turned into a truncation), looking
// past leading spaces and comments.
func isTruncateStatement(query string) bool {
	q := strings.TrimSpace(query)
	for strings.HasPrefix(q, "/*") {
		end := strings.Index(q, "*/")
		if end < 0 {
			break
		}
		q = strings.TrimSpace(q[end+2:])
	}
	return len(q) >= 8 && strings.EqualFold(q[:8], "truncate")
}
