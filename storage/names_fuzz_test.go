package storage

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Fuzz targets of the mapping from database, table and detector names to
// directories and files (names.go, rename.go, detectors.go). Plain go
// test runs their seeds; `make fuzz` explores further.

// nameSeeds are names the mapping must handle: plain ones, ones that
// differ only in case, and hostile ones (separators, dots, escapes,
// reserved suffixes, the store's own file names, Unicode that changes
// under case folding or normalization).
var nameSeeds = []string{
	"t", "T", "my table", "ünï😀", "a%20b", "x.y", "..", ".", ".hidden", "../x", "a/b", `a\b`,
	"a\x00b", "a\nb", " lead", "trail ", "t-0123456789abcdef", "T-0123456789ABCDEF",
	"x.model", ".x.model.replaced", "x.tmp-1", "metadata", "data", ".anomalydb-views.json",
	"\u212a", "k", "é", "e\u0301", "İ", "i", "ß", "SS", "\xff", "$", "-", "_",
	strings.Repeat("a", 64), strings.Repeat("a", 65), strings.Repeat("é", 64), strings.Repeat("é", 65),
}

// component reports whether s is one path component that stays inside
// its parent: not empty, ".", or "..", no separator, no NUL.
func component(s string) bool {
	if s == "" || s == "." || s == ".." || strings.ContainsAny(s, "/\\\x00") {
		return false
	}
	parent := filepath.FromSlash("/parent")
	p := filepath.Join(parent, s)
	return filepath.Dir(p) == parent && filepath.Base(p) == s
}

// mysqlRefuses reports whether MySQL 8 refuses name as a database, table
// or detector identifier (the rules the store must at least apply):
// empty, not UTF-8, longer than 64 characters, ending in a space, or
// holding U+0000.
func mysqlRefuses(name string) bool {
	return name == "" || !utf8.ValidString(name) || utf8.RuneCountInString(name) > 64 ||
		strings.HasSuffix(name, " ") || strings.ContainsRune(name, 0)
}

// FuzzNameValidation checks, for any name, without touching the disk:
// names MySQL refuses are refused; an accepted name's detector file is one
// component of its directory, not hidden (hidden files are the store's
// set-aside and temporary files) and gives the name back; a name used as
// a directory as it is (plainName: databases, and tables where free) is
// one component too.
func FuzzNameValidation(f *testing.F) {
	for _, s := range nameSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := validateName("table", name)
		if err != nil && !errors.Is(err, ErrInvalidName) {
			t.Fatalf("validateName(%q) = %v, not ErrInvalidName", name, err)
		}
		if mysqlRefuses(name) && err == nil {
			t.Fatalf("validateName(%q) accepts a name MySQL refuses", name)
		}
		if plainName(name) && (err != nil || !component(name)) {
			t.Fatalf("plainName(%q), but validateName = %v, component = %v", name, err, component(name))
		}
		if err != nil {
			return
		}
		file := name + detectorExt
		if !component(file) || strings.HasPrefix(file, ".") {
			t.Fatalf("detector %q is saved as %q: not one visible file", name, file)
		}
		if back, ok := strings.CutSuffix(file, detectorExt); !ok || back != name || validateName("detector", back) != nil {
			t.Fatalf("detector file %q does not give the name %q back", file, name)
		}
	})
}

// FuzzNameMapping creates two tables, two detectors and two databases
// named a and b in a real store and checks that the mapping is injective
// and self-contained: different names (compared case-insensitively) get
// different directories and files, each one component directly inside
// its parent, nothing is written outside the data directory, and after
// reopening the store each name finds its own table, detector and
// database again; dropping one table and detector leaves the other
// intact. Names the store refuses are refused with ErrInvalidName and
// create nothing; names MySQL refuses are among them.
func FuzzNameMapping(f *testing.F) {
	f.Add("t", "T")
	f.Add("my table", "my%20table")
	f.Add("ünï😀", "t-0123456789abcdef")
	f.Add("x.y", "x")
	f.Add("x.model", "x")
	f.Add("\u212a", "k")
	f.Add("é", "e\u0301")
	f.Add("../x", "x")
	f.Add("a\x00b", "a")
	f.Add("trail ", "trail")
	f.Add("metadata", "data")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 300 || len(b) > 300 {
			return
		}
		root, err := os.MkdirTemp("", "names")
		must(t, err)
		defer os.RemoveAll(root)
		dir := filepath.Join(root, "data")
		mem := memory.NewGoAllocator()
		s := openStore(t, dir, mem, true)
		defer func() { s.Close() }()
		must(t, s.CreateDatabase("db"))
		made := map[string]string{} // key -> name, in creation order of the tables
		for _, n := range []string{a, b} {
			_, err := s.CreateTable("db", n, smallSchema(), nil)
			verr := validateName("table", n)
			switch {
			case verr != nil:
				if !errors.Is(err, ErrInvalidName) {
					t.Fatalf("CreateTable(%q) = %v, want ErrInvalidName (%v)", n, err, verr)
				}
				if derr := s.SaveDetector("db", n, []byte(n)); !errors.Is(derr, ErrInvalidName) {
					t.Fatalf("SaveDetector(%q) = %v, want ErrInvalidName", n, derr)
				}
				continue
			case made[key(n)] != "":
				if !errors.Is(err, ErrTableExists) {
					t.Fatalf("CreateTable(%q) after %q = %v, want ErrTableExists", n, made[key(n)], err)
				}
			default:
				must(t, err)
				made[key(n)] = n
			}
			must(t, s.SaveDetector("db", n, []byte(n)))
		}
		// Detectors: the later of two names with one key replaces the
		// earlier, under the later's spelling.
		wantDet := map[string][]byte{}
		for _, n := range []string{a, b} {
			if validateName("detector", n) != nil {
				continue
			}
			for k := range wantDet {
				if key(k) == key(n) {
					delete(wantDet, k)
				}
			}
			wantDet[n] = []byte(n)
		}
		check := func(when string) {
			t.Helper()
			tables, err := s.Tables("db")
			must(t, err)
			want := slices.Collect(func(yield func(string) bool) {
				for _, n := range made {
					if !yield(n) {
						return
					}
				}
			})
			sortNames(want)
			if !slices.Equal(tables, want) {
				t.Fatalf("%s: tables %q, want %q", when, tables, want)
			}
			dirs := map[string]string{}
			for _, n := range tables {
				tbl, err := s.Table("db", n)
				must(t, err)
				d := tbl.dir()
				if !component(d) || strings.HasPrefix(d, ".") {
					t.Fatalf("%s: table %q is in directory %q", when, n, d)
				}
				if other, dup := dirs[key(d)]; dup {
					t.Fatalf("%s: tables %q and %q share directory %q", when, other, n, d)
				}
				dirs[key(d)] = n
				if fi, err := os.Stat(filepath.Join(s.warehouse, "db", d)); err != nil || !fi.IsDir() {
					t.Fatalf("%s: table %q: directory %q: %v", when, n, d, err)
				}
			}
			ents, err := os.ReadDir(filepath.Join(s.warehouse, "db"))
			must(t, err)
			for _, e := range ents {
				if e.IsDir() && dirs[key(e.Name())] == "" {
					t.Fatalf("%s: stray directory %q beside tables %q", when, e.Name(), dirs)
				}
			}
			got, err := s.LoadDetectors("db")
			must(t, err)
			if len(got) != len(wantDet) {
				t.Fatalf("%s: detectors %q, want %q", when, got, wantDet)
			}
			for n, v := range wantDet {
				if string(got[n]) != string(v) {
					t.Fatalf("%s: detector %q = %q, want %q (all: %q)", when, n, got[n], v, got)
				}
			}
			if ents, err := os.ReadDir(root); err != nil || len(ents) != 1 || ents[0].Name() != "data" {
				t.Fatalf("%s: the store wrote outside its directory: %v %v", when, ents, err)
			}
		}
		// Databases: each one the store accepts adds one directory of
		// its own to the warehouse.
		dbs := map[string]string{"db": "db"} // key -> name
		for _, n := range []string{a, b} {
			before, err := os.ReadDir(s.warehouse)
			must(t, err)
			cerr := s.CreateDatabase(n)
			switch {
			case cerr != nil && dbs[key(n)] != "":
				if !errors.Is(cerr, ErrDatabaseExists) {
					t.Fatalf("CreateDatabase(%q) after %q = %v, want ErrDatabaseExists", n, dbs[key(n)], cerr)
				}
			case cerr != nil:
				if !errors.Is(cerr, ErrInvalidName) {
					t.Fatalf("CreateDatabase(%q) = %v, want ErrInvalidName", n, cerr)
				}
			default:
				if mysqlRefuses(n) {
					t.Fatalf("CreateDatabase(%q) accepts a name MySQL refuses", n)
				}
				dbs[key(n)] = n
			}
			after, err := os.ReadDir(s.warehouse)
			must(t, err)
			added := 0
			for _, e := range after {
				if !slices.ContainsFunc(before, func(o os.DirEntry) bool { return o.Name() == e.Name() }) {
					added++
					if !component(e.Name()) || !e.IsDir() {
						t.Fatalf("CreateDatabase(%q) added %q", n, e.Name())
					}
				}
			}
			if want := map[bool]int{true: 0, false: 1}[cerr != nil]; added != want || len(after) != len(before)+want {
				t.Fatalf("CreateDatabase(%q) = %v added %d directories (%d -> %d entries)", n, cerr, added, len(before), len(after))
			}
		}
		checkDatabases := func(when string) {
			t.Helper()
			var want []string
			for _, n := range dbs {
				want = append(want, n)
			}
			sortNames(want)
			if got := s.Databases(); !slices.Equal(got, want) {
				t.Fatalf("%s: databases %q, want %q", when, got, want)
			}
		}
		check("after create")
		checkDatabases("after create")
		must(t, s.Close())
		s = openStore(t, dir, mem, true)
		check("after reopen")
		checkDatabases("after reopen")
		// Dropping the first leaves the second.
		for _, n := range []string{a, b} {
			if m, ok := made[key(n)]; !ok || m != n {
				continue
			}
			must(t, s.DropTable("db", n))
			delete(made, key(n))
			if _, ok := wantDet[n]; ok {
				must(t, s.DeleteDetector("db", n))
				delete(wantDet, n)
			}
			check("after dropping " + n)
			break
		}
	})
}
