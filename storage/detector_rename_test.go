package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// detectorNames returns db's detectors as name → contents.
func detectorNames(t *testing.T, s *Store, db string) map[string]string {
	t.Helper()
	blobs, err := s.LoadDetectors(db)
	must(t, err)
	out := map[string]string{}
	for n, b := range blobs {
		out[n] = string(b)
	}
	return out
}

// TestRenameDetector: renames within a database, to another case, and
// to another database keep the bytes and survive a reopen; bad renames
// fail with their sentinel and change nothing. Catches a rename onto an
// existing name (in any case) that replaces it, a case-only rename
// refused as a duplicate of itself, and a move that copies instead of
// moving.
func TestRenameDetector(t *testing.T) {
	mem := checkedAlloc(t)
	dir := t.TempDir()
	s, _ := tenRowTable(t, dir, mem, false)
	must(t, s.CreateDatabase("other"))
	must(t, s.SaveDetector("db", "d", []byte("model d")))
	must(t, s.SaveDetector("db", "Fraud", []byte("model fraud")))
	must(t, s.SaveDetector("other", "x", []byte("model x")))

	bad := []struct {
		fromDB, from, toDB, to string
		want                   error
	}{
		{"db", "nope", "db", "e", ErrDetectorNotFound},
		{"db", "d", "db", "FRAUD", ErrDetectorExists},
		{"db", "d", "other", "X", ErrDetectorExists},
		{"db", "d", "nodb", "e", ErrDatabaseNotFound},
		{"nodb", "d", "db", "e", ErrDatabaseNotFound},
		{"db", "d", "db", "a/b", ErrInvalidName},
	}
	for _, c := range bad {
		if err := s.RenameDetector(c.fromDB, c.from, c.toDB, c.to); !errors.Is(err, c.want) {
			t.Errorf("RenameDetector(%s.%s → %s.%s) = %v, want %v", c.fromDB, c.from, c.toDB, c.to, err, c.want)
		}
	}
	if got := detectorNames(t, s, "db"); !maps.Equal(got, map[string]string{"d": "model d", "Fraud": "model fraud"}) {
		t.Fatalf("failed renames changed db: %v", got)
	}

	must(t, s.RenameDetector("db", "D", "db", "e"))         // any case finds it
	must(t, s.RenameDetector("db", "fraud", "db", "FRAUD")) // its own name in another case
	must(t, s.RenameDetector("db", "e", "other", "moved"))
	must(t, s.Close())
	s = openStore(t, dir, mem, false)
	defer s.Close()
	if got := detectorNames(t, s, "db"); !maps.Equal(got, map[string]string{"FRAUD": "model fraud"}) {
		t.Errorf("db after renames and reopen: %v", got)
	}
	if got := detectorNames(t, s, "other"); !maps.Equal(got, map[string]string{"x": "model x", "moved": "model d"}) {
		t.Errorf("other after renames and reopen: %v", got)
	}
	ents, err := os.ReadDir(s.detectors)
	must(t, err)
	for _, e := range ents {
		if !e.IsDir() {
			t.Errorf("left in the detectors directory: %s", e.Name())
		}
	}
}

// TestDetectorRenameIntentRecovery: Open finishes a move to another
// database that a power cut left with the detector in both directories
// (the source not yet synced), and an intent whose source has since been
// saved again with other contents never removes that detector. Catches a
// recovery that trusts the name alone.
func TestDetectorRenameIntentRecovery(t *testing.T) {
	mem := checkedAlloc(t)
	for _, same := range []bool{true, false} {
		dir := t.TempDir()
		s, _ := tenRowTable(t, dir, mem, false)
		must(t, s.CreateDatabase("other"))
		must(t, s.SaveDetector("db", "d", []byte("moved model")))
		must(t, s.SaveDetector("other", "e", []byte("moved model")))
		if !same {
			must(t, s.SaveDetector("db", "d", []byte("a new d")))
		}
		sum := sha256.Sum256([]byte("moved model"))
		in := renameIntent{ID: "1234", FromDir: "db", FromName: "d", ToDir: "other", ToName: "e", SHA256: hex.EncodeToString(sum[:])}
		b, err := json.Marshal(in)
		must(t, err)
		must(t, os.WriteFile(s.renameIntentPath(in.ID), b, 0o644))
		must(t, s.Close())

		s = openStore(t, dir, mem, false)
		got := slices.Sorted(maps.Keys(detectorNames(t, s, "db")))
		if want := map[bool][]string{true: nil, false: {"d"}}[same]; !slices.Equal(got, want) {
			t.Errorf("source with the moved contents %v: db has %v after Open, want %v", same, got, want)
		}
		if _, err := os.Stat(filepath.Join(dir, detectorsDirName, "rename-1234.json")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the intent is still there after Open: %v", err)
		}
		must(t, s.Close())
	}
}
