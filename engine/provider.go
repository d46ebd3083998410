package engine

import (
	"errors"
	"strings"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/storage"
)

// provider is the sql.DatabaseProvider over the Iceberg store: every
// namespace of the store is a database.
type provider struct {
	store   *storage.Store
	svc     *detectorService
	indexes indexCache // sorted indexes of the tables' current snapshots (index_lookup.go)
}

var _ sql.CollatedDatabaseProvider = (*provider)(nil)

func hasDatabase(store *storage.Store, name string) bool {
	return canonicalDatabase(store, name) != ""
}

// canonicalDatabase returns the stored spelling of a database name, or ""
// when there is none.
func canonicalDatabase(store *storage.Store, name string) string {
	for _, db := range store.Databases() {
		if strings.EqualFold(db, name) {
			return db
		}
	}
	return ""
}

// Database implements sql.DatabaseProvider.
func (p *provider) Database(ctx *sql.Context, name string) (sql.Database, error) {
	clearViewScope(ctx) // the question a view's binding asked (view_scope.go)
	db := canonicalDatabase(p.store, name)
	if db == "" {
		return nil, sql.ErrDatabaseNotFound.New(name)
	}
	return &database{p: p, name: db}, nil
}

// HasDatabase implements sql.DatabaseProvider.
func (p *provider) HasDatabase(_ *sql.Context, name string) bool {
	return hasDatabase(p.store, name)
}

// AllDatabases implements sql.DatabaseProvider.
func (p *provider) AllDatabases(*sql.Context) []sql.Database {
	var out []sql.Database
	for _, db := range p.store.Databases() {
		out = append(out, &database{p: p, name: db})
	}
	return out
}

// CreateDatabase implements sql.MutableDatabaseProvider.
func (p *provider) CreateDatabase(_ *sql.Context, name string) error {
	if hasDatabase(p.store, name) || strings.EqualFold(name, "information_schema") || strings.EqualFold(name, "mysql") {
		return sql.ErrDatabaseExists.New(name)
	}
	if err := p.store.CreateDatabase(name); err != nil {
		if errors.Is(err, storage.ErrDatabaseExists) {
			return sql.ErrDatabaseExists.New(name)
		}
		if errors.Is(err, storage.ErrInvalidName) {
			return mysql.NewSQLError(1102, "42000", "Incorrect database name '%s' (%v)", name, err)
		}
		return err
	}
	return nil
}

// CreateCollatedDatabase implements sql.CollatedDatabaseProvider; tables
// use the default collation whatever is asked.
func (p *provider) CreateCollatedDatabase(ctx *sql.Context, name string, _ sql.CollationID) error {
	return p.CreateDatabase(ctx, name)
}

// DropDatabase implements sql.MutableDatabaseProvider.
func (p *provider) DropDatabase(_ *sql.Context, name string) error {
	db := canonicalDatabase(p.store, name)
	if db == "" {
		return sql.ErrDatabaseNotFound.New(name)
	}
	defer p.forgetTables(p.tablesOf(db))
	if err := p.store.DropDatabase(db); err != nil {
		return err
	}
	p.svc.dropDatabase(db)
	return nil
}

// tablesOf returns the tables of database db.
func (p *provider) tablesOf(db string) []*storage.Table {
	var out []*storage.Table
	names, _ := p.store.Tables(db)
	for _, n := range names {
		if t, err := p.store.Table(db, n); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// forgetTables drops the cached lookup structures of tables.
func (p *provider) forgetTables(tables []*storage.Table) {
	for _, t := range tables {
		p.indexes.forget(t)
		autoIncs.forget(t)
	}
}

// database is one namespace of the store.
type database struct {
	p    *provider
	name string
}

var (
	_ sql.Database     = (*database)(nil)
	_ sql.TableCreator = (*database)(nil)
	_ sql.TableDropper = (*database)(nil)
	_ sql.TableRenamer = (*database)(nil)
)

// Name implements sql.Nameable.
func (d *database) Name() string { return d.name }

// GetTableInsensitive implements sql.Database.
func (d *database) GetTableInsensitive(ctx *sql.Context, name string) (sql.Table, bool, error) {
	t, err := d.p.store.Table(d.name, name)
	if errors.Is(err, storage.ErrTableNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	if s := stageOf(ctx); s != nil && s.st == t {
		return s.table(), true, nil // a clause of a running ALTER TABLE (alter_stage.go)
	}
	if t.Damage() != nil {
		return newDamagedTable(d.name, t), true, nil
	}
	tbl, err := newTable(d.name, t, &d.p.indexes)
	if err != nil {
		return nil, false, err
	}
	return tbl, true, nil
}

// GetTableNames implements sql.Database.
func (d *database) GetTableNames(*sql.Context) ([]string, error) {
	return d.p.store.Tables(d.name)
}

// CreateTable implements sql.TableCreator.
func (d *database) CreateTable(_ *sql.Context, name string, schema sql.PrimaryKeySchema, _ sql.CollationID, _ string) error {
	return d.createTable(name, schema, nil)
}

// createTable creates a table with its secondary indexes (already checked,
// see indexMetaOf) in one step: the index definitions are among the
// properties the Iceberg table is created with.
func (d *database) createTable(name string, schema sql.PrimaryKeySchema, idx []indexMeta) error {
	for _, c := range schema.Schema {
		if c.AutoIncrement && !types.IsInteger(c.Type) {
			return errAutoIncType(c.Name)
		}
	}
	as, err := arrowSchema(schema.Schema)
	if err != nil {
		return err
	}
	prop, err := encodeSchema(schema.Schema, schema.PkOrdinals...)
	if err != nil {
		return err
	}
	props := map[string]string{columnsProperty: prop, createdProperty: time.Now().UTC().Format(time.RFC3339Nano)}
	if len(idx) > 0 {
		props[indexesProperty] = encodeIndexes(idx)
	}
	_, err = d.p.store.CreateTable(d.name, name, as, props)
	if errors.Is(err, storage.ErrTableExists) {
		return sql.ErrTableAlreadyExists.New(name)
	}
	if errors.Is(err, storage.ErrInvalidName) {
		return errWrongTableName(name)
	}
	return err
}

// DropTable implements sql.TableDropper.
func (d *database) DropTable(ctx *sql.Context, name string) error {
	// DDL: commit the open transaction first, as MySQL does, so that its
	// writes (to this or other tables) are neither lost nor committed into
	// a dropped table.
	if tx := txOf(ctx); tx != nil {
		if err := tx.commit(); err != nil {
			return err
		}
	}
	if t, err := d.p.store.Table(d.name, name); err == nil {
		defer d.p.indexes.forget(t)
		defer autoIncs.forget(t)
	}
	err := d.p.store.DropTable(d.name, name)
	if errors.Is(err, storage.ErrTableNotFound) {
		return sql.ErrTableNotFound.New(name)
	}
	return err
}

// RenameTable implements sql.TableRenamer: one metadata commit of the
// table; its rows, indexes and AUTO_INCREMENT counter go with it. It
// commits the open transaction first, as MySQL does for DDL. (The parser
// hands RENAME TABLE and ALTER TABLE … RENAME to rename.go, which keeps
// their qualified names; go-mysql-server's plan would call this.)
func (d *database) RenameTable(ctx *sql.Context, oldName, newName string) error {
	if err := commitForDDL(ctx); err != nil {
		return err
	}
	if t, err := d.p.store.Table(d.name, oldName); err == nil {
		defer d.p.indexes.forget(t)
		defer autoIncs.forget(t)
	}
	err := d.p.store.RenameTable(d.name, oldName, newName)
	switch {
	case errors.Is(err, storage.ErrTableNotFound):
		return sql.ErrTableNotFound.New(oldName)
	case errors.Is(err, storage.ErrTableExists):
		return sql.ErrTableAlreadyExists.New(newName)
	case errors.Is(err, storage.ErrInvalidName):
		return errWrongTableName(newName)
	}
	return err
}

// errWrongTableName is MySQL's ER_WRONG_TABLE_NAME.
func errWrongTableName(name string) error {
	return mysql.NewSQLError(1103, "42000", "Incorrect table name '%s'", name)
}

// errAutoIncType is MySQL's ER_WRONG_FIELD_SPEC for an AUTO_INCREMENT
// column that is not an integer (MySQL allows FLOAT and DOUBLE, deprecated;
// anomalydb does not).
func errAutoIncType(col string) error {
	return mysql.NewSQLError(mysql.ERWrongFieldSpec, "42000", "Incorrect column specifier for column '%s'", col)
}
