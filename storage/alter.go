package storage

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// ChangeColumns changes the table's columns (ALTER TABLE … ADD, DROP,
// MODIFY, CHANGE or RENAME COLUMN) and, in the same Iceberg commit,
// replaces the table's whole contents and sets some properties: after a
// crash at any moment the table has either the old columns, rows and
// properties or the new ones.
//
// schema is the new declared schema. sources has one entry per field of
// schema: the position in the current schema of the column that field
// continues, or -1 for a new column, which must not take the name of a
// current column. A continued column keeps its Iceberg field ID: other
// Iceberg readers see it renamed, retyped or made (not) required, not
// dropped and added. Current columns no field continues are dropped.
//
// fn runs under the table's write lock with the current contents and
// returns the new contents, whose batches must match schema, and the
// properties to set; it has the contract of Rewrite's fn. No other write
// to the table can happen between fn's read and the commit. If fn returns
// an error nothing is written and that error is returned unchanged.
// ChangeColumns takes ownership of the batches fn returns.
//
// Writes prepared against the old schema (batches of Append, AppendIf,
// Overwrite or CommitTables) fail with ErrSchemaMismatch once the change
// is committed.
func (t *Table) ChangeColumns(schema *arrow.Schema, sources []int, fn func(cur *Data) ([]arrow.RecordBatch, map[string]string, error)) error {
	isc, enc, err := toIcebergSchema(schema)
	if err != nil {
		return err
	}
	if len(sources) != schema.NumFields() {
		return fmt.Errorf("storage: ChangeColumns: %d sources for %d columns", len(sources), schema.NumFields())
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	cur := t.ice.Schema()
	seen := map[int]bool{}
	for i, s := range sources {
		if s < -1 || s >= cur.NumFields() || (s >= 0 && seen[s]) {
			return fmt.Errorf("storage: ChangeColumns: bad source %d for column %q", s, schema.Field(i).Name)
		}
		seen[s] = true
	}
	recs, set, err := fn(t.data)
	defer releaseBatches(recs)
	if err != nil {
		return err
	}
	for i, r := range recs {
		if err := checkBatch(schema, r); err != nil {
			return fmt.Errorf("table %s, batch %d: %w", t.name, i, err)
		}
	}
	for k := range set {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}

	ctx := t.store.ctx
	txn := t.ice.NewTransaction()
	if err := evolveSchema(txn, cur, isc, sources); err != nil {
		return fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
	}
	staged, err := txn.StagedTable()
	if err != nil {
		return fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
	}
	canon, err := table.SchemaToArrowSchema(staged.Schema(), nil, true, false)
	if err != nil {
		return fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
	}
	var toWrite []arrow.RecordBatch
	defer func() { releaseBatches(toWrite) }()
	for _, r := range recs {
		if r.NumRows() > 0 {
			toWrite = append(toWrite, withSchema(schema, r))
		}
	}
	added, err := t.writeFilesAs(ctx, staged.Table, canon, toWrite)
	if err != nil {
		return err
	}
	replaced := make([]iceberg.DataFile, len(t.files))
	for i, f := range t.files {
		replaced[i] = f.df
	}
	props := iceberg.Properties{propArrowSchema: enc, propColumnsSeq: strconv.FormatInt(t.ice.Metadata().LastSequenceNumber(), 10)}
	maps.Copy(props, set)
	err = txn.SetProperties(props)
	if err == nil && (len(replaced) > 0 || len(added) > 0) {
		if len(replaced) == 0 {
			err = txn.AddDataFiles(ctx, added, nil, table.WithoutAutoNameMapping(), table.WithoutDuplicateCheck())
		} else {
			err = txn.ReplaceDataFilesWithDataFiles(ctx, replaced, added, nil, table.WithoutAutoNameMapping())
		}
	}
	if err == nil {
		err = t.commit(ctx, txn, added)
	} else {
		t.removeDataFiles(added)
	}
	if err != nil {
		return fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
	}

	t.schema, t.canon = schema, canon
	t.props = maps.Clone(t.props)
	maps.Copy(t.props, set)
	t.files, t.exact = fileInfos(added), true
	keep := make([]arrow.RecordBatch, len(toWrite))
	for i, r := range toWrite {
		r.Retain()
		keep[i] = r
	}
	t.publish(newData(schema, keep))
	t.maintain(ctx)
	return nil
}

// evolveSchema stages in txn, as one Iceberg schema update, the change
// from cur to the fields of want (whose field IDs are ignored),
// continuing the current fields named by sources (see ChangeColumns).
// A continued field keeps its field ID even when its type is not an
// Iceberg promotion: ChangeColumns rewrites every data file in the same
// commit, so no file of the new snapshot holds the old type, and older
// snapshots keep the schema they were written with.
func evolveSchema(txn *table.Transaction, cur, want *iceberg.Schema, sources []int) error {
	continued := map[int]bool{}
	for _, s := range sources {
		if s >= 0 {
			continued[s] = true
		}
	}
	u := txn.UpdateSchema(true, true)
	for j, f := range cur.Fields() {
		if !continued[j] {
			u.DeleteColumn([]string{f.Name})
		}
	}
	// moveName is how the schema update finds field i: a continued field
	// by its current name, a new one by its new name.
	moveName := make([]string, len(sources))
	var order []string // the order the update gives: continued fields in place, new ones last
	for i, f := range want.Fields() {
		if sources[i] < 0 {
			if _, taken := cur.FindFieldByName(f.Name); taken {
				return fmt.Errorf("new column %q takes the name of a current column in the same change", f.Name)
			}
			u.AddColumn([]string{f.Name}, f.Type, "", f.Required, nil)
			moveName[i] = f.Name
			continue
		}
		old := cur.Field(sources[i])
		moveName[i] = old.Name
		var upd table.ColumnUpdate
		if old.Name != f.Name {
			upd.Name = iceberg.Optional[string]{Valid: true, Val: f.Name}
		}
		if !old.Type.Equals(f.Type) {
			upd.FieldType = iceberg.Optional[iceberg.Type]{Valid: true, Val: f.Type}
		}
		if old.Required != f.Required {
			upd.Required = iceberg.Optional[bool]{Valid: true, Val: f.Required}
		}
		u.UpdateColumn([]string{old.Name}, upd)
	}
	for j, f := range cur.Fields() {
		if continued[j] {
			order = append(order, f.Name)
		}
	}
	for i := range sources {
		if sources[i] < 0 {
			order = append(order, moveName[i])
		}
	}
	if !slices.Equal(order, moveName) {
		u.MoveFirst([]string{moveName[0]})
		for i := 1; i < len(moveName); i++ {
			u.MoveAfter([]string{moveName[i]}, []string{moveName[i-1]})
		}
	}
	return u.Commit()
}

// RenameColumn renames the column at position pos to name (which may be
// the same name: then only properties change) and sets the properties
// set, as one Iceberg metadata commit: the Iceberg field keeps its ID, so
// the data files stay as they are and are read under the new name. On
// error nothing changed. A column change that touches the rows is
// ChangeColumns.
func (t *Table) RenameColumn(pos int, name string, set map[string]string) error {
	for k := range set {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	if pos < 0 || pos >= t.schema.NumFields() {
		return fmt.Errorf("storage: RenameColumn: no column %d in %s.%s", pos, t.db, t.name)
	}
	fields := t.schema.Fields()
	old := fields[pos].Name
	fields[pos].Name = name
	schema := arrow.NewSchema(fields, nil)
	_, enc, err := toIcebergSchema(schema)
	if err != nil {
		return err
	}
	txn := t.ice.NewTransaction()
	if old != name {
		if err := txn.UpdateSchema(true, false).RenameColumn([]string{old}, name).Commit(); err != nil {
			return fmt.Errorf("storage: renaming column %s of %s.%s: %w", old, t.db, t.name, err)
		}
	}
	props := iceberg.Properties{propArrowSchema: enc}
	maps.Copy(props, set)
	if err := txn.SetProperties(props); err != nil {
		return fmt.Errorf("storage: renaming column %s of %s.%s: %w", old, t.db, t.name, err)
	}
	if err := t.commit(t.store.ctx, txn, nil); err != nil {
		return fmt.Errorf("storage: renaming column %s of %s.%s: %w", old, t.db, t.name, err)
	}
	canon, err := table.SchemaToArrowSchema(t.ice.Schema(), nil, true, false)
	if err != nil { // cannot happen: the schema was written from a valid one
		t.err = fmt.Errorf("storage: table %s.%s is in an unknown state after renaming a column; reopen the store: %w", t.db, t.name, err)
		return t.err
	}
	t.schema, t.canon = schema, canon
	t.props = maps.Clone(t.props)
	maps.Copy(t.props, set)
	batches := make([]arrow.RecordBatch, len(t.data.batches))
	for i, b := range t.data.batches {
		batches[i] = withSchema(schema, b)
	}
	t.publish(newData(schema, batches))
	return nil
}
