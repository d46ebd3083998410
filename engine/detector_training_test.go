package engine_test

import (
	"context"
	gosql "database/sql"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// Watching and stopping a training (detector_training.go): a long
// CREATE DETECTOR is stopped by the test once SHOW DETECTORS shows it
// past its first epoch, never after a fixed sleep.

// longTraining is a CREATE DETECTOR (or CREATE OR REPLACE DETECTOR, per
// create) of name that trains for hours unless it is stopped.
func longTraining(create, name string) string {
	return create + " " + name + " USING autoencoder WITH (epochs = 100000, lr = 0.002, seed = 1, hidden = '8,4') " +
		"AS SELECT f0, f1, f2 FROM examples.thyroid"
}

// The columns of SHOW DETECTORS.
const (
	colName = iota
	colAlgorithm
	colFeatures
	colTrainingRows
	colStatus
	colTrainSeconds
	colCreatedAt
	colRowsRead
	colSnapshots
	colEpoch
	colEpochs
	colLoss
)

// detectorRow returns the row of SHOW DETECTORS FROM examples for name
// with status, or nil.
func detectorRow(t *testing.T, db *gosql.DB, name, status string) []string {
	t.Helper()
	for _, r := range queryRows(t, db, "SHOW DETECTORS FROM examples") {
		if r[colName] == name && r[colStatus] == status {
			return r
		}
	}
	return nil
}

// waitEpochs waits until SHOW DETECTORS shows name training past epoch
// min, or the statement training it (done) ends, and returns the row.
func waitEpochs(t *testing.T, db *gosql.DB, name string, min int, done <-chan error) []string {
	t.Helper()
	var row []string
	waitFor(t, fmt.Sprintf("%s to train past epoch %d", name, min), func() bool {
		select {
		case err := <-done:
			t.Fatalf("the training of %s ended: %v", name, err)
		default:
		}
		row = detectorRow(t, db, name, "training")
		if row == nil {
			return false
		}
		n, err := strconv.Atoi(row[colEpoch])
		return err == nil && n >= min
	})
	return row
}

// detectorFiles lists the files under dir/detectors whose names hold
// name (any case): a saved detector, or a temporary file of one.
func detectorFiles(t *testing.T, dir, name string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(filepath.Join(dir, "detectors"), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.Contains(strings.ToLower(d.Name()), strings.ToLower(name)) {
			found = append(found, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// captureLog makes the process log at info level into a hook, not onto
// stderr, for the rest of the test.
func captureLog(t *testing.T) *logtest.Hook {
	t.Helper()
	std := logrus.StandardLogger()
	level, out := std.GetLevel(), std.Out
	hook := logtest.NewGlobal()
	std.SetLevel(logrus.InfoLevel)
	std.SetOutput(io.Discard)
	t.Cleanup(func() {
		std.ReplaceHooks(make(logrus.LevelHooks))
		std.SetLevel(level)
		std.SetOutput(out)
	})
	return hook
}

// trainingLogLines returns the fields of the log lines msg ("detector
// training started" or "… ended") about detector, in order.
func trainingLogLines(hook *logtest.Hook, msg, detector string) []logrus.Fields {
	var out []logrus.Fields
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.InfoLevel && e.Message == msg && e.Data["detector"] == detector {
			out = append(out, e.Data)
		}
	}
	return out
}

// stateRE is the State of SHOW PROCESSLIST for a connection that trains
// the long training, past its first epoch.
var stateRE = regexp.MustCompile(`^training epoch [1-9][0-9]*/100000, loss [0-9.e+-]+$`)

// TestWatchTraining: while a CREATE DETECTOR trains, other connections
// see it in SHOW DETECTORS (LIKE, WHERE) and information_schema.DETECTORS
// as "training" with its rows, epoch of the planned epochs and last
// loss; the State of its connection in SHOW PROCESSLIST and
// information_schema.PROCESSLIST is its epoch and loss;
// detector_training_log gives its epochs so far. It cannot be scored,
// described or created again meanwhile (1305, 1304), another detector can
// be created, and once KILL QUERY stops it (1317 for its client) nothing
// of it is left: not listed, no file, no log, not after a restart. The
// server log has its start and its end. Bugs caught: a training listed
// only once saved, its epoch or loss not updated, a State left at
// go-mysql-server's "running", a training that is scoreable or blocks
// other CREATEs, an entry or file left behind by a stopped training.
func TestWatchTraining(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	hook := captureLog(t)
	admin := ts.open("examples")
	trainer := ts.open("examples")
	id := queryInt(t, trainer, "SELECT CONNECTION_ID()")
	done := runAsync(context.Background(), trainer, longTraining("CREATE DETECTOR", "watched"))

	row := waitEpochs(t, admin, "watched", 2, done)
	if row[colAlgorithm] != "autoencoder" || row[colFeatures] != "f0,f1,f2" || row[colTrainingRows] != "3772" ||
		row[colRowsRead] != "3772" || row[colCreatedAt] != "NULL" || row[colEpochs] != "100000" ||
		!strings.HasPrefix(row[colSnapshots], "examples.thyroid@") {
		t.Errorf("SHOW DETECTORS row of a training: %v", row)
	}
	if loss, err := strconv.ParseFloat(row[colLoss], 64); err != nil || loss <= 0 {
		t.Errorf("loss %q: %v", row[colLoss], err)
	}
	if secs, err := strconv.ParseFloat(row[colTrainSeconds], 64); err != nil || secs <= 0 {
		t.Errorf("train_seconds %q: %v", row[colTrainSeconds], err)
	}
	// The epoch advances.
	epoch, _ := strconv.Atoi(row[colEpoch])
	waitEpochs(t, admin, "watched", epoch+1, done)

	if got := queryRows(t, admin, "SHOW DETECTORS LIKE 'watch%'"); len(got) != 1 || got[0][colStatus] != "training" {
		t.Errorf("SHOW DETECTORS LIKE: %v", got)
	}
	if got := queryRows(t, admin, "SHOW DETECTORS WHERE status = 'training' AND epoch >= 1 AND epochs = 100000"); len(got) != 1 || got[0][colName] != "watched" {
		t.Errorf("SHOW DETECTORS WHERE status = 'training': %v", got)
	}
	if got := queryRows(t, admin, "SELECT DETECTOR_NAME, STATUS, EPOCHS FROM information_schema.DETECTORS WHERE DETECTOR_SCHEMA = 'examples'"); fmt.Sprint(got) != "[[watched training 100000]]" {
		t.Errorf("information_schema.DETECTORS: %v", got)
	}

	for _, q := range []string{
		fmt.Sprintf("SELECT State FROM information_schema.PROCESSLIST WHERE ID = %d", id),
	} {
		if got := queryRows(t, admin, q); len(got) != 1 || !stateRE.MatchString(got[0][0]) {
			t.Errorf("%s: %v, want %v", q, got, stateRE)
		}
	}
	found := false
	for _, r := range queryRows(t, admin, "SHOW PROCESSLIST") {
		if r[0] == strconv.FormatInt(id, 10) {
			found = true
			if !stateRE.MatchString(r[6]) {
				t.Errorf("SHOW PROCESSLIST State of the training connection: %q, want %v", r[6], stateRE)
			}
		} else if strings.HasPrefix(r[6], "training") {
			t.Errorf("SHOW PROCESSLIST: another connection's State is %q", r[6])
		}
	}
	if !found {
		t.Errorf("SHOW PROCESSLIST has no connection %d", id)
	}

	// The log so far: epochs 1, 2, … with their losses.
	log := queryRows(t, admin, "SELECT epoch, train_loss, validation_loss, elapsed_seconds, learning_rate FROM detector_training_log('watched')")
	if len(log) < 2 {
		t.Fatalf("detector_training_log of a training: %v", log)
	}
	for i, r := range log {
		if r[0] != strconv.Itoa(i+1) || r[2] != "NULL" || r[4] != "0.002" {
			t.Errorf("detector_training_log row %d: %v", i, r)
		}
	}

	// Not a detector yet.
	if msg := expectErr(t, admin, "SELECT anomaly_score('watched', 1, 2, 3)", 1305); !strings.Contains(msg, "being trained") {
		t.Errorf("scoring a training: %q, want it to say it is being trained", msg)
	}
	expectErr(t, admin, "DESCRIBE DETECTOR watched", 1305)
	expectErr(t, admin, "SELECT is_anomaly('examples.watched', 1, 2, 3)", 1305)
	for _, q := range []string{
		"CREATE DETECTOR watched USING autoencoder WITH (epochs = 1) AS SELECT f0 FROM examples.thyroid",
		"CREATE OR REPLACE DETECTOR watched USING autoencoder WITH (epochs = 1) AS SELECT f0 FROM examples.thyroid",
		"CREATE DETECTOR IF NOT EXISTS WATCHED USING autoencoder WITH (epochs = 1) AS SELECT f0 FROM examples.thyroid",
	} {
		if msg := expectErr(t, admin, q, 1304); !strings.Contains(msg, fmt.Sprintf("connection %d", id)) {
			t.Errorf("%s: %q, want it to name the training connection", q, msg)
		}
	}
	// Another name trains meanwhile.
	mustExec(t, admin, "CREATE DETECTOR other USING autoencoder WITH (epochs = 1, hidden = '4') AS SELECT f0, f1 FROM examples.thyroid")
	expectErr(t, admin, "RENAME DETECTOR other TO watched", 1304)
	if got := queryRows(t, admin, "SHOW DETECTORS"); len(got) != 2 || got[0][colName] != "other" || got[0][colStatus] != "ready" || got[1][colStatus] != "training" {
		t.Errorf("SHOW DETECTORS with one saved and one training: %v", got)
	}

	mustExec(t, admin, fmt.Sprintf("KILL QUERY %d", id))
	if n, err := waitErr(t, "the killed training", done); n != 1317 {
		t.Errorf("the client of a killed training got %v, want error 1317", err)
	}
	if got := detectorRow(t, admin, "watched", "training"); got != nil {
		t.Errorf("a stopped training is still listed: %v", got)
	}
	expectErr(t, admin, "SELECT * FROM detector_training_log('watched')", 1305)
	if got := queryInt(t, admin, "SELECT COUNT(*) FROM information_schema.DETECTORS WHERE DETECTOR_NAME = 'watched'"); got != 0 {
		t.Errorf("information_schema.DETECTORS lists a stopped training")
	}
	if files := detectorFiles(t, dir, "watched"); len(files) != 0 {
		t.Errorf("a stopped training left %v", files)
	}
	expectRows(t, trainer, "SELECT 1", [][]string{r("1")}) // its connection lives on

	started := trainingLogLines(hook, "detector training started", "examples.watched")
	ended := trainingLogLines(hook, "detector training ended", "examples.watched")
	if len(started) != 1 || started[0]["algorithm"] != "autoencoder" || len(ended) != 1 || ended[0]["outcome"] != "stopped" ||
		ended[0]["rows"] != 3772 || ended[0]["algorithm"] != "autoencoder" || ended[0]["seconds"] == nil {
		t.Errorf("log lines of a stopped training: started %v, ended %v", started, ended)
	}
	if ended := trainingLogLines(hook, "detector training ended", "examples.other"); len(ended) != 1 || ended[0]["outcome"] != "created" {
		t.Errorf("log line of a created detector: %v", ended)
	}

	ts.stop()
	ts = startServer(t, dir, false)
	if got := queryRows(t, ts.open("examples"), "SHOW DETECTORS"); len(got) != 1 || got[0][colName] != "other" {
		t.Errorf("after a restart: %v", got)
	}
}

// TestStopTraining: KILL QUERY of an OR REPLACE training, KILL of the
// training connection, max_execution_time and a client that
// disconnects each stop a training mid-way (KILL of a connection that
// does not exist is 1094) and leave nothing of it (not
// listed, no file, not after a restart), and a CREATE OR REPLACE that is
// stopped leaves the detector it was replacing as it was; a training
// that fails does not leave anything either. The server log says how
// each ended. Bugs caught: a stop that training ignores (it would run for
// hours: the wait fails), a stopped or failed training saved anyway, an
// entry left in SHOW DETECTORS, OR REPLACE dropping the old detector
// before the new one is trained.
func TestStopTraining(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	hook := captureLog(t)
	admin := ts.open("examples")
	const scoreQ = "SELECT anomaly_score('kept', 0.5, 0.1, 0.2)"

	// ended checks the log line of how name's last training ended.
	ended := func(t *testing.T, name, outcome string) logrus.Fields {
		t.Helper()
		lines := trainingLogLines(hook, "detector training ended", "examples."+name)
		if len(lines) == 0 || lines[len(lines)-1]["outcome"] != outcome {
			t.Fatalf("log lines of the end of %s: %v, want the last with outcome %s", name, lines, outcome)
		}
		return lines[len(lines)-1]
	}
	// gone checks that nothing of name is left once its statement ended.
	gone := func(t *testing.T, name string) {
		t.Helper()
		waitFor(t, name+" to leave SHOW DETECTORS", func() bool { return len(queryRows(t, admin, "SHOW DETECTORS LIKE '"+name+"'")) == 0 })
		if files := detectorFiles(t, dir, name); len(files) != 0 {
			t.Errorf("the training of %s left %v", name, files)
		}
		expectErr(t, admin, "SELECT * FROM detector_training_log('"+name+"')", 1305)
	}

	// KILL of a connection that does not exist is MySQL's 1094; KILL QUERY
	// of an idle one does nothing to it.
	expectErr(t, admin, "KILL 4000000000", 1094)
	expectErr(t, admin, "KILL QUERY 4000000000", 1094)
	idle := ts.open("examples")
	mustExec(t, admin, fmt.Sprintf("KILL QUERY %d", queryInt(t, idle, "SELECT CONNECTION_ID()")))
	expectRows(t, idle, "SELECT 1", [][]string{r("1")})

	mustExec(t, admin, "CREATE DETECTOR kept USING autoencoder WITH (epochs = 2, lr = 0.002, seed = 1, hidden = '8,4') AS SELECT f0, f1, f2 FROM examples.thyroid")
	before := queryRows(t, admin, scoreQ)

	t.Run("kill-query-or-replace", func(t *testing.T) {
		db := ts.open("examples")
		id := queryInt(t, db, "SELECT CONNECTION_ID()")
		done := runAsync(context.Background(), db, longTraining("CREATE OR REPLACE DETECTOR", "kept"))
		waitEpochs(t, admin, "kept", 3, done)
		if got := queryRows(t, admin, "SHOW DETECTORS LIKE 'kept'"); len(got) != 2 || got[0][colStatus] != "ready" || got[1][colStatus] != "training" {
			t.Errorf("SHOW DETECTORS while kept is replaced: %v", got)
		}
		if got := queryRows(t, admin, scoreQ); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("while it is replaced kept scores %v, before %v", got, before)
		}
		if got := queryRows(t, admin, "SELECT epoch FROM detector_training_log('kept')"); len(got) < 3 {
			t.Errorf("detector_training_log of a detector being replaced: %v, want the new training's epochs", got)
		}
		mustExec(t, admin, fmt.Sprintf("KILL QUERY %d", id))
		if n, err := waitErr(t, "the killed training", done); n != 1317 {
			t.Errorf("the client of a killed training got %v, want error 1317", err)
		}
		if got := queryRows(t, admin, "SHOW DETECTORS LIKE 'kept'"); len(got) != 1 || got[0][colStatus] != "ready" || got[0][colEpoch] != "2" {
			t.Errorf("after the replacement was stopped: %v", got)
		}
		if got := queryRows(t, admin, scoreQ); fmt.Sprint(got) != fmt.Sprint(before) {
			t.Errorf("after the replacement was stopped kept scores %v, before %v", got, before)
		}
		if got := queryRows(t, admin, "SELECT epoch FROM detector_training_log('kept')"); len(got) != 2 {
			t.Errorf("detector_training_log after the replacement was stopped: %v", got)
		}
		ended(t, "kept", "stopped")
	})

	t.Run("kill-connection", func(t *testing.T) {
		db := ts.open("examples")
		db.SetMaxOpenConns(1)
		id := queryInt(t, db, "SELECT CONNECTION_ID()")
		done := runAsync(context.Background(), db, longTraining("CREATE DETECTOR", "conn_killed"))
		waitEpochs(t, admin, "conn_killed", 1, done)
		mustExec(t, admin, fmt.Sprintf("KILL %d", id))
		if n, err := waitErr(t, "the training of a killed connection", done); n == 0 {
			t.Errorf("the client of a killed connection got %v, want an error", err)
		}
		gone(t, "conn_killed")
		waitFor(t, "the killed connection to leave the process list", func() bool {
			return queryInt(t, admin, fmt.Sprintf("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %d", id)) == 0
		})
		ended(t, "conn_killed", "stopped")
	})

	t.Run("max_execution_time", func(t *testing.T) {
		db := ts.open("examples")
		db.SetMaxOpenConns(1)
		mustExec(t, db, "SET SESSION max_execution_time = 1500")
		if n, err := waitErr(t, "a training past max_execution_time", runAsync(context.Background(), db, longTraining("CREATE DETECTOR", "timed"))); n != 3024 {
			t.Errorf("a training past max_execution_time: %v, want error 3024", err)
		}
		gone(t, "timed")
		// It was stopped mid-way: it had run epochs.
		if f := ended(t, "timed", "stopped"); f["cause"] != "max_execution_time" || f["epochs"] == 0 {
			t.Errorf("log line of a timed-out training: %v", f)
		}
	})

	t.Run("disconnect", func(t *testing.T) {
		db := ts.open("examples")
		ctx, cancel := context.WithCancel(context.Background())
		done := runAsync(ctx, db, longTraining("CREATE DETECTOR", "orphan"))
		waitEpochs(t, admin, "orphan", 1, done)
		cancel() // the driver closes the connection
		<-done
		gone(t, "orphan")
		ended(t, "orphan", "stopped")
	})

	t.Run("failed", func(t *testing.T) {
		// An lr this large makes the loss overflow within an epoch or two.
		q := "CREATE DETECTOR diverged USING autoencoder WITH (epochs = 50, lr = 1e200, seed = 1) AS SELECT f0, f1, f2 FROM examples.thyroid"
		if msg := expectErr(t, admin, q, 1210); !strings.Contains(msg, "lr") {
			t.Errorf("a diverged training: %q", msg)
		}
		gone(t, "diverged")
		ended(t, "diverged", "failed")

		// A panic while it reads its rows (recover.go: 1105) leaves
		// nothing either, and the name free.
		ts.srv.Engine().Analyzer.Catalog.RegisterFunction(sql.NewEmptyContext(),
			sql.Function1{Name: "test_panic", Fn: func(e sql.Expression) sql.Expression { return &panicky{x: e} }}) // stmt_limits_test.go
		expectErr(t, admin, "CREATE DETECTOR panicked USING autoencoder WITH (epochs = 1) AS SELECT test_panic(id) FROM examples.thyroid", 1105)
		gone(t, "panicked")
		ended(t, "panicked", "failed")
		mustExec(t, admin, "CREATE DETECTOR panicked USING autoencoder WITH (epochs = 1) AS SELECT f0 FROM examples.thyroid")
		mustExec(t, admin, "DROP DETECTOR panicked")
	})

	ts.stop()
	ts = startServer(t, dir, false)
	db := ts.open("examples")
	if got := queryRows(t, db, "SHOW DETECTORS"); len(got) != 1 || got[0][colName] != "kept" {
		t.Errorf("after a restart: %v", got)
	}
	if got := queryRows(t, db, scoreQ); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("after a restart kept scores %v, before %v", got, before)
	}
}

// TestDetectorTrainingLog: detector_training_log of a saved detector
// returns one row per epoch, with its held-out loss under validation,
// the same after a restart (persisted with the detector), by qualified
// name, in a prepared statement and joined like a table; SHOW DETECTORS
// shows the last epoch, the planned epochs and the last loss, and
// DESCRIBE's train_loss is the kept epoch's. Bad calls: 1305 for an
// unknown detector, 1582 for another argument count, 1142-style denial
// without SELECT; NULL gives no rows. Bugs caught: a log not persisted
// (empty after a restart), epochs missing or repeated, validation losses
// dropped, a table function that cannot be prepared.
func TestDetectorTrainingLog(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	mustExecAll(t, db,
		"CREATE DETECTOR plain USING autoencoder WITH (epochs = 4, lr = 0.003, seed = 2, hidden = '8,4') AS SELECT f0, f1, f2 FROM thyroid",
		"CREATE DATABASE mine",
		"CREATE DETECTOR held USING deep_svdd WITH (epochs = 6, pretrain_epochs = 2, validation = 0.2, patience = 100, seed = 2, hidden = '8,4') AS SELECT f0, f1, f2 FROM thyroid")
	const logQ = "SELECT epoch, train_loss, validation_loss, elapsed_seconds, learning_rate FROM detector_training_log('%s')"

	plain := queryRows(t, db, fmt.Sprintf(logQ, "plain"))
	if len(plain) != 4 {
		t.Fatalf("log of a 4-epoch training: %v", plain)
	}
	for i, r := range plain {
		if r[0] != strconv.Itoa(i+1) || r[2] != "NULL" || r[4] != "0.003" || r[1] == "NULL" || r[3] == "NULL" {
			t.Errorf("row %d: %v", i, r)
		}
	}
	show := queryRows(t, db, "SHOW DETECTORS LIKE 'plain'")[0]
	if show[colEpoch] != "4" || show[colEpochs] != "4" || show[colLoss] != plain[3][1] {
		t.Errorf("SHOW DETECTORS of plain: %v; its log %v", show, plain)
	}
	for _, p := range queryRows(t, db, "DESCRIBE DETECTOR plain") {
		if p[0] == "train_loss" && p[1] != plain[3][1] {
			t.Errorf("DESCRIBE's train_loss %s, the last epoch's %s", p[1], plain[3][1])
		}
	}

	// Pretraining's 2 epochs, then the 6 of training, all with held-out
	// losses (pretraining holds rows out too).
	held := queryRows(t, db, fmt.Sprintf(logQ, "held"))
	if len(held) != 8 {
		t.Fatalf("log of 2 + 6 epochs: %v", held)
	}
	for i, r := range held {
		if r[0] != strconv.Itoa(i+1) || r[2] == "NULL" {
			t.Errorf("row %d of a training with validation: %v", i, r)
		}
	}
	if got := queryRows(t, db, "SELECT epoch, epochs FROM information_schema.DETECTORS WHERE DETECTOR_NAME = 'held'"); fmt.Sprint(got) != "[[8 8]]" {
		t.Errorf("information_schema.DETECTORS epoch, epochs of held: %v", got)
	}

	// Qualified, prepared, joined, aggregated.
	expectErr(t, ts.open(""), "SELECT * FROM detector_training_log('examples.plain')", 1046) // go-mysql-server's table functions need one
	other := ts.open("mine")
	if got := queryRows(t, other, "SELECT COUNT(*), MIN(epoch), MAX(epoch) FROM detector_training_log('examples.plain')"); fmt.Sprint(got) != "[[4 1 4]]" {
		t.Errorf("qualified name: %v", got)
	}
	stmt, err := db.Prepare("SELECT epoch, train_loss FROM detector_training_log(?) WHERE epoch > ?")
	if err != nil {
		t.Fatalf("preparing detector_training_log(?): %v", err)
	}
	for _, c := range []struct {
		name string
		min  int
		want int
	}{{"plain", 2, 2}, {"held", 0, 8}} {
		rows, err := stmt.Query(c.name, c.min)
		if err != nil {
			t.Fatalf("prepared detector_training_log(%s): %v", c.name, err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if n != c.want {
			t.Errorf("prepared detector_training_log(%s) WHERE epoch > %d: %d rows, want %d", c.name, c.min, n, c.want)
		}
	}
	stmt.Close()
	mustExecAll(t, db, "SET @d = 'plain'", "PREPARE p FROM 'SELECT COUNT(*) FROM detector_training_log(?)'")
	expectRows(t, db, "EXECUTE p USING @d", [][]string{r("4")})
	if got := queryRows(t, db, "SELECT a.epoch, b.epoch FROM detector_training_log('plain') a JOIN detector_training_log('held') b ON b.epoch = a.epoch + 6"); fmt.Sprint(got) != "[[1 7] [2 8]]" {
		t.Errorf("join of two logs: %v", got)
	}
	expectRows(t, db, "SELECT COUNT(*) FROM detector_training_log(NULL)", [][]string{r("0")})

	// Bad calls.
	expectErr(t, db, "SELECT * FROM detector_training_log('nosuch')", 1305)
	expectErr(t, db, "SELECT * FROM detector_training_log('nodb.plain')", 1305)
	expectErr(t, db, "SELECT * FROM detector_training_log()", 1582)
	expectErr(t, db, "SELECT * FROM detector_training_log('plain', 'held')", 1582)
	mustExecAll(t, db,
		"CREATE USER watcher IDENTIFIED BY 'pw'",
		"GRANT ALL ON mine.* TO watcher")
	w := openDSN(t, "watcher:pw@tcp("+ts.srv.Addr()+")/mine")
	if n, msg := errNumber(t, w, "SELECT * FROM detector_training_log('examples.plain')"); n != 1142 && n != 1044 {
		t.Errorf("detector_training_log without SELECT: %d %s, want 1142 or 1044", n, msg)
	}

	// Persisted: the same rows after a restart. A detector saved before
	// the log was kept has an empty one, with a warning.
	mustExec(t, db, "CREATE DETECTOR old USING autoencoder WITH (epochs = 1, hidden = 4) AS SELECT f0, f1 FROM thyroid")
	ts.stop()
	makeOld(t, filepath.Join(dir, "detectors", "examples", "old.model")) // detector_meta_test.go
	ts = startServer(t, dir, false)
	db = ts.open("examples")
	expectRows(t, db, "SELECT COUNT(*) FROM detector_training_log('old')", [][]string{r("0")})
	if w := queryRows(t, db, "SHOW WARNINGS"); len(w) != 1 || !strings.Contains(w[0][2], "not kept") {
		t.Errorf("detector_training_log of an older detector warns %v", w)
	}
	if got := queryRows(t, db, "SHOW DETECTORS LIKE 'old'"); len(got) != 1 || fmt.Sprint(got[0][colEpoch:]) != "[NULL NULL NULL]" {
		t.Errorf("SHOW DETECTORS of an older detector: %v", got)
	}
	if got := queryRows(t, db, fmt.Sprintf(logQ, "plain")); fmt.Sprint(got) != fmt.Sprint(plain) {
		t.Errorf("after a restart the log of plain is %v, before %v", got, plain)
	}
	if got := queryRows(t, db, fmt.Sprintf(logQ, "held")); fmt.Sprint(got) != fmt.Sprint(held) {
		t.Errorf("after a restart the log of held is %v, before %v", got, held)
	}
}
