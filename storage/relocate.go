package storage

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/iceberg-go/table"
)

// rootsFileName names the file that lists, one per line, every absolute
// path the data directory has been opened at (see relocator).
const rootsFileName = "ROOTS"

// ErrOutsideDataDir is returned for a change the store was asked to make
// to a file outside its data directory.
var ErrOutsideDataDir = errors.New("storage: path outside the data directory")

// relocator makes a data directory self-contained. Iceberg metadata holds
// absolute locations: a table's location, its manifest lists, manifests
// and data files, and the metadata log. A data directory copied or moved
// while the server is stopped still names its old places, so every path
// the store or iceberg-go uses goes through resolve, which maps a path
// under any earlier root of the data directory to the same relative path
// under the current one. Nothing is ever read from or written to an
// earlier root: after `cp -a` the original and the copy are independent.
//
// The earlier roots are the ones listed in the ROOTS file (written by
// Open) and the roots implied by tables' locations (for data directories
// written before the ROOTS file existed). A relocator is safe for
// concurrent use; roots are only ever added.
type relocator struct {
	root string                   // the current data directory, clean and absolute
	old  atomic.Pointer[[]string] // earlier roots, longest first
	// moved maps directories moved away (a dropped table's or database's,
	// into the trash) to where they went, for readers that still hold
	// their files (see Store.DropTable); one path may have been moved
	// several times (a table dropped, created again, dropped again).
	movedMu sync.Mutex
	moved   map[string][]string
}

// move records that directory from (clean, absolute) went to to.
func (r *relocator) move(from, to string) {
	r.movedMu.Lock()
	defer r.movedMu.Unlock()
	if r.moved == nil {
		r.moved = map[string][]string{}
	}
	from = filepath.Clean(from)
	r.moved[from] = append(r.moved[from], to)
}

// unmove forgets the move of from to to.
func (r *relocator) unmove(from, to string) {
	r.movedMu.Lock()
	defer r.movedMu.Unlock()
	from = filepath.Clean(from)
	r.moved[from] = slices.DeleteFunc(r.moved[from], func(d string) bool { return d == to })
	if len(r.moved[from]) == 0 {
		delete(r.moved, from)
	}
}

// movedPaths returns where p may have gone, if it lies under a moved
// directory: the places it was moved to, newest first.
func (r *relocator) movedPaths(p string) []string {
	r.movedMu.Lock()
	defer r.movedMu.Unlock()
	var out []string
	for from, tos := range r.moved {
		if !under(p, from) {
			continue
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			continue
		}
		for i := len(tos) - 1; i >= 0; i-- {
			out = append(out, filepath.Join(tos[i], rel))
		}
	}
	return out
}

func newRelocator(root string) *relocator {
	r := &relocator{root: filepath.Clean(root)}
	r.old.Store(&[]string{})
	return r
}

// under reports whether p is dir or inside it (both clean).
func under(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// resolve returns the OS path that name (a plain path or file:// URI)
// stands for in the current data directory: unchanged if it is not under
// an earlier root.
func (r *relocator) resolve(name string) string {
	p := filepath.Clean(osPath(name))
	if r == nil || !filepath.IsAbs(p) {
		return p
	}
	// The longest root p is under decides, the current one included: an
	// earlier root may lie inside the current one (a directory moved up
	// into a parent of its old place) or around it.
	best := ""
	if under(p, r.root) {
		best = r.root
	}
	for _, o := range *r.old.Load() {
		if len(o) > len(best) && under(p, o) {
			best = o
			break // longest first
		}
	}
	if best == "" || best == r.root {
		return p
	}
	return r.root + p[len(best):]
}

// writable resolves name and refuses it unless it is inside the data
// directory: the store never changes a file anywhere else.
func (r *relocator) writable(name string) (string, error) {
	p := r.resolve(name)
	if r != nil && !under(p, r.root) {
		return "", fmt.Errorf("%w: %s", ErrOutsideDataDir, p)
	}
	return p, nil
}

// add records earlier roots; the current root and known ones are ignored.
func (r *relocator) add(roots ...string) {
	for {
		cur := r.old.Load()
		next := slices.Clone(*cur)
		for _, o := range roots {
			o = filepath.Clean(o)
			if !filepath.IsAbs(o) || o == r.root || slices.Contains(next, o) {
				continue
			}
			next = append(next, o)
		}
		if len(next) == len(*cur) {
			return
		}
		// Longest first, so that a root inside another earlier root wins.
		slices.SortFunc(next, func(a, b string) int { return len(b) - len(a) })
		if r.old.CompareAndSwap(cur, &next) {
			return
		}
	}
}

// addTableRoot records the root a table was created under, derived from
// its location <root>/warehouse/<db dir>/<table dir>.
func (r *relocator) addTableRoot(ice *table.Table, dbDir, tableDir string) {
	loc := filepath.Clean(osPath(ice.Location()))
	suffix := string(filepath.Separator) + filepath.Join(warehouseDirName, dbDir, tableDir)
	if root, ok := strings.CutSuffix(loc, suffix); ok && root != "" {
		r.add(root)
	}
}

// icebergRoot is the path under which iceberg-go sees the data directory
// root. iceberg-go reads its warehouse path and its tables' locations as
// URLs, so a path holding characters a URL path escapes or cuts ('#',
// '?', '%', a space, non-ASCII) would send files elsewhere or fail; such
// a root is given to it as a virtual path of safe characters, derived
// from the root, which the relocator maps back (and never exists).
func icebergRoot(root string) string {
	safe := !strings.ContainsFunc(root, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/_-.+~", r))
	})
	if safe {
		return root
	}
	sum := sha256.Sum256([]byte(root))
	return string(filepath.Separator) + "anomalydb-root-" + hex.EncodeToString(sum[:8])
}

// openRoots reads the ROOTS file of the store's data directory into s.loc
// and appends the current root (and its icebergRoot) to it if new,
// durably, before anything else of the data directory is read.
func (s *Store) openRoots() error {
	path := filepath.Join(s.dir, rootsFileName)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("storage: reading %s: %w", path, err)
	}
	var roots []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			roots = append(roots, line)
		}
	}
	s.loc.add(roots...)
	missing := false
	for _, r := range []string{s.loc.root, icebergRoot(s.loc.root)} {
		s.loc.add(r)
		// A root with a newline cannot be a line of ROOTS; iceberg-go
		// sees it only as its icebergRoot anyway.
		if !strings.Contains(r, "\n") && !slices.Contains(roots, r) {
			roots, missing = append(roots, r), true
		}
	}
	if !missing {
		return nil
	}
	if err := writeFileAtomic(s.fs, path, []byte(strings.Join(roots, "\n")+"\n"), s.opts.NoSync); err != nil {
		return fmt.Errorf("storage: recording the data directory's location: %w", err)
	}
	return nil
}
