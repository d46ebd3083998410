package testbin

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"testing"
)

// TreeState returns every entry under dir (dir included) with its mode,
// size and modification time, so that two calls show whether anything
// under dir was created, removed or written in between.
func TreeState(t testing.TB, dir string) map[string]string {
	t.Helper()
	st := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st[p] = fmt.Sprintf("%v %d %v", info.Mode(), info.Size(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// SameTree reports through t every entry of after that differs from, or
// is missing in, before, and every entry of before that is gone.
func SameTree(t testing.TB, what string, before, after map[string]string) {
	t.Helper()
	for p, st := range before {
		if a, ok := after[p]; !ok {
			t.Errorf("%s removed %s", what, p)
		} else if a != st {
			t.Errorf("%s changed %s: %q, was %q", what, p, a, st)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s wrote %s", what, p)
		}
	}
}
