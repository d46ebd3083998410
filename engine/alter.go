package engine

// ALTER TABLE column changes: ADD, DROP, MODIFY, CHANGE and RENAME
// COLUMN, and ALTER COLUMN … SET/DROP DEFAULT.
//
// go-mysql-server plans each clause and, for a sql.RewritableTable, feeds
// every row converted to the new schema (MySQL's conversions, defaults
// and AUTO_INCREMENT values included) into RewriteInserter's inserter.
// The table asks for that rewrite for every change, and the inserter's
// Close hands the converted rows, with the new column and index
// definitions, to the statement's stage (alter_stage.go), which commits
// every clause of the statement as one Iceberg commit
// (storage.Store.AlterTable, which keeps each continued column's Iceberg
// field ID): a failed or interrupted ALTER leaves the table as it was.
// RENAME COLUMN and default changes reach ModifyColumn instead, which
// changes the stage's column definitions without touching the rows.
//
// Like MySQL, ALTER TABLE first commits the session's open transaction.
// Another session's transaction that has read or written the table
// before the change gets ER_TABLE_DEF_CHANGED (1412) when it next reads
// it or commits: there are no metadata locks to make the ALTER wait.

import (
	"errors"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
)

var (
	_ sql.AlterableTable  = (*table)(nil)
	_ sql.RewritableTable = (*table)(nil)
)

// rewriteChunk is the number of rows converted to one Arrow batch at a
// time while a table's columns change.
const rewriteChunk = 1 << 16

// errTableDefChanged is MySQL's ER_TABLE_DEF_CHANGED, for a transaction
// that began using a table before its columns changed.
func errTableDefChanged(name string) error {
	return mysql.NewSQLError(1412, "HY000", "Table definition has changed, please retry transaction (table %s)", name)
}

// errInvalidNull is MySQL's ER_INVALID_USE_OF_NULL, for a column made
// NOT NULL while it holds NULLs.
func errInvalidNull() error {
	return mysql.NewSQLError(mysql.ERInvalidUseOfNull, "22004", "Invalid use of NULL value")
}

// ShouldRewriteTable implements sql.RewritableTable: every column change
// is a rewrite, committed at once by the inserter's Close.
func (t *table) ShouldRewriteTable(*sql.Context, sql.PrimaryKeySchema, sql.PrimaryKeySchema, *sql.Column, *sql.Column) bool {
	return true
}

// RewriteInserter implements sql.RewritableTable. oldColumn is nil for
// ADD COLUMN and newColumn for DROP COLUMN. The rows go to the
// statement's stage when the inserter is closed.
func (t *table) RewriteInserter(ctx *sql.Context, oldSchema, newSchema sql.PrimaryKeySchema, oldColumn, newColumn *sql.Column, _ []sql.IndexColumn) (sql.RowInserter, error) {
	stage, done, err := t.stageFor(ctx)
	if err != nil {
		return nil, err
	}
	sources := make([]int, len(newSchema.Schema))
	for j, c := range newSchema.Schema {
		switch {
		case newColumn != nil && strings.EqualFold(c.Name, newColumn.Name) && oldColumn == nil:
			sources[j] = -1
		case newColumn != nil && strings.EqualFold(c.Name, newColumn.Name):
			sources[j] = oldSchema.Schema.IndexOfColName(oldColumn.Name)
		default:
			sources[j] = oldSchema.Schema.IndexOfColName(c.Name)
		}
	}
	ch, err := t.newColumnChange(newSchema, sources)
	if err != nil {
		return nil, done(err)
	}
	ch.same = oldColumn == nil && newColumn == nil && oldSchema.Schema.Equals(t.schema.Schema)
	return &rewriteInserter{stage: stage, done: done, ch: ch}, nil
}

// AddColumn implements sql.AlterableTable. go-mysql-server calls it only
// for a table that declines the rewrite, which this one never does
// (ShouldRewriteTable): ADD COLUMN goes through RewriteInserter.
func (t *table) AddColumn(*sql.Context, *sql.Column, *sql.ColumnOrder) error {
	return errNotSupported("ADD COLUMN without a table rewrite")
}

// DropColumn implements sql.AlterableTable; like AddColumn, never called.
func (t *table) DropColumn(*sql.Context, string) error {
	return errNotSupported("DROP COLUMN without a table rewrite")
}

// ModifyColumn implements sql.AlterableTable: go-mysql-server calls it,
// without a new position or type, for RENAME COLUMN, for ALTER COLUMN …
// SET/DROP DEFAULT and for defaults that name a renamed column (MODIFY
// and CHANGE COLUMN go through RewriteInserter). The rows do not change:
// only the stage's column definitions do.
func (t *table) ModifyColumn(ctx *sql.Context, columnName string, column *sql.Column, order *sql.ColumnOrder) error {
	sch := t.schema.Schema
	from := sch.IndexOfColName(columnName)
	if from < 0 {
		return sql.ErrTableColumnNotFound.New(t.Name(), columnName)
	}
	if order != nil || !column.Type.Equals(sch[from].Type) || column.Nullable != sch[from].Nullable {
		return errNotSupported("changing a column's type, nullability or position without a table rewrite")
	}
	stage, done, err := t.stageFor(ctx)
	if err != nil {
		return err
	}
	col := *column
	col.PrimaryKey = sch[from].PrimaryKey
	cols := slices.Clone(sch)
	cols[from] = &col
	sources := make([]int, len(cols))
	for i := range sources {
		sources[i] = i
	}
	ch, err := t.newColumnChange(sql.NewPrimaryKeySchema(cols, t.schema.PkOrdinals...), sources)
	if err != nil {
		return done(err)
	}
	stage.renameColumn(from, &col, ch.props[columnsProperty], ch.idx)
	stage.sync(t)
	return done(nil)
}

// commitForDDL commits the session's open transaction, as MySQL does
// before DDL.
func commitForDDL(ctx *sql.Context) error {
	if tx := txOf(ctx); tx != nil {
		return tx.commit()
	}
	return nil
}

// columnChange collects the rows of a table under its new columns, with
// the new column and index definitions.
type columnChange struct {
	t       *table
	sch     sql.PrimaryKeySchema
	sources []int
	arrow   *arrow.Schema
	props   map[string]string
	idx     []indexMeta // the secondary indexes under the new columns
	same    bool        // the columns do not change: rows are checked, not kept
	uniq    []*uniqueKey
	keys    []map[string]bool

	pending []sql.Row
	batches []arrow.RecordBatch
}

// newColumnChange checks the new schema and prepares its definitions:
// the columns property, and the secondary indexes with their columns
// renamed, dropped columns removed and indexes left without columns
// dropped, as MySQL does.
func (t *table) newColumnChange(sch sql.PrimaryKeySchema, sources []int) (*columnChange, error) {
	for _, c := range sch.Schema {
		if c.AutoIncrement && !types.IsInteger(c.Type) {
			return nil, errAutoIncType(c.Name)
		}
	}
	// A primary key column is NOT NULL, also when MODIFY or CHANGE does
	// not say so (as in MySQL).
	cols := slices.Clone(sch.Schema)
	for i, c := range cols {
		if c.Nullable && (c.PrimaryKey || slices.Contains(sch.PkOrdinals, i)) {
			nc := *c
			nc.Nullable = false
			cols[i] = &nc
		}
	}
	sch = sql.PrimaryKeySchema{Schema: cols, PkOrdinals: sch.PkOrdinals}
	as, err := arrowSchema(sch.Schema)
	if err != nil {
		return nil, err
	}
	colsProp, err := encodeSchema(sch.Schema, sch.PkOrdinals...)
	if err != nil {
		return nil, err
	}
	newName := map[string]string{} // lower-case old name → new name
	for j, s := range sources {
		if s >= 0 {
			newName[strings.ToLower(t.schema.Schema[s].Name)] = sch.Schema[j].Name
		}
	}
	var idx []indexMeta
	for _, m := range t.indexes {
		var parts []indexColumn
		for _, c := range m.Columns {
			if n, ok := newName[strings.ToLower(c.Name)]; ok {
				parts = append(parts, indexColumn{Name: n, Length: c.Length})
			}
		}
		if len(parts) > 0 {
			m.Columns = parts
			idx = append(idx, m)
		}
	}
	uniq := uniqueKeys(sch, idx)
	ch := &columnChange{t: t, sch: sch, sources: sources, arrow: as, idx: idx, uniq: uniq, keys: make([]map[string]bool, len(uniq)),
		props: map[string]string{columnsProperty: colsProp, indexesProperty: encodeIndexes(idx)}}
	for i := range ch.keys {
		ch.keys[i] = map[string]bool{}
	}
	return ch, nil
}

// add takes one row of the new schema: NOT NULL and unique keys are
// checked as the rows come.
func (ch *columnChange) add(row sql.Row) error {
	for j, c := range ch.sch.Schema {
		if row[j] == nil && !c.Nullable {
			return errInvalidNull()
		}
	}
	for i, u := range ch.uniq {
		k, ok := u.keyOf(row)
		if !ok {
			continue
		}
		if ch.keys[i][k] {
			return u.dupErr(row, nil)
		}
		ch.keys[i][k] = true
	}
	if ch.same {
		return nil
	}
	ch.pending = append(ch.pending, row)
	if len(ch.pending) >= rewriteChunk {
		return ch.flush()
	}
	return nil
}

// flush converts the pending rows to an Arrow batch.
func (ch *columnChange) flush() error {
	if len(ch.pending) == 0 {
		return nil
	}
	// The new contents are held until the commit: a table larger than the
	// memory limit fails with 1037 instead of exhausting memory.
	if err := checkMemory(); err != nil { // memory_limit.go
		return err
	}
	rec, err := rowsToRecord(memory.DefaultAllocator, ch.arrow, ch.pending)
	if err != nil {
		return err
	}
	ch.batches = append(ch.batches, rec)
	ch.pending = ch.pending[:0]
	return nil
}

// release drops what the change holds.
func (ch *columnChange) release() {
	releaseRecords(ch.batches)
	ch.batches, ch.pending = nil, nil
}

// rewriteInserter receives the rows of a rewrite from go-mysql-server.
type rewriteInserter struct {
	stage     *alterStage
	done      func(error) error // commits a stage of its own (see stageFor)
	ch        *columnChange
	discarded bool
	closed    bool
}

// StatementBegin implements sql.EditOpenerCloser.
func (w *rewriteInserter) StatementBegin(*sql.Context) {}

// DiscardChanges implements sql.EditOpenerCloser: nothing is committed.
func (w *rewriteInserter) DiscardChanges(*sql.Context, error) error {
	w.discarded = true
	return nil
}

// StatementComplete implements sql.EditOpenerCloser.
func (w *rewriteInserter) StatementComplete(*sql.Context) error { return nil }

// Insert implements sql.RowInserter.
func (w *rewriteInserter) Insert(_ *sql.Context, row sql.Row) error {
	if w.discarded {
		return errors.New("insert after the rewrite was discarded")
	}
	return w.ch.add(row)
}

// Close implements sql.Closer: unless discarded, the rows become the
// stage's.
func (w *rewriteInserter) Close(ctx *sql.Context) error {
	if w.closed {
		return nil
	}
	w.closed = true
	defer w.ch.release()
	if w.discarded {
		return w.done(errors.New("ALTER TABLE rewrite discarded"))
	}
	return w.done(w.stage.rewrite(w.ch))
}

// releaseRecords releases every batch of recs.
func releaseRecords(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// modifyNullErrors builds ALTER TABLE … MODIFY/CHANGE COLUMN as
// go-mysql-server does, answering a NULL met while making a column NOT
// NULL with MySQL's 1138 (ER_INVALID_USE_OF_NULL) instead of the 1048 of
// an INSERT.
type modifyNullErrors struct{}

// Build implements sql.NodeExecBuilder.
func (modifyNullErrors) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	if _, ok := n.(*plan.ModifyColumn); !ok {
		return nil, nil
	}
	iter, err := rowexec.DefaultBuilder.Build(ctx, n, row)
	if err != nil {
		return nil, invalidNull(err)
	}
	return &invalidNullIter{iter}, nil
}

// invalidNull turns go-mysql-server's NULL-into-NOT-NULL error into 1138.
func invalidNull(err error) error {
	if sql.ErrInsertIntoNonNullableProvidedNull.Is(err) {
		return errInvalidNull()
	}
	return err
}

type invalidNullIter struct{ sql.RowIter }

// Next implements sql.RowIter.
func (it *invalidNullIter) Next(ctx *sql.Context) (sql.Row, error) {
	r, err := it.RowIter.Next(ctx)
	return r, invalidNull(err)
}
