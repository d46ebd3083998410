package storage

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	icebergio "github.com/apache/iceberg-go/io"
)

// fileSystem is the seam through which the store changes files: every
// mutating file-system operation of this package, and through icebergFS
// every one iceberg-go performs for the store, goes through the Store's
// fileSystem. Reads (Open, ReadFile, ReadDir, Stat, WalkDir) go to the os
// package directly.
//
// Each method behaves like the os function of the same name (errors
// included, so errors.Is(err, fs.ErrExist) and the like work). osFS is the
// implementation used in production; tests substitute one that also models
// what a power cut would leave on disk (see powerloss_test.go), so the
// contract that matters for durability is the one a real disk gives:
// a file's contents survive power loss only as of its last Sync, and an
// entry of a directory (a file or directory created in it, renamed or
// linked into or out of it, or removed from it) only once SyncDir of that
// directory has returned.
type fileSystem interface {
	// OpenFile opens a file for writing, like os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (writableFile, error)
	// Mkdir creates a directory, like os.Mkdir.
	Mkdir(name string, perm fs.FileMode) error
	// Rename renames (moves) a file or directory, replacing a file at
	// newpath, like os.Rename.
	Rename(oldpath, newpath string) error
	// Link creates newname as a hard link to oldname, like os.Link; it
	// fails with fs.ErrExist if newname exists.
	Link(oldname, newname string) error
	// Remove removes a file or an empty directory, like os.Remove.
	Remove(name string) error
	// RemoveAll removes a path and everything under it, like os.RemoveAll.
	RemoveAll(name string) error
	// SyncDir fsyncs the directory name, so that the entries added to,
	// renamed into or out of, and removed from it survive power loss.
	SyncDir(name string) error
}

// writableFile is a file opened by fileSystem.OpenFile.
type writableFile interface {
	io.Writer
	// Sync makes the contents written so far survive power loss (fsync).
	Sync() error
	Close() error
	// Name returns the name the file was opened with.
	Name() string
}

// osFS is the fileSystem of the operating system.
type osFS struct{}

var _ fileSystem = osFS{}

// OpenFile implements fileSystem.
func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (writableFile, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil
	}
	return f, nil
}

// Mkdir implements fileSystem.
func (osFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }

// Rename implements fileSystem.
func (osFS) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

// Link implements fileSystem.
func (osFS) Link(oldname, newname string) error { return os.Link(oldname, newname) }

// Remove implements fileSystem.
func (osFS) Remove(name string) error { return os.Remove(name) }

// RemoveAll implements fileSystem.
func (osFS) RemoveAll(name string) error { return os.RemoveAll(name) }

// SyncDir implements fileSystem.
func (osFS) SyncDir(dir string) error {
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

// createFile creates or truncates name for writing, like os.Create.
func createFile(fsys fileSystem, name string) (writableFile, error) {
	return fsys.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
}

// tempSuffix returns a random string for names of temporary files.
func tempSuffix() string { return strings.ToLower(rand.Text()[:12]) }

// createTemp creates a new file named prefix plus a random suffix in dir,
// like os.CreateTemp.
func createTemp(fsys fileSystem, dir, prefix string) (writableFile, error) {
	for range 100 {
		f, err := fsys.OpenFile(filepath.Join(dir, prefix+tempSuffix()), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if !errors.Is(err, fs.ErrExist) {
			return f, err
		}
	}
	return nil, fmt.Errorf("storage: no unused temporary file name in %s", dir)
}

// mkdirTemp creates a new directory named prefix plus a random suffix in
// dir and returns its path, like os.MkdirTemp.
func mkdirTemp(fsys fileSystem, dir, prefix string) (string, error) {
	for range 100 {
		p := filepath.Join(dir, prefix+tempSuffix())
		err := fsys.Mkdir(p, 0o755)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", err
		}
	}
	return "", fmt.Errorf("storage: no unused temporary directory name in %s", dir)
}

// mkdirAll creates dir and any missing parents. With sync it fsyncs the
// parent of each directory it creates, so the new directories survive power
// loss.
func mkdirAll(fsys fileSystem, dir string, sync bool) error {
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
		if err := mkdirAll(fsys, parent, sync); err != nil {
			return err
		}
	}
	if err := fsys.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if !sync {
		return nil
	}
	return fsys.SyncDir(parent)
}

// writeFileAtomic replaces path with data so that a crash at any moment
// leaves either the old or the new contents, using a temporary file in the
// same directory named with a leading '.' (so it never looks like a real
// entry) and containing ".tmp-". With noSync the fsyncs are skipped (atomic
// against process crashes only).
func writeFileAtomic(fsys fileSystem, path string, data []byte, noSync bool) error {
	tmp, err := createTemp(fsys, filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	return replaceFile(fsys, tmp, path, data, noSync)
}

// replaceFile writes data to tmp, a new file opened for writing in the
// directory of path, fsyncs it, renames it over path and fsyncs the
// directory: after power loss path has either its old or its new contents,
// and once replaceFile returns nil the new contents are durable. tmp is
// closed, and removed on error. With noSync the fsyncs are skipped.
func replaceFile(fsys fileSystem, tmp writableFile, path string, data []byte, noSync bool) (err error) {
	defer func() {
		if err != nil {
			_ = fsys.Remove(tmp.Name())
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
	if err = fsys.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if noSync {
		return nil
	}
	return fsys.SyncDir(filepath.Dir(path))
}

// propFS is the catalog property that tells the "file" IO scheme which
// Store's file system to use: its value is a key of icebergFSs. It is set
// on the catalog the Store opens (and so reaches every table it loads),
// never on table metadata.
const propFS = "anomalydb.fs"

var (
	// icebergFSs maps the propFS value of each open Store to its icebergFS.
	icebergFSs sync.Map // string -> icebergFS
	fsSeq      atomic.Uint64
)

// registerIcebergFS makes f the file system of catalogs opened with the
// returned propFS value, until unregisterIcebergFS.
func registerIcebergFS(f icebergFS) string {
	tok := "store-" + strconv.FormatUint(fsSeq.Add(1), 10)
	icebergFSs.Store(tok, f)
	return tok
}

func unregisterIcebergFS(tok string) { icebergFSs.Delete(tok) }

// init replaces iceberg-go's factory for local paths ("" and "file"
// schemes) with one that behaves exactly like the original (it returns
// icebergio.LocalFS) unless the caller's properties carry propFS, in which
// case it returns that Store's icebergFS. iceberg-go offers no other way to
// give the Hadoop catalog a file system, and LocalFS never fsyncs. Doing
// this in init, before any goroutine can resolve a scheme, avoids racing
// lookups. The Hadoop catalog and the table package of iceberg-go v0.7.0
// touch local files only through the IO resolved here.
func init() {
	factory := func(_ context.Context, _ *url.URL, props map[string]string) (icebergio.IO, error) {
		tok, ok := props[propFS]
		if !ok {
			return icebergio.LocalFS{}, nil
		}
		f, ok := icebergFSs.Load(tok)
		if !ok {
			return nil, fmt.Errorf("%w: file system %s is gone", ErrClosed, tok)
		}
		return f.(icebergFS), nil
	}
	for _, scheme := range []string{"", "file"} {
		icebergio.Unregister(scheme)
		icebergio.Register(scheme, factory)
	}
}

// icebergFS is the IO iceberg-go uses for a Store's tables: icebergio.LocalFS
// for reads, and the Store's fileSystem for every change. Unless noSync is
// set, every file it creates and its directory are fsynced before the
// next rename or hard link into the same table returns (the file is queued
// in syncs when iceberg-go closes it, see deferred_sync.go; without syncs
// it is fsynced before Close returns), and directories are fsynced after
// entries are renamed or linked into them and after directories are
// created. Because iceberg-go writes data files, manifests and the
// metadata temp file before it links the metadata file into place, this
// orders the commit for power loss: everything a metadata version refers
// to is on disk before it is published. Removals are not fsynced: a file
// that reappears after power loss is unreferenced, and Open deletes it.
type icebergFS struct {
	icebergio.LocalFS // reads, of paths resolved by loc
	fsys              fileSystem
	noSync            bool
	loc               *relocator     // resolves paths; changes only inside the data directory
	syncs             *deferredSyncs // the fsyncs put off until a publication; nil for none
}

var _ interface {
	icebergio.ListableIO
	icebergio.ReadFileIO
	icebergio.WriteFileIO
	icebergio.StatIO
	icebergio.RenameIO
	icebergio.RenameNoReplaceIO
	icebergio.RemoveAllIO
	icebergio.MkdirAllIO
} = icebergFS{}

// osPath turns a plain path or file:// URI into an OS path.
func osPath(name string) string {
	if strings.HasPrefix(strings.ToLower(name), "file:") {
		if u, err := url.Parse(name); err == nil && u.Path != "" {
			return filepath.FromSlash(u.Path)
		}
	}
	return name
}

// Open implements icebergio.IO.
func (f icebergFS) Open(name string) (icebergio.File, error) {
	p := f.loc.resolve(name)
	file, err := f.LocalFS.Open(p)
	if errors.Is(err, fs.ErrNotExist) && f.loc != nil {
		for _, alt := range f.loc.movedPaths(p) { // a dropped table's file, read by a reader it had
			if file, aerr := f.LocalFS.Open(alt); aerr == nil {
				return file, nil
			}
		}
	}
	return file, err
}

// ReadFile implements icebergio.ReadFileIO.
func (f icebergFS) ReadFile(name string) ([]byte, error) {
	return f.LocalFS.ReadFile(f.loc.resolve(name))
}

// ReadDir implements icebergio.ReadDirIO.
func (f icebergFS) ReadDir(name string) ([]fs.DirEntry, error) {
	return f.LocalFS.ReadDir(f.loc.resolve(name))
}

// WalkDir implements icebergio.ListableIO. fn sees paths under root as
// the caller named it, whatever root resolves to.
func (f icebergFS) WalkDir(root string, fn fs.WalkDirFunc) error {
	real := f.loc.resolve(root)
	return f.LocalFS.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
		if rel, ok := strings.CutPrefix(p, real); ok {
			p = root + rel
		}
		return fn(p, d, err)
	})
}

// Stat implements icebergio.StatIO.
func (f icebergFS) Stat(name string) (fs.FileInfo, error) { return f.LocalFS.Stat(f.loc.resolve(name)) }

// syncDir is SyncDir unless f.noSync.
func (f icebergFS) syncDir(dir string) error {
	if f.noSync {
		return nil
	}
	return f.fsys.SyncDir(dir)
}

// Create implements icebergio.WriteFileIO. Missing parent directories are
// created (durably); the returned writer fsyncs the file and its directory
// on Close.
func (f icebergFS) Create(name string) (icebergio.FileWriter, error) {
	p, err := f.loc.writable(name)
	if err != nil {
		return nil, err
	}
	if err := mkdirAll(f.fsys, filepath.Dir(p), !f.noSync); err != nil {
		return nil, err
	}
	w, err := createFile(f.fsys, p)
	if err != nil {
		return nil, err
	}
	return &syncFile{w: w, fs: f}, nil
}

// WriteFile implements icebergio.WriteFileIO, durably.
func (f icebergFS) WriteFile(name string, content []byte) error {
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

// Remove implements icebergio.IO.
func (f icebergFS) Remove(name string) error {
	p, err := f.loc.writable(name)
	if err != nil {
		return err
	}
	if err := f.fsys.Remove(p); err != nil {
		return err
	}
	f.syncs.discard(p)
	return nil
}

// RemoveAll implements icebergio.RemoveAllIO.
func (f icebergFS) RemoveAll(name string) error {
	p, err := f.loc.writable(name)
	if err != nil {
		return err
	}
	if err := f.fsys.RemoveAll(p); err != nil {
		return err
	}
	f.syncs.discard(p)
	return nil
}

// Mkdir creates one directory (durably), like icebergio.LocalFS.Mkdir.
func (f icebergFS) Mkdir(name string) error {
	p, err := f.loc.writable(name)
	if err != nil {
		return err
	}
	if err := f.fsys.Mkdir(p, 0o755); err != nil {
		return err
	}
	return f.syncDir(filepath.Dir(p))
}

// MkdirAll implements icebergio.MkdirAllIO, durably.
func (f icebergFS) MkdirAll(name string) error {
	p, err := f.loc.writable(name)
	if err != nil {
		return err
	}
	return mkdirAll(f.fsys, p, !f.noSync)
}

// Rename implements icebergio.RenameIO: it first makes the files created
// in the target's table durable (see publish), then renames and fsyncs
// the target directory (iceberg-go renames only within a directory).
func (f icebergFS) Rename(oldpath, newpath string) error {
	src, dst, err := f.writablePair(oldpath, newpath)
	if err != nil {
		return err
	}
	if err := f.publish(dst); err != nil {
		return err
	}
	if err := f.fsys.Rename(src, dst); err != nil {
		return err
	}
	return f.syncDir(filepath.Dir(dst))
}

// publish makes durable what a rename or link to dst may publish: the
// files created (and queued) under dst's table, the directory holding
// dst's directory (see deferred_sync.go).
func (f icebergFS) publish(dst string) error {
	if f.noSync || f.syncs == nil {
		return nil
	}
	return f.syncs.flush(filepath.Dir(filepath.Dir(dst)))
}

// writablePair resolves the two paths of a rename; both must be inside the
// data directory.
func (f icebergFS) writablePair(oldpath, newpath string) (string, string, error) {
	src, err := f.loc.writable(oldpath)
	if err != nil {
		return "", "", err
	}
	dst, err := f.loc.writable(newpath)
	return src, dst, err
}

// RenameNoReplace implements icebergio.RenameNoReplaceIO like LocalFS, as a
// hard link followed by a best-effort removal of the source. Like Rename
// it first makes the files created in the target's table durable, and
// afterwards fsyncs the target directory, except for a version claim of
// the Hadoop catalog (vN.metadata.json.claim): whether a claim survives a
// power cut does not matter (Open removes claims; the link of the claim
// to the version, which follows, is fsynced).
func (f icebergFS) RenameNoReplace(oldpath, newpath string) error {
	src, dst, err := f.writablePair(oldpath, newpath)
	if err != nil {
		return err
	}
	if err := f.publish(dst); err != nil {
		return err
	}
	if err := f.fsys.Link(src, dst); err != nil {
		return err
	}
	_ = f.fsys.Remove(src)
	if strings.HasSuffix(dst, ".metadata.json.claim") {
		return nil
	}
	return f.syncDir(filepath.Dir(dst))
}

// publishVersion publishes a metadata version of the Hadoop catalog as
// RenameNoReplace(claim, version) does, then, best effort, renames
// hintTemp (if not "") over hint (the version hint, a file in the same
// directory), and fsyncs that directory once for both: a power cut leaves
// neither or both. An error wrapping fs.ErrExist means version exists
// (nothing was changed); after a failed fsync the outcome is unknown.
func (f icebergFS) publishVersion(claim, version, hintTemp, hint string) error {
	src, dst, err := f.writablePair(claim, version)
	if err != nil {
		return err
	}
	if err := f.publish(dst); err != nil {
		return err
	}
	if err := f.fsys.Link(src, dst); err != nil {
		return err
	}
	_ = f.fsys.Remove(src)
	if hintTemp != "" {
		tmp, to, err := f.writablePair(hintTemp, hint)
		if err != nil || filepath.Dir(to) != filepath.Dir(dst) || f.publish(to) != nil || f.fsys.Rename(tmp, to) != nil {
			_ = f.Remove(hintTemp)
		}
	}
	return f.syncDir(filepath.Dir(dst))
}

// syncFile is a file created by icebergFS: unless the file system runs
// noSync, closing it queues its fsync and its directory's until the next
// publication (see deferred_sync.go), or, without a queue or with a full
// one, fsyncs it and its directory at once.
type syncFile struct {
	w      writableFile
	fs     icebergFS
	closed bool
}

// Write implements io.Writer.
func (s *syncFile) Write(p []byte) (int, error) { return s.w.Write(p) }

// ReadFrom implements io.ReaderFrom (part of icebergio.FileWriter).
func (s *syncFile) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{s.w}, r)
}

// Close implements io.Closer.
func (s *syncFile) Close() error {
	if s.closed {
		return fs.ErrClosed // and the file is not queued twice
	}
	s.closed = true
	if s.fs.noSync {
		return s.w.Close()
	}
	if s.fs.syncs != nil {
		startWriteback(s.w)
		if s.fs.syncs.add(s.w) {
			return nil
		}
	}
	serr := s.w.Sync()
	cerr := s.w.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return err
	}
	return s.fs.fsys.SyncDir(filepath.Dir(s.w.Name()))
}
