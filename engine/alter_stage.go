package engine

// One ALTER TABLE statement, one commit.
//
// go-mysql-server runs an ALTER TABLE with several clauses as a
// plan.Block of one node per clause (two for ADD COLUMN … UNIQUE), and
// each node would commit on its own: a clause that fails (NULLs for a
// MODIFY … NOT NULL, duplicates for a new UNIQUE index, a taken name for
// RENAME TO) would leave the clauses before it committed. alterStatements
// runs every ALTER TABLE on one of our tables, one clause or several,
// against an alterStage instead: the nodes run as go-mysql-server builds
// them (its conversions, defaults and checks), but the table they look
// up (database.GetTableInsensitive) is the stage's view of the table,
// and what they change (RewriteInserter, ModifyColumn, the index and
// AUTO_INCREMENT methods; RENAME TO, see rename.go) changes the stage. Once
// the last clause has run, the stage is committed as one Iceberg commit
// (storage.Store.AlterTable): columns, rows, index definitions,
// AUTO_INCREMENT mark and name together, or, on any error, nothing.
//
// The stage holds the rows a rewrite produced in memory until the
// commit, so a statement with several rewrites needs the table's rows
// about twice over, as one rewrite does.

import (
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// alterStage is the uncommitted state of the table of one ALTER TABLE
// statement.
type alterStage struct {
	db    string // the database's name
	st    *storage.Table
	cache *indexCache   // the provider's sorted indexes, to forget the table's
	base  *storage.Data // the committed contents the statement started from (held)

	sch     sql.PrimaryKeySchema // the columns now
	cols    string               // sch encoded (columnsProperty)
	indexes []indexMeta
	arrow   *arrow.Schema // the Arrow schema of the rows now
	// sources maps each column now to its column in base, -1 for a new
	// one (storage.Alteration.Sources).
	sources   []int
	rewritten bool                // rows replaced base's rows
	rows      []arrow.RecordBatch // the rows now, when rewritten (owned)
	props     map[string]string   // properties to set at the commit
	newUnique []indexMeta         // UNIQUE indexes added: checked again at the commit when base changed
	counter   *autoIncCounter     // the AUTO_INCREMENT counter of the stage, once used
	newDB     string              // RENAME TO another database (rename.go), "" for none
	newName   string              // RENAME TO, "" for none
}

// stageKey is the context key of the stage of the running ALTER TABLE.
type stageKey struct{}

// stageOf returns the stage ctx's ALTER TABLE statement runs against, or
// nil.
func stageOf(ctx *sql.Context) *alterStage {
	if ctx == nil || ctx.Context == nil {
		return nil
	}
	s, _ := ctx.Value(stageKey{}).(*alterStage)
	return s
}

// newAlterStage starts a stage of t's current committed contents.
func newAlterStage(t *table) (*alterStage, error) {
	base, err := t.snapshot()
	if err != nil {
		return nil, err
	}
	s := &alterStage{
		db: t.db, st: t.st, cache: t.cache, base: base,
		sch: t.schema, cols: t.cols, indexes: t.indexes,
		arrow: base.Schema(), props: map[string]string{},
	}
	s.sources = make([]int, len(t.schema.Schema))
	for i := range s.sources {
		s.sources[i] = i
	}
	return s, nil
}

// release drops what the stage holds.
func (s *alterStage) release() {
	releaseRecords(s.rows)
	s.rows = nil
	if s.base != nil {
		s.base.Release()
		s.base = nil
	}
}

// table is the stage's view of the table, what the clauses see.
func (s *alterStage) table() *table {
	return &table{db: s.db, st: s.st, schema: s.sch, cols: s.cols, indexes: s.indexes, stage: s}
}

// data returns the rows now, which the caller must release.
func (s *alterStage) data() *storage.Data {
	if s.rewritten {
		recs := make([]arrow.RecordBatch, len(s.rows))
		for i, r := range s.rows {
			r.Retain()
			recs[i] = r
		}
		return storage.DetachedData(s.arrow, recs)
	}
	if s.arrow.Equal(s.base.Schema()) {
		s.base.Retain()
		return s.base
	}
	return s.base.Append(s.arrow, nil)
}

// sync makes t, a view of the stage that changed it, show the stage as
// it is now: go-mysql-server may use the same table for more than one
// change in a clause (CREATE UNIQUE INDEX creates the index, then
// rewrites the rows to check it; RENAME COLUMN first changes the
// defaults that name the column).
func (s *alterStage) sync(t *table) {
	t.schema, t.cols, t.indexes = s.sch, s.cols, s.indexes
}

// relabel returns recs under schema sc (the same columns, renamed), one
// new reference each.
func relabel(sc *arrow.Schema, recs []arrow.RecordBatch) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, len(recs))
	for i, r := range recs {
		out[i] = array.NewRecordBatch(sc, r.Columns(), r.NumRows())
	}
	return out
}

// setColumns makes sch the columns now, with its index definitions idx.
func (s *alterStage) setColumns(sch sql.PrimaryKeySchema, cols string, idx []indexMeta) {
	s.sch, s.cols = sch, cols
	s.props[columnsProperty] = cols
	s.setIndexes(idx)
}

// setIndexes makes idx the secondary indexes now.
func (s *alterStage) setIndexes(idx []indexMeta) {
	s.indexes = idx
	s.props[indexesProperty] = encodeIndexes(idx)
}

// rewrite makes the rows collected by ch the rows now. A rewrite into
// the same columns (go-mysql-server's check of a new UNIQUE index) has
// checked the rows and changes nothing.
func (s *alterStage) rewrite(ch *columnChange) error {
	if ch.same {
		return nil
	}
	if err := ch.flush(); err != nil {
		return err
	}
	sources := make([]int, len(ch.sources))
	for j, src := range ch.sources {
		sources[j] = -1
		if src >= 0 {
			sources[j] = s.sources[src]
		}
	}
	releaseRecords(s.rows)
	s.rows, ch.batches = ch.batches, nil
	s.rewritten, s.arrow, s.sources = true, ch.arrow, sources
	s.setColumns(ch.sch, ch.props[columnsProperty], ch.idx)
	return nil
}

// renameColumn makes column from the column col (a new name or a new
// default: the rows do not change).
func (s *alterStage) renameColumn(from int, col *sql.Column, cols string, idx []indexMeta) {
	sch := make(sql.Schema, len(s.sch.Schema))
	copy(sch, s.sch.Schema)
	sch[from] = col
	fields := s.arrow.Fields()
	fields[from].Name = col.Name
	s.arrow = arrow.NewSchema(fields, nil)
	if s.rewritten {
		rows := relabel(s.arrow, s.rows)
		releaseRecords(s.rows)
		s.rows = rows
	}
	s.setColumns(sql.NewPrimaryKeySchema(sch, s.sch.PkOrdinals...), cols, idx)
}

// changed reports whether the stage holds anything to commit.
func (s *alterStage) changed() bool {
	return s.rewritten || s.newName != "" || s.newDB != "" || len(s.props) > 0 || !s.arrow.Equal(s.base.Schema())
}

// commit commits the stage as one change of the table. It fails with
// 1213 if the table's rows or columns changed since the statement began
// and the stage rewrote the rows (they would be lost), or 1062 if rows
// inserted since break a new UNIQUE index.
func (s *alterStage) commit() error {
	if !s.changed() {
		return nil
	}
	name := s.st.Name()
	a := storage.Alteration{Rewrite: s.rewritten, NewName: s.newName, NewDB: s.newDB}
	if s.rewritten || !s.arrow.Equal(s.base.Schema()) {
		a.Schema, a.Sources = s.arrow, s.sources
	}
	a.Fn = func(cur *storage.Data) ([]arrow.RecordBatch, map[string]string, error) {
		if !sameContents(cur, s.base) {
			if s.rewritten || cur.Property(columnsProperty) != s.base.Property(columnsProperty) {
				return nil, nil, mysql.NewSQLError(mysql.ERLockDeadlock, mysql.SSLockDeadlock,
					"Deadlock found when trying to get lock; try restarting transaction (table %s changed during ALTER TABLE)", name)
			}
			// Rows were written since: the new UNIQUE indexes must
			// hold for them too.
			if len(s.newUnique) > 0 {
				now := cur.Append(s.arrow, nil)
				defer now.Release()
				for _, m := range s.newUnique {
					if err := s.table().checkUnique(now, name, m); err != nil {
						return nil, nil, err
					}
				}
			}
		}
		var rows []arrow.RecordBatch
		if s.rewritten {
			rows = make([]arrow.RecordBatch, len(s.rows))
			for i, r := range s.rows {
				r.Retain()
				rows[i] = r
			}
		}
		return rows, maps.Clone(s.props), nil
	}
	err := s.st.Store().AlterTable(s.db, name, a)
	switch {
	case errors.Is(err, storage.ErrTableNotFound):
		return sql.ErrTableNotFound.New(name)
	case errors.Is(err, storage.ErrTableExists):
		return sql.ErrTableAlreadyExists.New(cmp.Or(s.newName, name))
	case errors.Is(err, storage.ErrDatabaseNotFound):
		return sql.ErrDatabaseNotFound.New(s.newDB)
	case errors.Is(err, storage.ErrInvalidName):
		return errWrongTableName(s.newName)
	case err != nil:
		return err
	}
	s.cache.forget(s.st)
	autoIncs.forget(s.st)
	return nil
}

// stageFor returns the stage a change of t goes to: the statement's, or,
// for a change made outside alterStatements, a stage of its own that the
// caller commits with done.
func (t *table) stageFor(ctx *sql.Context) (s *alterStage, done func(error) error, err error) {
	if t.stage != nil {
		return t.stage, func(err error) error { return err }, nil
	}
	if err := commitForDDL(ctx); err != nil {
		return nil, nil, err
	}
	s, err = newAlterStage(t)
	if err != nil {
		return nil, nil, err
	}
	return s, func(err error) error {
		defer s.release()
		if err != nil {
			return err
		}
		return s.commit()
	}, nil
}

// alterStatements is the execution-builder override (see engine/server.go)
// that runs every ALTER TABLE of one of our tables against a stage and
// commits it once (see the top of this file).
type alterStatements struct {
	exec sql.NodeExecBuilder // the whole builder, to run the clauses
}

var _ sql.NodeExecBuilder = (*alterStatements)(nil)

// Build implements sql.NodeExecBuilder.
func (a *alterStatements) Build(ctx *sql.Context, n sql.Node, row sql.Row) (sql.RowIter, error) {
	if stageOf(ctx) != nil {
		return nil, nil // a clause of the running statement
	}
	db, name, ok := alterTarget(n)
	if !ok {
		return nil, nil
	}
	d, ok := ourDatabase(db)
	if !ok {
		return nil, nil
	}
	return a.run(ctx, d, name, n, row, nil)
}

// renameTarget is the RENAME TO clause of an ALTER TABLE (rename.go).
type renameTarget struct {
	db, name string
}

// run runs the clauses n (nil for none) of an ALTER TABLE of table name
// of d against a stage, with rename (nil for none) applied last, and
// commits it.
func (a *alterStatements) run(ctx *sql.Context, d *database, name string, n sql.Node, row sql.Row, rename *renameTarget) (sql.RowIter, error) {
	tbl, ok, err := d.GetTableInsensitive(ctx, name)
	if err != nil {
		return nil, err
	}
	t, isTable := tbl.(*table)
	if !ok || !isTable {
		if rename != nil {
			return nil, cmp.Or(damagedError(tbl), errNoSuchTable(d.name, name))
		}
		return nil, nil // go-mysql-server's error (or a damaged table's)
	}
	if err := implicitCommit(ctx); err != nil {
		return nil, err
	}
	s, err := newAlterStage(t)
	if err != nil {
		return nil, err
	}
	defer s.release()
	if rename != nil {
		s.newDB, s.newName = rename.db, rename.name
	}
	if n == nil {
		if err := s.commit(); err != nil {
			return nil, err
		}
		return okResult(), nil
	}
	orig := n
	if b, ok := n.(*plan.Block); ok {
		if n, err = fixTargetSchemas(b); err != nil {
			return nil, err
		}
	}
	sctx := ctx.WithContext(context.WithValue(ctx.Context, stageKey{}, s))
	iter, err := a.exec.Build(sctx, n, row)
	if err != nil {
		return nil, err
	}
	var rows []sql.Row // the statement's result, as go-mysql-server gives it
	for {
		r, err := iter.Next(sctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			_ = iter.Close(sctx)
			return nil, err
		}
		rows = append(rows, r)
	}
	if err := iter.Close(sctx); err != nil {
		return nil, err
	}
	if err := s.commit(); err != nil {
		return nil, err
	}
	if len(orig.Schema()) == 0 {
		// The result go-mysql-server expects is orig's: a block sets its
		// schema as it runs, and a copy of it (fixTargetSchemas) ran.
		rows = nil
	}
	return sql.RowsToRowIter(rows...), nil
}

// alterTarget returns the database and table of an ALTER TABLE's node or
// block of nodes, all about the same table.
func alterTarget(n sql.Node) (sql.Database, string, bool) {
	b, isBlock := n.(*plan.Block)
	if !isBlock {
		return alterClauseTarget(n)
	}
	var db sql.Database
	var name string
	for _, c := range b.Children() {
		cdb, cname, ok := alterClauseTarget(c)
		if !ok || db != nil && (!strings.EqualFold(cdb.Name(), db.Name()) || !strings.EqualFold(cname, name)) {
			return nil, "", false
		}
		db, name = cdb, cname
	}
	return db, name, db != nil
}

// alterClauseTarget returns the database and table of one ALTER TABLE
// clause's node. (RENAME TO never reaches go-mysql-server's plan: see
// rename.go.)
func alterClauseTarget(n sql.Node) (sql.Database, string, bool) {
	var tn sql.Node
	switch n := n.(type) {
	case *plan.AddColumn:
		tn = n.Table
	case *plan.DropColumn:
		tn = n.Table
	case *plan.ModifyColumn:
		tn = n.Table
	case *plan.RenameColumn:
		tn = n.Table
	case *plan.AlterIndex:
		tn = n.Table
	case *plan.AlterDefaultSet:
		tn = n.Table
	case *plan.AlterDefaultDrop:
		tn = n.Table
	case *plan.AlterAutoIncrement:
		tn = n.Table
	default:
		return nil, "", false
	}
	db := n.(sql.Databaser).Database()
	if db == nil || tn == nil {
		return nil, "", false
	}
	return db, tableNodeName(tn), true
}

// fixTargetSchemas sets the schema each clause of b starts from (its
// target schema) to the schema the clauses before it leave. The
// analyzer sets them too, but places a column added FIRST, or moved by
// MODIFY/CHANGE … FIRST or AFTER, where it was or at the end (as of
// go-mysql-server v0.20.0): a later clause that rewrites the rows would
// then read them in the wrong order. The clauses were checked by the
// analyzer; only the order is recomputed, as go-mysql-server's rewrites
// order the columns.
func fixTargetSchemas(b *plan.Block) (sql.Node, error) {
	children := b.Children()
	moves := false
	for _, c := range children[:max(len(children)-1, 0)] {
		switch c := c.(type) {
		case *plan.AddColumn:
			moves = moves || c.Order() != nil && c.Order().First
		case *plan.ModifyColumn:
			moves = moves || c.Order() != nil
		}
	}
	if !moves {
		return b, nil
	}
	var sch sql.Schema
	out := make([]sql.Node, len(children))
	for i, c := range children {
		out[i] = c
		st, ok := c.(sql.SchemaTarget)
		if !ok {
			continue
		}
		if sch == nil {
			sch = st.TargetSchema().Copy()
		} else {
			n, err := st.WithTargetSchema(sch.Copy())
			if err != nil {
				return nil, err
			}
			out[i] = n
		}
		sch = schemaAfter(sch, c)
	}
	return b.WithChildren(out...)
}

// schemaAfter returns the schema clause c leaves of sch.
func schemaAfter(sch sql.Schema, c sql.Node) sql.Schema {
	insert := func(sch sql.Schema, col *sql.Column, order *sql.ColumnOrder, at int) sql.Schema {
		switch {
		case order != nil && order.First:
			at = 0
		case order != nil && order.AfterColumn != "":
			at = sch.IndexOfColName(order.AfterColumn) + 1
		}
		return slices.Insert(slices.Clone(sch), at, col)
	}
	switch c := c.(type) {
	case *plan.AddColumn:
		return insert(sch, c.Column().Copy(), c.Order(), len(sch))
	case *plan.ModifyColumn:
		i := sch.IndexOfColName(c.Column())
		if i < 0 {
			return sch
		}
		col := c.NewColumn().Copy()
		col.PrimaryKey = col.PrimaryKey || sch[i].PrimaryKey
		return insert(slices.Delete(slices.Clone(sch), i, i+1), col, c.Order(), i)
	case *plan.DropColumn:
		if i := sch.IndexOfColName(c.Column); i >= 0 {
			return slices.Delete(slices.Clone(sch), i, i+1)
		}
	case *plan.RenameColumn:
		if i := sch.IndexOfColName(c.ColumnName); i >= 0 {
			sch = slices.Clone(sch)
			col := sch[i].Copy()
			col.Name = c.NewColumnName
			sch[i] = col
		}
	case *plan.AlterDefaultSet:
		if i := sch.IndexOfColName(c.ColumnName); i >= 0 {
			sch = slices.Clone(sch)
			col := sch[i].Copy()
			col.Default = c.Default
			sch[i] = col
		}
	case *plan.AlterDefaultDrop:
		if i := sch.IndexOfColName(c.ColumnName); i >= 0 {
			sch = slices.Clone(sch)
			col := sch[i].Copy()
			col.Default = nil
			sch[i] = col
		}
	}
	return sch
}
