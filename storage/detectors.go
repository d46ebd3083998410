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

// detectorDir returns the directory holding the detectors of database d.
func (s *Store) detectorDir(d *database) string { return filepath.Join(s.detectors, d.name) }

// SaveDetector stores the serialized detector data under name in database
// db, replacing any detector of the same name (compared case-insensitively).
// The bytes are opaque to the store. The write is atomic and durable: a
// temporary file is written and fsynced, renamed over
// detectors/<db>/<name>.model, and the directory is fsynced, so after a
// crash the detector has either its old or its new contents.
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
	if err := writeFileAtomic(filepath.Join(dir, name+detectorExt), data, s.opts.NoSync); err != nil {
		return fmt.Errorf("storage: saving detector %s.%s: %w", d.name, name, err)
	}
	// Drop a previous version saved under a differently cased name.
	existing, err := s.detectorFiles(dir)
	if err != nil {
		return err
	}
	removed := false
	for n, file := range existing {
		if n != name && key(n) == key(name) {
			if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("storage: replacing detector %s.%s: %w", d.name, n, err)
			}
			removed = true
		}
	}
	if removed {
		return s.syncDir(dir)
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
			if err := os.Remove(file); err != nil && !errors.Is(err, fs.ErrNotExist) {
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

// recoverDetectors removes temporary files left by an interrupted
// SaveDetector and the detector directories of databases that no longer
// exist (left by a DropDatabase interrupted after dropping the tables).
func (s *Store) recoverDetectors() error {
	ents, err := os.ReadDir(s.detectors)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", s.detectors, err)
	}
	for _, e := range ents {
		p := filepath.Join(s.detectors, e.Name())
		if _, ok := s.dbs[key(e.Name())]; !ok || !e.IsDir() {
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("storage: removing orphaned detectors: %w", err)
			}
			continue
		}
		files, err := os.ReadDir(p)
		if err != nil {
			return fmt.Errorf("storage: reading %s: %w", p, err)
		}
		for _, f := range files {
			if strings.HasPrefix(f.Name(), ".") && strings.Contains(f.Name(), ".tmp-") {
				if err := os.Remove(filepath.Join(p, f.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("storage: removing temporary detector file: %w", err)
				}
			}
		}
	}
	return nil
}

// mkdir creates dir (and parents), durably unless the store runs NoSync.
func (s *Store) mkdir(dir string) error {
	if s.opts.NoSync {
		return os.MkdirAll(dir, 0o755)
	}
	return mkdirAllSync(dir)
}
