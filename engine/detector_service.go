package engine

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	sqle "github.com/dolthub/go-mysql-server"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/planbuilder"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/sirupsen/logrus"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/storage"
)

// trainingBatchRows is how many rows of a training SELECT go into one
// Arrow record batch.
const trainingBatchRows = 64 * 1024

// detectorService owns the detectors of every database: it trains them,
// keeps them in memory for scoring and persists them through the store.
// It is safe for concurrent use.
type detectorService struct {
	store  *storage.Store
	engine *sqle.Engine
	limits detectors.Limits // of every training (training_memory.go)

	mu        sync.RWMutex
	byDB      map[string]map[string]detectorInfo // lower-case db → lower-case name → detector
	trainings map[trainingKey]*training          // CREATE DETECTORs in progress (detector_training.go)

	// gen counts the changes to byDB (see functions.Resolver.Generation).
	// It is bumped after each change, while mu is still held.
	gen atomic.Uint64
}

func newDetectorService(store *storage.Store) *detectorService {
	return &detectorService{store: store, byDB: map[string]map[string]detectorInfo{}, limits: trainingLimits(0)}
}

// load reads every persisted detector of every database. A detector whose
// file cannot be decoded (damaged, or saved by an incompatible version of
// its algorithm) does not stop the server: it is kept with its error, is
// listed by SHOW DETECTORS with that error as its status, fails with
// ER_SP_PROC_TABLE_CORRUPT when used, and can be dropped.
func (s *detectorService) load() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.gen.Add(1)
	for _, db := range s.store.Databases() {
		blobs, err := s.store.LoadDetectors(db)
		if err != nil {
			return fmt.Errorf("loading detectors of %s: %w", db, err)
		}
		// Sorted, so that if files differ only in the case of their names
		// (possible only by editing the directory by hand) the same one is
		// kept on every start.
		for _, name := range slices.Sorted(maps.Keys(blobs)) {
			blob := blobs[name]
			if prev, dup := s.byDBLocked(db)[strings.ToLower(name)]; dup {
				logrus.Errorf("detector files %s.%s and %s.%s differ only in case; using %s", db, prev.name, db, name, prev.name)
				continue
			}
			m, err := detectors.UnmarshalModel(blob)
			if err != nil {
				logrus.Errorf("detector %s.%s cannot be loaded: %v", db, name, err)
				s.byDBLocked(db)[strings.ToLower(name)] = detectorInfo{name: name, loadErr: err}
				continue
			}
			s.putLocked(db, name, m)
		}
	}
	return nil
}

func (s *detectorService) putLocked(db, name string, m *detectors.Model) {
	s.byDBLocked(db)[strings.ToLower(name)] = detectorInfo{name: name, model: m}
}

// byDBLocked returns the detectors of db, creating the map if needed.
func (s *detectorService) byDBLocked(db string) map[string]detectorInfo {
	k := strings.ToLower(db)
	if s.byDB[k] == nil {
		s.byDB[k] = map[string]detectorInfo{}
	}
	return s.byDB[k]
}

// resolveName splits an optionally qualified detector name and fills in
// the session's current database.
func resolveName(ctx *sql.Context, db, name string) (string, string, error) {
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	if db == "" {
		return "", "", errNoDatabase()
	}
	return db, name, nil
}

// Generation implements functions.Resolver: it changes whenever a
// detector is created, dropped or loaded, and after every account
// statement (accounts.atomically).
func (s *detectorService) Generation() uint64 { return s.gen.Load() }

// Lookup returns the detector named ref ("name" or "db.name").
func (s *detectorService) Lookup(ctx *sql.Context, ref string) (*detectors.Model, error) {
	db, name := "", ref
	if i := strings.IndexByte(ref, '.'); i >= 0 {
		db, name = ref[:i], ref[i+1:]
	}
	db, name, err := resolveName(ctx, db, name)
	if err != nil {
		return nil, err
	}
	if err := s.authorize(ctx, sql.PrivilegeType_Select, db, name); err != nil {
		return nil, err
	}
	s.mu.RLock()
	d, ok := s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	var notFound error
	if !ok {
		notFound = s.notFoundLocked(db, name, ref) // detector_training.go
	}
	s.mu.RUnlock()
	switch {
	case !ok:
		return nil, notFound
	case d.loadErr != nil:
		return nil, errDetectorCorrupt(db, d.name, d.loadErr)
	}
	return d.model, nil
}

func (s *detectorService) exists(db, name string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	return ok
}

// dropDatabase forgets the detectors of a dropped database.
func (s *detectorService) dropDatabase(db string) {
	s.mu.Lock()
	delete(s.byDB, strings.ToLower(db))
	s.gen.Add(1)
	s.mu.Unlock()
}

// create trains and persists a detector. It changes nothing on error.
func (s *detectorService) create(ctx *sql.Context, n *createDetectorNode) (int, error) {
	db, name, err := resolveName(ctx, n.db, n.name)
	if err != nil {
		return 0, err
	}
	stored := canonicalDatabase(s.store, db)
	if stored == "" {
		return 0, sql.ErrDatabaseNotFound.New(db)
	}
	if s.exists(db, name) && !n.orReplace {
		if n.ifNotExists {
			ctx.Warn(codeDetectorExists, "DETECTOR %s already exists", name)
			return 0, nil
		}
		return 0, errDetectorExists(name)
	}
	opts := make(map[string]string, len(n.options))
	label := ""
	for k, v := range n.options {
		if k == "label" {
			label = v
			continue
		}
		opts[k] = v
	}
	if err := detectors.ValidateOptions(n.algorithm, opts); err != nil {
		return 0, s.translate(n.algorithm, err)
	}
	planned, err := detectors.PlannedEpochs(n.algorithm, opts)
	if err != nil {
		return 0, s.translate(n.algorithm, err)
	}
	// From here on the training is listed (detector_training.go), until
	// the saved detector replaces it or it ends otherwise.
	tr, ok, err := s.beginTraining(ctx, stored, name, n, planned)
	if err != nil || !ok {
		return 0, err
	}
	// Deferred, so that a panic (recover.go makes it error 1105) does not
	// leave the training listed, holding its name.
	rows, replaced, err := 0, false, errors.New("the training panicked")
	defer func() { s.endTraining(ctx, tr, replaced, err) }()
	rows, replaced, err = s.train(ctx, n, tr, opts, label)
	return rows, err
}

// train runs the training SELECT of n, trains the detector tr on its
// rows and saves it, reporting its progress to tr. replaced is true when
// it replaced a detector (OR REPLACE). It saves nothing on error, or once
// ctx is cancelled.
func (s *detectorService) train(ctx *sql.Context, n *createDetectorNode, tr *training, opts map[string]string, label string) (rows int, replaced bool, err error) {
	db, name := tr.db, tr.name

	// The SELECT is planned and run here, inside the CREATE DETECTOR
	// statement, without going through Engine.Query: that would register a
	// second query of this connection in the process list and cancel this
	// statement's context when it ends.
	ctx, reads := recordReads(ctx) // training_reads.go
	plan, err := s.analyzeTraining(ctx, n)
	if err != nil {
		return 0, false, err
	}
	// The rows stream through a sampler (detectors/row_sampler.go): what
	// training holds is bounded by max_train_rows, whatever the query
	// returns.
	newSampler := func(features []int, label int) (*detectors.RowSampler, error) {
		return detectors.NewRowSampler(n.algorithm, opts, features, label)
	}
	data, direct, err := directTrainingData(ctx, plan, label, newSampler)
	if err == nil && !direct {
		data, err = runTrainingQuery(ctx, plan, label, newSampler)
	}
	if err != nil {
		return 0, false, s.translate(n.algorithm, err)
	}
	lim := s.limits
	data.Limits = &lim
	data.Source = reads.String()
	data.Recipe = n.recipe() // SHOW CREATE DETECTOR (detector_meta.go)
	tr.readDone(data, data.Source)
	data.OnEpoch = tr.onEpoch
	model, err := detectors.Fit(ctx, n.algorithm, opts, data)
	if err != nil {
		return 0, false, s.translate(n.algorithm, err)
	}
	blob, err := model.MarshalBinary()
	if err != nil {
		return 0, false, err
	}

	// The trained detector replaces the old one (OR REPLACE) in one step:
	// its file atomically (storage.SaveDetector), then the map. A scoring
	// call sees the old model or the new one, never a mix; a failed
	// training above changed nothing.
	// A training stopped (KILL, a client gone) after Fit is not saved
	// either: the statement fails as stopped, and nothing is left.
	s.mu.Lock()
	defer s.mu.Unlock()
	_, replaced = s.byDB[strings.ToLower(db)][strings.ToLower(name)]
	if replaced && !n.orReplace {
		return 0, false, errDetectorExists(name)
	}
	if err := ctx.Err(); err != nil {
		return 0, false, err
	}
	if err := s.store.SaveDetector(db, name, blob); err != nil {
		return 0, false, err
	}
	s.forgetTrainingLocked(tr) // the saved detector takes its place
	s.putLocked(db, name, model)
	s.gen.Add(1)
	return model.TrainingRows, replaced, nil
}

// analyzeTraining plans the SELECT of n as Engine.AnalyzeQuery does, with
// the values bound to its placeholders (a prepared CREATE DETECTOR).
func (s *detectorService) analyzeTraining(ctx *sql.Context, n *createDetectorNode) (sql.Node, error) {
	e := s.engine
	b := planbuilder.New(ctx, e.Analyzer.Catalog, e.EventScheduler, e.Parser)
	if len(n.selectBindings) > 0 {
		b.SetBindingsWithExpr(n.selectBindings)
	}
	parsed, _, _, qFlags, err := b.Parse(n.selectSQL, nil, false)
	if err != nil {
		return nil, err
	}
	return e.Analyzer.Analyze(ctx, parsed, nil, qFlags)
}

// drop removes a detector from memory and disk.
func (s *detectorService) drop(ctx *sql.Context, n *dropDetectorNode) error {
	db, name, err := resolveName(ctx, n.db, n.name)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := strings.ToLower(db)
	if _, ok := s.byDB[k][strings.ToLower(name)]; !ok {
		if n.ifExists {
			ctx.Warn(codeDetectorNotFound, "DETECTOR %s does not exist", name)
			return nil
		}
		return errDetectorNotFound(name)
	}
	if err := s.store.DeleteDetector(db, name); err != nil {
		return err
	}
	delete(s.byDB[k], strings.ToLower(name))
	s.gen.Add(1)
	return nil
}

// detectorInfo is one row of SHOW DETECTORS: a loaded model, or the error
// that kept it from loading.
type detectorInfo struct {
	name    string
	model   *detectors.Model
	loadErr error
}

func (s *detectorService) list(db string) []detectorInfo {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []detectorInfo
	for _, d := range s.byDB[strings.ToLower(db)] {
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// translate turns a detectors error into a MySQL error.
func (s *detectorService) translate(algorithm string, err error) error {
	switch {
	case errors.Is(err, detectors.ErrUnknownAlgorithm):
		return errUnknownAlgorithm(algorithm, detectors.Algorithms())
	case errors.Is(err, detectors.ErrUnknownOption), errors.Is(err, detectors.ErrBadOption):
		return errWrongArguments("CREATE DETECTOR: %v", err)
	case errors.Is(err, detectors.ErrTooLarge):
		return errWrongArguments("CREATE DETECTOR: %v; use smaller options", err)
	case errors.Is(err, detectors.ErrNoRows):
		return errNoData("the training SELECT returned no rows")
	case errors.Is(err, detectors.ErrNonNumeric):
		return errNotNumeric("Incorrect DOUBLE value in training data: %v", err)
	case errors.Is(err, detectors.ErrBadLabel):
		return errWrongArguments("CREATE DETECTOR: %v", err)
	case errors.Is(err, detectors.ErrNoLabelledAnomaly):
		return errWrongArguments("CREATE DETECTOR: %v (name the label column with WITH (label = 'col') and mark known anomalies 1)", err)
	case errors.Is(err, detectors.ErrDiverged):
		return errWrongArguments("CREATE DETECTOR: %v; try a smaller lr", err)
	case errors.Is(err, detectors.ErrSingleValue):
		return errWrongArguments("CREATE DETECTOR: %v; leave it out of the SELECT", err)
	case errors.Is(err, detectors.ErrCollapsed):
		return errWrongArguments("CREATE DETECTOR: %v", err)
	case errors.Is(err, detectors.ErrNoKey), errors.Is(err, detectors.ErrWindowTooLong), errors.Is(err, detectors.ErrSequenceModel):
		return errWrongArguments("CREATE DETECTOR: %v", err)
	}
	return err
}

// runTrainingQuery runs the training SELECT and streams its result, as
// Arrow record batches of trainingBatchRows rows, through a sampler made
// by newSampler for its feature and label columns; it returns the
// sample, with the label column (if any) located.
func runTrainingQuery(ctx *sql.Context, plan sql.Node, label string, newSampler func(features []int, label int) (*detectors.RowSampler, error)) (detectors.TrainingData, error) {
	var data detectors.TrainingData
	sch := plan.Schema()
	iter, err := rowexec.DefaultBuilder.Build(ctx, plan, nil)
	if err != nil {
		return data, err
	}
	defer iter.Close(ctx)
	data.Label = -1
	for i, c := range sch {
		if label != "" && strings.EqualFold(c.Name, label) {
			data.Label = i
			continue
		}
		if err := checkFeatureType(c); err != nil {
			return data, err
		}
		data.Features = append(data.Features, i)
		data.FeatureNames = append(data.FeatureNames, c.Name)
	}
	if label != "" && data.Label < 0 {
		return data, errBadField(label, "label")
	}
	sampler, err := newSampler(data.Features, data.Label)
	if err != nil {
		return data, err
	}
	fields := make([]arrow.Field, len(sch))
	for i, c := range sch {
		at, err := arrowType(c.Type)
		if err != nil {
			// Non-storable result types (JSON, BLOB, ...) travel as text so
			// that the detector core reports them as non-numeric.
			at = arrow.BinaryTypes.String
		}
		fields[i] = arrow.Field{Name: c.Name, Type: at, Nullable: true}
	}
	schema := arrow.NewSchema(fields, nil)
	rows := make([]sql.Row, 0, 1024)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, stringify(sch, rows, fields))
		if err != nil {
			return err
		}
		defer rec.Release()
		rows = rows[:0]
		return sampler.Add(rec)
	}
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return data, err
		}
		rows = append(rows, row)
		if len(rows) == trainingBatchRows {
			if err := flush(); err != nil {
				return data, err
			}
		}
	}
	if err := flush(); err != nil {
		return data, err
	}
	data.Sample = sampler.Result()
	return data, nil
}

// checkFeatureType refuses, with error 1366, a feature column of a type
// that is neither a number, a boolean, a string (CHAR, VARCHAR, TEXT,
// ENUM, SET), a date nor a date and time: JSON, BLOB, TIME, BIT, ...
// Strings are categorical features, dates and times numbers of seconds
// (detectors/encoding.go).
func checkFeatureType(c *sql.Column) error {
	if _, err := arrowType(c.Type); err == nil || types.IsEnum(c.Type) || types.IsSet(c.Type) {
		return nil
	}
	return errNotNumeric("Incorrect DOUBLE value in training data: column '%s' has type %s, which cannot be a feature", c.Name, c.Type)
}

// stringify turns values of columns that travel as text into strings.
func stringify(sch sql.Schema, rows []sql.Row, fields []arrow.Field) []sql.Row {
	for c := range sch {
		if fields[c].Type.ID() != arrow.STRING {
			continue
		}
		for _, r := range rows {
			if r[c] != nil {
				if _, ok := r[c].(string); !ok {
					r[c] = fmt.Sprint(r[c])
				}
			}
		}
	}
	return rows
}
