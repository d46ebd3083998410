package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

var (
	// versionFile matches the metadata files the Hadoop catalog reads:
	// vN.metadata.json (and gzip variants), and the <seq>-<uuid> names other
	// Iceberg writers use.
	versionFile = regexp.MustCompile(`^(v[0-9]+|[0-9]{5,}-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(\.gz)?\.metadata\.json$`)
	// hadoopVersionFile matches vN.metadata.json and captures N.
	hadoopVersionFile = regexp.MustCompile(`^v([0-9]+)(?:\.gz)?\.metadata\.json$`)
	// tempMetadataFile matches the temporary file iceberg-go's Hadoop
	// catalog writes before claiming a version: <uuid>.metadata.json.
	tempMetadataFile = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(\.gz)?\.metadata\.json$`)
)

// isCommitLeftover reports whether a file in a table's metadata directory
// is debris of an interrupted Hadoop-catalog commit: a version claim
// (vN.metadata.json.claim), an unclaimed metadata temp file, or a version
// hint temp file. Such files are never part of a committed table.
func isCommitLeftover(name string) bool {
	return strings.HasSuffix(name, ".metadata.json.claim") ||
		strings.HasSuffix(name, "-version-hint.temp") ||
		tempMetadataFile.MatchString(name)
}

// loadDatabases loads every database and table under the warehouse.
// Directories whose names are not valid names are ignored. With unclean
// set, unreferenced data files and manifests are removed before loading.
func (s *Store) loadDatabases(unclean bool) error {
	ents, err := os.ReadDir(s.warehouse)
	if err != nil {
		return fmt.Errorf("storage: reading warehouse: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || validateName("database", e.Name()) != nil {
			continue
		}
		d := &database{name: e.Name(), dir: e.Name(), tables: map[string]*Table{}}
		if b, err := os.ReadFile(filepath.Join(s.warehouse, d.dir, dbNameFile)); err == nil && validateName("database", string(b)) == nil {
			d.name = string(b)
		}
		if prev, ok := s.dbs[key(d.name)]; ok {
			return fmt.Errorf("storage: databases %q and %q differ only in case", prev.name, d.name)
		}
		s.dbs[key(d.name)] = d
		if err := s.loadTables(d, unclean); err != nil {
			return err
		}
	}
	return nil
}

// loadTables recovers and loads the tables of database d.
func (s *Store) loadTables(d *database, unclean bool) error {
	ents, err := os.ReadDir(s.dbDir(d))
	if err != nil {
		return fmt.Errorf("storage: reading database %s: %w", d.name, err)
	}
	for _, e := range ents {
		if !e.IsDir() || validateName("table", e.Name()) != nil {
			continue
		}
		t := s.loadTable(d, e.Name(), unclean)
		if t == nil {
			continue
		}
		if prev, ok := d.tables[key(t.name)]; ok {
			// A damaged table may be named after an old name (its last
			// readable metadata) or its directory: it yields.
			switch {
			case t.damage != nil:
				t.name = d.freeName("damaged-" + t.dir())
			case prev.damage != nil:
				delete(d.tables, key(prev.name))
				prev.name = d.freeName("damaged-" + prev.dir())
				d.tables[key(prev.name)] = prev
			default:
				return fmt.Errorf("storage: tables %s.%q and %s.%q have the same name (compared case-insensitively)", d.name, prev.name, d.name, t.name)
			}
		}
		d.tables[key(t.name)] = t
	}
	return nil
}

// freeName returns name, or name with a numeric suffix, that no table of
// d has.
func (d *database) freeName(name string) string {
	for i := 2; ; i++ {
		if _, taken := d.tables[key(name)]; !taken {
			return name
		}
		name = fmt.Sprintf("%s-%d", strings.TrimSuffix(name, fmt.Sprintf("-%d", i-1)), i)
	}
}

// loadTable recovers and loads the table in directory dir of database db.
// It returns nil for a directory that holds no table. A table that cannot
// be read is returned damaged (see Table.Damage): one damaged table never
// keeps the store from opening.
func (s *Store) loadTable(d *database, dir string, unclean bool) *Table {
	tdir := filepath.Join(s.dbDir(d), dir)
	if cause, ok := s.unfinished[d.dir+"/"+dir]; ok {
		return s.damagedTable(d, dir, nil, nil, cause)
	}
	isTable, err := s.recoverTableDir(tdir)
	if err != nil {
		return s.damagedTable(d, dir, nil, nil, err)
	}
	if !isTable {
		return nil
	}
	ice, err := s.cat.LoadTable(s.ctx, table.Identifier{d.dir, dir})
	if err != nil {
		return s.damagedTable(d, dir, nil, nil, err)
	}
	s.loc.addTableRoot(ice, d.dir, dir)
	name := tableName(ice, dir)
	if unclean {
		if err := s.removeOrphans(ice, tdir); err != nil {
			return s.damagedTable(d, dir, ice.Metadata(), nil, fmt.Errorf("cleaning up: %w", err))
		}
	}
	t, err := newTable(s, d, name, dir, ice)
	if err != nil {
		return s.damagedTable(d, dir, ice.Metadata(), nil, err)
	}
	// The rows are read on first use (Table.loadLocked), not here: opening
	// a store reads metadata only.
	t.metadataRows = snapshotRows(ice)
	return t
}

// recoverTableDir removes commit leftovers from the metadata directory of
// tdir and reports whether tdir holds a table. A directory holding nothing
// but an (emptied) metadata directory is what a CreateTable interrupted
// before its first metadata version leaves behind; it is removed. Other
// directories without metadata versions are left alone and ignored.
func (s *Store) recoverTableDir(tdir string) (bool, error) {
	mdir := filepath.Join(tdir, "metadata")
	ents, err := os.ReadDir(mdir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("storage: reading %s: %w", mdir, err)
	}
	hasVersion, others, hadoopVersion := false, 0, 0
	for _, e := range ents {
		switch {
		case e.Type().IsRegular() && isCommitLeftover(e.Name()):
			// Not fsynced: a leftover that a power cut brings back is
			// removed again by the next Open, and the next commit fsyncs
			// mdir anyway.
			if err := s.fs.Remove(filepath.Join(mdir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return false, fmt.Errorf("storage: removing commit leftover: %w", err)
			}
		case versionFile.MatchString(e.Name()):
			hasVersion = true
			if m := hadoopVersionFile.FindStringSubmatch(e.Name()); m != nil {
				if v, err := strconv.Atoi(m[1]); err == nil {
					hadoopVersion = max(hadoopVersion, v)
				}
			}
		default:
			others++
		}
	}
	if hadoopVersion > 0 {
		if err := s.repairVersionHint(mdir, hadoopVersion); err != nil {
			return false, err
		}
	}
	if hasVersion {
		return true, nil
	}
	top, err := os.ReadDir(tdir)
	if err != nil {
		return false, fmt.Errorf("storage: reading %s: %w", tdir, err)
	}
	if others == 0 && (len(top) == 0 || (len(top) == 1 && top[0].Name() == "metadata")) {
		if err := s.fs.RemoveAll(tdir); err != nil {
			return false, fmt.Errorf("storage: removing incomplete table %s: %w", tdir, err)
		}
	}
	return false, nil
}

// repairVersionHint makes metadata/version-hint.text name version, the
// newest metadata version. The Hadoop catalog updates the hint after
// publishing a version, best effort, so a crash in between leaves it one
// version behind; readers that trust the hint (some engines do) would then
// miss the last commit. The new hint is written under iceberg-go's
// temporary name (removed by recovery if left behind), fsynced, and renamed
// into place, so a power cut leaves the old or the new hint, never an
// empty one.
func (s *Store) repairVersionHint(mdir string, version int) error {
	hint := filepath.Join(mdir, "version-hint.text")
	want := strconv.Itoa(version)
	if b, err := os.ReadFile(hint); err == nil && strings.TrimSpace(string(b)) == want {
		return nil
	}
	tmp, err := s.fs.OpenFile(filepath.Join(mdir, uuid.NewString()+"-version-hint.temp"), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("storage: repairing version hint: %w", err)
	}
	if err := replaceFile(s.fs, tmp, hint, []byte(want), s.opts.NoSync); err != nil {
		return fmt.Errorf("storage: repairing version hint: %w", err)
	}
	return nil
}

// removeOrphans deletes the Parquet files under tdir/data and the Avro
// manifests and manifest lists under tdir/metadata that no snapshot of ice
// references: what a commit interrupted after writing its files, but
// before publishing its metadata, leaves behind. It is conservative: only
// .parquet and .avro files are considered, every manifest entry (live or
// deleted) of every retained snapshot counts as a reference, and if any
// reference is not a plain local path under tdir nothing is removed. The
// removals are not fsynced: a file that reappears after a power cut is
// still unreferenced and removed by the next Open.
func (s *Store) removeOrphans(ice *table.Table, tdir string) error {
	referenced, foreign, err := referencedFiles(s.ctx, ice, tdir, s.loc)
	if err != nil {
		return err
	}
	if foreign {
		return nil
	}
	sweep := func(dir, ext string) error {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && strings.HasSuffix(p, ext) && !referenced[filepath.Clean(p)] {
				if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	if err := sweep(filepath.Join(tdir, "data"), ".parquet"); err != nil {
		return err
	}
	return sweep(filepath.Join(tdir, "metadata"), ".avro")
}

// referencedFiles returns the cleaned OS paths of every manifest list,
// manifest and data file (live or deleted entries) that a snapshot of ice
// refers to, and whether any of them lies outside the table directory tdir.
func referencedFiles(ctx context.Context, ice *table.Table, tdir string, loc *relocator) (referenced map[string]bool, foreign bool, err error) {
	fsys, err := ice.FS(ctx)
	if err != nil {
		return nil, false, err
	}
	root := filepath.Clean(tdir) + string(filepath.Separator)
	referenced = map[string]bool{}
	ref := func(p string) {
		c := loc.resolve(p)
		if !strings.HasPrefix(c, root) {
			foreign = true
		}
		referenced[c] = true
	}
	for _, snap := range ice.Metadata().Snapshots() {
		if snap.ManifestList != "" {
			ref(snap.ManifestList)
		}
		mans, err := snap.Manifests(fsys)
		if err != nil {
			return nil, false, fmt.Errorf("reading manifest list: %w", err)
		}
		for _, m := range mans {
			ref(m.FilePath())
			for entry, err := range m.Entries(fsys, false) {
				if err != nil {
					return nil, false, fmt.Errorf("reading manifest: %w", err)
				}
				ref(entry.DataFile().FilePath())
			}
		}
	}
	return referenced, foreign, nil
}
