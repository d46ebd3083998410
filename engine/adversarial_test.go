package engine_test

import (
	"strings"
	"testing"
)

// TestAdversarialTrainingFails: an adversarial training that fails
// (detectors/adversary.go) is a clear error 1210 and leaves nothing: a
// generator that collapses (ganomaly at 5000 times its learning rate
// reconstructs every row alike) and one whose loss overflows to NaN.
// Neither detector is listed, has a file or a training log, or comes
// back after a restart, and the name is free for a training that works.
// Bugs caught: ErrCollapsed not translated to a MySQL error (the client
// would get 1105), a failed adversarial training saved or left listed.
func TestAdversarialTrainingFails(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	const cols = "AS SELECT f0, f1, f2, f3, f4, f5 FROM thyroid"
	for _, c := range []struct{ name, opts, want string }{
		{"collapsed", "lr = 1, epochs = 1", "detector training collapsed: ganomaly: the generator reconstructs every training row alike"},
		{"diverged", "lr = 1e200, epochs = 1", "detector training diverged: the generator's loss is NaN at epoch 1"},
	} {
		q := "CREATE DETECTOR " + c.name + " USING ganomaly WITH (" + c.opts + ") " + cols
		if msg := expectErr(t, db, q, 1210); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %q, want it to say %q", c.name, msg, c.want)
		}
		if got := queryRows(t, db, "SHOW DETECTORS LIKE '"+c.name+"'"); len(got) != 0 {
			t.Errorf("%s is listed: %v", c.name, got)
		}
		if files := detectorFiles(t, dir, c.name); len(files) != 0 {
			t.Errorf("%s left %v", c.name, files)
		}
		expectErr(t, db, "SELECT * FROM detector_training_log('"+c.name+"')", 1305)
	}
	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 0 {
		t.Errorf("after a restart: %v", got)
	}
	mustExec(t, db, "CREATE DETECTOR collapsed USING ganomaly WITH (epochs = 1) "+cols)
	if got := queryRows(t, db, "SHOW DETECTORS LIKE 'collapsed'"); len(got) != 1 || got[0][colStatus] != "ready" {
		t.Errorf("the name after a failed training: %v", got)
	}
}
