package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/uuid"
)

// Renaming a detector (RENAME DETECTOR).
//
// Within one database a rename is one rename(2) of the detector's file in
// its directory, made durable by an fsync of that directory: after a
// power cut the detector has its old name or its new one.
//
// Across databases the file moves between two directories, and each
// directory's entries become durable only when that directory is synced:
// the target gains the file when the target directory is synced, the
// source loses it when the source directory is. A redo record, the rename
// intent detectors/rename-<id>.json, makes the move atomic:
//
//  1. The intent is written durably, naming both directories, both names
//     and the SHA-256 of the file's contents.
//  2. The file is renamed into the target directory, which is synced,
//     then the source directory is synced.
//  3. The intent is removed durably.
//
// Open (recoverDetectorRenames) finishes an interrupted move: if the
// target file exists, the move happened, and a source file still there
// with the recorded contents is the same detector left behind by the
// power cut, so it is removed; if the target does not exist, the move
// never became durable and the source is kept. Then the intent is
// removed. The contents check keeps an intent whose removal failed from
// ever deleting another detector saved later under the source name.

// renameIntentPrefix starts the names of rename intents in the detectors
// directory.
const renameIntentPrefix = "rename-"

// renameIntent is the redo record of a move of a detector to another
// database.
type renameIntent struct {
	ID       string `json:"id"`
	FromDir  string `json:"from-database"` // database directories
	FromName string `json:"from-name"`
	ToDir    string `json:"to-database"`
	ToName   string `json:"to-name"`
	SHA256   string `json:"sha256"` // of the file's contents, hex
}

// RenameDetector gives the detector from of database fromDB (compared
// case-insensitively) the name to in database toDB, which may be fromDB.
// The detector's bytes are unchanged. It returns an error wrapping
// ErrDetectorNotFound if there is no such detector, ErrDetectorExists if
// another detector of toDB has the name to (compared case-insensitively;
// renaming a detector to its own name in another case is allowed),
// ErrInvalidName or ErrDatabaseNotFound. The rename is atomic and durable
// (see above): after a power cut the detector has exactly one of its two
// names, and once RenameDetector returns nil, the new one.
func (s *Store) RenameDetector(fromDB, from, toDB, to string) error {
	if err := validateName("detector", to); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	src, err := s.db(fromDB)
	if err != nil {
		return err
	}
	dst, err := s.db(toDB)
	if err != nil {
		return err
	}
	s.detMu.Lock()
	defer s.detMu.Unlock()
	srcDir, dstDir := s.detectorDir(src), s.detectorDir(dst)
	files, err := s.detectorFiles(srcDir)
	if err != nil {
		return err
	}
	oldName, oldPath := "", ""
	for n, p := range files {
		// The exact name first, as it was saved; else any case of it.
		if n == from || key(n) == key(from) && oldName != from {
			oldName, oldPath = n, p
		}
	}
	if oldPath == "" {
		return fmt.Errorf("%w: %s.%s", ErrDetectorNotFound, src.name, from)
	}
	newPath := filepath.Join(dstDir, to+detectorExt)
	if src == dst {
		for n := range files {
			if key(n) == key(to) && key(n) != key(oldName) {
				return fmt.Errorf("%w: %s.%s", ErrDetectorExists, dst.name, n)
			}
		}
		if oldName == to {
			return nil
		}
		if err := s.fs.Rename(oldPath, newPath); err != nil {
			return fmt.Errorf("storage: renaming detector %s.%s: %w", src.name, oldName, err)
		}
		return s.syncDir(srcDir)
	}
	taken, err := s.detectorFiles(dstDir)
	if err != nil {
		return err
	}
	for n := range taken {
		if key(n) == key(to) {
			return fmt.Errorf("%w: %s.%s", ErrDetectorExists, dst.name, n)
		}
	}
	data, err := os.ReadFile(oldPath)
	if err != nil {
		return fmt.Errorf("storage: renaming detector %s.%s: %w", src.name, oldName, err)
	}
	if err := s.mkdir(dstDir); err != nil {
		return fmt.Errorf("storage: creating detector directory: %w", err)
	}
	sum := sha256.Sum256(data)
	in := &renameIntent{ID: uuid.NewString(), FromDir: src.dir, FromName: oldName, ToDir: dst.dir, ToName: to, SHA256: hex.EncodeToString(sum[:])}
	ipath := s.renameIntentPath(in.ID)
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.fs, ipath, b, s.opts.NoSync); err != nil {
		_ = s.removeIntent(ipath)
		return fmt.Errorf("storage: renaming detector %s.%s: %w", src.name, oldName, err)
	}
	if err := s.fs.Rename(oldPath, newPath); err != nil {
		_ = s.removeIntent(ipath)
		return fmt.Errorf("storage: renaming detector %s.%s: %w", src.name, oldName, err)
	}
	if err := errors.Join(s.syncDir(dstDir), s.syncDir(srcDir)); err != nil {
		// Move it back; if that fails too, Open finishes the move.
		if s.fs.Rename(newPath, oldPath) == nil && s.syncDir(dstDir) == nil && s.syncDir(srcDir) == nil {
			_ = s.removeIntent(ipath)
		}
		return fmt.Errorf("storage: renaming detector %s.%s: %w", src.name, oldName, err)
	}
	// The move is durable. An intent whose removal fails is harmless (see
	// above), and Open removes it.
	_ = s.removeIntent(ipath)
	return nil
}

// renameIntentPath is the path of the rename intent id.
func (s *Store) renameIntentPath(id string) string {
	return filepath.Join(s.detectors, renameIntentPrefix+id+".json")
}

// recoverDetectorRenames finishes every move of a detector to another
// database that a crash interrupted (see the top of this file) and
// removes its intent, durably. It runs in Open before anything else
// touches the detectors directory. An intent that cannot be read was
// never completely written (writeFileAtomic), so no move started: it is
// removed.
func (s *Store) recoverDetectorRenames() error {
	ents, err := os.ReadDir(s.detectors)
	if err != nil {
		return fmt.Errorf("storage: reading %s: %w", s.detectors, err)
	}
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasPrefix(e.Name(), renameIntentPrefix) || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p := filepath.Join(s.detectors, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("storage: reading detector rename intent: %w", err)
		}
		var in renameIntent
		if json.Unmarshal(b, &in) == nil && s.renameIntentPath(in.ID) == p && in.valid() {
			if err := s.finishDetectorRename(&in); err != nil {
				return fmt.Errorf("storage: recovering detector rename %s: %w", p, err)
			}
		}
		if err := s.removeIntent(p); err != nil {
			return fmt.Errorf("storage: removing detector rename intent: %w", err)
		}
	}
	return nil
}

// valid reports whether in names directories and detectors that are
// names.
func (in *renameIntent) valid() bool {
	for _, n := range []string{in.FromDir, in.ToDir} {
		if validateName("database", n) != nil {
			return false
		}
	}
	return validateName("detector", in.FromName) == nil && validateName("detector", in.ToName) == nil && in.ID != ""
}

// finishDetectorRename removes the source of a move whose target is in
// place, if it still holds the moved contents.
func (s *Store) finishDetectorRename(in *renameIntent) error {
	target := filepath.Join(s.detectors, in.ToDir, in.ToName+detectorExt)
	if _, err := os.Stat(target); errors.Is(err, fs.ErrNotExist) {
		return nil // the move never became durable: the source is the detector
	} else if err != nil {
		return err
	}
	srcDir := filepath.Join(s.detectors, in.FromDir)
	source := filepath.Join(srcDir, in.FromName+detectorExt)
	data, err := os.ReadFile(source)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	want, err := hex.DecodeString(in.SHA256)
	if err != nil || !bytes.Equal(sum[:], want) {
		return nil // another detector, saved since under the old name
	}
	if err := s.fs.Remove(source); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return s.syncDir(srcDir)
}
