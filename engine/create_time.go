package engine

import (
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/information_schema"
	"github.com/dolthub/go-mysql-server/sql/types"
)

// Creation time.
//
// CREATE TABLE stores the time of creation (UTC, RFC 3339) in the table
// property createdProperty. go-mysql-server v0.20.0 fills
// information_schema.TABLES.CREATE_TIME of every table with the constant
// 2000-01-01 00:00:00 and has no table interface for it, so the TABLES
// table is wrapped (information_schema.NewTablesTable is its hook for
// that): the rows go-mysql-server builds are kept, with CREATE_TIME
// replaced by the stored time of each table that has one. Tables created
// before the property existed keep go-mysql-server's constant.

// createdProperty is the table property holding the creation time.
const createdProperty = "sql.created"

// tablesCreateTimeCol is the ordinal of CREATE_TIME in
// information_schema.TABLES.
const tablesCreateTimeCol = 14

// createTime returns the time the table was created, if it was stored.
func (t *table) createTime() (time.Time, bool) {
	tm, err := time.Parse(time.RFC3339Nano, t.st.Properties()[createdProperty])
	return tm, err == nil
}

func init() {
	newTables := information_schema.NewTablesTable
	information_schema.NewTablesTable = func() *information_schema.InformationSchemaTable {
		it := newTables()
		read := it.Reader
		it.Reader = func(ctx *sql.Context, cat sql.Catalog) (sql.RowIter, error) {
			iter, err := read(ctx, cat)
			if err != nil {
				return nil, err
			}
			rows, err := sql.RowIterToRows(ctx, iter)
			if err != nil {
				return nil, err
			}
			for _, r := range rows {
				if tm, ok := tableCreateTime(ctx, cat, r); ok {
					if v, _, err := types.Timestamp.Convert(ctx, tm.UTC()); err == nil {
						r[tablesCreateTimeCol] = v
					}
				}
			}
			return sql.RowsToRowIter(rows...), nil
		}
		return it
	}
}

// tableCreateTime returns the stored creation time of the table a row
// of information_schema.TABLES describes, if it is one of ours.
func tableCreateTime(ctx *sql.Context, cat sql.Catalog, r sql.Row) (time.Time, bool) {
	if len(r) <= tablesCreateTimeCol || r[3] != "BASE TABLE" {
		return time.Time{}, false
	}
	dbName, ok1 := r[1].(string)
	name, ok2 := r[2].(string)
	if !ok1 || !ok2 {
		return time.Time{}, false
	}
	db, err := cat.Database(ctx, dbName)
	if err != nil {
		return time.Time{}, false
	}
	tbl, ok, err := db.GetTableInsensitive(ctx, name)
	if err != nil || !ok {
		return time.Time{}, false
	}
	t, ok := tbl.(*table)
	if !ok {
		return time.Time{}, false
	}
	return t.createTime()
}
