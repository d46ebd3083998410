package storage

import (
	"os"
	"path/filepath"
	"strings"
)

// ClosedCleanly reports whether the store in dataDir was last closed by
// Close (its CLEAN marker exists): Open then skips the recovery sweep of
// files left by interrupted commits. A data directory that does not
// exist yet reports false.
func ClosedCleanly(dataDir string) bool {
	_, err := os.Stat(filepath.Join(dataDir, cleanFileName))
	return err == nil
}

// removeCleanTemps removes the temporary files of a CLEAN marker whose
// writing was interrupted (".CLEAN.tmp-*", see writeFileAtomic): a crash
// during Close leaves one, which nothing else would remove.
func (s *Store) removeCleanTemps() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return err
	}
	prefix := "." + cleanFileName + ".tmp-"
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			if err := s.fs.Remove(filepath.Join(s.dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
