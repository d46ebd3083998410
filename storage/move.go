package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// Moving a table to another database (RENAME TABLE db1.t TO db2.t).
//
// A table's directory lies under its database's, and Iceberg metadata
// names every file by its absolute path, so a table cannot change
// database by a rename of its directory. A move writes the table anew
// in the target database (the rows in memory, to new data files) and
// drops the source, made atomic by a redo record, the move intent
// txlog/move-<id>.json:
//
//  1. The intent is written durably, not committed, naming the source
//     (database and table directories, Iceberg table UUID) and the new
//     table's directory.
//  2. The new table is created there and its rows committed; its Iceberg
//     properties carry the move's id (propMove).
//  3. The intent is rewritten, committed (atomically and durably): the
//     commit point.
//  4. The source directory is moved to the trash, and the intent removed.
//
// Open completes or undoes a move before loading any table
// (recoverMoves): an intent not committed removes the new table (if its
// metadata carries the move's id, or it has none yet); a committed one
// moves the source to the trash (if its UUID is the intent's). Either way
// the table is afterwards in exactly one of the two databases, with its
// rows and properties.

// propMove is the Iceberg table property naming the move that created a
// table (see above); hidden like every "anomalydb." property.
const propMove = "anomalydb.move"

// movePrefix starts the names of move intents in the txlog directory.
const movePrefix = "move-"

// moveIntent is the redo record of a move.
type moveIntent struct {
	ID        string `json:"id"`
	Committed bool   `json:"committed"`
	FromDB    string `json:"from-database"` // directories
	FromTable string `json:"from-table"`
	FromUUID  string `json:"from-table-uuid"`
	ToDB      string `json:"to-database"`
	ToTable   string `json:"to-table"`
}

// movePath is the path of the intent of move id.
func (s *Store) movePath(id string) string {
	return filepath.Join(s.dir, txlogDirName, movePrefix+id+".json")
}

// writeMove writes in durably (replacing an earlier version atomically).
func (s *Store) writeMove(in *moveIntent) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if err := s.mkdir(filepath.Join(s.dir, txlogDirName)); err != nil {
		return err
	}
	return writeFileAtomic(s.fs, s.movePath(in.ID), b, s.opts.NoSync)
}

// moveLocked moves t (its write lock and s.mu held) from database d to
// database to under name, with schema, the rows recs (which must match
// schema; the caller keeps them) and the user properties props. On error
// nothing changed, unless the error says the store must be reopened.
func (s *Store) moveLocked(t *Table, d, to *database, name string, schema *arrow.Schema, recs []arrow.RecordBatch, props map[string]string) error {
	ctx := s.ctx
	isc, enc, err := toIcebergSchema(schema)
	if err != nil {
		return err
	}
	var rows int64
	for i, r := range recs {
		if err := checkBatch(schema, r); err != nil {
			return fmt.Errorf("table %s, batch %d: %w", t.name, i, err)
		}
		rows += r.NumRows()
	}
	dir, err := s.tableDir(to, name)
	if err != nil {
		return err
	}
	in := &moveIntent{
		ID:     uuid.NewString(),
		FromDB: d.dir, FromTable: t.dir(), FromUUID: t.ice.Metadata().TableUUID().String(),
		ToDB: to.dir, ToTable: dir,
	}
	if err := s.writeMove(in); err != nil {
		_ = s.removeIntent(s.movePath(in.ID))
		return fmt.Errorf("storage: moving %s.%s: %w", d.name, t.name, err)
	}
	undo := func(err error) error {
		rerr := s.removeAllSync(filepath.Join(s.dbDir(to), dir))
		if rerr == nil {
			rerr = s.removeIntent(s.movePath(in.ID))
		}
		if rerr != nil {
			// Open undoes the move; until then the source must not change.
			t.err = fmt.Errorf("storage: table %s.%s is in an unknown state after a failed move (%v, then %v); reopen the store", d.name, t.name, err, rerr)
			return t.err
		}
		return fmt.Errorf("storage: moving %s.%s to %s: %w", d.name, t.name, to.name, err)
	}

	iprops := iceberg.Properties{}
	maps.Copy(iprops, props)
	maps.Copy(iprops, reservedProps)
	withEncodingProps(iprops, schema)
	iprops[propArrowSchema] = enc
	iprops[propTableName] = name
	iprops[propMove] = in.ID
	ice, err := s.cat.CreateTable(ctx, table.Identifier{to.dir, dir}, isc, catalog.WithProperties(iprops))
	if err != nil {
		return undo(err)
	}
	nt, err := newTable(s, to, name, dir, ice)
	if err != nil {
		return undo(err)
	}
	nt.publish(newData(nt.schema, nil))
	nt.exact = true
	if rows > 0 {
		nt.writeMu.Lock()
		err = nt.appendLocked(recs, rows)
		nt.writeMu.Unlock()
		if err != nil {
			nt.detach(err)
			return undo(err)
		}
	}

	in.Committed = true
	if err := s.writeMove(in); err != nil {
		nt.detach(err)
		return undo(err)
	}
	// Committed: from here on Open completes the move if this does not.
	trashed, terr := s.moveToTrash(s.dbDir(d), t.dir())
	delete(d.tables, key(t.name))
	to.tables[key(name)] = nt
	t.detachLocked(fmt.Errorf("%w: %s.%s was moved to %s.%s", ErrTableNotFound, d.name, t.name, to.name, name))
	if trashed != "" {
		from, to := filepath.Join(s.dbDir(d), t.dir()), filepath.Join(trashed, t.dir())
		s.loc.move(from, to)
		t.whenIdle(func() { // as after DropTable
			_ = s.fs.RemoveAll(trashed)
			s.loc.unmove(from, to)
		})
	}
	if terr != nil {
		return fmt.Errorf("storage: %s.%s is moved to %s, but its old files could not be removed (%v); reopen the store to remove them", d.name, t.name, to.name, terr)
	}
	if err := s.removeIntent(s.movePath(in.ID)); err != nil {
		// Open finds the intent committed and the source gone: nothing
		// left to do.
		return nil
	}
	return nil
}

// recoverMoves completes or undoes every move whose intent is in the
// txlog directory (see the top of this file), then removes the intents.
// It runs in Open before tables are loaded.
func (s *Store) recoverMoves() error {
	dir := filepath.Join(s.dir, txlogDirName)
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", dir, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), movePrefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("storage: reading move intent: %w", err)
		}
		var in moveIntent
		if json.Unmarshal(b, &in) != nil || s.movePath(in.ID) != p || !in.valid() {
			// Written by writeFileAtomic, so complete or absent: this is
			// not ours. Leave it, but say so.
			return fmt.Errorf("storage: move intent %s cannot be read; remove it to open the store", p)
		}
		if in.Committed {
			err = s.finishMove(&in)
		} else {
			err = s.undoMove(&in)
		}
		if err != nil {
			return fmt.Errorf("storage: recovering move %s: %w", p, err)
		}
		if err := s.removeIntent(p); err != nil {
			return fmt.Errorf("storage: removing move intent: %w", err)
		}
	}
	return nil
}

// valid reports whether in names directories that are names.
func (in *moveIntent) valid() bool {
	for _, n := range []string{in.FromDB, in.FromTable, in.ToDB, in.ToTable} {
		if validateName("table", n) != nil {
			return false
		}
	}
	return in.ID != "" && in.FromUUID != ""
}

// undoMove removes the table a move that never committed created: a
// directory whose metadata names the move, or that has no metadata yet.
func (s *Store) undoMove(in *moveIntent) error {
	tdir := filepath.Join(s.warehouse, in.ToDB, in.ToTable)
	if _, err := os.Stat(tdir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	isTable, err := s.recoverTableDir(tdir)
	if err != nil {
		return err
	}
	if isTable {
		ice, err := s.cat.LoadTable(s.ctx, table.Identifier{in.ToDB, in.ToTable})
		if err != nil {
			return fmt.Errorf("loading %s/%s: %w", in.ToDB, in.ToTable, err)
		}
		if ice.Properties()[propMove] != in.ID {
			return nil // another table took the directory since
		}
	}
	return s.removeAllSync(tdir)
}

// finishMove drops the source of a committed move, if it is still there.
func (s *Store) finishMove(in *moveIntent) error {
	tdir := filepath.Join(s.warehouse, in.FromDB, in.FromTable)
	if _, err := os.Stat(tdir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	isTable, err := s.recoverTableDir(tdir)
	if err != nil || !isTable {
		return err
	}
	ice, err := s.cat.LoadTable(s.ctx, table.Identifier{in.FromDB, in.FromTable})
	if err != nil {
		return fmt.Errorf("loading %s/%s: %w", in.FromDB, in.FromTable, err)
	}
	if ice.Metadata().TableUUID().String() != in.FromUUID {
		return nil // dropped since, and another table took the directory
	}
	trashed, err := s.moveToTrash(filepath.Join(s.warehouse, in.FromDB), in.FromTable)
	if err != nil {
		return err
	}
	if trashed != "" {
		_ = s.fs.RemoveAll(trashed)
	}
	return nil
}
