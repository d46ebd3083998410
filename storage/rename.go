package storage

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// propTableName is the table property holding the table's name. A
// table's directory (its Iceberg catalog name) is chosen once, when it
// is created; the name is this property, so that renaming a table is
// one metadata commit and any name, whatever characters it has, is
// stored as it is, not as a path. Tables written before the property
// existed are named after their directory.
const propTableName = "anomalydb.name"

// tableName is the name of the loaded table ice, whose directory is dir.
func tableName(ice *table.Table, dir string) string {
	if n := ice.Properties()[propTableName]; validateName("table", n) == nil {
		return n
	}
	return dir
}

// tableDir chooses the directory of a new table named name in d: the
// name itself when it is plain ASCII (letters, digits, '_', '-', '$')
// and no entry of d's directory has it in any case; otherwise "t-" and
// 16 random hex digits. Iceberg paths are URLs, so other characters
// would be escaped in the table's metadata but not on disk. s.mu must
// be held.
func (s *Store) tableDir(d *database, name string) (string, error) {
	return s.freshDir(s.dbDir(d), name, "t-")
}

// freshDir chooses the name of a new directory in parent for an object
// named name: the name itself when it is plain ASCII (letters, digits,
// '_', '-', '$') and no entry of parent has it in any case; otherwise
// prefix and 16 random hex digits.
func (s *Store) freshDir(parent, name, prefix string) (string, error) {
	taken := func(dir string) (bool, error) {
		ents, err := os.ReadDir(parent)
		if err != nil {
			return false, fmt.Errorf("storage: reading %s: %w", parent, err)
		}
		for _, e := range ents {
			if key(e.Name()) == key(dir) {
				return true, nil
			}
		}
		return false, nil
	}
	if plainName(name) {
		busy, err := taken(name)
		if err != nil || !busy {
			return name, err
		}
	}
	for {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", fmt.Errorf("storage: naming a table directory: %w", err)
		}
		dir := prefix + hex.EncodeToString(b[:])
		busy, err := taken(dir)
		if err != nil || !busy {
			return dir, err
		}
	}
}

// plainName reports whether name is safe as a directory name and as a
// URL path segment without escaping.
func plainName(name string) bool {
	if name == "" || len(name) > maxNameLen {
		return false
	}
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '$':
		default:
			return false
		}
	}
	return true
}

// RenameTable renames table db.oldName to newName in the same database
// (RENAME TABLE, ALTER TABLE … RENAME): one Iceberg metadata commit of
// the table's name property, so after a crash at any moment the table
// has either name. The table's directory and files stay where they are.
// Names compare case-insensitively; renaming to another case of the same
// name is allowed. It fails with ErrTableNotFound, ErrTableExists (a
// table or view has the new name) or ErrInvalidName, changing nothing.
// The *Table of the old name refuses later writes (ErrTableNotFound), as
// after DropTable; Table(db, newName) returns the renamed table, with the
// same contents.
func (s *Store) RenameTable(db, oldName, newName string) error {
	if err := validateName("table", newName); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	t, ok := d.tables[key(oldName)]
	if !ok {
		return fmt.Errorf("%w: %s.%s", ErrTableNotFound, d.name, oldName)
	}
	if key(oldName) != key(newName) {
		if other, ok := d.tables[key(newName)]; ok {
			return fmt.Errorf("%w: %s.%s", ErrTableExists, d.name, other.name)
		}
		if isView, err := s.hasView(d, newName); err != nil || isView {
			return cmp.Or(err, fmt.Errorf("%w: %s.%s is a view", ErrTableExists, d.name, newName))
		}
	}
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if t.err != nil {
		return t.err
	}
	return s.renameLocked(d, t, newName)
}

// renameLocked renames t, of database d, to newName (checked by the
// caller) in one metadata commit, with s.mu and t.writeMu held and t.err
// nil. It does not read the rows: a table not read yet is read under its
// new name when first used, so a rename costs the same for any size.
func (s *Store) renameLocked(d *database, t *Table, newName string) error {
	txn := t.ice.NewTransaction()
	if err := txn.SetProperties(iceberg.Properties{propTableName: newName}); err != nil {
		return fmt.Errorf("storage: renaming table %s.%s: %w", d.name, t.name, err)
	}
	if err := t.commit(s.ctx, txn, nil); err != nil {
		return fmt.Errorf("storage: renaming table %s.%s: %w", d.name, t.name, err)
	}
	nt, err := newTable(s, d, newName, t.dir(), t.ice)
	if err == nil {
		nt.live = t.live // readers of the old name keep their files from the new name's expiry
	}
	if err != nil { // cannot happen: the schema and properties are t's
		t.err = fmt.Errorf("storage: table %s.%s is in an unknown state after renaming; reopen the store: %w", d.name, t.name, err)
		return t.err
	}
	t.dataMu.RLock()
	data, rows := t.data, t.metadataRows
	t.dataMu.RUnlock()
	if data != nil {
		nt.files, nt.exact = t.files, t.exact
		nt.publish(newSegmentData(t.schema, data.sharedSegments()))
	} else {
		nt.metadataRows = rows
	}
	delete(d.tables, key(t.name))
	d.tables[key(newName)] = nt
	t.detachLocked(fmt.Errorf("%w: %s.%s was renamed to %s", ErrTableNotFound, d.name, t.name, newName))
	return nil
}
