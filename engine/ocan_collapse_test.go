package engine_test

import (
	"strings"
	"testing"
)

// TestOCANCollapseOverSQL: an ocan training whose generator collapses (at
// 10000 times its learning rate its ReLUs die and it draws every row
// alike) is error 1210 naming the collapse, and leaves no detector, file
// or training log. Bugs caught: ocan's collapse check left out (the
// statement succeeds and keeps a detector that learned nothing), its
// error not wrapping ErrCollapsed (the client gets 1105), the failed
// training saved.
func TestOCANCollapseOverSQL(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	q := "CREATE DETECTOR c USING ocan WITH (lr = 10, epochs = 1, pretrain_epochs = 1) AS SELECT f0, f1, f2, f3, f4, f5 FROM thyroid"
	const want = "detector training collapsed: ocan: the generator draws every row alike"
	if msg := expectErr(t, db, q, 1210); !strings.Contains(msg, want) {
		t.Errorf("%q, want it to say %q", msg, want)
	}
	if got := queryRows(t, db, "SHOW DETECTORS LIKE 'c'"); len(got) != 0 {
		t.Errorf("c is listed: %v", got)
	}
	if files := detectorFiles(t, dir, "c"); len(files) != 0 {
		t.Errorf("c left %v", files)
	}
	expectErr(t, db, "SELECT * FROM detector_training_log('c')", 1305)
}
