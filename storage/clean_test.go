package storage

import (
	"os"
	"path/filepath"
	"testing"
)

// TestCleanMarker: ClosedCleanly is true only between a Close and the
// next Open, and Open removes the temporary file of a marker whose
// writing a crash interrupted. Bugs caught: a stray .CLEAN.tmp-* left
// forever; ClosedCleanly reading the wrong file.
func TestCleanMarker(t *testing.T) {
	dir := t.TempDir()
	if ClosedCleanly(dir) {
		t.Fatal("an empty directory reports a clean shutdown")
	}
	s := openStore(t, dir, checkedAlloc(t), true)
	if ClosedCleanly(dir) {
		t.Fatal("an open store reports a clean shutdown")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !ClosedCleanly(dir) {
		t.Fatal("no clean shutdown after Close")
	}
	stray := filepath.Join(dir, ".CLEAN.tmp-42")
	if err := os.WriteFile(stray, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, checkedAlloc(t), true)
	defer s.Close()
	if _, err := os.Stat(stray); err == nil {
		t.Error("Open left .CLEAN.tmp-42")
	}
	if ClosedCleanly(dir) {
		t.Error("a reopened store still reports a clean shutdown")
	}
}
