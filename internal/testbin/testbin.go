// Package testbin builds the anomalydb server binary once per test
// process, for tests that run it the way users do (over TCP, killed with
// SIGKILL, with flags), and removes it when the tests end.
//
// Use it from a package's TestMain and tests:
//
//	func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
//	bin := testbin.Build(t, repoRoot)
package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	once sync.Once
	dir  string // removed by Main
	path string
	err  error
)

// Build returns the path of the binary built from ./cmd/anomalydb of the
// repository at root, building it on the first call of the process. A
// build failure fails t (and every later caller).
func Build(t testing.TB, root string) string {
	t.Helper()
	once.Do(func() {
		dir, err = os.MkdirTemp("", "anomalydb-bin")
		if err != nil {
			return
		}
		path = filepath.Join(dir, "anomalydb")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/anomalydb")
		cmd.Dir = root
		if out, berr := cmd.CombinedOutput(); berr != nil {
			err = fmt.Errorf("go build: %v\n%s", berr, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// Main runs the tests and then removes the binary (about 140 MB), which no
// single test's Cleanup may remove while later tests use it. It returns
// the exit code for os.Exit: m.Run's, or 1 if the removal failed.
func Main(m *testing.M) int {
	code := m.Run()
	if dir != "" {
		if rerr := os.RemoveAll(dir); rerr != nil {
			fmt.Fprintf(os.Stderr, "removing the test binary: %v\n", rerr)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}
