package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// detectorExt is the file name extension of a saved detector model.
const detectorExt = ".model"

// replacedSuffix marks a detector file set aside by SaveDetector while it
// saves the detector under a differently cased name:
// "." + <old name> + detectorExt + replacedSuffix.
const replacedSuffix = ".replaced"

// detectorDir returns the directory holding the detectors of database d.
func (s *Store) detectorDir(d *database) string { return filepath.Join(s.detectors, d.dir) }

// SaveDetector stores the serialized detector data under name in database
// db, replacing any detector of the same name (compared case-insensitively).
// The bytes are opaque to the store. The write is atomic and durable: a
// temporary file is written and fsynced, renamed over
// detectors/<db>/<name>.model, and the directory is fsynced, so after a
// crash the detector has either its old or its new contents (and name).
//
// A detector saved before under a differently cased name is first renamed
// to a hidden ".<old>.model.replaced", and that file is removed once the
// new one is in place. Open restores a set-aside file whose replacement
// never landed and removes one whose replacement did, so a crash never
// leaves both names, nor neither. Both renames are in one directory, so the
// fsync of that directory that makes the new file durable makes the
// set-aside durable too.
func (s *Store) SaveDetector(db, name string, data []byte) error {
	if err := validateName("detector", name); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	s.detMu.Lock()
	defer s.detMu.Unlock()
	dir := s.detectorDir(d)
	if err := s.mkdir(dir); err != nil {
		return fmt.Errorf("storage: creating detector directory: %w", err)
	}
	// Set aside a previous version saved under a differently cased name.
	existing, err := s.detectorFiles(dir)
	if err != nil {
		return err
	}
	// restore undoes the set-aside after a failure (best effort, and not
	// fsynced: if a power cut undoes it, Open restores the set-aside files
	// unless the new file is in place).
	path := filepath.Join(dir, name+detectorExt)
	var setAside [][2]string // {hidden path, original path}
	restore := func() {
		if len(setAside) == 0 {
			return
		}
		_ = s.fs.Remove(path)
		for _, p := range setAside {
			_ = s.fs.Rename(p[0], p[1])
		}
	}
	for n, file := range existing {
		if n != name && key(n) == key(name) {
			hidden := filepath.Join(dir, "."+n+detectorExt+replacedSuffix)
			if err := s.fs.Rename(file, hidden); err != nil {
				restore()
				return fmt.Errorf("storage: replacing detector %s.%s: %w", d.name, n, err)
			}
			setAside = append(setAside, [2]string{hidden, file})
		}
	}
	if err := writeFileAtomic(s.fs, path, data, s.opts.NoSync); err != nil {
		restore()
		return fmt.Errorf("storage: saving detector %s.%s: %w", d.name, name, err)
	}
	// The new detector is durable; the set-aside files are debris that
	// Open would remove if this removal were lost.
	for _, p := range setAside {
		_ = s.fs.Remove(p[0])
	}
	return nil
}

// LoadDetectors returns every detector of database db, keyed by the name it
// was saved under. The map is empty if there are none.
func (s *Store) LoadDetectors(db string) (map[string][]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return nil, err
	}
	s.detMu.Lock()
	defer s.detMu.Unlock()
	files, err := s.detectorFiles(s.detectorDir(d))
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(files))
	for name, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("storage: loading detector %s.%s: %w", d.name, name, err)
		}
		out[name] = b
	}
	return out, nil
}

// DeleteDetector removes the named detector (compared case-insensitively)
// of database db, or returns ErrDetectorNotFound.
func (s *Store) DeleteDetector(db, name string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	s.detMu.Lock()
	defer s.detMu.Unlock()
	dir := s.detectorDir(d)
	files, err := s.detectorFiles(dir)
	if err != nil {
		return err
	}
	found := false
	for n, file := range files {
		if key(n) == key(name) {
			if err := s.fs.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: deleting detector %s.%s: %w", d.name, n, err)
			}
			found = true
		}
	}
	if !found {
		return fmt.Errorf("%w: %s.%s", ErrDetectorNotFound, d.name, name)
	}
	return s.syncDir(dir)
}

// detectorFiles maps detector names to files in dir (which may be missing).
func (s *Store) detectorFiles(dir string) (map[string]string, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: reading %s: %w", dir, err)
	}
	out := make(map[string]string, len(ents))
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), detectorExt)
		if !ok || !e.Type().IsRegular() || validateName("detector", name) != nil {
			continue
		}
		out[name] = filepath.Join(dir, e.Name())
	}
	return out, nil
}

// recoverDetectors finishes interrupted moves of detectors to other
// databases (detector_rename.go), removes temporary files left by an
// interrupted SaveDetector and the detector directories of databases that no longer
// exist (left by a DropDatabase interrupted after dropping the tables).
// The removal of orphaned detector directories is made durable before Open
// returns: otherwise a database created later under the same name could
// find them again after a power cut.
func (s *Store) recoverDetectors() (err error) {
	if err := s.recoverDetectorRenames(); err != nil { // detector_rename.go
		return err
	}
	ents, err := os.ReadDir(s.detectors)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", s.detectors, err)
	}
	removed := false
	defer func() {
		if removed {
			err = errors.Join(err, s.syncDir(s.detectors))
		}
	}()
	dirs := map[string]bool{}
	for _, d := range s.dbs {
		dirs[d.dir] = true
	}
	for _, e := range ents {
		p := filepath.Join(s.detectors, e.Name())
		if !dirs[e.Name()] || !e.IsDir() {
			if err := s.fs.RemoveAll(p); err != nil {
				return fmt.Errorf("storage: removing orphaned detectors: %w", err)
			}
			removed = true
			continue
		}
		if err := s.recoverDetectorDir(p); err != nil {
			return err
		}
	}
	return nil
}

// recoverDetectorDir finishes or undoes what an interrupted SaveDetector
// left in the detector directory dir: temporary files are removed, and a
// detector set aside for a differently cased replacement is removed if
// the replacement is in place and restored otherwise. None of this is
// fsynced: if a power cut undoes it, the next Open does it again, and any
// later change to dir fsyncs dir.
func (s *Store) recoverDetectorDir(dir string) error {
	files, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", dir, err)
	}
	live, err := s.detectorFiles(dir)
	if err != nil {
		return err
	}
	liveKeys := map[string]bool{}
	for n := range live {
		liveKeys[key(n)] = true
	}
	for _, f := range files {
		p := filepath.Join(dir, f.Name())
		if !strings.HasPrefix(f.Name(), ".") {
			continue
		}
		if strings.Contains(f.Name(), ".tmp-") {
			if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: removing temporary detector file: %w", err)
			}
			continue
		}
		orig, ok := strings.CutSuffix(f.Name()[1:], replacedSuffix)
		name, isModel := strings.CutSuffix(orig, detectorExt)
		if !ok || !isModel || validateName("detector", name) != nil {
			continue
		}
		if liveKeys[key(name)] {
			if err := s.fs.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: removing replaced detector file: %w", err)
			}
			continue
		}
		if err := s.fs.Rename(p, filepath.Join(dir, orig)); err != nil {
			return fmt.Errorf("storage: restoring detector %s: %w", name, err)
		}
		liveKeys[key(name)] = true
	}
	return nil
}
