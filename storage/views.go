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
)

// viewsFileName is the file, in a database's namespace directory, holding
// the definitions of all its views. Its leading '.' keeps it apart from
// table directories (validateName rejects such names) and other engines'
// Hadoop catalogs list only directories. Because it lives in the namespace
// directory, DropDatabase drops the views with the tables in one rename.
const viewsFileName = ".anomalydb-views.json"

// View is a stored view definition. The store keeps the strings as given
// and does not interpret them.
type View struct {
	Name            string `json:"name"`       // as created
	Definition      string `json:"definition"` // the SELECT text
	CreateStatement string `json:"create_statement"`
	SQLMode         string `json:"sql_mode,omitempty"`
}

// viewsFile is the JSON layout of viewsFileName.
type viewsFile struct {
	Views []View `json:"views"`
}

func (s *Store) viewsPath(d *database) string {
	return filepath.Join(s.dbDir(d), viewsFileName)
}

// viewsOf returns the views of d, by key(name), reading them from disk the
// first time. s.mu (read or write) and s.viewMu must be held. The map must
// not be modified.
func (s *Store) viewsOf(d *database) (map[string]View, error) {
	if d.views != nil {
		return d.views, nil
	}
	b, err := os.ReadFile(s.viewsPath(d))
	out := map[string]View{}
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("storage: reading views of %s: %w", d.name, err)
	default:
		var f viewsFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("storage: reading views of %s: %w", d.name, err)
		}
		for _, v := range f.Views {
			out[key(v.Name)] = v
		}
	}
	d.views = out
	return out, nil
}

// writeViews replaces the views of d by views, atomically and durably
// (writeFileAtomic), and then caches them. s.mu and s.viewMu must be held.
func (s *Store) writeViews(d *database, views map[string]View) error {
	b, err := json.MarshalIndent(viewsFile{Views: sortedViews(views)}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.fs, s.viewsPath(d), b, s.opts.NoSync); err != nil {
		d.views = nil // the file may or may not have been replaced: read it again
		return fmt.Errorf("storage: saving views of %s: %w", d.name, err)
	}
	d.views = views
	return nil
}

// SaveView stores view v in database db. A view of the same name
// (compared case-insensitively) is replaced if replace is set, and
// otherwise makes SaveView fail with ErrViewExists; a table of that name
// makes it fail with ErrTableExists (CreateTable refuses the name of a
// view in turn). All the views of a database are kept in one file that is
// replaced atomically and durably, so after a crash the database has
// either its old or its new views.
func (s *Store) SaveView(db string, v View, replace bool) error {
	return s.writeView(db, v, func(d *database, views map[string]View) error {
		if old, ok := views[key(v.Name)]; ok && !replace {
			return fmt.Errorf("%w: %s.%s", ErrViewExists, d.name, old.Name)
		}
		return nil
	}, "")
}

// writeView stores v in database db, in place of view replaces (if not
// "") and of a view of v's name, after check (given the database's
// current views) passes: the part SaveView and RenameView share. v's
// name must be valid and no table's.
func (s *Store) writeView(db string, v View, check func(d *database, views map[string]View) error, replaces string) error {
	if err := validateName("view", v.Name); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	if t, ok := d.tables[key(v.Name)]; ok {
		return fmt.Errorf("%w: %s.%s", ErrTableExists, d.name, t.name)
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	views, err := s.viewsOf(d)
	if err != nil {
		return err
	}
	if err := check(d, views); err != nil {
		return err
	}
	next := maps.Clone(views) // views is the cache's; writeViews replaces it
	if next == nil {
		next = map[string]View{}
	}
	if replaces != "" {
		delete(next, key(replaces))
	}
	next[key(v.Name)] = v
	return s.writeViews(d, next)
}

// DeleteView removes the named view (compared case-insensitively) of
// database db, atomically and durably, or returns ErrViewNotFound.
func (s *Store) DeleteView(db, name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	views, err := s.viewsOf(d)
	if err != nil {
		return err
	}
	if _, ok := views[key(name)]; !ok {
		return fmt.Errorf("%w: %s.%s", ErrViewNotFound, d.name, name)
	}
	next := maps.Clone(views)
	delete(next, key(name))
	return s.writeViews(d, next)
}

// RenameView replaces view oldName of database db by v, which renames it
// (v.Name), in one atomic and durable write of the database's views. It
// returns ErrViewNotFound, or ErrTableExists when another view or a table
// has the new name, changing nothing.
func (s *Store) RenameView(db, oldName string, v View) error {
	return s.writeView(db, v, func(d *database, views map[string]View) error {
		if _, ok := views[key(oldName)]; !ok {
			return fmt.Errorf("%w: %s.%s", ErrViewNotFound, d.name, oldName)
		}
		if other, ok := views[key(v.Name)]; ok && key(v.Name) != key(oldName) {
			return fmt.Errorf("%w: %s.%s", ErrTableExists, d.name, other.Name)
		}
		return nil
	}, oldName)
}

// View returns the named view (compared case-insensitively) of database
// db; ok is false if there is none.
func (s *Store) View(db, name string) (v View, ok bool, err error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return View{}, false, err
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	views, err := s.viewsOf(d)
	if err != nil {
		return View{}, false, err
	}
	v, ok = views[key(name)]
	return v, ok, nil
}

// Views returns the views of database db, sorted case-insensitively by
// name.
func (s *Store) Views(db string) ([]View, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return nil, err
	}
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	views, err := s.viewsOf(d)
	if err != nil {
		return nil, err
	}
	return sortedViews(views), nil
}

// sortedViews returns the views sorted case-insensitively by name.
func sortedViews(views map[string]View) []View {
	names := make([]string, 0, len(views))
	for _, v := range views {
		names = append(names, v.Name)
	}
	sortNames(names)
	out := make([]View, len(names))
	for i, n := range names {
		out[i] = views[key(n)]
	}
	return out
}

// hasView reports whether d has a view of that name; s.mu must be held.
func (s *Store) hasView(d *database, name string) (bool, error) {
	s.viewMu.Lock()
	defer s.viewMu.Unlock()
	views, err := s.viewsOf(d)
	if err != nil {
		return false, err
	}
	_, ok := views[key(name)]
	return ok, nil
}

// recoverViews removes the temporary files an interrupted SaveView or
// DeleteView left in the namespace directories. Not fsynced: a temporary
// file a power cut brings back is removed again by the next Open.
func (s *Store) recoverViews() error {
	for _, d := range s.dbs {
		dir := s.dbDir(d)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("storage: reading %s: %w", dir, err)
		}
		for _, e := range ents {
			if e.Type().IsRegular() && strings.HasPrefix(e.Name(), "."+viewsFileName+".tmp-") {
				if err := s.fs.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("storage: removing temporary views file: %w", err)
				}
			}
		}
	}
	return nil
}
