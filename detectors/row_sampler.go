package detectors

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/anomalydb/anomalydb/arrowio"
)

// Training on more rows than fit in memory.
//
// A RowSampler reads the rows of a training query one Arrow record batch
// at a time, in the query's order, and keeps only two things:
//
//   - the preprocessing statistics (per feature: the mean and standard
//     deviation of its finite values, see scaler) of EVERY row read,
//     updated as the rows go past with the same arithmetic as fitScaler,
//     so they are bit-identical to fitting the scaler on all rows at once;
//   - a seeded uniform sample of at most max_train_rows rows (the common
//     option, default DefaultMaxTrainRows): Vitter's reservoir Algorithm R.
//     The detector trains on this sample, and its threshold is the
//     contamination quantile of the sample's scores.
//
// So its memory is bounded by max_train_rows × (features + 2) float64
// values plus one batch being converted, whatever the number of rows read.
//
// Semantics of the sample:
//
//   - A query of at most max_train_rows rows is kept whole, in its order,
//     and the random generator is not used: training is bit-identical to
//     training on all the rows (as before sampling existed).
//   - Beyond that, every subset of max_train_rows rows is equally likely
//     (with the exception for labelled anomalies below), and the kept
//     rows are handed to training in the query's order. The choice comes
//     from a generator seeded by the seed option, separate from the one
//     training uses, so the same query returning the same rows in the same
//     order with the same seed gives the same sample, and another seed
//     another sample.
//   - Labelled anomalies: for algorithms that learn from labels
//     (LabelsOptional, LabelsRequired, such as deep_sad and repen), the
//     rows labelled 1 are sampled as a stratum of their own, and the
//     other rows (labelled 0 or NULL) as another. Each stratum is
//     guaranteed half of the sample (the anomalies ⌈max_train_rows/2⌉,
//     the others the rest) and leaves what it does not use to the other,
//     so that the sample still has min(rows read, max_train_rows) rows and
//     every labelled anomaly is kept as long as there are at most
//     ⌈max_train_rows/2⌉ of them. The reason: known anomalies are
//     typically a few hundred rows among millions, they are the only
//     signal weak supervision learns from, and a uniform sample of 1 % of
//     the rows would keep about 1 % of them (and none at all of 50, most of
//     the time). The price is that, when the query has more rows than
//     max_train_rows, labelled anomalies are over-represented in the
//     sample relative to the query; labelled normal rows are not
//     privileged, as they are usually plentiful and learnt from like
//     unlabelled rows. Unsupervised algorithms (LabelsNone) sample all rows
//     alike: over-representing anomalies would teach them that anomalies
//     are normal.
//   - Labels and feature types are checked on every row read, not only
//     on the kept ones, with the errors of arrowio.FeatureMatrix.
//
// Within a stratum, when its capacity shrinks (the other stratum claims
// its guaranteed half), a uniformly chosen kept row is evicted; a uniform
// random subset of a uniform sample is a uniform sample, so each stratum
// stays a uniform sample of its rows.

// DefaultMaxTrainRows is the default of the max_train_rows option: at most
// a million rows are trained on (128 MB of float64 values for 16
// features). It is a round bound of memory, not tuned to any dataset.
const DefaultMaxTrainRows = 1_000_000

// samplerBlockRows is how many rows a RowSampler converts at a time.
const samplerBlockRows = 1024

// RowSampler gathers the training input of Fit from a stream of record
// batches (see the comment above for what it keeps). Create it with
// NewRowSampler, call Add for every batch in order, then Result once; it
// must not be used after Result. It is not safe for concurrent use.
type RowSampler struct {
	features []int
	label    int
	limit    int   // max_train_rows
	seed     int64 // the seed option
	split    bool  // labelled anomalies form a stratum of their own
	rng      *rand.Rand

	stats []colStats // of every row read
	names []string   // the feature names of the first batch's schema
	read  int64      // rows read

	// The kept rows live in slots: slot i is x[i*d:(i+1)*d], labels[i]
	// (if label >= 0) and pos[i], the row's position in the stream.
	x      []float64
	labels []float64
	pos    []int64
	free   []int // evicted slots not yet reused
	// strata[0] holds the rows other than labelled anomalies (every row
	// when !split), strata[1] the labelled anomalies.
	strata [2]stratum

	blk, blkLabels []float64 // one block of converted rows
	done           bool

	// Mixed-type features (encoding.go): kinds are the feature kinds of
	// the first batch; fit is nil when every feature is numeric or
	// boolean (the rows are then kept as they always were), else it fits
	// the encoding and the kept rows hold raw values, categorical ones as
	// provisional ids (encoding_fit.go).
	kinds   []ColumnKind
	fit     *encodingFitter
	encOpts EncodingOptions
}

// stratum is one reservoir of a RowSampler.
type stratum struct {
	seen  int64 // rows of the stratum read
	share int   // rows of the sample it is guaranteed
	slots []int // the slots holding its kept rows
}

// NewRowSampler returns a sampler of the training rows of a detector
// trained with algorithm and opts (the options Fit will be given; the
// sampler uses max_train_rows, seed, and the algorithm's use of labels),
// whose features are the columns features of the batches and whose label
// column is label (-1 for none). Errors are those of ValidateOptions'
// option checks (ErrUnknownAlgorithm, ErrUnknownOption, ErrBadOption) and
// ErrFeatureCount for no features.
func NewRowSampler(algorithm string, opts map[string]string, features []int, label int) (*RowSampler, error) {
	a, _, o, err := resolve(algorithm, opts)
	if err != nil {
		return nil, err
	}
	if len(features) == 0 {
		return nil, fmt.Errorf("%w: no feature columns", ErrFeatureCount)
	}
	return newRowSampler(a, o, features, label), nil
}

func newRowSampler(a Algorithm, o Options, features []int, label int) *RowSampler {
	s := &RowSampler{
		features: append([]int(nil), features...),
		label:    label,
		limit:    o.Int("max_train_rows"),
		seed:     o.Int64("seed"),
		split:    label >= 0 && labelUse(a) != LabelsNone,
		stats:    make([]colStats, len(features)),
		encOpts:  encodingOptions(o),
	}
	s.rng = newSampleRand(s.seed)
	if s.split {
		s.strata[1].share = (s.limit + 1) / 2
		s.strata[0].share = s.limit - s.strata[1].share
	} else {
		s.strata[0].share = s.limit
	}
	return s
}

// newSampleRand returns the generator of a RowSampler's choices: seeded
// by the seed option like newRand, but another stream, so sampling does
// not change the random choices of training.
func newSampleRand(seed int64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), 0x5851f42d4c957f2d))
}

// errSamplerDone is returned by Add after Result.
var errSamplerDone = errors.New("detectors: RowSampler used after Result")

// Add reads every row of rec, in order: it updates the statistics and
// offers the row to the sample. The feature columns must be numeric
// (else an error wrapping ErrNonNumeric) and the label values 0, 1 or
// NULL (else ErrBadLabel); on error the sampler must not be used further.
// rec is neither retained nor released.
func (s *RowSampler) Add(rec arrow.RecordBatch) error {
	if s.done {
		return errSamplerDone
	}
	if err := s.checkKinds(rec.Schema()); err != nil {
		return err
	}
	if s.names == nil {
		s.names = make([]string, len(s.features))
		for k, j := range s.features {
			s.names[k] = rec.Schema().Field(j).Name
		}
	}
	d := len(s.features)
	n := int(rec.NumRows())
	if s.label >= 0 {
		// Checks the label column's type even when rec has no rows, as
		// FeatureMatrix does.
		if err := arrowio.FillLabels(rec, s.label, 0, 0, nil); err != nil {
			return err
		}
	}
	if s.blk == nil && n > 0 {
		s.blk = make([]float64, samplerBlockRows*d)
		if s.label >= 0 {
			s.blkLabels = make([]float64, samplerBlockRows)
		}
	}
	for lo := 0; lo < n; lo += samplerBlockRows {
		hi := min(lo+samplerBlockRows, n)
		blk := s.blk[:(hi-lo)*d]
		if s.fit != nil {
			s.fillMixed(rec, lo, hi, blk)
		} else if err := arrowio.FillRows(rec, s.features, lo, hi, blk); err != nil {
			return err
		}
		var labels []float64
		if s.label >= 0 {
			labels = s.blkLabels[:hi-lo]
			if err := arrowio.FillLabels(rec, s.label, lo, hi, labels); err != nil {
				return err
			}
		}
		for j := range s.stats {
			if s.fit != nil {
				break // fillMixed gave the values to the fitter
			}
			c := &s.stats[j]
			for i := j; i < len(blk); i += d {
				c.add(blk[i])
			}
		}
		for i := 0; i < hi-lo; i++ {
			l := math.NaN()
			if labels != nil {
				l = labels[i]
			}
			s.offer(blk[i*d:(i+1)*d], l)
		}
	}
	return nil
}

// offer offers one row (its converted features and label) to the sample.
func (s *RowSampler) offer(row []float64, label float64) {
	pos := s.read
	s.read++
	k := 0
	if s.split && label == 1 {
		k = 1
	}
	st, other := &s.strata[k], &s.strata[1-k]
	st.seen++
	// One more row of this stratum may take one place from the other.
	if c := s.capacity(1 - k); len(other.slots) > c {
		j := s.rng.IntN(len(other.slots))
		s.free = append(s.free, other.slots[j])
		other.slots[j] = other.slots[len(other.slots)-1]
		other.slots = other.slots[:len(other.slots)-1]
	}
	c := s.capacity(k)
	switch {
	case len(st.slots) < c:
		st.slots = append(st.slots, s.store(-1, row, label, pos))
	case c > 0:
		// Algorithm R: the row replaces a uniformly chosen kept row with
		// probability c/seen.
		if j := s.rng.Int64N(st.seen); j < int64(c) {
			s.store(st.slots[j], row, label, pos)
		}
	}
}

// capacity is how many rows stratum k may keep now: the sample's size
// less what the other stratum is guaranteed and has used of it.
func (s *RowSampler) capacity(k int) int {
	other := &s.strata[1-k]
	return s.limit - int(min(other.seen, int64(other.share)))
}

// store writes a row into slot (a free or new slot if slot < 0) and
// returns the slot.
func (s *RowSampler) store(slot int, row []float64, label float64, pos int64) int {
	if slot < 0 && len(s.free) > 0 {
		slot = s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
	}
	if slot < 0 {
		slot = len(s.pos)
		if slot == cap(s.pos) {
			s.grow()
		}
		s.x = append(s.x, row...)
		s.pos = append(s.pos, pos)
		if s.label >= 0 {
			s.labels = append(s.labels, label)
		}
		return slot
	}
	d := len(s.features)
	copy(s.x[slot*d:(slot+1)*d], row)
	s.pos[slot] = pos
	if s.label >= 0 {
		s.labels[slot] = label
	}
	return slot
}

// Reserve makes room at once for the sample of rows rows, min(rows,
// max_train_rows), for a caller that knows how many rows it will add (a
// stored table's row count): the sample is then allocated once instead of
// growing by doubling, which holds its old and new storage at the same
// time and leaves the old as garbage. It is a hint: any number of rows may
// be added after it.
func (s *RowSampler) Reserve(rows int64) {
	if n := int(min(rows, int64(s.limit))); n > cap(s.pos) {
		s.growTo(n)
	}
}

// grow doubles the slots' capacity (at most max_train_rows slots).
// append would grow them by a quarter at a time once large, leaving about
// four times the final sample as garbage on the way; doubling leaves one.
func (s *RowSampler) grow() {
	s.growTo(min(max(2*cap(s.pos), samplerBlockRows), s.limit))
}

// growTo sets the slots' capacity to n, keeping their contents.
func (s *RowSampler) growTo(n int) {
	d := len(s.features)
	s.x = append(make([]float64, 0, n*d), s.x...)
	s.pos = append(make([]int64, 0, n), s.pos...)
	if s.label >= 0 {
		s.labels = append(make([]float64, 0, n), s.labels...)
	}
}

// RowsRead is the number of rows Add has read.
func (s *RowSampler) RowsRead() int64 { return s.read }

// Rows is the number of rows the sample holds, until Result:
// min(RowsRead, max_train_rows).
func (s *RowSampler) Rows() int { return len(s.strata[0].slots) + len(s.strata[1].slots) }

// Result returns the sample, its rows in the order they were read, and
// the statistics of every row read. The sampler must not be used after:
// the sample takes over its memory.
func (s *RowSampler) Result() *Sample {
	s.done = true
	d := len(s.features)
	n := s.Rows()
	// Order the slots by stream position; free slots (there are none
	// left in practice: an eviction is always followed by a store) go
	// last and are cut off.
	for _, slot := range s.free {
		s.pos[slot] = math.MaxInt64
	}
	if !slices.IsSorted(s.pos) {
		perm := make([]int, len(s.pos))
		for i := range perm {
			perm[i] = i
		}
		slices.SortFunc(perm, func(a, b int) int { return cmp.Compare(s.pos[a], s.pos[b]) })
		s.permute(perm)
	}
	out := &Sample{
		X:        arrowio.Matrix{Rows: n, Cols: d, Data: s.x[:n*d]},
		RowsRead: s.read,
		names:    s.names,
		scale:    scalerOf(s.stats),
		limit:    s.limit,
		seed:     s.seed,
		split:    s.split,
		features: len(s.features),
		label:    s.label >= 0,
	}
	if s.label >= 0 {
		out.Labels = s.labels[:n]
	}
	if s.fit != nil {
		out.err = s.freezeEncoding(out)
	}
	s.x, s.labels, s.pos, s.free, s.blk, s.blkLabels = nil, nil, nil, nil, nil, nil
	s.strata = [2]stratum{}
	return out
}

// permute moves the row of slot perm[i] to slot i, for every i, in place
// (following the permutation's cycles); it overwrites perm.
func (s *RowSampler) permute(perm []int) {
	d := len(s.features)
	tmp := make([]float64, d)
	row := func(i int) []float64 { return s.x[i*d : (i+1)*d] }
	for i := range perm {
		if perm[i] < 0 || perm[i] == i {
			perm[i] = -1
			continue
		}
		copy(tmp, row(i))
		tp := s.pos[i]
		tl := 0.0
		if s.label >= 0 {
			tl = s.labels[i]
		}
		j := i
		for {
			k := perm[j]
			perm[j] = -1
			if k == i {
				copy(row(j), tmp)
				s.pos[j] = tp
				if s.label >= 0 {
					s.labels[j] = tl
				}
				break
			}
			copy(row(j), row(k))
			s.pos[j] = s.pos[k]
			if s.label >= 0 {
				s.labels[j] = s.labels[k]
			}
			j = k
		}
	}
}

// Sample is the training input a RowSampler gathered, for
// TrainingData.Sample.
type Sample struct {
	// X holds the raw feature values of the kept rows (NaN for NULL), in
	// the order they were read.
	X arrowio.Matrix
	// Labels holds their labels (1, 0, NaN for NULL), nil without a
	// label column.
	Labels []float64
	// RowsRead is the number of rows the sampler read (X.Rows is the
	// number kept).
	RowsRead int64

	names    []string  // feature names of the first batch, nil if none
	scale    scaler    // statistics of all RowsRead rows (of the encoded columns)
	enc      *Encoding // nil: X holds the features as they are
	encoded  bool      // X holds enc's encoded rows (encode), not raw ones
	err      error     // of fitting the encoding, returned by Fit
	limit    int       // max_train_rows, seed, stratification and shape
	seed     int64     // it was gathered with, checked by Fit
	split    bool
	features int
	label    bool
	used     bool // trained on by Fit, which standardizes X in place
}

// checkKinds checks the feature columns of schema: on the first batch it
// records their kinds (ColumnKindOf) and, if any is neither numeric nor
// boolean, starts fitting an encoding; later batches must have the same
// kinds. A column of a type that cannot be a feature, or whose kind
// changes, wraps ErrNonNumeric.
func (s *RowSampler) checkKinds(schema *arrow.Schema) error {
	first := s.kinds == nil
	if first {
		s.kinds = make([]ColumnKind, len(s.features))
	}
	mixed := false
	for k, j := range s.features {
		if j < 0 || j >= schema.NumFields() {
			return fmt.Errorf("arrowio: feature column index %d out of range [0, %d)", j, schema.NumFields())
		}
		f := schema.Field(j)
		kind, ok := ColumnKindOf(f.Type)
		if !ok || (!first && kind != s.kinds[k]) {
			return fmt.Errorf("%w: column %q (index %d) has type %s", ErrNonNumeric, f.Name, j, f.Type)
		}
		s.kinds[k] = kind
		mixed = mixed || (kind != KindNumeric && kind != KindBoolean)
	}
	if first && (mixed || s.encOpts.MissingIndicator) {
		names := make([]string, len(s.features))
		for k, j := range s.features {
			names[k] = schema.Field(j).Name
		}
		fit, err := newEncodingFitter(names, s.kinds, s.encOpts)
		if err != nil {
			return err
		}
		s.fit = fit
	}
	return nil
}

// fillMixed writes the raw values of rows [lo, hi) of the feature columns
// of rec into blk (categorical ones as provisional ids) and gives every
// value to the encoding fitter. The columns were checked by checkKinds.
func (s *RowSampler) fillMixed(rec arrow.RecordBatch, lo, hi int, blk []float64) {
	d := len(s.features)
	for k, j := range s.features {
		col := rec.Column(j)
		dst := blk[k:]
		switch s.kinds[k] {
		case KindCategorical:
			for i := lo; i < hi; i++ {
				v, null := categoryValue(col, i)
				dst[(i-lo)*d] = s.fit.addCategory(k, v, null)
			}
			continue
		case KindTime:
			fillSeconds(col, lo, hi, dst, d)
		default:
			arrowio.FillColumn(col, lo, hi, dst, d)
		}
		for i := 0; i < hi-lo; i++ {
			s.fit.addValue(k, dst[i*d])
		}
	}
}

// freezeEncoding freezes the encoding fitted on every row read and gives
// it to out, whose raw rows get their categories' codes in place of the
// provisional ids; Sample.encode later replaces them by their encoded
// rows, once Fit has checked the encoded width against its limits.
func (s *RowSampler) freezeEncoding(out *Sample) error {
	enc, sc, remap, err := s.fit.result()
	if err != nil {
		return err
	}
	d := len(s.features)
	for i := range out.X.Rows {
		row := out.X.Data[i*d : (i+1)*d]
		for k, m := range remap {
			if m != nil {
				row[k] = m[int(row[k])+1]
			}
		}
	}
	out.enc, out.scale = enc, sc
	return nil
}

// Width is the number of columns training sees: the encoded width of a
// sample with an encoding, else the number of features.
func (s *Sample) Width() int {
	if s.enc != nil {
		return s.enc.Width()
	}
	return s.X.Cols
}

// encode replaces X's raw rows by their encoded rows (Width columns), for
// a sample with an encoding whose rows are still raw; otherwise it does
// nothing.
func (s *Sample) encode() {
	if s.enc == nil || s.encoded {
		return
	}
	d, w, n := s.X.Cols, s.enc.Width(), s.X.Rows
	x := make([]float64, n*w)
	for i := range n {
		s.enc.EncodeRow(s.X.Data[i*d:(i+1)*d], x[i*w:(i+1)*w])
	}
	s.X = arrowio.Matrix{Rows: n, Cols: w, Data: x}
	s.encoded = true
}
