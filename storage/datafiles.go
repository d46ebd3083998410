package storage

import (
	"fmt"
	"slices"

	"github.com/apache/iceberg-go"
)

// DataFiles returns the paths, as paths of the operating system, of the
// Parquet data files of the table's current Iceberg snapshot: the files
// its manifests list, planned afresh from the committed metadata (not
// taken from what the table holds in memory), each once, in the order
// their rows were appended. Reading exactly these files with any Parquet
// reader gives the table's rows. An empty table has no files (nil, nil).
//
// It fails with ErrDeleteFiles when the snapshot has position or
// equality delete files or deletion vectors, whose rows a plain Parquet
// reader would return although they are deleted, and with
// ErrTableNotFound after the table was dropped or the store closed.
func (t *Table) DataFiles() ([]string, error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	if t.err != nil {
		return nil, t.err
	}
	tasks, err := t.ice.Scan().PlanFiles(t.store.ctx)
	if err != nil {
		return nil, fmt.Errorf("storage: planning scan of %s.%s: %w", t.db, t.name, err)
	}
	slices.SortStableFunc(tasks, compareTasks)
	var paths []string
	seen := map[string]bool{}
	for _, task := range tasks {
		if n := len(task.DeleteFiles) + len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			return nil, fmt.Errorf("%w: %s.%s: data file %s has %d", ErrDeleteFiles, t.db, t.name, task.File.FilePath(), n)
		}
		if f := task.File.FileFormat(); f != iceberg.ParquetFile {
			return nil, fmt.Errorf("storage: table %s.%s: data file %s is %s, not Parquet", t.db, t.name, task.File.FilePath(), f)
		}
		p := t.store.loc.resolve(task.File.FilePath())
		if !seen[p] {
			seen[p] = true
			paths = append(paths, p)
		}
	}
	return paths, nil
}
