package storage

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go/table"
)

// ErrDamaged marks a table whose files could not be read when the store
// opened: a corrupted or missing metadata file, manifest or data file, or
// a multi-table commit that could not be completed on it.
var ErrDamaged = errors.New("damaged")

// Damage returns nil for a table that loaded, and for a damaged one the
// error (wrapping ErrDamaged) that kept it from loading. A damaged table
// is listed by Tables and found by Table so that it can be seen and
// dropped: its Snapshot is empty and every write to it fails with the
// same error; DropTable removes its files. Nothing else of the store is
// affected.
//
// Damage does not read the table's rows: a table whose metadata reads but
// whose manifests do not is found damaged when it is first used
// (Snapshot or a write); Load plans it now. A data file that cannot be
// read does not damage the table: the reads that need its rows fail
// with an error wrapping ErrDamaged that names the table and the file.
func (t *Table) Damage() error {
	t.dataMu.RLock()
	defer t.dataMu.RUnlock()
	return t.damage
}

// Load reads the table's metadata (its snapshot's manifests) now if they
// have not been read yet, and returns Damage.
func (t *Table) Load() error {
	t.loadOnce()
	return t.Damage()
}

// setDamage makes t damaged with err (wrapping ErrDamaged): its contents
// empty, every write failing with err; t.writeMu must be held.
func (t *Table) setDamage(err error) {
	t.dataMu.Lock()
	t.damage = err
	t.dataMu.Unlock()
	t.detachLocked(err)
}

// damagedTable is the Table standing for the table in directory dir of
// database db that failed to load with cause. md is the table's metadata
// if it could be read; else the newest metadata version that can still be
// read names the table and gives its columns (as of that version), and
// failing that the table is named after dir and has no columns. sc is the
// table's schema when known.
func (s *Store) damagedTable(d *database, dir string, md table.Metadata, sc *arrow.Schema, cause error) *Table {
	db := d.name
	if md == nil {
		md = s.lastReadableMetadata(filepath.Join(s.dbDir(d), dir, "metadata"))
	}
	name := dir
	props := map[string]string{}
	if md != nil {
		if n := md.Properties()[propTableName]; validateName("table", n) == nil {
			name = n
		}
		maps.Copy(props, md.Properties())
		maps.DeleteFunc(props, func(k, _ string) bool { return isReservedProp(k) })
		if sc == nil {
			sc, _ = declaredSchema(md.CurrentSchema(), md.Properties())
		}
	}
	if sc == nil {
		sc = arrow.NewSchema(nil, nil)
	}
	err := fmt.Errorf("%w: table %s.%s could not be read when the server started: %v; DROP TABLE removes it", ErrDamaged, db, name, cause)
	t := &Table{store: s, db: db, name: name, ident: table.Identifier{d.dir, dir}, schema: sc, props: props, err: err, damage: err}
	t.publish(newData(sc, nil))
	return t
}

// lastReadableMetadata returns the newest vN.metadata.json of mdir that
// parses, or nil.
func (s *Store) lastReadableMetadata(mdir string) table.Metadata {
	ents, _ := os.ReadDir(mdir)
	var versions []int
	for _, e := range ents {
		if m := hadoopVersionFile.FindStringSubmatch(e.Name()); m != nil && !strings.HasSuffix(e.Name(), ".gz.metadata.json") {
			if v, err := strconv.Atoi(m[1]); err == nil {
				versions = append(versions, v)
			}
		}
	}
	slices.Sort(versions)
	for i := len(versions) - 1; i >= 0; i-- {
		b, err := os.ReadFile(filepath.Join(mdir, fmt.Sprintf("v%d.metadata.json", versions[i])))
		if err != nil {
			continue
		}
		if md, err := table.ParseMetadataBytes(b); err == nil {
			return md
		}
	}
	return nil
}
