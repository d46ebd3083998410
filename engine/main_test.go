package engine_test

import (
	"fmt"
	"os"
	"testing"
)

// TestMain removes what outlives every single test: the directory of the
// server binary (about 140 MB) that buildBinary builds once for the whole
// run and that no test's Cleanup may remove while later tests use it.
// Without it each run of the crash tests leaves an anomalydb-bin*
// directory in the temporary directory.
func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		if err := os.RemoveAll(binDir); err != nil {
			fmt.Fprintf(os.Stderr, "removing the test binary: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}
