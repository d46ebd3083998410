package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// crashFS is a fileSystem for tests that simulates power loss. Every
// operation is passed through to the operating system, so the store works
// on real files, and, once begin has been called, also recorded in a model
// of what a disk keeps when the power fails. The model is strict, like
// Pebble's strict MemFS or SQLite's crash tests:
//
//   - a file's contents are durable only as of its last Sync (a file that
//     was never synced is empty);
//   - a directory entry (a file or directory created in the directory, a
//     rename or hard link into or out of it, a removal) is durable only once
//     the directory itself has been synced with SyncDir; until then the
//     directory keeps the entries it had at its last sync. For a rename both
//     directories matter: the source loses the entry when the source
//     directory is synced, the target gains it when the target is synced;
//   - everything else is lost.
//
// The state of the directory tree when begin was called is taken as fully
// durable. Point k (0 <= k < numPoints) is the disk after a power cut right
// after the k-th recorded operation (point 0: before the first);
// materialize writes it out as a fresh directory tree. Writes, closes and
// failed operations are points too, so every moment between two file-system
// calls is covered.
//
// A crashFS is safe for concurrent use; operations are serialized.
type crashFS struct {
	mu        sync.Mutex
	recording bool
	root      string
	inodes    []*crashInode // by inode number; 0 is root
	state     *crashState   // the durable state after the last operation
	points    []crashPoint
	problems  []string                    // operations the model could not follow
	fail      func(op, path string) error // fault injection; see setFail
}

// crashInode is one file or directory of the model.
type crashInode struct {
	dir     bool
	entries map[string]int // directories: the current entries (name -> inode)
	durable map[string]int // directories: the entries as of the last SyncDir; never modified, only replaced
	data    []byte         // files: the contents as of the last Sync; never modified, only replaced
}

// crashState is what survives a power cut: the durable entries of every
// directory and the durable contents of every file, by inode. It is
// immutable once built.
type crashState struct {
	dirs  map[int]map[string]int
	files map[int][]byte
}

// crashPoint is a moment at which the power may fail.
type crashPoint struct {
	op, path string      // the operation that led to this point
	state    *crashState // shared by consecutive points with the same durable state
}

var _ fileSystem = (*crashFS)(nil)

// begin starts recording: the tree under root, as it is now, is the
// initial and fully durable state (point 0). Nothing may write under root
// while begin runs.
func (c *crashFS) begin(root string) error {
	root, err := filepath.Abs(root)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.root, c.inodes, c.problems = root, nil, nil
	var load func(dir string) (int, error)
	load = func(dir string) (int, error) {
		ino := c.newInode(true)
		ents, err := os.ReadDir(dir)
		if err != nil {
			return 0, err
		}
		for _, e := range ents {
			p := filepath.Join(dir, e.Name())
			var child int
			switch {
			case e.IsDir():
				if child, err = load(p); err != nil {
					return 0, err
				}
			case e.Type().IsRegular():
				child = c.newInode(false)
				if c.inodes[child].data, err = os.ReadFile(p); err != nil {
					return 0, err
				}
			default:
				return 0, fmt.Errorf("crashFS: %s is neither a file nor a directory", p)
			}
			c.inodes[ino].entries[e.Name()] = child
		}
		c.inodes[ino].durable = maps.Clone(c.inodes[ino].entries)
		return ino, nil
	}
	if _, err := load(root); err != nil {
		return err
	}
	c.recording = true
	c.snapshot()
	c.points = []crashPoint{{op: "begin", path: root, state: c.state}}
	return nil
}

// end stops recording and returns the problems found: operations the model
// could not follow, and differences between the model and the real tree
// (a change that bypassed the fileSystem). Points stay available.
func (c *crashFS) end() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recording = false
	probs := slices.Clone(c.problems)
	return append(probs, c.mirrorDiff(0, c.root)...)
}

// setFail installs a fault injector: every operation (op is one of open,
// write, sync, close, mkdir, rename, link, remove, removeall, syncdir)
// first calls fail, and if it returns an error the operation fails with it
// without touching the disk. Nil removes the injector.
func (c *crashFS) setFail(fail func(op, path string) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = fail
}

// numPoints returns the number of points recorded so far.
func (c *crashFS) numPoints() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.points)
}

// point returns point k.
func (c *crashFS) point(k int) crashPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.points[k]
}

// materialize writes the disk as it would be after a power cut at point k
// into dst, which must not exist.
func (c *crashFS) materialize(k int, dst string) error {
	return c.point(k).state.write(0, dst)
}

func (st *crashState) write(ino int, dst string) error {
	if err := os.Mkdir(dst, 0o755); err != nil {
		return err
	}
	for name, child := range st.dirs[ino] {
		p := filepath.Join(dst, name)
		if _, isDir := st.dirs[child]; isDir {
			if err := st.write(child, p); err != nil {
				return err
			}
		} else if err := os.WriteFile(p, st.files[child], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// fingerprint returns a hash of the tree a power cut in this state leaves,
// so that states built separately but equal can be recognised.
func (st *crashState) fingerprint() [32]byte {
	h := sha256.New()
	var walk func(ino int)
	walk = func(ino int) {
		names := slices.Sorted(maps.Keys(st.dirs[ino]))
		for _, name := range names {
			child := st.dirs[ino][name]
			_, isDir := st.dirs[child]
			fmt.Fprintf(h, "%q %v\n", name, isDir)
			if isDir {
				walk(child)
				h.Write([]byte("end\n"))
			} else {
				_ = binary.Write(h, binary.LittleEndian, int64(len(st.files[child])))
				h.Write(st.files[child])
			}
		}
	}
	walk(0)
	return [32]byte(h.Sum(nil))
}

// newInode adds an inode to the model; c.mu must be held.
func (c *crashFS) newInode(dir bool) int {
	in := &crashInode{dir: dir}
	if dir {
		in.entries, in.durable = map[string]int{}, map[string]int{}
	}
	c.inodes = append(c.inodes, in)
	return len(c.inodes) - 1
}

// snapshot rebuilds c.state from the inodes; c.mu must be held.
func (c *crashFS) snapshot() {
	st := &crashState{dirs: map[int]map[string]int{}, files: map[int][]byte{}}
	for ino, in := range c.inodes {
		if in.dir {
			st.dirs[ino] = in.durable
		} else {
			st.files[ino] = in.data
		}
	}
	c.state = st
}

// record adds a point after an operation; c.mu must be held.
func (c *crashFS) record(op, path string) {
	if c.recording {
		c.points = append(c.points, crashPoint{op: op, path: path, state: c.state})
	}
}

func (c *crashFS) problem(format string, args ...any) {
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// inject runs the fault injector; c.mu must be held.
func (c *crashFS) inject(op, path string) error {
	if c.fail == nil {
		return nil
	}
	return c.fail(op, path)
}

// lookup resolves path in the model to its parent directory and base name;
// ok is false for the root itself, paths outside it and paths whose parent
// is not a directory of the model. c.mu must be held.
func (c *crashFS) lookup(path string) (parent *crashInode, base string, ok bool) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, "", false
	}
	rel, err := filepath.Rel(c.root, abs)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil, "", false
	}
	parts := strings.Split(rel, string(filepath.Separator))
	ino := 0
	for _, p := range parts[:len(parts)-1] {
		child, ok := c.inodes[ino].entries[p]
		if !ok || !c.inodes[child].dir {
			return nil, "", false
		}
		ino = child
	}
	return c.inodes[ino], parts[len(parts)-1], true
}

// lookupIno resolves path (the root included) to an inode; c.mu must be
// held.
func (c *crashFS) lookupIno(path string) (int, bool) {
	if abs, err := filepath.Abs(path); err == nil && abs == c.root {
		return 0, true
	}
	parent, base, ok := c.lookup(path)
	if !ok {
		return 0, false
	}
	ino, ok := parent.entries[base]
	return ino, ok
}

// OpenFile implements fileSystem. The file is opened read-write whatever
// flag says, so that Sync can read back what it makes durable.
func (c *crashFS) OpenFile(name string, flag int, perm fs.FileMode) (writableFile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("open", name); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(name, flag&^(os.O_WRONLY|os.O_RDWR)|os.O_RDWR, perm)
	if err != nil {
		c.record("open failed", name)
		return nil, err
	}
	ino := -1
	if c.recording {
		if parent, base, ok := c.lookup(name); !ok {
			c.problem("open of %s outside the model", name)
		} else if existing, ok := parent.entries[base]; ok {
			ino = existing
		} else {
			ino = c.newInode(false)
			parent.entries[base] = ino
		}
		c.record("open", name)
	}
	return &crashFile{f: f, c: c, ino: ino}, nil
}

// Mkdir implements fileSystem.
func (c *crashFS) Mkdir(name string, perm fs.FileMode) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("mkdir", name); err != nil {
		return err
	}
	if err := os.Mkdir(name, perm); err != nil {
		c.record("mkdir failed", name)
		return err
	}
	if c.recording {
		if parent, base, ok := c.lookup(name); ok {
			parent.entries[base] = c.newInode(true)
		} else {
			c.problem("mkdir of %s outside the model", name)
		}
		c.record("mkdir", name)
	}
	return nil
}

// Rename implements fileSystem.
func (c *crashFS) Rename(oldpath, newpath string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("rename", oldpath); err != nil {
		return err
	}
	if err := os.Rename(oldpath, newpath); err != nil {
		c.record("rename failed", oldpath)
		return err
	}
	if c.recording {
		from, fromBase, ok1 := c.lookup(oldpath)
		to, toBase, ok2 := c.lookup(newpath)
		ino, ok3 := 0, false
		if ok1 {
			ino, ok3 = from.entries[fromBase]
		}
		if ok1 && ok2 && ok3 {
			delete(from.entries, fromBase)
			to.entries[toBase] = ino
		} else {
			c.problem("rename of %s to %s outside the model", oldpath, newpath)
		}
		c.record("rename", oldpath+" -> "+newpath)
	}
	return nil
}

// Link implements fileSystem.
func (c *crashFS) Link(oldname, newname string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("link", oldname); err != nil {
		return err
	}
	if err := os.Link(oldname, newname); err != nil {
		c.record("link failed", oldname)
		return err
	}
	if c.recording {
		ino, ok1 := c.lookupIno(oldname)
		to, toBase, ok2 := c.lookup(newname)
		if ok1 && ok2 {
			to.entries[toBase] = ino
		} else {
			c.problem("link of %s to %s outside the model", oldname, newname)
		}
		c.record("link", oldname+" -> "+newname)
	}
	return nil
}

// Remove implements fileSystem.
func (c *crashFS) Remove(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("remove", name); err != nil {
		return err
	}
	if err := os.Remove(name); err != nil {
		c.record("remove failed", name)
		return err
	}
	c.forget("remove", name)
	return nil
}

// RemoveAll implements fileSystem. Like a real file system the model drops
// only the entry of name from its parent: what was under it stays as
// durable as it was, which matters until the parent is synced.
func (c *crashFS) RemoveAll(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("removeall", name); err != nil {
		return err
	}
	_, statErr := os.Lstat(name)
	if err := os.RemoveAll(name); err != nil {
		if c.recording {
			c.problem("RemoveAll(%s) failed half way: %v", name, err)
		}
		return err
	}
	if statErr == nil {
		c.forget("removeall", name)
	} else {
		c.record("removeall (nothing)", name)
	}
	return nil
}

// forget removes the entry of name from the model after the OS removed it;
// c.mu must be held.
func (c *crashFS) forget(op, name string) {
	if !c.recording {
		return
	}
	if parent, base, ok := c.lookup(name); ok {
		if _, ok := parent.entries[base]; ok {
			delete(parent.entries, base)
		} else {
			c.problem("%s of %s, which the model does not have", op, name)
		}
	} else {
		c.problem("%s of %s outside the model", op, name)
	}
	c.record(op, name)
}

// SyncDir implements fileSystem.
func (c *crashFS) SyncDir(name string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.inject("syncdir", name); err != nil {
		return err
	}
	if err := (osFS{}).SyncDir(name); err != nil {
		c.record("syncdir failed", name)
		return err
	}
	if c.recording {
		if ino, ok := c.lookupIno(name); ok && c.inodes[ino].dir {
			c.inodes[ino].durable = maps.Clone(c.inodes[ino].entries)
			c.snapshot()
		} else {
			c.problem("syncdir of %s outside the model", name)
		}
		c.record("syncdir", name)
	}
	return nil
}

// mirrorDiff compares the model's current tree under inode ino with the
// real directory dir; c.mu must be held.
func (c *crashFS) mirrorDiff(ino int, dir string) []string {
	var diffs []string
	ents, err := os.ReadDir(dir)
	if err != nil {
		return []string{err.Error()}
	}
	model := c.inodes[ino].entries
	seen := map[string]bool{}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		seen[e.Name()] = true
		child, ok := model[e.Name()]
		switch {
		case !ok:
			diffs = append(diffs, "not in the model (changed behind the fileSystem's back): "+p)
		case c.inodes[child].dir != e.IsDir():
			diffs = append(diffs, "file in one, directory in the other: "+p)
		case e.IsDir():
			diffs = append(diffs, c.mirrorDiff(child, p)...)
		}
	}
	for name := range model {
		if !seen[name] {
			diffs = append(diffs, "in the model but not on disk: "+filepath.Join(dir, name))
		}
	}
	return diffs
}

// crashFile is a file opened by crashFS.
type crashFile struct {
	f   *os.File
	c   *crashFS
	ino int // -1 if not in the model
}

// Write implements writableFile.
func (f *crashFile) Write(p []byte) (int, error) {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.inject("write", f.f.Name()); err != nil {
		return 0, err
	}
	n, err := f.f.Write(p)
	if f.c.recording && f.ino < 0 {
		f.c.problem("write to %s, which the model does not have", f.f.Name())
	}
	f.c.record("write", f.f.Name())
	return n, err
}

// Sync implements writableFile: the file's current contents become its
// durable contents.
func (f *crashFile) Sync() error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.inject("sync", f.f.Name()); err != nil {
		return err
	}
	if err := f.f.Sync(); err != nil {
		f.c.record("sync failed", f.f.Name())
		return err
	}
	if !f.c.recording {
		return nil
	}
	if f.ino < 0 {
		f.c.problem("sync of %s, which the model does not have", f.f.Name())
		return nil
	}
	fi, err := f.f.Stat()
	if err != nil {
		return err
	}
	data := make([]byte, fi.Size())
	if _, err := f.f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	f.c.inodes[f.ino].data = data
	f.c.snapshot()
	f.c.record("sync", f.f.Name())
	return nil
}

// Close implements writableFile.
func (f *crashFile) Close() error {
	f.c.mu.Lock()
	defer f.c.mu.Unlock()
	if err := f.c.inject("close", f.f.Name()); err != nil {
		_ = f.f.Close()
		return err
	}
	err := f.f.Close()
	f.c.record("close", f.f.Name())
	return err
}

// Name implements writableFile.
func (f *crashFile) Name() string { return f.f.Name() }

// Fd returns the file descriptor (lockDir needs it).
func (f *crashFile) Fd() uintptr { return f.f.Fd() }

// TestCrashFSModel checks crashFS's model of power loss on small scripts:
// what a power cut after the last operation leaves.
func TestCrashFSModel(t *testing.T) {
	write := func(c *crashFS, name, data string, sync bool) {
		f, err := createFile(c, name)
		must(t, err)
		_, err = f.Write([]byte(data))
		must(t, err)
		if sync {
			must(t, f.Sync())
		}
		must(t, f.Close())
	}
	for _, tc := range []struct {
		name    string
		initial map[string]string // path -> contents; a trailing / makes a directory
		ops     func(c *crashFS, p func(string) string)
		want    map[string]string
	}{
		{
			name: "a file's contents need its fsync",
			ops: func(c *crashFS, p func(string) string) {
				write(c, p("a"), "x", false)
				must(t, c.SyncDir(p("")))
			},
			want: map[string]string{"a": ""},
		},
		{
			name: "a new file needs its directory's fsync",
			ops:  func(c *crashFS, p func(string) string) { write(c, p("a"), "x", true) },
			want: map[string]string{},
		},
		{
			name: "synced file in synced directory",
			ops: func(c *crashFS, p func(string) string) {
				write(c, p("a"), "x", true)
				must(t, c.SyncDir(p("")))
			},
			want: map[string]string{"a": "x"},
		},
		{
			name:    "rewriting a file without fsync keeps the old contents",
			initial: map[string]string{"a": "old"},
			ops:     func(c *crashFS, p func(string) string) { write(c, p("a"), "new", false) },
			want:    map[string]string{"a": "old"},
		},
		{
			name:    "a rename is in the target once the target is synced",
			initial: map[string]string{"d1/": "", "d2/": "", "d1/f": "old"},
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Rename(p("d1/f"), p("d2/f")))
				must(t, c.SyncDir(p("d2")))
			},
			want: map[string]string{"d1/": "", "d2/": "", "d1/f": "old", "d2/f": "old"},
		},
		{
			name:    "a rename leaves the source once the source is synced",
			initial: map[string]string{"d1/": "", "d2/": "", "d1/f": "old"},
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Rename(p("d1/f"), p("d2/f")))
				must(t, c.SyncDir(p("d1")))
			},
			want: map[string]string{"d1/": "", "d2/": ""},
		},
		{
			name:    "a rename over a file",
			initial: map[string]string{"a": "old", "tmp": "new"},
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Rename(p("tmp"), p("a")))
				must(t, c.SyncDir(p("")))
			},
			want: map[string]string{"a": "new"},
		},
		{
			name:    "a removal needs the directory's fsync",
			initial: map[string]string{"a": "x", "b": "y"},
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Remove(p("a")))
				must(t, c.SyncDir(p("")))
				must(t, c.Remove(p("b")))
			},
			want: map[string]string{"b": "y"},
		},
		{
			name: "a new directory's entries need its own fsync",
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Mkdir(p("d"), 0o755))
				must(t, c.SyncDir(p("")))
				write(c, p("d/a"), "x", true)
				must(t, c.Mkdir(p("d/e"), 0o755))
			},
			want: map[string]string{"d/": ""},
		},
		{
			name:    "a hard link and the removal of its source",
			initial: map[string]string{"tmp": "x"},
			ops: func(c *crashFS, p func(string) string) {
				must(t, c.Link(p("tmp"), p("v1")))
				must(t, c.Remove(p("tmp")))
				must(t, c.SyncDir(p("")))
			},
			want: map[string]string{"v1": "x"},
		},
		{
			name:    "RemoveAll keeps the tree until the parent is synced",
			initial: map[string]string{"d/": "", "d/a": "x", "d/e/": "", "d/e/b": "y"},
			ops:     func(c *crashFS, p func(string) string) { must(t, c.RemoveAll(p("d"))) },
			want:    map[string]string{"d/": "", "d/a": "x", "d/e/": "", "d/e/b": "y"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
			for _, name := range slices.Sorted(maps.Keys(tc.initial)) {
				if dir, ok := strings.CutSuffix(name, "/"); ok {
					must(t, os.MkdirAll(p(dir), 0o755))
				} else {
					must(t, os.WriteFile(p(name), []byte(tc.initial[name]), 0o644))
				}
			}
			c := &crashFS{}
			must(t, c.begin(root))
			tc.ops(c, p)
			for _, prob := range c.end() {
				t.Errorf("crashFS: %s", prob)
			}
			out := filepath.Join(t.TempDir(), "out")
			must(t, c.materialize(c.numPoints()-1, out))
			if got := readTree(t, out); !maps.Equal(got, tc.want) {
				t.Errorf("after a power cut: %q, want %q", got, tc.want)
			}
			out0 := filepath.Join(t.TempDir(), "out0")
			must(t, c.materialize(0, out0))
			if got := readTree(t, out0); !maps.Equal(got, tc.initial) {
				t.Errorf("point 0: %q, want the initial %q", got, tc.initial)
			}
		})
	}
}

// TestCrashFSNoticesBypass checks that crashFS reports a change made
// behind its back, which would make its model of the disk wrong.
func TestCrashFSNoticesBypass(t *testing.T) {
	root := t.TempDir()
	c := &crashFS{}
	must(t, c.begin(root))
	must(t, c.Mkdir(filepath.Join(root, "d"), 0o755))
	must(t, os.WriteFile(filepath.Join(root, "d", "bypass"), nil, 0o644))
	if probs := c.end(); len(probs) != 1 || !strings.Contains(probs[0], "bypass") {
		t.Fatalf("problems = %q, want one about the bypass", probs)
	}
}

// readTree maps the paths under root (slash-separated, directories with
// a trailing slash) to file contents.
func readTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			out[rel+"/"] = ""
			return nil
		}
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	must(t, err)
	return out
}

// TestIcebergFSIsDurable checks icebergFS's contract with crashFS: the
// effect of every mutating method it offers iceberg-go (making
// directories, renaming) survives a power cut right after the method
// returns, and a file created and written through it once a rename or
// link into the same table has returned (see deferred_sync.go), also for
// methods that the Hadoop catalog of iceberg-go v0.7.0 does not happen
// to call.
func TestIcebergFSIsDurable(t *testing.T) {
	for _, tc := range []struct {
		name string
		op   func(f icebergFS, p func(string) string) error
		want map[string]string // entries that must be there, besides "src"
		gone []string
	}{
		{
			name: "Create",
			op: func(f icebergFS, p func(string) string) error {
				w, err := f.Create("file://" + filepath.ToSlash(p("a/b/f")))
				if err != nil {
					return err
				}
				if _, err := w.ReadFrom(strings.NewReader("data")); err != nil {
					return err
				}
				if err := w.Close(); err != nil {
					return err
				}
				return f.RenameNoReplace(p("src"), p("a/b/v"))
			},
			want: map[string]string{"a/": "", "a/b/": "", "a/b/f": "data", "a/b/v": "old"},
		},
		{
			name: "WriteFile",
			op: func(f icebergFS, p func(string) string) error {
				if err := f.WriteFile(p("t/m/w"), []byte("data")); err != nil {
					return err
				}
				return f.Rename(p("src"), p("t/m/v"))
			},
			want: map[string]string{"t/m/w": "data", "t/m/v": "old"},
		},
		{
			name: "Mkdir",
			op:   func(f icebergFS, p func(string) string) error { return f.Mkdir(p("d")) },
			want: map[string]string{"d/": ""},
		},
		{
			name: "MkdirAll",
			op:   func(f icebergFS, p func(string) string) error { return f.MkdirAll(p("x/y")) },
			want: map[string]string{"x/": "", "x/y/": ""},
		},
		{
			name: "Rename",
			op:   func(f icebergFS, p func(string) string) error { return f.Rename(p("src"), p("dst")) },
			want: map[string]string{"dst": "old"},
			gone: []string{"src"},
		},
		{
			name: "RenameNoReplace",
			op: func(f icebergFS, p func(string) string) error {
				if err := f.RenameNoReplace(p("src"), p("taken")); !errors.Is(err, fs.ErrExist) {
					return fmt.Errorf("RenameNoReplace onto an existing file = %v, want fs.ErrExist", err)
				}
				return f.RenameNoReplace(p("src"), p("dst"))
			},
			want: map[string]string{"dst": "old", "taken": "taken"},
			gone: []string{"src"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			p := func(rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
			must(t, os.WriteFile(p("src"), []byte("old"), 0o644))
			must(t, os.WriteFile(p("taken"), []byte("taken"), 0o644))
			c := &crashFS{}
			must(t, c.begin(root))
			must(t, tc.op(icebergFS{fsys: c, syncs: newDeferredSyncs(c)}, p))
			for _, prob := range c.end() {
				t.Errorf("crashFS: %s", prob)
			}
			out := filepath.Join(t.TempDir(), "out")
			must(t, c.materialize(c.numPoints()-1, out))
			got := readTree(t, out)
			for name, data := range tc.want {
				if d, ok := got[name]; !ok || d != data {
					t.Errorf("after a power cut: %s is %q (present: %v), want %q", name, d, ok, data)
				}
			}
			for _, name := range tc.gone {
				if _, ok := got[name]; ok {
					t.Errorf("after a power cut: %s is still there", name)
				}
			}
		})
	}
}
