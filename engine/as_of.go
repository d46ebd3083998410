package engine

// Time travel: SELECT … FROM t AS OF <snapshot id | time>.
//
// go-mysql-server parses AS OF after a table name and asks a
// sql.VersionedDatabase for the table "as of" the value, which arrives
// as a string (a number literal too) or a time.Time (TIMESTAMP '…',
// NOW()). The answer is an asOfTable: a read-only table over one old
// Iceberg snapshot, read from its Parquet data files
// (storage.SnapshotView), never from the current contents, their
// transaction state or their indexes (it offers none).

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	ast "github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/anomalydb/anomalydb/storage"
)

var _ sql.VersionedDatabase = (*database)(nil)

// GetTableInsensitiveAsOf implements sql.VersionedDatabase: the table
// named name as of asOf, a snapshot id (a string of digits, or a number
// literal, which the parser passes as one) or a time (a string MySQL
// reads as a DATETIME, or a TIMESTAMP/DATETIME value) in the session
// time zone, meaning the last snapshot committed at or before it. An
// unknown or expired snapshot, and a time before the first snapshot,
// are ER_WRONG_ARGUMENTS (1210); a value that is neither is
// ER_WRONG_VALUE (1525).
func (d *database) GetTableInsensitiveAsOf(ctx *sql.Context, name string, asOf interface{}) (sql.Table, bool, error) {
	st, err := d.p.store.Table(d.name, name)
	if errors.Is(err, storage.ErrTableNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if st.Damage() != nil {
		return nil, false, newDamagedTable(d.name, st).err()
	}
	view, err := resolveAsOf(ctx, st, asOf)
	if err != nil {
		return nil, false, err
	}
	tbl, err := newAsOfTable(d.name, st, view)
	if err != nil {
		return nil, false, err
	}
	return tbl, true, nil
}

// GetTableNamesAsOf implements sql.VersionedDatabase: the current table
// names (tables are versioned one by one, not the database).
func (d *database) GetTableNamesAsOf(ctx *sql.Context, _ interface{}) ([]string, error) {
	return d.GetTableNames(ctx)
}

// resolveAsOf resolves the AS OF value asOf to a snapshot of st.
func resolveAsOf(ctx *sql.Context, st *storage.Table, asOf interface{}) (*storage.SnapshotView, error) {
	var view *storage.SnapshotView
	var err error
	switch v := asOf.(type) {
	case string:
		s := strings.TrimSpace(v)
		if s != "" && strings.Trim(s, "0123456789") == "" {
			id, perr := strconv.ParseInt(s, 10, 64)
			if perr != nil {
				return nil, errAsOfValue(v)
			}
			view, err = st.SnapshotByID(id)
			break
		}
		tm, _, cerr := types.DatetimeMaxPrecision.Convert(ctx, s)
		if cerr != nil || tm == nil {
			return nil, errAsOfValue(v)
		}
		at, zerr := sessionInstant(ctx, tm.(time.Time))
		if zerr != nil {
			return nil, zerr
		}
		view, err = st.SnapshotAsOf(at)
	case time.Time:
		at, zerr := sessionInstant(ctx, v)
		if zerr != nil {
			return nil, zerr
		}
		view, err = st.SnapshotAsOf(at)
	default:
		return nil, errAsOfValue(fmt.Sprint(asOf))
	}
	if err != nil {
		return nil, asOfError(err)
	}
	return view, nil
}

// errAsOfValue is ER_WRONG_VALUE for an AS OF value that is neither a
// snapshot id nor a date and time.
func errAsOfValue(v string) error {
	return mysql.NewSQLError(mysql.ERWrongValue, stateGeneral,
		"Incorrect AS OF value: '%s' (a snapshot id, see SHOW SNAPSHOTS, or a date and time)", v)
}

// asOfError turns the store's errors for a snapshot it does not keep into
// ER_WRONG_ARGUMENTS; other errors pass unchanged.
func asOfError(err error) error {
	for _, sentinel := range []error{storage.ErrSnapshotNotFound, storage.ErrSnapshotExpired, storage.ErrNoSnapshotAsOf} {
		if errors.Is(err, sentinel) {
			return errWrongArguments("AS OF: %s", strings.TrimPrefix(err.Error(), sentinel.Error()+": "))
		}
	}
	return err
}

// sessionLocation is the session's time zone (@@time_zone): SYSTEM is
// the server's local zone, "+hh:mm" a fixed offset, anything else a
// named zone.
func sessionLocation(ctx *sql.Context) (*time.Location, error) {
	v, err := ctx.GetSessionVariable(ctx, "time_zone")
	if err != nil {
		return nil, err
	}
	s, _ := v.(string)
	if s == "" || strings.EqualFold(s, "SYSTEM") {
		return time.Local, nil
	}
	if s[0] == '+' || s[0] == '-' {
		h, m, ok := strings.Cut(s[1:], ":")
		hh, err1 := strconv.Atoi(h)
		mm, err2 := strconv.Atoi(m)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("invalid time zone %q", s)
		}
		off := hh*3600 + mm*60
		if s[0] == '-' {
			off = -off
		}
		return time.FixedZone(s, off), nil
	}
	return time.LoadLocation(s)
}

// sessionInstant reads the wall-clock time of tm (go-mysql-server's
// DATETIME values carry it in UTC) in the session time zone, as MySQL
// reads a DATETIME compared with a TIMESTAMP.
func sessionInstant(ctx *sql.Context, tm time.Time) (time.Time, error) {
	loc, err := sessionLocation(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), tm.Nanosecond(), loc), nil
}

// sessionWallClock is the inverse of sessionInstant: instant t as the
// session's wall-clock time, the DATETIME value MySQL shows for a
// TIMESTAMP.
func sessionWallClock(ctx *sql.Context, t time.Time) (time.Time, error) {
	loc, err := sessionLocation(ctx)
	if err != nil {
		return time.Time{}, err
	}
	w := t.In(loc)
	return time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), time.UTC), nil
}

// asOfTable is one old snapshot of a stored table, read-only. Its
// columns are the ones the snapshot was committed with: a column that
// has not changed since has its current SQL type (and its name as of
// the snapshot); any other has the SQL type of its storage type (INT,
// BIGINT, FLOAT, DOUBLE, DECIMAL, LONGTEXT, DATE, DATETIME(6)). It has
// the table's primary key when all its columns are of the first kind,
// and no indexes: lookups scan the snapshot. Writes fail (see Updater).
//
// The snapshot's rows are read from its data files on the first scan
// and kept for the statement (all scans of one table reference, and its
// projected copies, share them). The reference the table keeps is never
// released: the store allocates from Go's allocator, whose buffers the
// garbage collector reclaims with the table.
type asOfTable struct {
	db     string
	st     *storage.Table
	view   *storage.SnapshotView
	schema sql.Schema
	pk     sql.PrimaryKeySchema
	rows   *snapshotRows
}

// snapshotRows is the lazily read contents of one snapshot.
type snapshotRows struct {
	once sync.Once
	d    *storage.Data
	err  error
}

var (
	_ sql.Table           = (*asOfTable)(nil)
	_ sql.TemporaryTable  = (*asOfTable)(nil)
	_ sql.PrimaryKeyTable = (*asOfTable)(nil)
	_ scanSource          = (*asOfTable)(nil)
)

// newAsOfTable is the table of database db over snapshot view of st.
func newAsOfTable(db string, st *storage.Table, view *storage.SnapshotView) (*asOfTable, error) {
	pk, err := asOfSchema(st.Name(), db, view)
	if err != nil {
		return nil, err
	}
	return &asOfTable{db: db, st: st, view: view, schema: pk.Schema, pk: pk, rows: &snapshotRows{}}, nil
}

// asOfSchema is the SQL schema of the snapshot of view (see asOfTable).
func asOfSchema(tableName, db string, view *storage.SnapshotView) (sql.PrimaryKeySchema, error) {
	cur, curErr := decodeSchema(tableName, view.Properties()[columnsProperty])
	as := view.Schema()
	out := make(sql.Schema, as.NumFields())
	at := map[int]int{} // current column → snapshot column
	for i, f := range as.Fields() {
		c := &sql.Column{Name: f.Name, Nullable: f.Nullable, Source: tableName, DatabaseSource: db}
		if j := view.Sources()[i]; j >= 0 && curErr == nil && j < len(cur.Schema) {
			c.Type, c.Comment = cur.Schema[j].Type, cur.Schema[j].Comment
			at[j] = i
		} else {
			typ, err := storedSQLType(f.Type)
			if err != nil {
				return sql.PrimaryKeySchema{}, err
			}
			c.Type = typ
		}
		out[i] = c
	}
	var pk []int
	if curErr == nil {
		for _, j := range cur.PkOrdinals {
			i, ok := at[j]
			if !ok {
				pk = nil
				break
			}
			pk = append(pk, i)
		}
	}
	for _, i := range pk {
		out[i].PrimaryKey = true
	}
	return sql.NewPrimaryKeySchema(out, pk...), nil
}

// storedSQLType is the SQL type that holds every value of the storage
// type dt (see arrowType for the other direction).
func storedSQLType(dt arrow.DataType) (sql.Type, error) {
	switch t := dt.(type) {
	case *arrow.Int32Type:
		return types.Int32, nil
	case *arrow.Int64Type:
		return types.Int64, nil
	case *arrow.Float32Type:
		return types.Float32, nil
	case *arrow.Float64Type:
		return types.Float64, nil
	case *arrow.Decimal128Type:
		return types.CreateDecimalType(uint8(t.Precision), uint8(t.Scale))
	case *arrow.StringType, *arrow.LargeStringType:
		return types.LongText, nil
	case *arrow.Date32Type:
		return types.Date, nil
	case *arrow.TimestampType:
		return types.CreateDatetimeType(sqltypes.Datetime, 6)
	}
	return nil, ErrUnsupportedType.New(dt.String())
}

// Name implements sql.Nameable.
func (t *asOfTable) Name() string { return t.st.Name() }

// String implements fmt.Stringer.
func (t *asOfTable) String() string { return fmt.Sprintf("%s AS OF %d", t.st.Name(), t.view.ID) }

// Schema implements sql.Table.
func (t *asOfTable) Schema() sql.Schema { return t.schema }

// PrimaryKeySchema implements sql.PrimaryKeyTable.
func (t *asOfTable) PrimaryKeySchema() sql.PrimaryKeySchema { return t.pk }

// Collation implements sql.Table.
func (t *asOfTable) Collation() sql.CollationID { return sql.Collation_Default }

// IsTemporary implements sql.TemporaryTable (go-mysql-server's check of
// READ ONLY transactions needs it).
func (t *asOfTable) IsTemporary() bool { return false }

// snapshot returns the snapshot's rows, read on first use; the caller
// owns one reference.
func (t *asOfTable) snapshot() (*storage.Data, error) {
	r := t.rows
	r.once.Do(func() {
		r.d, r.err = t.view.Read()
		if r.err != nil {
			r.err = asOfError(r.err)
		}
	})
	if r.err != nil {
		return nil, r.err
	}
	r.d.Retain()
	return r.d, nil
}

// Partitions implements sql.Table: one partition per batch of the
// snapshot, held until the iterator is closed.
func (t *asOfTable) Partitions(ctx *sql.Context) (sql.PartitionIter, error) {
	snap, err := t.snapshot()
	if err != nil {
		return nil, err
	}
	noteRead(ctx, t, snap)
	return snapshotPartitionsOf(snap), nil
}

// PartitionRows implements sql.Table.
func (t *asOfTable) PartitionRows(_ *sql.Context, p sql.Partition) (sql.RowIter, error) {
	bp, ok := p.(*batchPartition)
	if !ok {
		return nil, fmt.Errorf("unexpected partition %T", p)
	}
	rec, err := bp.batch()
	if err != nil {
		return nil, err
	}
	return newBatchRowIter(t.schema, t.columns(), rec), nil
}

// fullSchema implements scanSource.
func (t *asOfTable) fullSchema() sql.Schema { return t.schema }

// columns implements scanSource: every column.
func (t *asOfTable) columns() []int {
	cols := make([]int, len(t.schema))
	for i := range cols {
		cols[i] = i
	}
	return cols
}

// qualifiedName implements scanSource.
func (t *asOfTable) qualifiedName() string { return qualify(t.db, t.st.Name()) }

// An AS OF table can be named as the target of UPDATE and of a
// multi-table DELETE; every such statement fails with ER_OPEN_AS_READONLY
// (1036), also when it matches no row, and changes nothing.
var (
	_ sql.UpdatableTable = (*asOfTable)(nil)
	_ sql.DeletableTable = (*asOfTable)(nil)
)

// Updater implements sql.UpdatableTable: it refuses every change.
func (t *asOfTable) Updater(*sql.Context) sql.RowUpdater { return readOnlyEditor{t.String()} }

// Deleter implements sql.DeletableTable: it refuses every change.
func (t *asOfTable) Deleter(*sql.Context) sql.RowDeleter { return readOnlyEditor{t.String()} }

// readOnlyEditor is the editor of a read-only table: every row and the
// statement's completion fail with ER_OPEN_AS_READONLY.
type readOnlyEditor struct{ name string }

// codeReadOnlyTable is MySQL's ER_OPEN_AS_READONLY.
const codeReadOnlyTable = 1036

// errReadOnlyTable is MySQL's ER_OPEN_AS_READONLY.
func errReadOnlyTable(name string) error {
	return mysql.NewSQLError(codeReadOnlyTable, stateGeneral, "Table '%s' is read only", name)
}

// StatementBegin implements sql.EditOpenerCloser.
func (readOnlyEditor) StatementBegin(*sql.Context) {}

// DiscardChanges implements sql.EditOpenerCloser: there are none.
func (readOnlyEditor) DiscardChanges(*sql.Context, error) error { return nil }

// StatementComplete implements sql.EditOpenerCloser: the statement
// fails, whether or not it matched rows.
func (e readOnlyEditor) StatementComplete(*sql.Context) error { return errReadOnlyTable(e.name) }

// Update implements sql.RowUpdater.
func (e readOnlyEditor) Update(*sql.Context, sql.Row, sql.Row) error { return errReadOnlyTable(e.name) }

// Delete implements sql.RowDeleter.
func (e readOnlyEditor) Delete(*sql.Context, sql.Row) error { return errReadOnlyTable(e.name) }

// Close implements sql.Closer.
func (readOnlyEditor) Close(*sql.Context) error { return nil }

// orAsOfPlaceholder returns err, or, for a statement that parsed, the
// error for a ? placeholder as an AS OF value: go-mysql-server v0.20.0
// cannot prepare it (it panics), so it is refused when parsed with
// ER_NOT_SUPPORTED_YET (1235). The value must be written in the
// statement.
func orAsOfPlaceholder(stmt ast.Statement, err error) error {
	if err != nil || stmt == nil {
		return err
	}
	found := false
	_ = ast.Walk(func(node ast.SQLNode) (bool, error) {
		if t, ok := node.(*ast.AliasedTableExpr); ok && t.AsOf != nil {
			if v, ok := t.AsOf.Time.(*ast.SQLVal); ok && v.Type == ast.ValArg {
				found = true
				return false, nil
			}
		}
		return !found, nil
	}, stmt)
	if found {
		return errNotSupported("a ? placeholder as the AS OF value (write the snapshot id or time in the statement)")
	}
	return nil
}
