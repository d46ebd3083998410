package storage

import (
	"cmp"
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
	if len(sources) != schema.NumFields() {
		return fmt.Errorf("storage: ChangeColumns: %d sources for %d columns", len(sources), schema.NumFields())
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if err := t.writable(); err != nil {
		return err
	}
	if err := t.checkSources(schema, sources); err != nil {
		return err
	}
	recs, set, err := fn(t.data)
	defer releaseBatches(recs)
	if err != nil {
		return err
	}
	for k := range set {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}
	_, err = t.alterLocked(alteration{schema: schema, sources: sources, rewrite: true, recs: recs, set: set})
	return err
}

// checkSources checks sources (see ChangeColumns) for schema against the
// current schema; t.writeMu must be held.
func (t *Table) checkSources(schema *arrow.Schema, sources []int) error {
	if len(sources) != schema.NumFields() {
		return fmt.Errorf("storage: %d sources for %d columns", len(sources), schema.NumFields())
	}
	seen := map[int]bool{}
	for i, s := range sources {
		if s < -1 || s >= t.schema.NumFields() || (s >= 0 && seen[s]) {
			return fmt.Errorf("storage: bad source %d for column %q", s, schema.Field(i).Name)
		}
		seen[s] = true
	}
	return nil
}

// alteration is one change of a table committed by alterLocked.
type alteration struct {
	schema  *arrow.Schema // the new declared schema; nil keeps the columns
	sources []int         // with schema: see ChangeColumns
	rewrite bool          // recs replace the rows; otherwise the rows stay (schema may then only rename columns)
	recs    []arrow.RecordBatch
	set     map[string]string // user properties to set
	name    string            // the table's new name in its database; "" keeps it
}

// alterLocked commits a, checked by the caller, as one Iceberg commit
// with t.writeMu held, and publishes the result on t; on error nothing
// changed. A renamed table (a.name) is published by the caller on its new
// *Table (see Store.AlterTable): alterLocked then returns the batches of
// the new contents, one reference each, which the caller owns.
func (t *Table) alterLocked(a alteration) (*Data, error) {
	ctx := t.store.ctx
	schema := t.schema
	if a.schema != nil {
		schema = a.schema
	}
	writeFiles := a.rewrite
	if a.schema != nil {
		var changed bool
		a.sources, changed = anchorSources(t.schema, a.schema, a.sources)
		// Without a rewrite the rows stay, but under field IDs that no
		// longer match their files: rewrite the files.
		writeFiles = writeFiles || changed
	}
	var enc string
	txn := t.ice.NewTransaction()
	canon := t.canon
	metaTable := t.ice
	if a.schema != nil {
		isc, e, err := toIcebergSchema(schema)
		if err != nil {
			return nil, err
		}
		enc = e
		if err := evolveSchema(txn, t.ice.Schema(), isc, a.sources); err != nil {
			return nil, fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
		}
		staged, err := txn.StagedTable()
		if err != nil {
			return nil, fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
		}
		if canon, err = table.SchemaToArrowSchema(staged.Schema(), nil, true, false); err != nil {
			return nil, fmt.Errorf("storage: changing the columns of %s.%s: %w", t.db, t.name, err)
		}
		metaTable = staged.Table
	}
	var keep []arrow.RecordBatch // the new contents
	fail := func(err error) (*Data, error) {
		releaseBatches(keep)
		return nil, err
	}
	if a.rewrite {
		for i, r := range a.recs {
			if err := checkBatch(schema, r); err != nil {
				return fail(fmt.Errorf("table %s, batch %d: %w", t.name, i, err))
			}
			if r.NumRows() > 0 {
				keep = append(keep, withSchema(schema, r))
			}
		}
	} else if writeFiles {
		all, err := t.data.ReadAll()
		if err != nil {
			return fail(err)
		}
		keep = relabelBatches(schema, all)
		releaseBatches(all)
	}
	var added []iceberg.DataFile
	if writeFiles {
		var err error
		if added, err = t.writeFilesAs(ctx, metaTable, canon, keep); err != nil {
			return fail(err)
		}
	}
	props := iceberg.Properties{}
	maps.Copy(props, a.set)
	if a.schema != nil {
		withEncodingProps(props, a.schema)
		props[propArrowSchema] = enc
		// When the columns last changed, for reads of older snapshots
		// (snapshot_scan.go).
		props[propColumnsSeq] = strconv.FormatInt(t.ice.Metadata().LastSequenceNumber(), 10)
	}
	if a.name != "" {
		props[propTableName] = a.name
	}
	var err error
	if len(props) > 0 {
		err = txn.SetProperties(props)
	}
	if err == nil && writeFiles {
		replaced, dels := filesOf(t.files)
		switch {
		case len(replaced) == 0 && len(added) == 0:
		case len(replaced) == 0:
			err = txn.AddDataFiles(ctx, added, nil, table.WithoutAutoNameMapping(), table.WithoutDuplicateCheck())
		case len(dels) > 0:
			// The position delete files go with the data files they
			// apply to (deletes.go).
			err = txn.ReplaceFiles(ctx, replaced, added, dels, nil, table.WithoutAutoNameMapping())
		default:
			err = txn.ReplaceDataFilesWithDataFiles(ctx, replaced, added, nil, table.WithoutAutoNameMapping())
		}
	}
	if err == nil {
		err = t.commit(ctx, txn, added)
	} else {
		t.removeDataFiles(added)
	}
	if err != nil {
		return fail(fmt.Errorf("storage: altering %s.%s: %w", t.db, t.name, err))
	}
	if a.schema != nil {
		t.schema, t.canon = schema, canon
	}
	t.props = maps.Clone(t.props)
	maps.Copy(t.props, a.set)
	var d *Data
	if writeFiles {
		t.files, t.exact = fileInfos(added), true
		t.warm(schema, added, keep)
		releaseBatches(keep)
		d = newSegmentData(schema, t.fileSegments(t.ice, schema, t.files))
	} else {
		d = newSegmentData(schema, t.data.sharedSegments())
	}
	if a.name != "" {
		return d, nil
	}
	if a.schema == nil && !a.rewrite {
		d.extend(t.data) // the same rows: a change of properties
	}
	t.publish(d)
	t.maintain(ctx)
	return nil, nil
}

// Alteration is one ALTER TABLE statement's change of a table, committed
// by Store.AlterTable as one Iceberg commit.
type Alteration struct {
	// Schema, if not nil, is the table's new declared schema, with
	// Sources mapping its fields onto the current ones as for
	// ChangeColumns. Without Rewrite it may differ from the current
	// schema only in column names.
	Schema  *arrow.Schema
	Sources []int
	// Rewrite makes the rows returned by Fn the table's new contents
	// (matching Schema, or the current schema when Schema is nil);
	// without it the rows stay as they are.
	Rewrite bool
	// Fn, if not nil, runs under the table's write lock with the current
	// contents before anything is written, with the contract of
	// ChangeColumns' fn: it returns the new rows (with Rewrite; the
	// caller's ownership passes to AlterTable) and user properties to
	// set. An error it returns is returned unchanged, nothing written.
	Fn func(cur *Data) ([]arrow.RecordBatch, map[string]string, error)
	// NewName, if not "", is the table's new name (RenameTable's rules).
	NewName string
	// NewDB, if not "" and not the table's database, moves the table to
	// database NewDB (under NewName, or its name): its rows are written
	// anew there (see move.go), so a move costs what a rewrite costs.
	// The target database must exist (ErrDatabaseNotFound) and have no
	// table or view of the name (ErrTableExists).
	NewDB string
}

// AlterTable changes table db.name's columns, rows, properties and name
// as one Iceberg commit (ALTER TABLE with several clauses): after a crash
// at any moment the table is either as it was or changed in every
// respect, and on error nothing changed. It combines ChangeColumns (or,
// without Rewrite, a metadata commit that renames columns, like
// RenameColumn), UpdateProperties and RenameTable, with their rules and
// errors (ErrTableNotFound, ErrTableExists, ErrInvalidName,
// ErrReservedProperty, ErrDatabaseNotFound). Renamed or moved, the
// *Table of the old name is detached as after RenameTable; otherwise the
// same *Table shows the new contents. A move to another database
// (NewDB) is atomic too (see move.go).
//
// With NewName or NewDB the store's lock is held for the whole call, so
// other tables are not looked up before the commit ends.
func (s *Store) AlterTable(db, name string, a Alteration) error {
	renames := a.NewName != "" || a.NewDB != ""
	if a.NewName != "" {
		if err := validateName("table", a.NewName); err != nil {
			return err
		}
	}
	if renames {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
	}
	d, err := s.db(db)
	var t *Table
	if err == nil {
		var ok bool
		if t, ok = d.tables[key(name)]; !ok {
			err = fmt.Errorf("%w: %s.%s", ErrTableNotFound, d.name, name)
		}
	}
	if !renames {
		s.mu.RUnlock()
	}
	if err != nil {
		return err
	}
	to := d
	if a.NewDB != "" {
		if to, err = s.db(a.NewDB); err != nil {
			return err
		}
	}
	newName := cmp.Or(a.NewName, t.name)
	if renames && (to != d || key(newName) != key(t.name)) {
		if other, ok := to.tables[key(newName)]; ok {
			return fmt.Errorf("%w: %s.%s", ErrTableExists, to.name, other.name)
		}
		if isView, err := s.hasView(to, newName); err != nil || isView {
			return cmp.Or(err, fmt.Errorf("%w: %s.%s is a view", ErrTableExists, to.name, newName))
		}
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if t.err == nil && to == d && a.NewName != "" && a.Schema == nil && !a.Rewrite && a.Fn == nil {
		return s.renameLocked(d, t, a.NewName) // metadata only: the rows need not be read
	}
	if err := t.writable(); err != nil {
		return err
	}
	if a.Schema != nil {
		if err := t.checkSources(a.Schema, a.Sources); err != nil {
			return err
		}
		if !a.Rewrite && !renamesOnly(t.schema, a.Schema, a.Sources) {
			return fmt.Errorf("storage: AlterTable of %s.%s: a change of columns other than their names needs Rewrite", d.name, t.name)
		}
	}
	var recs []arrow.RecordBatch
	var set map[string]string
	if a.Fn != nil {
		recs, set, err = a.Fn(t.data)
		defer releaseBatches(recs)
		if err != nil {
			return err
		}
	}
	for k := range set {
		if isReservedProp(k) {
			return fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
	}
	if to != d {
		schema := t.schema
		if a.Schema != nil {
			schema = a.Schema
		}
		var rows []arrow.RecordBatch
		if a.Rewrite {
			rows = relabelBatches(schema, recs)
		} else {
			all, err := t.data.ReadAll()
			if err != nil {
				return err
			}
			rows = relabelBatches(schema, all)
			releaseBatches(all)
		}
		defer releaseBatches(rows)
		props := maps.Clone(t.props)
		maps.Copy(props, set)
		return s.moveLocked(t, d, to, newName, schema, rows, props)
	}
	keep, err := t.alterLocked(alteration{schema: a.Schema, sources: a.Sources, rewrite: a.Rewrite, recs: recs, set: set, name: a.NewName})
	if err != nil || a.NewName == "" {
		return err
	}
	nt, err := newTable(s, d, a.NewName, t.dir(), t.ice)
	if err == nil {
		nt.live = t.live // readers of the old name keep their files from the new name's expiry
	}
	if err != nil { // cannot happen: the schema and properties are t's
		keep.Release()
		t.err = fmt.Errorf("storage: table %s.%s is in an unknown state after renaming; reopen the store: %w", d.name, t.name, err)
		return t.err
	}
	nt.files, nt.exact = t.files, t.exact
	nt.publish(keep)
	delete(d.tables, key(t.name))
	d.tables[key(a.NewName)] = nt
	t.detachLocked(fmt.Errorf("%w: %s.%s was renamed to %s", ErrTableNotFound, d.name, t.name, a.NewName))
	nt.maintain(s.ctx)
	return nil
}

// anchorSources returns sources (see ChangeColumns) adjusted so that no
// field of schema takes the name of a field of cur that it does not
// continue: one Iceberg schema update checks every rename and addition
// against the current names, so it cannot move a name from one field to
// another (RENAME COLUMN a TO b, RENAME COLUMN c TO a; or DROP COLUMN a,
// ADD COLUMN a). A field named like a field of cur continues that field
// instead, and a field whose source is thereby taken becomes new.
// changed reports an adjustment: the field IDs then no longer follow the
// values, so every data file must be rewritten (which only readers of
// the table's history can tell).
func anchorSources(cur, schema *arrow.Schema, sources []int) (anchored []int, changed bool) {
	anchored = slices.Clone(sources)
	byName := map[string]int{}
	for j, f := range cur.Fields() {
		byName[f.Name] = j
	}
	taken := map[int]bool{}
	for i, f := range schema.Fields() {
		if j, ok := byName[f.Name]; ok {
			changed = changed || anchored[i] != j
			anchored[i], taken[j] = j, true
		}
	}
	for i, f := range schema.Fields() {
		if _, named := byName[f.Name]; !named && anchored[i] >= 0 && taken[anchored[i]] {
			anchored[i], changed = -1, true
		}
	}
	return anchored, changed
}

// relabelBatches returns recs under schema sc where their fields differ
// only in name, one new reference each (see withSchema).
func relabelBatches(sc *arrow.Schema, recs []arrow.RecordBatch) []arrow.RecordBatch {
	out := make([]arrow.RecordBatch, len(recs))
	for i, r := range recs {
		if r.Schema().NumFields() == sc.NumFields() {
			r = withSchema(sc, r)
		} else {
			r.Retain()
		}
		out[i] = r
	}
	return out
}

// renamesOnly reports whether schema, whose fields continue cur's as
// sources says, differs from cur only in field names.
func renamesOnly(cur, schema *arrow.Schema, sources []int) bool {
	if cur.NumFields() != schema.NumFields() {
		return false
	}
	for i, s := range sources {
		a, b := cur.Field(i), schema.Field(i)
		if s != i || !arrow.TypeEqual(a.Type, b.Type) || a.Nullable != b.Nullable {
			return false
		}
	}
	return true
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
	props := withEncodingProps(iceberg.Properties{propArrowSchema: enc}, schema)
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
	t.publish(newSegmentData(schema, t.data.sharedSegments()))
	return nil
}
