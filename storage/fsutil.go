package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	icebergio "github.com/apache/iceberg-go/io"
)

// propSync is the catalog property that makes the "file" IO scheme return
// syncFS instead of iceberg-go's LocalFS. It is set on the catalog the Store
// opens (and so on every table it loads), never on table metadata.
const propSync = "anomalydb.fsync"

// init replaces iceberg-go's factory for local paths ("" and "file"
// schemes) with one that behaves exactly like the original (it returns
// icebergio.LocalFS) unless the caller's properties carry propSync=true, in
// which case it returns syncFS. iceberg-go offers no other way to give the
// Hadoop catalog a file system, and LocalFS never fsyncs. Doing this in
// init, before any goroutine can resolve a scheme, avoids racing lookups.
func init() {
	factory := func(_ context.Context, _ *url.URL, props map[string]string) (icebergio.IO, error) {
		if props[propSync] == "true" {
			return syncFS{}, nil
		}
		return icebergio.LocalFS{}, nil
	}
	for _, scheme := range []string{"", "file"} {
		icebergio.Unregister(scheme)
		icebergio.Register(scheme, factory)
	}
}

// syncFS is icebergio.LocalFS with durability: every file it creates is
// fsynced before Close returns, and directories are fsynced after entries
// are added to them (new files, renames, hard links). Because iceberg-go
// writes data files, manifests and the metadata temp file before it links
// the metadata file into place, this orders the commit for power loss:
// everything a metadata version refers to is on disk before it is published.
type syncFS struct{ icebergio.LocalFS }

var _ interface {
	icebergio.ListableIO
	icebergio.ReadFileIO
	icebergio.WriteFileIO
	icebergio.StatIO
	icebergio.RenameIO
	icebergio.RenameNoReplaceIO
	icebergio.RemoveAllIO
	icebergio.MkdirAllIO
} = syncFS{}

// osPath turns a plain path or file:// URI into an OS path.
func osPath(name string) string {
	if strings.HasPrefix(strings.ToLower(name), "file:") {
		if u, err := url.Parse(name); err == nil && u.Path != "" {
			return filepath.FromSlash(u.Path)
		}
	}
	return name
}

// Create implements icebergio.WriteFileIO. Missing parent directories are
// created and made durable; the returned writer fsyncs the file and its
// directory on Close.
func (f syncFS) Create(name string) (icebergio.FileWriter, error) {
	p := osPath(name)
	if err := mkdirAllSync(filepath.Dir(p)); err != nil {
		return nil, err
	}
	w, err := f.LocalFS.Create(name)
	if err != nil {
		return nil, err
	}
	osf, ok := w.(*os.File)
	if !ok {
		return w, nil
	}
	return &syncFile{File: osf}, nil
}

// WriteFile implements icebergio.WriteFileIO, durably.
func (f syncFS) WriteFile(name string, content []byte) error {
	w, err := f.Create(name)
	if err != nil {
		return err
	}
	if _, err := w.Write(content); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}

// Rename implements icebergio.RenameIO and fsyncs the target directory.
func (f syncFS) Rename(oldpath, newpath string) error {
	if err := f.LocalFS.Rename(oldpath, newpath); err != nil {
		return err
	}
	return syncDir(filepath.Dir(osPath(newpath)))
}

// RenameNoReplace implements icebergio.RenameNoReplaceIO (a hard link plus
// removal of the source in LocalFS) and fsyncs the target directory.
func (f syncFS) RenameNoReplace(oldpath, newpath string) error {
	if err := f.LocalFS.RenameNoReplace(oldpath, newpath); err != nil {
		return err
	}
	return syncDir(filepath.Dir(osPath(newpath)))
}

// MkdirAll implements icebergio.MkdirAllIO, durably.
func (f syncFS) MkdirAll(name string) error { return mkdirAllSync(osPath(name)) }

// syncFile fsyncs itself and its directory when closed.
type syncFile struct{ *os.File }

// Close implements io.Closer.
func (s *syncFile) Close() error {
	serr := s.File.Sync()
	cerr := s.File.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return err
	}
	return syncDir(filepath.Dir(s.Name()))
}

// syncDir fsyncs a directory so that entries added to it survive power loss.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	serr := d.Sync()
	cerr := d.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("storage: fsync directory %s: %w", dir, err)
	}
	return nil
}

// mkdirAllSync creates dir and any missing parents, fsyncing the parent of
// each directory it creates.
func mkdirAllSync(dir string) error {
	if fi, err := os.Stat(dir); err == nil {
		if !fi.IsDir() {
			return fmt.Errorf("storage: %s is not a directory", dir)
		}
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(parent)
}

// writeFileAtomic replaces path with data so that a crash at any moment
// leaves either the old or the new contents: it writes a temporary file in
// the same directory (named with a leading '.' so it never looks like a
// real entry), fsyncs it, renames it over path and fsyncs the directory.
// With noSync the fsyncs are skipped (atomic against process crashes only).
func writeFileAtomic(path string, data []byte, noSync bool) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if !noSync {
		if err = tmp.Sync(); err != nil {
			_ = tmp.Close()
			return err
		}
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return syncDir(dir)
}
