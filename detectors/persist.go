package detectors

import (
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"maps"
	"math"
	"strconv"
	"time"
)

// The persistence format is the 8-byte magic, a little-endian uint32
// format version, and a gob-encoded modelFile. gob stores float64 values
// bit-exactly, so a loaded model scores bit-identically to the saved one,
// and the encoding is deterministic (no maps), so the same model always
// marshals to the same bytes.
//
// Format version 2 (encodedFormatVersion) is version 1 plus the features'
// encoding (modelFile.Encoding, encoding.go), written only for a model
// that has one (a non-numeric feature or an encoding option): a reader of
// version 1 would skip the field and score such a model wrong, so it must
// refuse the file. A model without an encoding is still written as
// version 1, byte for byte as before, and version 1 files load as ever.
const (
	modelMagic           = "ADBMODEL"
	formatVersion        = 1
	encodedFormatVersion = 2
)

// modelFile is everything a model is: descriptive fields, preprocessing,
// options and algorithm state.
type modelFile struct {
	Algorithm    string
	Options      []fileOption // sorted by name, so encoding is deterministic
	Features     []string
	TrainingRows int
	TrainSeconds float64
	CreatedAt    time.Time
	Threshold    float64
	Mean, Std    []float64
	Tensors      []fileTensor
	// Source was added later: gob leaves it empty when decoding an older
	// file, and older readers skip it.
	Source string
	// RowsRead was added later too: 0 in an older file, whose model
	// trained on every row read (TrainingRows).
	RowsRead int64
	// Recipe and Losses were added later still (recipe.go): nil in an
	// older file. They need no new format version: older readers skip
	// them, and this one reads older files without them.
	Recipe *fileRecipe
	Losses *fileLosses
	// ScoreDist, Contamination and ExplicitThreshold were added later
	// (score_distribution.go). An older file has no distribution, and its
	// threshold comes from its contamination option. Contamination is the
	// model's (never 0 in a newer file, whose ExplicitThreshold is true
	// for a threshold set by WithThreshold).
	ScoreDist         []float64
	Contamination     float64
	ExplicitThreshold bool
	// Log was added after them, in the same way (training_log.go): nil
	// in an older file.
	Log *fileLog
}

// fileEncoding is the features' encoding, one column per feature, which
// follows the modelFile in the gob stream of format version 2 (Mean and
// Std are then of the encoded columns). It is a value of its own, not a
// field of modelFile, because gob writes a struct's field list into the
// stream: a new field would change the bytes of every version 1 file.
type fileEncoding struct {
	Columns []fileColumn
}

// fileColumn is a ColumnEncoding.
type fileColumn struct {
	Name            string
	Kind            uint8
	Categories      []string
	NullCode        int
	Others          []string
	NullOther       bool
	Missing, Cyclic bool
}

// fileLog is a TrainingLog. PlannedEpochs is at least 1, so a present
// log is never gob's zero value.
type fileLog struct {
	PlannedEpochs, EpochsRun int
	Epochs                   []fileEpoch
}

// fileEpoch is an EpochLog.
type fileEpoch struct {
	Epoch                                                   int
	TrainLoss, ValidationLoss, ElapsedSeconds, LearningRate float64
}

// fileRecipe is a Recipe.
type fileRecipe struct {
	Options []fileOption // as given, sorted by name
	Query   string
}

// fileLosses are a model's recorded losses; Validation is NaN without
// validation.
type fileLosses struct{ Train, Validation float64 }

// laterOptions are the options added after format version 1, with the
// value a model saved before they existed is loaded with: such a model's
// file does not list them.
var laterOptions = map[string]string{
	// Before sampling, every row was trained on; the default is what a
	// new training of that many rows behaves like.
	"max_train_rows": strconv.Itoa(DefaultMaxTrainRows),
	// The encoding options (encoding.go): a model saved before them has
	// numeric features only, which they do not change.
	"max_categories":    strconv.Itoa(DefaultMaxCategories),
	"missing_indicator": "false",
	"time_cycles":       "false",
	// Learned embeddings (input_embedding.go): before them, one-hot.
	"categorical":      "onehot",
	"embedding_dim":    "0",
	"embedding_epochs": "10",
}

// OptionHistory is implemented by an algorithm that has options added
// after its models were first saved: LaterOptions gives each with the
// value a model saved before it existed is loaded with (its behaviour
// then), as laterOptions does for the common options.
type OptionHistory interface {
	LaterOptions() map[string]string
}

// unwrittenAtDefault are the later options a file does not list when they
// have their laterOptions value: the bytes of a model that does not use
// them stay what they were before they existed (TestScoreHashes), and
// loading fills them in.
var unwrittenAtDefault = map[string]bool{"max_categories": true, "missing_indicator": true, "time_cycles": true,
	"categorical": true, "embedding_dim": true, "embedding_epochs": true}

type fileOption struct{ Name, Value string }

type fileTensor struct {
	Name       string
	Rows, Cols int
	Trainable  bool
	Data       []float64
}

// MarshalBinary implements encoding.BinaryMarshaler: it serializes the
// whole model (options, features, training statistics, threshold and
// contamination, training-score distribution, preprocessing and weights)
// in the current format version.
func (m *Model) MarshalBinary() ([]byte, error) {
	f := modelFile{
		Algorithm:    m.Algorithm,
		Features:     m.Features,
		TrainingRows: m.TrainingRows,
		TrainSeconds: m.TrainSeconds,
		CreatedAt:    m.CreatedAt,
		Threshold:    m.Threshold,
		Mean:         m.scale.mean,
		Std:          m.scale.std,
		Source:       m.Source,
		RowsRead:     m.RowsRead,

		ScoreDist:         m.dist,
		Contamination:     m.Contamination,
		ExplicitThreshold: m.Contamination == 0,
	}
	if r := m.Recipe; r != nil {
		f.Recipe = &fileRecipe{Query: r.Query}
		for _, o := range r.Options {
			f.Recipe.Options = append(f.Recipe.Options, fileOption{o.Name, o.Value})
		}
	}
	if !math.IsNaN(m.TrainLoss) {
		f.Losses = &fileLosses{Train: m.TrainLoss, Validation: m.ValidationLoss}
	}
	if l := m.TrainingLog; l != nil {
		f.Log = &fileLog{PlannedEpochs: l.PlannedEpochs, EpochsRun: l.EpochsRun, Epochs: make([]fileEpoch, len(l.Epochs))}
		for i, e := range l.Epochs {
			f.Log.Epochs[i] = fileEpoch(e)
		}
	}
	for _, k := range sortedKeys(m.opts) {
		if unwrittenAtDefault[k] && m.opts[k] == laterOptions[k] {
			continue
		}
		f.Options = append(f.Options, fileOption{k, m.opts[k]})
	}
	for _, t := range m.state.Tensors {
		f.Tensors = append(f.Tensors, fileTensor{Name: t.Name, Rows: t.Rows, Cols: t.Cols, Trainable: t.Trainable, Data: t.Data})
	}
	version := formatVersion
	var fe *fileEncoding
	if m.enc != nil {
		version = encodedFormatVersion
		fe = &fileEncoding{}
		for _, c := range m.enc.cols {
			fe.Columns = append(fe.Columns, fileColumn{Name: c.Name, Kind: uint8(c.Kind), Categories: c.Categories, NullCode: c.NullCode,
				Others: c.Others, NullOther: c.NullOther, Missing: c.Missing, Cyclic: c.Cyclic})
		}
	}
	var buf bytes.Buffer
	buf.WriteString(modelMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(version))
	ge := gob.NewEncoder(&buf)
	if err := ge.Encode(&f); err != nil {
		return nil, fmt.Errorf("detectors: encoding model: %w", err)
	}
	if fe != nil {
		if err := ge.Encode(fe); err != nil {
			return nil, fmt.Errorf("detectors: encoding model: %w", err)
		}
	}
	return buf.Bytes(), nil
}

// UnmarshalModel decodes a model written by MarshalBinary. Bytes that are
// not a model, of an unknown format version, of an unregistered algorithm,
// or with inconsistent shapes, options or threshold give an error wrapping
// ErrBadModel (or ErrUnknownAlgorithm). The loaded model's scores are
// bit-identical to the saved model's. b is not retained.
func UnmarshalModel(b []byte) (*Model, error) {
	if len(b) < len(modelMagic)+4 || string(b[:len(modelMagic)]) != modelMagic {
		return nil, fmt.Errorf("%w: bad magic", ErrBadModel)
	}
	v := binary.LittleEndian.Uint32(b[len(modelMagic):])
	if v != formatVersion && v != encodedFormatVersion {
		return nil, fmt.Errorf("%w: format version %d, want %d or %d", ErrBadModel, v, formatVersion, encodedFormatVersion)
	}
	var f modelFile
	gd := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:]))
	if err := gd.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadModel, err)
	}
	var enc *Encoding
	if v == encodedFormatVersion {
		var fe fileEncoding
		if err := gd.Decode(&fe); err != nil {
			return nil, fmt.Errorf("%w: encoding: %v", ErrBadModel, err)
		}
		if len(fe.Columns) != len(f.Features) {
			return nil, fmt.Errorf("%w: %d features, %d encoded", ErrBadModel, len(f.Features), len(fe.Columns))
		}
		cols := make([]ColumnEncoding, len(fe.Columns))
		for i, c := range fe.Columns {
			cols[i] = ColumnEncoding{Name: c.Name, Kind: ColumnKind(c.Kind), Categories: c.Categories, NullCode: c.NullCode,
				Others: c.Others, NullOther: c.NullOther, Missing: c.Missing, Cyclic: c.Cyclic}
		}
		var err error
		if enc, err = NewEncoding(cols); err != nil {
			return nil, err
		}
	}
	a, name, err := lookup(f.Algorithm)
	if err != nil {
		return nil, err
	}
	saved := make(map[string]string, len(f.Options))
	for _, kv := range f.Options {
		saved[kv.Name] = kv.Value
	}
	later := laterOptions
	if h, ok := a.(OptionHistory); ok {
		later = maps.Clone(later)
		maps.Copy(later, h.LaterOptions())
	}
	for k, v := range later {
		if _, ok := saved[k]; !ok {
			saved[k] = v
		}
	}
	o, err := normalizeOptions(name, a, saved)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadModel, err)
	}
	if !maps.Equal(map[string]string(o), saved) {
		return nil, fmt.Errorf("%w: its options do not match this version's %s options (saved by an incompatible version?)", ErrBadModel, name)
	}
	if math.IsNaN(f.Threshold) || math.IsInf(f.Threshold, 0) || f.Threshold >= MaxScore {
		// Fit's thresholds are finite and below MaxScore (Model.Threshold).
		return nil, fmt.Errorf("%w: threshold %v", ErrBadModel, f.Threshold)
	}
	d := len(f.Features)
	if enc != nil && d > 0 {
		d = enc.Width()
	}
	if d == 0 || len(f.Mean) != d || len(f.Std) != d {
		return nil, fmt.Errorf("%w: %d features, %d means, %d stds", ErrBadModel, d, len(f.Mean), len(f.Std))
	}
	st := &State{}
	for _, t := range f.Tensors {
		if !validShape(t.Rows, t.Cols, len(t.Data)) || st.Get(t.Name) != nil {
			return nil, fmt.Errorf("%w: tensor %s (%dx%d, %d values)", ErrBadModel, t.Name, t.Rows, t.Cols, len(t.Data))
		}
		st.Tensors = append(st.Tensors, &Tensor{Name: t.Name, Rows: t.Rows, Cols: t.Cols, Trainable: t.Trainable, Data: t.Data})
	}
	m, err := newModel(name, a, o, f.Features, enc, scaler{mean: f.Mean, std: f.Std}, st)
	if err != nil {
		return nil, err
	}
	m.TrainingRows = f.TrainingRows
	m.TrainSeconds = f.TrainSeconds
	m.CreatedAt = f.CreatedAt
	m.Threshold = f.Threshold
	m.Source = f.Source
	m.RowsRead = f.RowsRead
	if r := f.Recipe; r != nil {
		m.Recipe = &Recipe{Query: r.Query}
		for _, o := range r.Options {
			m.Recipe.Options = append(m.Recipe.Options, RecipeOption{o.Name, o.Value})
		}
	}
	if l := f.Losses; l != nil {
		m.TrainLoss, m.ValidationLoss = l.Train, l.Validation
	}
	if l := f.Log; l != nil {
		m.TrainingLog = &TrainingLog{PlannedEpochs: l.PlannedEpochs, EpochsRun: l.EpochsRun, Epochs: make([]EpochLog, len(l.Epochs))}
		for i, e := range l.Epochs {
			m.TrainingLog.Epochs[i] = EpochLog(e)
		}
	}
	if m.RowsRead == 0 {
		m.RowsRead = int64(f.TrainingRows)
	}
	if err := checkDistribution(f.ScoreDist); err != nil {
		return nil, err
	}
	if len(f.ScoreDist) > 0 {
		m.dist = f.ScoreDist
	}
	switch c := f.Contamination; {
	case f.ExplicitThreshold:
		m.Contamination = 0
	case c == 0: // an older file
		m.Contamination = o.Float("contamination")
	case c > 0 && c <= MaxContamination:
		m.Contamination = c
	default:
		return nil, fmt.Errorf("%w: contamination %v", ErrBadModel, c)
	}
	return m, nil
}

// validShape reports whether a rows×cols tensor holds n values, both
// dimensions positive. It divides rather than multiplies: rows*cols of a
// forged file can wrap around to n (2^62+1 rows of 4 columns "hold" 4
// values), and a scorer that trusts such a row count reads past its data.
func validShape(rows, cols, n int) bool {
	return rows >= 1 && cols >= 1 && n%rows == 0 && n/rows == cols
}
