package engine

import (
	"encoding/json"
	"fmt"
	"github.com/apache/arrow-go/v18/arrow"
	"math"
	"reflect"
	"slices"
	"strings"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// Indexes.
//
// Definitions. The primary key is part of the column definitions
// (columnsProperty). Secondary indexes, KEY / INDEX and UNIQUE, are kept
// as JSON in the table property indexesProperty. CREATE INDEX, DROP INDEX,
// ALTER TABLE … ADD/DROP/RENAME INDEX change it in their statement's one
// commit (alter_stage.go), atomic and durable like every other commit;
// CREATE TABLE writes the
// definitions into the properties the table is created with, so a table
// never exists without its indexes (indexDDL checks them first).
// go-mysql-server shows them in SHOW INDEX, SHOW CREATE TABLE, DESCRIBE
// and information_schema (STATISTICS, KEY_COLUMN_USAGE,
// TABLE_CONSTRAINTS) through GetIndexes, which lists the primary key as
// the index PRIMARY.
//
// Uniqueness. The primary key and every UNIQUE index are unique keys
// (uniqueKey in table.go): a transaction checks its inserts and updates
// against the key maps of its txTable, and COMMIT re-checks inserts
// against the rows and the unique keys current at commit (recheckKeys),
// so an index created while a transaction was open also holds for it.
// CREATE UNIQUE INDEX checks the rows the statement started from, and
// again, under the table's write lock as it commits, the rows written
// since. Keys compare as
// the primary key always did: strings case-insensitively and without
// trailing spaces, a prefix key part by its first characters; a row with
// a NULL in a unique key is not compared (as in MySQL). As for the
// primary key before, a transaction's first write to a table with unique
// keys builds its key maps over the table's rows (O(n) per transaction,
// freed when it ends).
//
// Lookups (index_lookup.go). go-mysql-server plans point and range
// lookups on an index (IndexedTableAccess) and calls LookupPartitions;
// it also serves ORDER BY on an index's columns, and MIN/MAX of the
// primary key, by reading a lookup in index order, so lookups return rows
// in that order. Over a committed snapshot a lookup binary-searches a
// sortedIndex: the snapshot's row numbers ordered by the index columns,
// built from the Arrow columns without copying keys, so it costs 4 bytes
// per row per index (a uint32 permutation) on top of the rows already in
// memory. It is built on the first lookup of an index after a restart or
// after an UPDATE, DELETE or TRUNCATE, in O(n log n); after appends it is
// extended by merging in the new rows (storage.Data.Extends). The
// provider keeps it for the table's current snapshot only (indexCache).
// Inside a transaction a lookup sees the transaction's view: while the
// transaction has not changed the table, its base snapshot through the
// index (a base that is no longer the current snapshot is scanned);
// once it has, the base through the index plus a filtered scan of the
// rows it inserted, or, after an UPDATE or DELETE, a filtered scan of all
// its rows, sorted by key. Candidate rows are checked against the lookup's
// ranges with go-mysql-server's own range filter wherever the binary
// search cannot be exact, and PreciseMatch is false so the planner keeps
// its filters too: an index makes a query faster, never changes its
// result.

// indexesProperty is the table property holding the secondary index
// definitions ([]indexMeta as JSON).
const indexesProperty = "sql.indexes"

// indexMeta is the persisted form of one secondary index.
type indexMeta struct {
	Name    string        `json:"name"`
	Columns []indexColumn `json:"columns"`
	Unique  bool          `json:"unique,omitempty"`
	Comment string        `json:"comment,omitempty"`
}

// indexColumn is one key part of an index.
type indexColumn struct {
	Name   string `json:"name"`
	Length int64  `json:"length,omitempty"` // prefix length in characters; 0 for the whole value
}

// encodeIndexes serialises index definitions into the property value.
func encodeIndexes(idx []indexMeta) string {
	if len(idx) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(idx) // plain structs of strings and numbers
	return string(b)
}

// decodeIndexes is the inverse of encodeIndexes; "" is no index. Column
// names are checked against sch.
func decodeIndexes(tableName string, sch sql.Schema, prop string) ([]indexMeta, error) {
	if prop == "" {
		return nil, nil
	}
	var idx []indexMeta
	if err := json.Unmarshal([]byte(prop), &idx); err != nil {
		return nil, fmt.Errorf("table %s: bad %s property: %w", tableName, indexesProperty, err)
	}
	for _, m := range idx {
		for _, c := range m.Columns {
			if sch.IndexOfColName(c.Name) < 0 {
				return nil, fmt.Errorf("table %s: index %s names unknown column %s", tableName, m.Name, c.Name)
			}
		}
	}
	return idx, nil
}

// findIndex returns the position of the index named name
// (case-insensitively) in idx, or -1.
func findIndex(idx []indexMeta, name string) int {
	return slices.IndexFunc(idx, func(m indexMeta) bool { return strings.EqualFold(m.Name, name) })
}

// MySQL errors of index statements.

func errNotSupported(what string) error {
	return mysql.NewSQLError(mysql.ERNotSupportedYet, "42000", "This version of MySQL doesn't yet support '%s'", what)
}

func errDupKeyName(name string) error {
	return mysql.NewSQLError(mysql.ERDupKeyName, "42000", "Duplicate key name '%s'", name)
}

func errCantDropKey(name string) error {
	return mysql.NewSQLError(mysql.ERCantDropFieldOrKey, "42000", "Can't DROP '%s'; check that column/key exists", name)
}

func errKeyNotFound(name, table string) error {
	return mysql.NewSQLError(mysql.ERKeyDoesNotExist, "42000", "Key '%s' doesn't exist in table '%s'", name, table)
}

func errWrongIndexName(name string) error {
	return mysql.NewSQLError(mysql.ERWrongNameForIndex, "42000", "Incorrect index name '%s'", name)
}

func errDupEntry(key, table, index string) error {
	return mysql.NewSQLError(mysql.ERDupEntry, "23000", "Duplicate entry '%s' for key '%s.%s'", key, table, index)
}

// unsupportedIndexKind rejects the index kinds anomalydb does not have.
func unsupportedIndexKind(c sql.IndexConstraint) error {
	switch c {
	case sql.IndexConstraint_Fulltext:
		return errNotSupported("FULLTEXT indexes")
	case sql.IndexConstraint_Spatial:
		return errNotSupported("SPATIAL indexes")
	case sql.IndexConstraint_Vector:
		return errNotSupported("VECTOR indexes")
	}
	return nil
}

// indexMetaOf checks a secondary index definition against the table
// schema, as MySQL does, and returns its persisted form (column names as
// in the schema). An empty name stays empty.
func indexMetaOf(sch sql.Schema, def *sql.IndexDef) (indexMeta, error) {
	if err := unsupportedIndexKind(def.Constraint); err != nil {
		return indexMeta{}, err
	}
	if strings.EqualFold(def.Name, "PRIMARY") {
		return indexMeta{}, errWrongIndexName(def.Name)
	}
	if len(def.Columns) == 0 {
		return indexMeta{}, mysql.NewSQLError(mysql.ERParseError, "42000", "an index needs at least one column")
	}
	m := indexMeta{Name: def.Name, Unique: def.IsUnique(), Comment: def.Comment}
	for _, c := range def.Columns {
		i := sch.IndexOfColName(c.Name)
		if i < 0 {
			return indexMeta{}, mysql.NewSQLError(mysql.ERKeyColumnDoesNotExist, "42000", "Key column '%s' doesn't exist in table", c.Name)
		}
		col := sch[i]
		if slices.ContainsFunc(m.Columns, func(ic indexColumn) bool { return ic.Name == col.Name }) {
			return indexMeta{}, mysql.NewSQLError(mysql.ERDupFieldName, "42S21", "Duplicate column name '%s'", col.Name)
		}
		if c.Length < 0 {
			return indexMeta{}, wrongSubKey()
		}
		if c.Length > 0 {
			st, isString := col.Type.(sql.StringType)
			if !isString || !types.IsText(col.Type) || (!types.IsTextBlob(col.Type) && c.Length > st.MaxCharacterLength()) {
				return indexMeta{}, wrongSubKey()
			}
		} else if types.IsTextBlob(col.Type) {
			return indexMeta{}, mysql.NewSQLError(mysql.ERBlobKeyWithoutLength, "42000", "BLOB/TEXT column '%s' used in key specification without a key length", col.Name)
		}
		m.Columns = append(m.Columns, indexColumn{Name: col.Name, Length: c.Length})
	}
	return m, nil
}

func wrongSubKey() error {
	return mysql.NewSQLError(mysql.ERWrongSubKey, "HY000", "Incorrect prefix key; the used key part isn't a string, the used length is longer than the key part, or the storage engine doesn't support unique prefix keys")
}

// nameIndexes gives each unnamed index the name MySQL and go-mysql-server
// give it (its first column, then _2, _3, … until unused) and rejects two
// indexes of one name. taken holds the names already used (lower case).
func nameIndexes(idx []indexMeta, taken map[string]bool) error {
	for _, m := range idx {
		if m.Name == "" {
			continue
		}
		if taken[strings.ToLower(m.Name)] {
			return errDupKeyName(m.Name)
		}
		taken[strings.ToLower(m.Name)] = true
	}
	for i := range idx {
		if idx[i].Name != "" {
			continue
		}
		name := idx[i].Columns[0].Name
		for n := 2; taken[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s_%d", idx[i].Columns[0].Name, n)
		}
		idx[i].Name = name
		taken[strings.ToLower(name)] = true
	}
	return nil
}

// index is a sql.Index of a table: the primary key (named PRIMARY) or a
// secondary index.
type index struct {
	t       *table
	name    string
	primary bool
	unique  bool
	cols    []int    // ordinals in the full schema
	prefix  []uint16 // nil unless a key part has a prefix length
	comment string
}

var _ sql.Index = (*index)(nil)

// sqlIndexes returns the table's indexes: the primary key first.
func (t *table) sqlIndexes() []*index {
	var out []*index
	if len(t.schema.PkOrdinals) > 0 {
		out = append(out, &index{t: t, name: "PRIMARY", primary: true, unique: true, cols: t.schema.PkOrdinals})
	}
	for _, m := range t.indexes {
		ix := &index{t: t, name: m.Name, unique: m.Unique, comment: m.Comment}
		for i, c := range m.Columns {
			ix.cols = append(ix.cols, t.schema.Schema.IndexOfColName(c.Name))
			if c.Length > 0 {
				if ix.prefix == nil {
					ix.prefix = make([]uint16, len(m.Columns))
				}
				ix.prefix[i] = uint16(min(c.Length, math.MaxUint16))
			}
		}
		out = append(out, ix)
	}
	return out
}

// ID implements sql.Index.
func (ix *index) ID() string { return ix.name }

// Database implements sql.Index.
func (ix *index) Database() string { return ix.t.db }

// Table implements sql.Index.
func (ix *index) Table() string { return ix.t.Name() }

// Expressions implements sql.Index: "table.column", as go-mysql-server
// matches them against the columns' Source and Name.
func (ix *index) Expressions() []string {
	out := make([]string, len(ix.cols))
	for i, o := range ix.cols {
		c := ix.t.schema.Schema[o]
		out[i] = c.Source + "." + c.Name
	}
	return out
}

// IsUnique implements sql.Index.
func (ix *index) IsUnique() bool { return ix.unique }

// IsSpatial implements sql.Index.
func (ix *index) IsSpatial() bool { return false }

// IsFullText implements sql.Index.
func (ix *index) IsFullText() bool { return false }

// IsVector implements sql.Index.
func (ix *index) IsVector() bool { return false }

// Comment implements sql.Index.
func (ix *index) Comment() string { return ix.comment }

// IndexType implements sql.Index: what InnoDB reports.
func (ix *index) IndexType() string { return "BTREE" }

// IsGenerated implements sql.Index.
func (ix *index) IsGenerated() bool { return false }

// ColumnExpressionTypes implements sql.Index.
func (ix *index) ColumnExpressionTypes() []sql.ColumnExpressionType {
	exprs := ix.Expressions()
	out := make([]sql.ColumnExpressionType, len(ix.cols))
	for i, o := range ix.cols {
		out[i] = sql.ColumnExpressionType{Expression: exprs[i], Type: ix.t.schema.Schema[o].Type}
	}
	return out
}

// CanSupport implements sql.Index: every range, except on an index with
// a prefix key part, which answers for prefixes only and is not used for
// lookups.
func (ix *index) CanSupport(*sql.Context, ...sql.Range) bool { return ix.prefix == nil }

// CanSupportOrderBy implements sql.Index.
func (ix *index) CanSupportOrderBy(sql.Expression) bool { return false }

// PrefixLengths implements sql.Index.
func (ix *index) PrefixLengths() []uint16 { return ix.prefix }

// keyExprs are the index columns as fields of a key row: column i of the
// index at position i.
func (ix *index) keyExprs() []sql.Expression {
	out := make([]sql.Expression, len(ix.cols))
	for i, o := range ix.cols {
		c := ix.t.schema.Schema[o]
		out[i] = expression.NewGetFieldWithTable(i, 0, c.Type, ix.t.db, ix.t.Name(), c.Name, c.Nullable)
	}
	return out
}

// indexChange is one clause of an index statement: create def, or drop
// name, or rename name to to.
type indexChange struct {
	create   *sql.IndexDef
	drop     string
	from, to string
}

// CreateIndex implements sql.IndexAlterableTable (CREATE INDEX, ALTER
// TABLE … ADD INDEX / ADD UNIQUE).
func (t *table) CreateIndex(ctx *sql.Context, def sql.IndexDef) error {
	return t.changeIndexes(ctx, []indexChange{{create: &def}})
}

// DropIndex implements sql.IndexAlterableTable (DROP INDEX, ALTER TABLE
// … DROP INDEX). The primary key cannot be dropped.
func (t *table) DropIndex(ctx *sql.Context, name string) error {
	return t.changeIndexes(ctx, []indexChange{{drop: name}})
}

// RenameIndex implements sql.IndexAlterableTable (ALTER TABLE … RENAME
// INDEX).
func (t *table) RenameIndex(ctx *sql.Context, from, to string) error {
	return t.changeIndexes(ctx, []indexChange{{from: from, to: to}})
}

// changeIndexes applies the clauses of one index statement, in order,
// to the statement's stage (alter_stage.go): all of them or, on the
// first error, none. A new UNIQUE index is checked against the stage's
// rows here, and again at the commit if rows were written since the
// statement began.
func (t *table) changeIndexes(ctx *sql.Context, changes []indexChange) error {
	for _, c := range changes {
		switch {
		case c.create != nil:
			if err := unsupportedIndexKind(c.create.Constraint); err != nil {
				return err
			}
		case c.drop != "":
			if strings.EqualFold(c.drop, "PRIMARY") {
				return errNotSupported("dropping the primary key")
			}
		case strings.EqualFold(c.from, "PRIMARY") || strings.EqualFold(c.to, "PRIMARY"):
			return errWrongIndexName("PRIMARY")
		}
	}
	stage, done, err := t.stageFor(ctx)
	if err != nil {
		return err
	}
	name := t.Name()
	idx := t.indexes
	now := slices.Clone(idx)
	for _, c := range changes {
		switch {
		case c.create != nil:
			m, err := indexMetaOf(t.schema.Schema, c.create)
			if err != nil {
				return done(err)
			}
			now = append(now, m)
			if err := nameIndexes(now, map[string]bool{"primary": true}); err != nil {
				return done(err)
			}
		case c.drop != "":
			i := findIndex(now, c.drop)
			if i < 0 {
				return done(errCantDropKey(c.drop))
			}
			now = slices.Delete(now, i, i+1)
		default:
			i := findIndex(now, c.from)
			if i < 0 {
				return done(errKeyNotFound(c.from, name))
			}
			if j := findIndex(now, c.to); j >= 0 && j != i {
				return done(errDupKeyName(c.to))
			}
			now[i].Name = c.to
		}
	}
	var added []indexMeta
	for _, m := range now {
		if m.Unique && !slices.ContainsFunc(idx, func(o indexMeta) bool { return reflect.DeepEqual(o, m) }) {
			added = append(added, m) // a new (or renamed) UNIQUE index
		}
	}
	if len(added) > 0 {
		d, err := t.snapshot()
		if err != nil {
			return done(err)
		}
		defer d.Release()
		for _, m := range added {
			if err := t.checkUnique(d, name, m); err != nil {
				return done(err)
			}
		}
	}
	stage.setIndexes(now)
	stage.newUnique = append(stage.newUnique, added...)
	stage.sync(t)
	return done(nil)
}

// checkUnique returns error 1062 if two rows of d, the contents of table
// name, share a key of the unique index m.
func (t *table) checkUnique(d *storage.Data, name string, m indexMeta) error {
	u := uniqueKeys(sql.PrimaryKeySchema{Schema: t.schema.Schema}, []indexMeta{m})[0]
	seen := make(map[string]struct{}, d.NumRows())
	row := make(sql.Row, len(t.schema.Schema))
	readers := make([]func(int) interface{}, len(u.cols))
	err := d.Scan(0, func(rec arrow.RecordBatch, _ int64) error {
		for j, o := range u.cols {
			readers[j] = valueReader(t.schema.Schema[o].Type, rec.Column(o))
		}
		for r := 0; r < int(rec.NumRows()); r++ {
			for j, rd := range readers {
				row[u.cols[j]] = rd(r)
			}
			k, ok := u.keyOf(row)
			if !ok {
				continue
			}
			if _, dup := seen[k]; dup {
				parts := make([]string, len(u.cols))
				for j, o := range u.cols {
					parts[j] = fmt.Sprint(row[o])
				}
				return errDupEntry(strings.Join(parts, "-"), name, m.Name)
			}
			seen[k] = struct{}{}
		}
		return nil
	})
	return segmentErr(err)
}

// indexDDL is the execution-builder override (see engine/server.go) for
// the statements about indexes that go-mysql-server would run
// non-atomically or unlike MySQL on our tables:
//
//   - CREATE TABLE with secondary indexes: go-mysql-server creates the
//     table and then each index, so a bad index definition would leave
//     the table behind. Here the definitions are checked first and the
//     table is created with them in one step. FOREIGN KEY and CHECK
//     constraints, which anomalydb cannot enforce, are refused (1235)
//     before anything is created.
//   - ALTER TABLE … DISABLE KEYS / ENABLE KEYS (in every mysqldump file):
//     accepted and ignored, with MySQL's note for InnoDB tables (1031).
//   - FULLTEXT, SPATIAL and VECTOR indexes and foreign keys: 1235
//     (go-mysql-server would answer 1105 with an integration message).
//   - EXPLAIN PLAN / EXPLAIN FORMAT=TREE: the plan is one row, as MySQL's
//     EXPLAIN FORMAT=TREE returns it. go-mysql-server returns a row per
//     line, which its server refuses (1105, "max1Row iterator returned
//     more than one row") for statements it knows return at most one
//     row: a point lookup on the primary key or a UNIQUE index, or an
//     aggregate without GROUP BY.
//
// Every other node is left to go-mysql-server (Build returns nil, nil).
type indexDDL struct{}

var _ sql.NodeExecBuilder = indexDDL{}

// Build implements sql.NodeExecBuilder.
func (indexDDL) Build(ctx *sql.Context, n sql.Node, _ sql.Row) (sql.RowIter, error) {
	switch n := n.(type) {
	case *plan.CreateTable:
		return createTableWithIndexes(ctx, n)
	case *plan.AlterIndex:
		switch n.Action {
		case plan.IndexAction_DisableEnableKeys:
			ctx.Session.Warn(&sql.Warning{
				Level:   "Note",
				Code:    1031, // ER_ILLEGAL_HA, as MySQL answers for InnoDB tables
				Message: fmt.Sprintf("Table storage engine for '%s' doesn't have this option", tableNodeName(n.Table)),
			})
			return okResult(), nil
		case plan.IndexAction_Create:
			if err := unsupportedIndexKind(n.Constraint); err != nil {
				return nil, err
			}
		}
	case *plan.DescribeQuery:
		if n.Format.Plan && !n.Format.Analyze {
			var lines []string
			for _, l := range strings.Split(sql.Describe(n.Child, n.Format), "\n") {
				if strings.TrimSpace(l) != "" {
					lines = append(lines, l)
				}
			}
			return sql.RowsToRowIter(sql.NewRow(strings.Join(lines, "\n"))), nil
		}
	case *plan.CreateForeignKey:
		return nil, errNotSupported("FOREIGN KEY constraints")
	case *plan.DropForeignKey:
		return nil, errCantDropKey(n.Name)
	}
	return nil, nil
}

// execOverrides tries each execution builder in turn; the first that
// builds the node (or fails) wins, and nil, nil leaves the node to
// go-mysql-server.
type execOverrides []sql.NodeExecBuilder

// Build implements sql.NodeExecBuilder.
func (o execOverrides) Build(ctx *sql.Context, n sql.Node, r sql.Row) (sql.RowIter, error) {
	clearViewScope(ctx) // planning is over (view_scope.go)
	for _, b := range o {
		if iter, err := b.Build(ctx, n, r); iter != nil || err != nil {
			return iter, err
		}
	}
	return nil, nil
}

func okResult() sql.RowIter { return sql.RowsToRowIter(sql.NewRow(types.NewOkResult(0))) }

// tableNodeName is the name of the table an ALTER TABLE node names.
func tableNodeName(n sql.Node) string {
	if nm, ok := n.(sql.Nameable); ok {
		return nm.Name()
	}
	return n.String()
}

// ourDatabase returns the anomalydb database behind db, if it is one.
func ourDatabase(db sql.Database) (*database, bool) {
	if p, ok := db.(mysql_db.PrivilegedDatabase); ok {
		db = p.Unwrap()
	}
	d, ok := db.(*database)
	return d, ok
}

// createTableWithIndexes runs CREATE TABLE on one of our databases when it
// declares secondary indexes, foreign keys or checks (see indexDDL); it
// returns nil, nil for every other CREATE TABLE.
func createTableWithIndexes(ctx *sql.Context, n *plan.CreateTable) (sql.RowIter, error) {
	db, ok := ourDatabase(n.Db)
	if !ok || n.Temporary() {
		return nil, nil
	}
	if len(n.ForeignKeys()) > 0 {
		return nil, errNotSupported("FOREIGN KEY constraints")
	}
	if len(n.Checks()) > 0 {
		return nil, errNotSupported("CHECK constraints")
	}
	var idx []indexMeta
	for _, def := range n.Indexes() {
		if def.IsPrimary() {
			continue
		}
		m, err := indexMetaOf(n.PkSchema().Schema, def)
		if err != nil {
			return nil, err
		}
		idx = append(idx, m)
	}
	if len(idx) == 0 {
		return nil, nil
	}
	if err := nameIndexes(idx, map[string]bool{"primary": true}); err != nil {
		return nil, err
	}
	// As go-mysql-server's CREATE TABLE: columns without a collation get
	// the database's.
	if n.Collation == sql.Collation_Unspecified {
		n.Collation = plan.GetDatabaseCollation(ctx, n.Db)
		for _, col := range n.PkSchema().Schema {
			if ct, ok := col.Type.(sql.TypeWithCollation); ok && ct.Collation() == sql.Collation_Unspecified {
				t, err := ct.WithNewCollation(n.Collation)
				if err != nil {
					return nil, err
				}
				col.Type = t
			}
		}
	}
	if err := n.ValidateDefaultPosition(); err != nil {
		return nil, err
	}
	if vdb, ok := n.Db.(sql.ViewDatabase); ok {
		if _, exists, err := vdb.GetViewDefinition(ctx, n.Name()); err != nil {
			return nil, err
		} else if exists {
			return nil, sql.ErrTableAlreadyExists.New(n.Name())
		}
	}
	err := db.createTable(n.Name(), n.PkSchema(), idx)
	if sql.ErrTableAlreadyExists.Is(err) && n.IfNotExists() {
		return okResult(), nil
	}
	if err != nil {
		return nil, err
	}
	return okResult(), nil
}
