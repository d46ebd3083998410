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

// FileRef is a file of a table's snapshot: its path as a path of the
// operating system, and as the snapshot's manifests list it (the path a
// position delete file names in its file_path column).
type FileRef struct {
	Path   string
	Listed string
}

// SnapshotFiles are the Parquet files of a table's current snapshot: its
// data files, in the order their rows were appended, and its position
// delete files (Iceberg v2, columns file_path and pos). The table's rows
// are the rows of the data files except those at a position (0-based,
// in file order) that a delete file lists for the data file's Listed
// path.
type SnapshotFiles struct {
	Data    []FileRef
	Deletes []FileRef
}

// SnapshotFiles returns the files of the table's current snapshot,
// planned afresh from the committed metadata like DataFiles, with its
// position delete files. It fails with ErrDeleteFiles when the snapshot
// has equality delete files or deletion vectors, and with
// ErrTableNotFound after the table was dropped or the store closed.
func (t *Table) SnapshotFiles() (SnapshotFiles, error) {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	var out SnapshotFiles
	if t.err != nil {
		return out, t.err
	}
	tasks, err := t.ice.Scan().PlanFiles(t.store.ctx)
	if err != nil {
		return out, fmt.Errorf("storage: planning scan of %s.%s: %w", t.db, t.name, err)
	}
	slices.SortStableFunc(tasks, compareTasks)
	seen := map[string]bool{}
	add := func(to *[]FileRef, df iceberg.DataFile) error {
		if f := df.FileFormat(); f != iceberg.ParquetFile {
			return fmt.Errorf("storage: table %s.%s: file %s is %s, not Parquet", t.db, t.name, df.FilePath(), f)
		}
		if !seen[df.FilePath()] {
			seen[df.FilePath()] = true
			*to = append(*to, FileRef{Path: t.store.loc.resolve(df.FilePath()), Listed: df.FilePath()})
		}
		return nil
	}
	for _, task := range tasks {
		if n := len(task.EqualityDeleteFiles) + len(task.DeletionVectorFiles); n > 0 {
			return SnapshotFiles{}, fmt.Errorf("%w: %s.%s: data file %s has %d equality delete files or deletion vectors", ErrDeleteFiles, t.db, t.name, task.File.FilePath(), n)
		}
		if err := add(&out.Data, task.File); err != nil {
			return SnapshotFiles{}, err
		}
		for _, df := range task.DeleteFiles {
			if err := add(&out.Deletes, df); err != nil {
				return SnapshotFiles{}, err
			}
		}
	}
	return out, nil
}
