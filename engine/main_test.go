package engine_test

import (
	"os"
	"testing"

	"github.com/anomalydb/anomalydb/internal/testbin"
)

// TestMain removes the server binary that buildBinary builds once for the
// whole run; without it each run of the crash tests leaves an
// anomalydb-bin* directory of about 140 MB in the temporary directory.
func TestMain(m *testing.M) { os.Exit(testbin.Main(m)) }
