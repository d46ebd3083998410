package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/gonum/mat"
)

// TrainingData is the input of Fit.
type TrainingData struct {
	// Batches hold the rows of the training query. The caller owns them:
	// Fit neither retains nor releases them. Fit trains on a sample of at
	// most max_train_rows of them (all of them if there are no more),
	// gathered as a RowSampler does (row_sampler.go).
	Batches []arrow.RecordBatch
	// Sample, if not nil, is the training input already gathered by a
	// RowSampler (so that the query's batches need not all be in memory
	// at once); Batches must then be nil, and the sampler must have been
	// created with the algorithm, options, Features and Label given to
	// Fit. Fit standardizes the sample's rows in place: a Sample is
	// trained on once.
	Sample *Sample
	// Features are the column indices used as features, in order. Scoring
	// takes features in this order.
	Features []int
	// FeatureNames, if not nil, name Features (same length); if nil, the
	// schema's field names of the first batch are used.
	FeatureNames []string
	// Label is the column index of the label (1 anomaly, 0 normal, NULL
	// unknown), or -1 for none. Unsupervised algorithms such as deep_svdd
	// ignore labels, but they are still validated.
	Label int
	// Bags, if not nil, is the bag of every row, for multiple-instance
	// algorithms (BagUser; bags.go), read with a BagReader in the order
	// the rows were given.
	Bags *Bags
	// Limits bounds the size of the model (see limits.go); nil means
	// DefaultLimits.
	Limits *Limits
	// Source describes where the rows came from, in the caller's terms
	// (anomalydb: the table snapshots the training SELECT read). It is
	// kept as Model.Source and never used for training or scoring.
	Source string
	// Recipe, if not nil, is how the caller made the model (recipe.go);
	// a copy is kept as Model.Recipe and never used for training or
	// scoring.
	Recipe *Recipe
	// OnEpoch, if not nil, is called after every epoch of the training
	// with its log entry (training_log.go), in the goroutine that called
	// Fit. It must not block: training waits for it.
	OnEpoch func(EpochLog)
}

// Model is a trained detector. Its exported fields describe it (SHOW
// DETECTORS) and must not be modified; everything needed to score lives in
// unexported fields. A *Model is safe for concurrent use by multiple
// goroutines. Models are created by Fit or UnmarshalModel and must not be
// copied.
type Model struct {
	// Algorithm is the canonical (lower-case) algorithm name.
	Algorithm string
	// Options are the normalized options, defaults filled in.
	Options map[string]string
	// Features are the feature names, in scoring order.
	Features []string
	// TrainingRows is the number of rows trained on: the sample of
	// RowsRead, at most the max_train_rows option.
	TrainingRows int
	// RowsRead is the number of rows of the training query (equal to
	// TrainingRows for a model saved before sampling existed).
	RowsRead int64
	// TrainSeconds is the wall-clock time Fit took.
	TrainSeconds float64
	// Source is TrainingData.Source ("" if none was given, or for a
	// model saved before it existed).
	Source string
	// CreatedAt is when Fit finished (UTC).
	CreatedAt time.Time
	// Threshold is the (1-contamination) quantile of the training scores;
	// IsAnomaly(score) is score > Threshold. It is finite and below
	// MaxScore, so a row scoring MaxScore is always an anomaly. ALTER
	// DETECTOR moves it (WithContamination, WithThreshold).
	Threshold float64
	// Recipe is TrainingData.Recipe (nil if none was given, or for a
	// model saved before recipes were kept).
	Recipe *Recipe
	// TrainLoss and ValidationLoss are the training and held-out losses
	// of the epoch whose weights the model keeps (recipe.go); NaN when
	// not recorded: ValidationLoss without the validation option, both
	// for a model saved before losses were recorded.
	TrainLoss, ValidationLoss float64
	// FormatVersion is the persistence format version the model was
	// loaded from, or that MarshalBinary writes for a new one.
	FormatVersion int
	// Contamination is the fraction of training rows the threshold was
	// set to flag: the contamination option at training, or the value
	// given to WithContamination; 0 for a threshold set explicitly
	// (WithThreshold).
	Contamination float64
	// TrainingLog is the log of the training, epoch by epoch
	// (training_log.go); nil for a model saved before it was kept.
	TrainingLog *TrainingLog

	alg     Algorithm
	opts    Options
	enc     *Encoding // the features' encoding (encoding.go); nil: each feature is its own standardized column
	scale   scaler    // of the encoded columns
	state   *State
	scorer  Scorer
	dist    []float64 // training-score distribution (score_distribution.go); nil for an old model
	pool    sync.Pool // of *scratch for blocks of blockRows rows
	rowPool sync.Pool // of *scratch for one row (ScoreRow)
}

// blockRows is how many rows ScoreBatch and ScoreMatrix convert and
// standardize at a time (per goroutine).
const blockRows = 256

// minRowsPerWorker is the smallest row range worth a goroutine.
const minRowsPerWorker = 2048

type scratch struct {
	z   []float64 // blockRows standardized rows (encoded width)
	raw []float64 // blockRows raw rows, for a model with an encoding
	s   []float64 // scorer scratch
	one []float64 // ScoreRow's output
	ext []bool    // per row of z: it holds an extreme value
}

// MaxScore is the score of a row that cannot be scored in float64
// arithmetic: one with a ±Inf feature, or a feature 2^500 or more
// standard deviations from its training mean, or whose network
// computation overflows (a NaN or infinite score). It is the largest
// finite float64, not +Inf, because a SQL DOUBLE cannot hold infinity,
// and it is above every model's Threshold, so such a row is always an
// anomaly: the most extreme rows are never hidden.
const MaxScore = math.MaxFloat64

// newRand returns the generator of every random choice of a training run.
func newRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
}

// Fit trains a detector with the named algorithm on data. opts are the
// user's options (without label); see ValidateOptions for the errors they
// can cause. Other errors: ErrTooLarge (the model's estimated size for
// this data exceeds data.Limits, checked before anything is allocated),
// ErrFeatureCount (no features, or FeatureNames of another length),
// ErrNonNumeric, ErrBadLabel (checked on every row, sampled or not),
// ErrNoRows, ErrDiverged, and ctx's error if
// it is cancelled (checked before every mini-batch, between ensemble
// members and outer iterations, and while scoring the training rows).
//
// Fit trains on at most max_train_rows rows: a seeded sample of the
// batches' rows, standardized with the statistics of all of them (see
// row_sampler.go); with no more rows than that, on all of them.
//
// The result is deterministic: the same algorithm, options (including
// seed) and data give bit-identical weights, threshold and scores.
func Fit(ctx context.Context, algorithm string, opts map[string]string, data TrainingData) (*Model, error) {
	start := time.Now()
	a, name, o, err := resolve(algorithm, opts)
	if err != nil {
		return nil, err
	}
	if sa, ok := a.(SequenceAlgorithm); ok { // sequence.go
		if data.Sample == nil && data.Label < 0 { // the rows in order, one partition
			return FitSequence(ctx, algorithm, opts, SequenceData{TrainingData: data})
		}
		return nil, sequenceFitError(name, sa, o)
	}
	if len(data.Features) == 0 {
		return nil, fmt.Errorf("%w: no feature columns", ErrFeatureCount)
	}
	if data.FeatureNames != nil && len(data.FeatureNames) != len(data.Features) {
		return nil, fmt.Errorf("%w: %d feature names for %d features", ErrFeatureCount, len(data.FeatureNames), len(data.Features))
	}
	lim := DefaultLimits
	if data.Limits != nil {
		lim = *data.Limits
	}
	sample := data.Sample
	if sample == nil {
		if rows := batchRows(data.Batches); rows > 0 {
			// Before anything is allocated: the sample, the state.
			rows = min(rows, o.Int("max_train_rows"))
			if err := checkFootprint(name, a, o, givenNames(opts), shapeFor(rows, len(data.Features), o), lim); err != nil {
				return nil, err
			}
		}
		s := newRowSampler(a, o, data.Features, data.Label)
		s.Reserve(int64(batchRows(data.Batches)))
		for _, b := range data.Batches {
			if err := s.Add(b); err != nil {
				return nil, err
			}
		}
		sample = s.Result()
	} else {
		if data.Batches != nil {
			return nil, fmt.Errorf("detectors: TrainingData has both Batches and a Sample")
		}
		if sample.used {
			return nil, fmt.Errorf("detectors: a Sample trained on twice")
		}
		if sample.features != len(data.Features) || sample.label != (data.Label >= 0) ||
			sample.limit != o.Int("max_train_rows") || sample.seed != o.Int64("seed") ||
			sample.split != (data.Label >= 0 && labelUse(a) != LabelsNone) {
			return nil, fmt.Errorf("detectors: the Sample was gathered for other features, label or options than Fit's")
		}
	}
	if sample.err != nil {
		return nil, sample.err
	}
	if rows := sample.X.Rows; rows > 0 && (data.Sample != nil || sample.enc != nil) {
		// A given Sample, and the encoded width (known only now), are
		// checked before the encoded rows and the state are allocated.
		s := shapeFor(rows, sample.Width(), o)
		if sample.enc != nil {
			s.Held = int64(rows) * int64(s.Dims)
			if o.get("categorical") == "embedding" {
				s.Held *= 2 // the embedded rows, narrower than the one-hot ones
			}
		}
		if err := checkFootprint(name, a, o, givenNames(opts), s, lim); err != nil {
			return nil, err
		}
	}
	sample.encode()
	sample.used = true
	x, labels := sample.X, sample.Labels
	if x.Rows == 0 {
		return nil, ErrNoRows
	}
	if err := checkLabels(name, a, labels); err != nil {
		return nil, err
	}
	if ctx, err = withBags(ctx, name, a, data.Bags, sample); err != nil { // bags.go
		return nil, err
	}
	rows, d := x.Rows, x.Cols

	// The statistics of every row read, not only of the sample.
	sc := sample.scale
	// With learned embeddings, the one-hot positions stay 0 and 1 and
	// their frequencies go to the tables (input_embedding.go).
	front := newInputEmbedding(sample.enc, o)
	var freq map[string][]float64
	if front != nil {
		freq = front.takeFrequencies(sc)
	}
	sc.transform(x.Data)

	m, run, err := trainModel(ctx, start, name, a, o, x, labels, d, featureNames(data, sample), sample.enc, sc, embeddingStage{front, freq}, data.OnEpoch)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, rows)
	for lo := 0; lo < rows; lo += fitScoreRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+fitScoreRows, rows)
		m.scoreStandardized(x.Data[lo*d:hi*d], scores[lo:hi])
	}
	m.TrainingRows = rows
	m.RowsRead = sample.RowsRead
	if err := m.finish(run, scores, data); err != nil {
		return nil, err
	}
	return m, nil
}

// fitRun is what a training run leaves for the model's record.
type fitRun struct {
	start  time.Time
	epochs *epochRecorder
	losses *lossRecord
}

// embeddingStage is a training's learned input embedding (nil front for
// none) and the frequencies of its categorical positions
// (input_embedding.go).
type embeddingStage struct {
	front *inputEmbedding
	freq  map[string][]float64
}

// trainModel is the training Fit and FitSequence share: on the
// standardized training rows x (and labels, nil for none), the state of a
// over dims features (initState), pretraining, Prepare, the training
// template (driver.go), Finish, then the model over the features names
// with encoding enc (nil for none) and scaler sc. With an embedding
// (emb.front), x holds the full rows and the algorithm gets the embedded
// ones, after stage E (input_embedding.go). Every epoch, pretraining's
// and stage E's included, is logged (training_log.go) and given to
// onEpoch.
func trainModel(ctx context.Context, start time.Time, name string, a Algorithm, o Options, x arrowio.Matrix, labels []float64, dims int,
	names []string, enc *Encoding, sc scaler, emb embeddingStage, onEpoch func(EpochLog)) (*Model, *fitRun, error) {
	run := &fitRun{start: start, losses: &lossRecord{}}
	planned := plannedEpochs(a, o)
	if emb.front != nil {
		planned += o.Int("embedding_epochs")
		dims = emb.front.step
	}
	run.epochs = &epochRecorder{start: start, log: TrainingLog{PlannedEpochs: planned}, onEpoch: onEpoch}
	ctx = withEpochRecorder(ctx, run.epochs)
	rng := newRand(o.Int64("seed"))
	st, err := initState(a, enc, dims, o, rng) // column_spans.go
	if err != nil {
		return nil, nil, err
	}
	prepared := false
	var tables []*Tensor // the frozen embedding, kept out of the algorithm's way
	if e := emb.front; e != nil {
		e.addTables(st, emb.freq, rng)
		if prepared, err = e.train(ctx, a, st, x, labels, o, rng); err != nil {
			return nil, nil, err
		}
		if x, err = e.embedMatrix(st, x); err != nil {
			return nil, nil, err
		}
		tables = e.detach(st)
	}
	if err := pretrain(ctx, a, st, x.Data, x.Rows, x.Cols, labels, o, rng); err != nil {
		return nil, nil, err
	}
	if p, ok := a.(Preparer); ok && !prepared {
		if err := p.Prepare(st, x, o); err != nil {
			return nil, nil, err
		}
	}
	// The losses of the kept epoch (recipe.go).
	if err := runTraining(withLossRecord(ctx, run.losses), a, st, x, labels, o, rng); err != nil { // driver.go
		return nil, nil, err
	}
	if f, ok := a.(Finisher); ok {
		if err := f.Finish(st, x, o); err != nil {
			return nil, nil, err
		}
	}
	st.Tensors = append(st.Tensors, tables...)
	m, err := newModel(name, a, o, names, enc, sc, st)
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return m, run, nil
}

// finish records on m the training's scores (which must all be finite:
// otherwise ErrDiverged), its threshold and distribution, and the
// training's description from run and data.
func (m *Model) finish(run *fitRun, scores []float64, data TrainingData) error {
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return fmt.Errorf("%w: training row %d scores %v (try a smaller lr)", ErrDiverged, i, s)
		}
	}
	// The scores are finite, so the threshold is; keeping it below MaxScore
	// makes IsAnomaly(MaxScore) hold for every model.
	c := m.opts.Float("contamination")
	threshold, dist := fitThreshold(scores, c) // score_distribution.go
	m.Threshold = min(threshold, belowMaxScore)
	m.Contamination = c
	m.dist = dist
	m.CreatedAt = time.Now().UTC().Round(0)
	m.TrainSeconds = time.Since(run.start).Seconds()
	m.Source = data.Source
	m.Recipe = data.Recipe.clone()
	m.TrainLoss, m.ValidationLoss = run.losses.losses()
	m.TrainingLog = &run.epochs.log
	return nil
}

// belowMaxScore is the largest threshold: the float64 just below MaxScore.
var belowMaxScore = math.Nextafter(MaxScore, 0)

// fitScoreRows is how many training rows Fit scores (for the threshold)
// between two checks of its context.
const fitScoreRows = 64 * 1024

// batchRows is the number of rows of batches.
func batchRows(batches []arrow.RecordBatch) int {
	n := 0
	for _, b := range batches {
		n += int(b.NumRows())
	}
	return n
}

// featureNames returns data.FeatureNames, or else the names of the
// feature columns in the schema of the first batch the sample read.
func featureNames(data TrainingData, sample *Sample) []string {
	if data.FeatureNames != nil {
		return append([]string(nil), data.FeatureNames...)
	}
	if sample.names != nil {
		return append([]string(nil), sample.names...)
	}
	names := make([]string, len(data.Features))
	for k, j := range data.Features {
		names[k] = fmt.Sprintf("c%d", j)
	}
	return names
}

// newModel assembles a model from its parts (the descriptive fields other
// than Algorithm, Options and Features are set by the caller; the losses
// start as not recorded, the format version as the current one, or
// encodedFormatVersion for a model with an encoding). enc is nil for a
// model whose features are each their own column; otherwise it has one
// column per feature, and sc one statistic per encoded column. An
// inconsistent enc or sc wraps ErrBadModel.
func newModel(name string, a Algorithm, o Options, features []string, enc *Encoding, sc scaler, st *State) (*Model, error) {
	d, w := len(features), len(features)
	version := formatVersion
	if enc != nil {
		if len(enc.cols) != d {
			return nil, fmt.Errorf("%w: %d features, %d encoded columns", ErrBadModel, d, len(enc.cols))
		}
		w = enc.Width()
		version = encodedFormatVersion
	}
	if len(sc.mean) != w || len(sc.std) != w {
		return nil, fmt.Errorf("%w: %d encoded features, %d means, %d stds", ErrBadModel, w, len(sc.mean), len(sc.std))
	}
	var scorer Scorer
	var err error
	if e := newInputEmbedding(enc, o); e != nil { // input_embedding.go
		if sa, ok := a.(SequenceAlgorithm); ok {
			e = e.windowed(sa.Span(o) + 1)
		}
		if scorer, err = a.Scorer(st, e.step, o); err == nil {
			scorer, err = newEmbeddingScorer(e, st, scorer)
		}
	} else {
		scorer, err = a.Scorer(st, w, o)
	}
	if err != nil {
		return nil, err
	}
	m := &Model{
		Algorithm:      name,
		Options:        map[string]string(o.Clone()),
		Features:       features,
		TrainLoss:      math.NaN(),
		ValidationLoss: math.NaN(),
		FormatVersion:  version,
		alg:            a,
		opts:           o,
		enc:            enc,
		scale:          sc,
		state:          st,
		scorer:         scorer,
	}
	newScratch := func(rows int) func() any {
		return func() any {
			sc := &scratch{z: make([]float64, rows*w), s: make([]float64, scorer.ScratchLen()), one: make([]float64, 1), ext: make([]bool, rows)}
			if enc != nil {
				sc.raw = make([]float64, rows*d)
			}
			return sc
		}
	}
	m.pool.New, m.rowPool.New = newScratch(blockRows), newScratch(1)
	return m, nil
}

// Clone returns a copy of o that can be changed without changing o (a
// Driver's options for one stage, say).
func (o Options) Clone() Options {
	c := make(Options, len(o))
	for k, v := range o {
		c[k] = v
	}
	return c
}

// IsAnomaly reports whether score is above the model's threshold. It is
// true for MaxScore.
func (m *Model) IsAnomaly(score float64) bool { return score > m.Threshold }

// ScoreRow returns the anomaly score of one row (higher is more anomalous).
// x holds the raw (unstandardized) feature values in training feature
// order, NaN for NULL; it is not modified. A row of the wrong length gives
// ErrFeatureCount. The score is bit-identical to the row's score in any
// ScoreBatch or ScoreMatrix call. ScoreRow does not allocate.
//
// The score is never NaN or infinite. A NaN feature (NULL, missing) is
// imputed as its training mean. A row with a ±Inf feature, a feature 2^500
// or more standard deviations from its training mean, or whose computed
// score is NaN or infinite (the network's arithmetic overflowed) scores
// MaxScore, which IsAnomaly always flags.
func (m *Model) ScoreRow(x []float64) (float64, error) {
	if err := m.errIfSequence(); err != nil { // sequence.go
		return 0, err
	}
	d := len(m.Features)
	if len(x) != d {
		return 0, fmt.Errorf("%w: got %d values, model %s has %d features", ErrFeatureCount, len(x), m.Algorithm, d)
	}
	sc := m.rowPool.Get().(*scratch)
	z := sc.z[:m.width()]
	m.encode(x, z)
	m.scoreRaw(z, sc.one, sc)
	score := sc.one[0]
	m.rowPool.Put(sc)
	return score, nil
}

// scoreRaw standardizes the raw rows z in place and scores them into dst,
// one score per row: the one place where the rule of ScoreRow's doc
// comment for rows that cannot be scored is applied, so every scoring
// path gives a row the same score.
func (m *Model) scoreRaw(z, dst []float64, sc *scratch) {
	d := m.width()
	ext := sc.ext[:len(dst)]
	for i := range dst {
		ext[i] = m.scale.transformRow(z[i*d : (i+1)*d])
	}
	m.scorer.ScoreRows(z, dst, sc.s)
	for i, s := range dst {
		if ext[i] || math.IsNaN(s) || math.IsInf(s, 0) {
			dst[i] = MaxScore
		}
	}
}

// ScoreBatch scores every row of rec, taking the features from the columns
// features (same order and count as the training features) and returns the
// scores in dst[:rec.NumRows()], allocating a new slice only if dst is too
// small. Rows are scored in parallel over GOMAXPROCS goroutines for large
// batches; scores are identical to ScoreRow's (never NaN; MaxScore for a
// row that cannot be scored). rec is neither retained nor released.
// Errors: ErrFeatureCount, ErrNonNumeric.
func (m *Model) ScoreBatch(rec arrow.RecordBatch, features []int, dst []float64) ([]float64, error) {
	if err := m.errIfSequence(); err != nil { // sequence.go
		return nil, err
	}
	d := len(m.Features)
	if len(features) != d {
		return nil, fmt.Errorf("%w: got %d feature columns, model %s has %d features", ErrFeatureCount, len(features), m.Algorithm, d)
	}
	if err := m.checkColumns(rec.Schema(), features); err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	dst = sized(dst, n)
	err := m.parallel(n, func(lo, hi int, sc *scratch) error {
		for b := lo; b < hi; b += blockRows {
			e := min(b+blockRows, hi)
			if m.enc != nil {
				raw := sc.raw[:(e-b)*d]
				if err := m.fillRaw(rec, features, b, e, raw); err != nil {
					return err
				}
				z := sc.z[:(e-b)*m.width()]
				m.encodeRows(raw, z)
				m.scoreRaw(z, dst[b:e], sc)
				continue
			}
			z := sc.z[:(e-b)*d]
			if err := arrowio.FillRows(rec, features, b, e, z); err != nil {
				return err
			}
			m.scoreRaw(z, dst[b:e], sc)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return dst, nil
}

// ScoreMatrix scores each row of x (raw feature values in training order,
// NaN for NULL; x is not modified) into dst[:rows], allocating only if dst
// is too small. Scores are identical to ScoreRow's (never NaN; MaxScore
// for a row that cannot be scored). A column count other than the model's
// gives ErrFeatureCount.
func (m *Model) ScoreMatrix(x mat.Matrix, dst []float64) ([]float64, error) {
	if err := m.errIfSequence(); err != nil { // sequence.go
		return nil, err
	}
	n, c := x.Dims()
	d := len(m.Features)
	if c != d {
		return nil, fmt.Errorf("%w: matrix has %d columns, model %s has %d features", ErrFeatureCount, c, m.Algorithm, d)
	}
	dst = sized(dst, n)
	var raw []float64
	stride := 0
	if rm, ok := x.(mat.RawMatrixer); ok {
		r := rm.RawMatrix()
		raw, stride = r.Data, r.Stride
	}
	err := m.parallel(n, func(lo, hi int, sc *scratch) error {
		for b := lo; b < hi; b += blockRows {
			e := min(b+blockRows, hi)
			z := sc.z[:(e-b)*d]
			if m.enc != nil {
				z = sc.raw[:(e-b)*d]
			}
			for i := b; i < e; i++ {
				row := z[(i-b)*d : (i-b+1)*d]
				if raw != nil {
					copy(row, raw[i*stride:i*stride+d])
				} else {
					for j := range row {
						row[j] = x.At(i, j)
					}
				}
			}
			if m.enc != nil {
				raw := z
				z = sc.z[:(e-b)*m.width()]
				m.encodeRows(raw, z)
			}
			m.scoreRaw(z, dst[b:e], sc)
		}
		return nil
	})
	return dst, err
}

// scoreStandardized scores already-standardized rows, as the network
// computes them: unlike scoreRaw it keeps NaN and infinite scores, which
// Fit reports as divergence.
func (m *Model) scoreStandardized(z []float64, dst []float64) {
	d := m.width()
	_ = m.parallel(len(dst), func(lo, hi int, sc *scratch) error {
		for b := lo; b < hi; b += blockRows {
			e := min(b+blockRows, hi)
			m.scorer.ScoreRows(z[b*d:e*d], dst[b:e], sc.s)
		}
		return nil
	})
}

// parallel runs fn over [0, n) split into contiguous ranges, one goroutine
// per range, each with its own scratch. The split only affects which
// goroutine scores a row, never how.
func (m *Model) parallel(n int, fn func(lo, hi int, sc *scratch) error) error {
	workers := min(runtime.GOMAXPROCS(0), n/minRowsPerWorker)
	if workers <= 1 {
		sc := m.pool.Get().(*scratch)
		defer m.pool.Put(sc)
		return fn(0, n, sc)
	}
	errs := make([]error, workers)
	panics := make([]*WorkerPanic, workers) // worker_panic.go
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		lo, hi := n*w/workers, n*(w+1)/workers
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer CatchWorkerPanic(&panics[w])
			sc := m.pool.Get().(*scratch)
			defer m.pool.Put(sc)
			errs[w] = fn(lo, hi, sc)
		}()
	}
	wg.Wait()
	repanic(panics)
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func sized(dst []float64, n int) []float64 {
	if cap(dst) >= n {
		return dst[:n]
	}
	return make([]float64, n)
}
