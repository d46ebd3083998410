package detectors

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/apache/arrow-go/v18/arrow"
)

// Ordered rows: sequence detectors (issue 12, part 3).
//
// A sequence detector scores a row given the rows before it in its
// partition, in the partition's order (a host's metrics by time, a
// session's log keys by position). The engine orders and partitions the
// rows; this package sees each partition as a run of consecutive rows.
//
// The window of a row. A SequenceAlgorithm declares its span S (Span):
// the score of row t of a partition depends only on rows t−S … t of that
// partition and the trained model, never on other rows. For the
// forecasters S = window + horizon − 1. So the engine may score a
// partition whole, in chunks, or a row at a time, and gets bit-identical
// scores, as long as it gives each chunk the S rows before it (fewer at
// the start of the partition): see ScoreSequence.
//
// The first rows. Row t < S of a partition has only t rows before it. Its
// window is padded on the left with S − t pad steps: a pad step's
// standardized features are 0 (the training means) and its pad flag is
// 1. Such a row is scored like any other (never an error, never NULL),
// from what it has: the very first row of a partition is predicted from
// pad steps only. Training uses these windows too, so the networks learn
// what a partition's start looks like.
//
// The training template is the one of every detector (train.go),
// unchanged: FitSequence turns each row of each partition into one
// training row, its window, and the template shuffles and batches
// windows as it does rows. Back-propagation through an algorithm's graph
// unrolled over a window is truncated back-propagation through time with
// the window as truncation length.
//
// A window row, what an algorithm's Graph (b.X) and Scorer see, has
// (S+1)·(w+1) values: S+1 steps, oldest first, the row itself last; each
// step is the w standardized encoded features (encoding.go) then the pad
// flag (1 for a pad step, else 0). Algorithm.Init and Scorer get d = w.
//
// A sequence model always has an Encoding (format version 2): its
// features may be numeric, boolean, time or categorical, and the key of
// a key algorithm (deeplog) is categorical whatever its type.

// SequenceAlgorithm is an Algorithm over ordered rows (see above).
type SequenceAlgorithm interface {
	Algorithm
	// Span is the number of rows before a row that its score depends on,
	// for options o (at least 1).
	Span(o Options) int
	// KeyOption is the name of the option naming the key column that the
	// algorithm models as categorical (deeplog's key), or "" for none.
	// The option is then required and must name the only feature.
	KeyOption() string
}

// StepJudge is implemented by the Scorer of a sequence algorithm whose
// verdict on a row is not its score against the model's threshold
// (deeplog: the key is not among the top g predicted keys).
type StepJudge interface {
	// JudgeRows sets dst[i] to whether window row i of x is anomalous.
	// Like ScoreRows, it depends only on the row and must not allocate.
	JudgeRows(x []float64, dst []bool, scratch []float64)
}

// SessionEnder is implemented by a sequence algorithm that also predicts
// the end of a partition (deeplog: a session that stops where the model
// expects more keys is anomalous). FitSequence then adds, for each
// partition, one training window after its last row: its last step is a
// pad step (features 0, pad flag 1), the end. Its Scorer must be a
// StepJudge; AnomalousSequence judges the end window too.
type SessionEnder interface {
	PredictsEnd() bool
}

// SequenceSpec describes a sequence model for the engine.
type SequenceSpec struct {
	// Span is how many rows before a row its score reads (Window +
	// Horizon − 1 for the forecasters): give ScoreSequence that many
	// rows of context before a chunk.
	Span int
	// Window and Horizon are the options of those names.
	Window, Horizon int
	// Key is the key column's name ("" for none).
	Key string
}

// SequenceData is the input of FitSequence.
type SequenceData struct {
	// TrainingData's Batches hold the rows ordered by (partition, order
	// key); Features, FeatureNames, Limits, Source, Recipe and OnEpoch
	// are as for Fit. Sample must be nil and Label -1: sequence
	// detectors are unsupervised and train on every row.
	TrainingData
	// Starts are the offsets, in the concatenation of Batches, of the
	// first row of each partition: Starts[0] = 0, strictly increasing,
	// each below the number of rows. nil is one partition.
	Starts []int
}

// IsSequence reports whether algorithm is a registered sequence
// algorithm (false for an unknown name).
func IsSequence(algorithm string) bool {
	a, _, err := lookup(algorithm)
	if err != nil {
		return false
	}
	_, ok := a.(SequenceAlgorithm)
	return ok
}

// Sequence reports whether m is a sequence model and, if so, its spec.
func (m *Model) Sequence() (SequenceSpec, bool) {
	sa, ok := m.alg.(SequenceAlgorithm)
	if !ok {
		return SequenceSpec{}, false
	}
	s := SequenceSpec{Span: sa.Span(m.opts), Window: m.opts.Int("window"), Horizon: m.opts.Int("horizon")}
	if k := sa.KeyOption(); k != "" {
		s.Key = m.opts.get(k)
	}
	return s, true
}

// errIfSequence is the error of a row-at-a-time entry point (ScoreRow,
// ScoreBatch, ScoreMatrix, Explain) on a sequence model.
func (m *Model) errIfSequence() error {
	if _, ok := m.alg.(SequenceAlgorithm); ok {
		return fmt.Errorf("%w: %s scores a row from the rows before it", ErrSequenceModel, m.Algorithm)
	}
	return nil
}

// sequenceFitError is Fit's error for a sequence algorithm given a
// RowSampler's Sample (a sample is not in order) or a label.
func sequenceFitError(name string, sa SequenceAlgorithm, o Options) error {
	if k := sa.KeyOption(); k != "" && o.get(k) == "" {
		return fmt.Errorf("%w: %s needs the option %s naming its key column", ErrNoKey, name, k)
	}
	return fmt.Errorf("%w: %s trains on ordered rows, unlabelled and unsampled (FitSequence)", ErrSequenceModel, name)
}

// FitSequence trains a sequence detector on ordered, partitioned rows
// (see the comment at the top of this file). Errors are Fit's, plus
// ErrNoKey (a key algorithm without its key option, or with a key that is
// not the only feature), ErrWindowTooLong (no partition has a row with a
// full window: every partition has at most Span rows) and ErrTooLarge
// for more rows than max_train_rows (a sequence detector trains on every
// row, never a sample). The result is deterministic, as Fit's.
func FitSequence(ctx context.Context, algorithm string, opts map[string]string, data SequenceData) (*Model, error) {
	start := time.Now()
	a, name, o, err := resolve(algorithm, opts)
	if err != nil {
		return nil, err
	}
	sa, ok := a.(SequenceAlgorithm)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not a sequence algorithm (use Fit)", ErrUnknownAlgorithm, name)
	}
	if data.Sample != nil || data.Label >= 0 {
		return nil, fmt.Errorf("detectors: a sequence detector takes Batches and no label")
	}
	d := len(data.Features)
	if d == 0 {
		return nil, fmt.Errorf("%w: no feature columns", ErrFeatureCount)
	}
	if data.FeatureNames != nil && len(data.FeatureNames) != d {
		return nil, fmt.Errorf("%w: %d feature names for %d features", ErrFeatureCount, len(data.FeatureNames), d)
	}
	lim := DefaultLimits
	if data.Limits != nil {
		lim = *data.Limits
	}
	n := batchRows(data.Batches)
	if n == 0 {
		return nil, ErrNoRows
	}
	if n > o.Int("max_train_rows") {
		return nil, fmt.Errorf("%w: %d rows, max_train_rows is %d (a sequence detector trains on every row)", ErrTooLarge, n, o.Int("max_train_rows"))
	}
	starts, err := checkStarts(data.Starts, n)
	if err != nil {
		return nil, err
	}
	span := sa.Span(o)
	if !hasFullWindow(starts, n, span) {
		return nil, fmt.Errorf("%w: window %d (span %d rows before a row) but no partition has more than %d rows", ErrWindowTooLong, o.Int("window"), span, span)
	}
	names := data.FeatureNames
	if names == nil {
		s := data.Batches[0].Schema()
		names = make([]string, d)
		for k, j := range data.Features {
			if j < 0 || j >= s.NumFields() {
				return nil, fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, s.NumFields())
			}
			names[k] = s.Field(j).Name
		}
	}
	names = append([]string(nil), names...)
	key := -1
	if ko := sa.KeyOption(); ko != "" {
		kn := o.get(ko)
		if kn == "" {
			return nil, fmt.Errorf("%w: %s needs the option %s naming its key column", ErrNoKey, name, ko)
		}
		for k, f := range names {
			if f == kn {
				key = k
			}
		}
		if key < 0 || d != 1 {
			return nil, fmt.Errorf("%w: %s = '%s' must name the only feature column (features: %v)", ErrNoKey, ko, kn, names)
		}
	}

	// Every row, raw, then encoded and standardized.
	raw, enc, sc, err := readSequenceRows(data.Batches, data.Features, names, key, encodingOptions(o), n)
	if err != nil {
		return nil, err
	}
	w := enc.Width()
	step := w + 1
	width := (span + 1) * step
	// One window per row, then (SessionEnder) one end window per
	// partition.
	ends := 0
	if e, ok := a.(SessionEnder); ok && e.PredictsEnd() {
		ends = len(starts)
	}
	// The window rows are a copy of every row (span+1)·(w+1)/w times
	// over: unlike a tabular sample, they count against MaxBytes.
	if b := 8 * int64(n+ends) * int64(width); b > lim.MaxBytes {
		return nil, fmt.Errorf("%w: the %d training windows of %d values take %s, limit %s; use a smaller window or fewer rows", ErrTooLarge, n+ends, width, gib(b), gib(lim.MaxBytes))
	}
	if err := checkFootprint(name, a, o, givenNames(opts), shapeFor(n, width, o), lim); err != nil {
		return nil, err
	}
	z := make([]float64, n*w)
	for i := range n {
		enc.EncodeRow(raw[i*d:(i+1)*d], z[i*w:(i+1)*w])
	}
	raw = nil
	// Learned embeddings (input_embedding.go): the one-hot positions stay
	// 0 and 1, the windows' steps share their column's table.
	var emb embeddingStage
	if front := newInputEmbedding(enc, o); front != nil {
		emb = embeddingStage{front.windowed(span + 1), front.takeFrequencies(sc)}
	}
	sc.transform(z)
	x := arrowio.Matrix{Rows: n + ends, Cols: width, Data: make([]float64, (n+ends)*width)}
	for p := range starts {
		lo, hi := starts[p], n
		if p+1 < len(starts) {
			hi = starts[p+1]
		}
		for t := lo; t < hi; t++ {
			windowRow(z[lo*w:hi*w], w, t-lo, span, x.Data[t*width:(t+1)*width])
		}
		if ends > 0 {
			windowRow(z[lo*w:hi*w], w, hi-lo, span, x.Data[(n+p)*width:(n+p+1)*width])
		}
	}
	z = nil

	m, run, err := trainModel(ctx, start, name, a, o, x, nil, w, names, enc, sc, emb, data.OnEpoch)
	if err != nil {
		return nil, err
	}
	scores := make([]float64, n)
	for lo := 0; lo < n; lo += fitScoreRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+fitScoreRows, n)
		m.scoreWindows(x.Data[lo*width:hi*width], width, scores[lo:hi])
	}
	m.TrainingRows, m.RowsRead = n, int64(n)
	if err := m.finish(run, scores, data.TrainingData); err != nil {
		return nil, err
	}
	return m, nil
}

// scoreWindows scores window rows of width values as the network computes
// them (keeping NaN and infinite scores, which FitSequence reports as
// divergence), in parallel.
func (m *Model) scoreWindows(win []float64, width int, dst []float64) {
	_ = m.parallel(len(dst), func(lo, hi int, sc *scratch) error {
		for b := lo; b < hi; b += blockRows {
			e := min(b+blockRows, hi)
			m.scorer.ScoreRows(win[b*width:e*width], dst[b:e], sc.s)
		}
		return nil
	})
}

// checkStarts validates partition starts over n rows (nil: one).
func checkStarts(starts []int, n int) ([]int, error) {
	if starts == nil {
		return []int{0}, nil
	}
	if len(starts) == 0 || starts[0] != 0 {
		return nil, fmt.Errorf("detectors: partition starts must begin with 0")
	}
	for i := 1; i < len(starts); i++ {
		if starts[i] <= starts[i-1] || starts[i] >= n {
			return nil, fmt.Errorf("detectors: partition starts must increase strictly and stay below %d rows", n)
		}
	}
	return starts, nil
}

// hasFullWindow reports whether some partition has a row with span rows
// before it.
func hasFullWindow(starts []int, n, span int) bool {
	for p, lo := range starts {
		hi := n
		if p+1 < len(starts) {
			hi = starts[p+1]
		}
		if hi-lo > span {
			return true
		}
	}
	return false
}

// windowRow writes the window row of row t of a partition whose
// standardized encoded rows (w values each) are z into dst
// ((span+1)·(w+1) values): pad steps for the rows before the
// partition's start, then rows t−span … t with pad flag 0. Row t may be
// one past the partition's last row (the end window of a SessionEnder):
// its step is then a pad step too.
func windowRow(z []float64, w, t, span int, dst []float64) {
	step := w + 1
	for s := 0; s <= span; s++ {
		r := t - span + s
		o := dst[s*step : (s+1)*step]
		if r < 0 || r*w >= len(z) {
			clear(o[:w])
			o[w] = 1
			continue
		}
		copy(o[:w], z[r*w:(r+1)*w])
		o[w] = 0
	}
}

// readSequenceRows reads the feature columns of every row of batches, in
// order, fits their encoding (the column key, if ≥ 0, is categorical
// whatever its type) and returns the raw rows with categorical values as
// codes, the encoding and the scaler of the encoded columns.
func readSequenceRows(batches []arrow.RecordBatch, features []int, names []string, key int, eo EncodingOptions, n int) ([]float64, *Encoding, scaler, error) {
	d := len(features)
	var kinds []ColumnKind
	var fit *encodingFitter
	raw := make([]float64, n*d)
	at := 0
	for _, rec := range batches {
		s := rec.Schema()
		ks := make([]ColumnKind, d)
		for k, j := range features {
			if j < 0 || j >= s.NumFields() {
				return nil, nil, scaler{}, fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, s.NumFields())
			}
			kind, ok := ColumnKindOf(s.Field(j).Type)
			if k == key {
				kind, ok = KindCategorical, true
			}
			if !ok || (kinds != nil && kind != kinds[k]) {
				return nil, nil, scaler{}, fmt.Errorf("%w: column %q (index %d) has type %s", ErrNonNumeric, s.Field(j).Name, j, s.Field(j).Type)
			}
			ks[k] = kind
		}
		if kinds == nil {
			kinds = ks
			var err error
			if fit, err = newEncodingFitter(names, kinds, eo); err != nil {
				return nil, nil, scaler{}, err
			}
		}
		m := int(rec.NumRows())
		blk := raw[at*d : (at+m)*d]
		for k, j := range features {
			col := rec.Column(j)
			dst := blk[k:]
			switch kinds[k] {
			case KindCategorical:
				for i := 0; i < m; i++ {
					v, null := categoryValue(col, i)
					dst[i*d] = fit.addCategory(k, v, null)
				}
				continue
			case KindTime:
				if !fillSeconds(col, 0, m, dst, d) && !arrowio.FillColumn(col, 0, m, dst, d) {
					return nil, nil, scaler{}, fmt.Errorf("%w: column %d has type %s", ErrNonNumeric, j, col.DataType())
				}
			default:
				if !arrowio.FillColumn(col, 0, m, dst, d) {
					return nil, nil, scaler{}, fmt.Errorf("%w: column %d has type %s", ErrNonNumeric, j, col.DataType())
				}
			}
			for i := 0; i < m; i++ {
				fit.addValue(k, dst[i*d])
			}
		}
		at += m
	}
	enc, sc, remap, err := fit.result()
	if err != nil {
		return nil, nil, scaler{}, err
	}
	for i := range n {
		row := raw[i*d : (i+1)*d]
		for k, mp := range remap {
			if mp != nil {
				row[k] = mp[int(row[k])+1]
			}
		}
	}
	return raw, enc, sc, nil
}

// ScoreSequence scores rows of one ordered partition. x holds raw rows
// (len(Features) values each, in training feature order; NaN for NULL; a
// categorical feature as its code, Encoding.Code), consecutive rows of
// the partition in its order; x is not modified. The first before rows
// are context only: dst[i] is the score of row before+i, and
// len(x)/len(Features) − before scores are returned in dst (allocated
// only if too small).
//
// A row with fewer than Span rows before it in x is taken to be that many
// rows after the partition's start (its window is padded, see the top of
// this file). So a partition scored in chunks scores bit-identically to
// the partition scored whole if each chunk is given min(Span, rows
// before the chunk) rows of context. Scores are never NaN or infinite: a
// row with a ±Inf feature, a feature 2^500 or more standard deviations
// from its mean, or a non-finite computed score scores MaxScore, as in
// ScoreRow; such a value in a context row counts as the mean.
// ScoreSequence on a model that is not a sequence model is an error
// (ErrFeatureCount for a wrong row width).
func (m *Model) ScoreSequence(x []float64, before int, dst []float64) ([]float64, error) {
	scores, _, err := m.sequence(x, before, dst, nil)
	return scores, err
}

// SequenceVerdicts sets dst[i] to whether row before+i of x (as for
// ScoreSequence) is anomalous: the algorithm's own rule if its scorer is
// a StepJudge (deeplog: its key is not among the top g predicted), else
// IsAnomaly of its score. It returns dst (allocated only if too small).
func (m *Model) SequenceVerdicts(x []float64, before int, dst []bool) ([]bool, error) {
	n, err := m.sequenceRows(x, before)
	if err != nil {
		return nil, err
	}
	if cap(dst) < n-before {
		dst = make([]bool, n-before)
	}
	dst = dst[:n-before]
	_, _, err = m.sequence(x, before, nil, dst)
	return dst, err
}

// ScoreSequenceVerdicts is ScoreSequence and SequenceVerdicts in one
// pass over the windows: scores gets the scores and verdicts the
// verdicts of the rows of x after the first before (each allocated only
// if too small), the same values, bit for bit, as the two calls give.
func (m *Model) ScoreSequenceVerdicts(x []float64, before int, scores []float64, verdicts []bool) ([]float64, []bool, error) {
	n, err := m.sequenceRows(x, before)
	if err != nil {
		return nil, nil, err
	}
	if cap(verdicts) < n-before {
		verdicts = make([]bool, n-before)
	}
	return m.sequence(x, before, scores, verdicts[:n-before])
}

// AnomalousSequence reports whether a whole partition (session), given as
// for ScoreSequence with no context rows, is anomalous: whether any of
// its rows is (SequenceVerdicts), as DeepLog judges a session, or, for a
// SessionEnder, its end (the session stops where the model does not
// expect an end: the end is not among deeplog's top g predictions).
func (m *Model) AnomalousSequence(x []float64) (bool, error) {
	v, err := m.SequenceVerdicts(x, 0, nil)
	if err != nil {
		return false, err
	}
	for _, b := range v {
		if b {
			return true, nil
		}
	}
	e, ok := m.alg.(SessionEnder)
	judge, isJudge := m.scorer.(StepJudge)
	if !ok || !e.PredictsEnd() || !isJudge {
		return false, nil
	}
	// The end window: the last span rows, then a pad step.
	d, w := len(m.Features), m.width()
	span := m.alg.(SequenceAlgorithm).Span(m.opts)
	n := len(x) / d
	first := max(0, n-span)
	z := make([]float64, (n-first)*w)
	for i := first; i < n; i++ {
		zi := z[(i-first)*w : (i-first+1)*w]
		m.encode(x[i*d:(i+1)*d], zi)
		m.scale.transformRow(zi)
	}
	win := make([]float64, (span+1)*(w+1))
	windowRow(z, w, n-first, span, win)
	end := []bool{false}
	judge.JudgeRows(win, end, make([]float64, m.scorer.ScratchLen()))
	return end[0], nil
}

// ScoreSequenceBatch scores every row of rec, whose rows are whole
// partitions, each ordered, the partitions starting at the rows starts
// (as SequenceData.Starts; nil: one partition), taking the features from
// the columns features. Scores are ScoreSequence's.
func (m *Model) ScoreSequenceBatch(rec arrow.RecordBatch, features []int, starts []int, dst []float64) ([]float64, error) {
	d := len(m.Features)
	if len(features) != d {
		return nil, fmt.Errorf("%w: got %d feature columns, model %s has %d features", ErrFeatureCount, len(features), m.Algorithm, d)
	}
	if _, ok := m.alg.(SequenceAlgorithm); !ok || m.enc == nil {
		return nil, fmt.Errorf("detectors: %s is not a sequence model", m.Algorithm)
	}
	if err := m.checkColumns(rec.Schema(), features); err != nil {
		return nil, err
	}
	n := int(rec.NumRows())
	dst = sized(dst, n)
	if n == 0 {
		return dst, nil
	}
	starts, err := checkStarts(starts, n)
	if err != nil {
		return nil, err
	}
	raw := make([]float64, n*d)
	if err := m.fillRaw(rec, features, 0, n, raw); err != nil {
		return nil, err
	}
	for p, lo := range starts {
		hi := n
		if p+1 < len(starts) {
			hi = starts[p+1]
		}
		if _, err := m.ScoreSequence(raw[lo*d:hi*d], 0, dst[lo:hi]); err != nil {
			return nil, err
		}
	}
	return dst, nil
}

// sequenceRows checks x and before and returns the number of rows of x.
func (m *Model) sequenceRows(x []float64, before int) (int, error) {
	if _, ok := m.alg.(SequenceAlgorithm); !ok || m.enc == nil {
		return 0, fmt.Errorf("detectors: %s is not a sequence model", m.Algorithm)
	}
	d := len(m.Features)
	if len(x)%d != 0 {
		return 0, fmt.Errorf("%w: %d values are not rows of %d features", ErrFeatureCount, len(x), d)
	}
	n := len(x) / d
	if before < 0 || before > n {
		return 0, fmt.Errorf("detectors: %d context rows of %d", before, n)
	}
	return n, nil
}

// sequence scores (dst) and, if verdicts is not nil, judges rows
// before… of x; see ScoreSequence.
func (m *Model) sequence(x []float64, before int, dst []float64, verdicts []bool) ([]float64, []bool, error) {
	n, err := m.sequenceRows(x, before)
	if err != nil {
		return nil, nil, err
	}
	sa := m.alg.(SequenceAlgorithm)
	span := sa.Span(m.opts)
	d, w := len(m.Features), m.width()
	width := (span + 1) * (w + 1)
	dst = sized(dst, n-before)
	if n == before {
		return dst, verdicts, nil
	}
	// The standardized rows from the first one a scored row reads.
	first := max(0, before-span)
	z := make([]float64, (n-first)*w)
	ext := make([]bool, n-first)
	for i := first; i < n; i++ {
		zi := z[(i-first)*w : (i-first+1)*w]
		m.encode(x[i*d:(i+1)*d], zi)
		ext[i-first] = m.scale.transformRow(zi)
	}
	judge, _ := m.scorer.(StepJudge)
	// Rows are scored in parallel for long partitions (m.parallel); the
	// split only decides which goroutine scores a row, never how.
	const block = 64
	_ = m.parallel(n-before, func(plo, phi int, sc *scratch) error {
		win := make([]float64, block*width)
		s := sc.s
		for lo := before + plo; lo < before+phi; lo += block {
			hi := min(lo+block, before+phi)
			for t := lo; t < hi; t++ {
				windowRow(z, w, t-first, span, win[(t-lo)*width:(t-lo+1)*width])
			}
			out := dst[lo-before : hi-before]
			m.scorer.ScoreRows(win[:(hi-lo)*width], out, s)
			for t := lo; t < hi; t++ {
				if v := out[t-lo]; ext[t-first] || math.IsNaN(v) || math.IsInf(v, 0) {
					out[t-lo] = MaxScore
				}
			}
			if verdicts != nil {
				vs := verdicts[lo-before : hi-before]
				if judge != nil {
					judge.JudgeRows(win[:(hi-lo)*width], vs, s)
					for t := lo; t < hi; t++ {
						vs[t-lo] = vs[t-lo] || out[t-lo] == MaxScore
					}
				} else {
					for i, v := range out {
						vs[i] = m.IsAnomaly(v)
					}
				}
			}
		}
		return nil
	})
	return dst, verdicts, nil
}
