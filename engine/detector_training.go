package engine

// Trainings in progress. While CREATE [OR REPLACE] DETECTOR trains, the
// detector it makes is listed by SHOW DETECTORS and
// information_schema.DETECTORS with status "training", its epoch and
// loss; SHOW PROCESSLIST and information_schema.PROCESSLIST show the
// epoch in the State of the connection that trains it;
// detector_training_log('d') returns its epochs so far
// (detector_training_log.go). A training is never scored (1305, saying
// it is being trained) and never saved unless it ends well: when it
// ends, its entry is replaced by the saved detector in one step, or
// removed. The server log has a line when a training starts and one
// when it ends.

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"

	"github.com/anomalydb/anomalydb/detectors"
)

// training is one CREATE DETECTOR in progress.
type training struct {
	db, name  string // the database's stored name; the name as written
	algorithm string
	conn      uint32 // the connection that trains it
	started   time.Time
	planned   int // epochs without early stopping (detectors.PlannedEpochs)

	mu        sync.Mutex
	read      bool // the training SELECT has been read
	features  []string
	rows      int   // trained on
	rowsRead  int64 // returned by the training SELECT
	snapshots string
	epochs    []detectors.EpochLog // so far, as a TrainingLog keeps them
	last      detectors.EpochLog   // the last epoch (Epoch 0 before the first)
}

// trainingKey is the key of a training: lower-case database and name.
type trainingKey struct{ db, name string }

func keyOf(db, name string) trainingKey {
	return trainingKey{strings.ToLower(db), strings.ToLower(name)}
}

// trainingLocked returns the training of db.name, or nil. s.mu is held.
func (s *detectorService) trainingLocked(db, name string) *training {
	return s.trainings[keyOf(db, name)]
}

// errBeingTrained is the error of a CREATE or RENAME DETECTOR onto the
// name of a detector another connection is training.
func errBeingTrained(tr *training) error {
	return mysql.NewSQLError(codeDetectorExists, stateNotFound, "DETECTOR %s is being trained by connection %d", tr.name, tr.conn)
}

// notFoundLocked is the error for a detector db.name (ref as the user
// wrote it) that is not saved: 1305, saying so when it is being trained.
// s.mu is held.
func (s *detectorService) notFoundLocked(db, name, ref string) error {
	if tr := s.trainingLocked(db, name); tr != nil {
		return mysql.NewSQLError(codeDetectorNotFound, stateNotFound,
			"DETECTOR %s does not exist yet: it is being trained by connection %d", ref, tr.conn)
	}
	return errDetectorNotFound(ref)
}

// beginTraining registers the training of n as db.name (db the stored
// name of the database) and logs its start. ok is false, with a nil
// error, for CREATE DETECTOR IF NOT EXISTS of a detector that exists
// (with the warning MySQL gives); a detector that exists, for CREATE
// without OR REPLACE, is 1304, and so is a name another connection is
// training (two trainings of one name would race to save it).
func (s *detectorService) beginTraining(ctx *sql.Context, db, name string, n *createDetectorNode, planned int) (tr *training, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if other := s.trainingLocked(db, name); other != nil {
		return nil, false, errBeingTrained(other)
	}
	if _, exists := s.byDB[strings.ToLower(db)][strings.ToLower(name)]; exists && !n.orReplace {
		if n.ifNotExists {
			ctx.Warn(codeDetectorExists, "DETECTOR %s already exists", name)
			return nil, false, nil
		}
		return nil, false, errDetectorExists(name)
	}
	tr = &training{db: db, name: name, algorithm: n.algorithm, conn: ctx.Session.ID(), started: time.Now(), planned: planned}
	if s.trainings == nil {
		s.trainings = map[trainingKey]*training{}
	}
	s.trainings[keyOf(db, name)] = tr
	logrus.WithFields(logrus.Fields{
		"detector": db + "." + name, "algorithm": n.algorithm, "connection": tr.conn, "epochs": planned,
	}).Info("detector training started")
	return tr, true, nil
}

// forgetTrainingLocked removes tr, if it is still registered. s.mu is
// held.
func (s *detectorService) forgetTrainingLocked(tr *training) {
	k := keyOf(tr.db, tr.name)
	if s.trainings[k] == tr {
		delete(s.trainings, k)
	}
}

// endTraining removes tr (if the saved detector has not already
// replaced it) and logs how the training ended: created or replaced
// when err is nil, stopped when ctx was cancelled (KILL, KILL QUERY,
// max_execution_time, a client gone, shutdown), failed otherwise.
func (s *detectorService) endTraining(ctx context.Context, tr *training, replaced bool, err error) {
	s.mu.Lock()
	s.forgetTrainingLocked(tr)
	s.mu.Unlock()
	tr.mu.Lock()
	fields := logrus.Fields{
		"detector": tr.db + "." + tr.name, "algorithm": tr.algorithm, "connection": tr.conn,
		"rows": tr.rows, "rows_read": tr.rowsRead, "epochs": tr.last.Epoch,
		"seconds": strconv.FormatFloat(time.Since(tr.started).Seconds(), 'f', 3, 64),
	}
	tr.mu.Unlock()
	switch {
	case err == nil && replaced:
		fields["outcome"] = "replaced"
	case err == nil:
		fields["outcome"] = "created"
	case ctx.Err() != nil:
		fields["outcome"] = "stopped"
		fields["cause"] = stopCause(ctx.Err())
	default:
		fields["outcome"] = "failed"
		fields["error"] = err.Error()
	}
	logrus.WithFields(fields).Info("detector training ended")
}

// stopCause says in the log why a statement's context ended.
func stopCause(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "max_execution_time"
	}
	return "interrupted (KILL, KILL QUERY, client gone or shutdown)"
}

// readDone records what the training SELECT gave: the sample to train
// on, and the snapshots it read.
func (tr *training) readDone(data detectors.TrainingData, snapshots string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.read = true
	tr.features = data.FeatureNames
	if data.Sample != nil {
		tr.rows, tr.rowsRead = data.Sample.X.Rows, data.Sample.RowsRead
	}
	tr.snapshots = snapshots
}

// onEpoch is the training's detectors.TrainingData.OnEpoch.
func (tr *training) onEpoch(e detectors.EpochLog) {
	tr.mu.Lock()
	tr.last = e
	tr.epochs = detectors.AppendEpoch(tr.epochs, e)
	tr.mu.Unlock()
}

// log returns a copy of the epochs so far.
func (tr *training) log() []detectors.EpochLog {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]detectors.EpochLog(nil), tr.epochs...)
}

// showRow is the training's row of SHOW DETECTORS (showDetectorsSchema).
func (tr *training) showRow() sql.Row {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	var features, rows, rowsRead, snapshots, loss interface{}
	if tr.read {
		features, rows, rowsRead = strings.Join(tr.features, ","), int64(tr.rows), tr.rowsRead
		if tr.snapshots != "" {
			snapshots = tr.snapshots
		}
	}
	if tr.last.Epoch > 0 {
		loss = tr.last.TrainLoss
	}
	return sql.NewRow(tr.name, tr.algorithm, features, rows, "training", time.Since(tr.started).Seconds(), nil, rowsRead, snapshots,
		int64(tr.last.Epoch), int64(tr.planned), loss)
}

// state is the State column of SHOW PROCESSLIST for the connection
// that trains: "training epoch 3/20, loss 0.1234".
func (tr *training) state() string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	if !tr.read {
		return "training: reading the training rows"
	}
	s := fmt.Sprintf("training epoch %d/%d", tr.last.Epoch, tr.planned)
	if tr.last.Epoch > 0 {
		s += ", loss " + strconv.FormatFloat(tr.last.TrainLoss, 'g', 4, 64)
	}
	return s
}

// trainingRows are the rows of SHOW DETECTORS for the trainings in db
// whose names match (every one if match is nil).
func (s *detectorService) trainingRows(db string, match func(string) bool) []sql.Row {
	s.mu.RLock()
	var trs []*training
	for k, tr := range s.trainings {
		if k.db == strings.ToLower(db) && (match == nil || match(tr.name)) {
			trs = append(trs, tr)
		}
	}
	s.mu.RUnlock()
	rows := make([]sql.Row, len(trs))
	for i, tr := range trs {
		rows[i] = tr.showRow()
	}
	return rows
}

// byConnection returns the training of connection id, or nil.
func (s *detectorService) byConnection(id uint32) *training {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, tr := range s.trainings {
		if tr.conn == id {
			return tr
		}
	}
	return nil
}

// The State column of SHOW PROCESSLIST and of
// information_schema.PROCESSLIST (their Id column: processIDColumn).
const processStateColumn = 6

// withTrainingStates returns the rows of iter, a process list, with the
// State of each connection that trains a detector replaced by its
// training's (training.state).
func (s *detectorService) withTrainingStates(iter sql.RowIter) sql.RowIter {
	return &trainingStateIter{RowIter: iter, svc: s}
}

type trainingStateIter struct {
	sql.RowIter
	svc *detectorService
}

// Next implements sql.RowIter.
func (it *trainingStateIter) Next(ctx *sql.Context) (sql.Row, error) {
	r, err := it.RowIter.Next(ctx)
	if err != nil || len(r) <= processStateColumn {
		return r, err
	}
	id, perr := strconv.ParseUint(fmt.Sprint(r[processIDColumn]), 10, 32)
	if perr != nil {
		return r, nil
	}
	if tr := it.svc.byConnection(uint32(id)); tr != nil {
		r = r.Copy()
		r[processStateColumn] = tr.state()
	}
	return r, nil
}
