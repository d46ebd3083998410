package detectors

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/mat"
)

// Fuzz target of the detector file decoder (persist.go). Plain go test
// runs its seeds (a saved model of every algorithm, and damaged copies);
// `make fuzz` explores further.

// tinyModel trains alg for one epoch on 64 rows of 3 features, so that a
// saved model of every algorithm is a seed of a few kilobytes.
func tinyModel(tb testing.TB, alg string) *Model {
	tb.Helper()
	data := synthetic(64, 3, 1)
	var labels []float64
	if use, err := UsesLabels(alg); err != nil {
		tb.Fatal(err)
	} else if use != LabelsNone {
		labels = weakLabels(data)
	}
	label := -1
	if labels != nil {
		label = data.Cols
	}
	bs := data.LabelledBatches(memory.DefaultAllocator, 64, labels)
	defer releaseAll(bs)
	o := map[string]string{"epochs": "1", "seed": "1", "hidden": "4"}
	if alg == "deep_sad" {
		o["pretrain_epochs"] = "1"
	}
	if alg == "ape" { // no hidden layers; numeric columns bucketed
		delete(o, "hidden")
		o["bins"] = "4"
	}
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: bs, Features: data.Features(), Label: label})
	if err != nil {
		tb.Fatalf("%s: Fit: %v", alg, err)
	}
	return m
}

// FuzzUnmarshalModel checks that decoding any bytes as a saved detector
// never panics, returns a model or an error wrapping ErrBadModel or
// ErrUnknownAlgorithm, and allocates in proportion to the input (a
// length prefix of 2^60 is an error, not an out-of-memory crash). A model
// it returns scores a row without panicking and saves to bytes that
// decode to the same bytes again.
func FuzzUnmarshalModel(f *testing.F) {
	for _, alg := range Algorithms() {
		if IsSequence(alg) {
			continue // they cannot ScoreRow; detectors/predictability tests their files
		}
		b, err := tinyModel(f, alg).MarshalBinary()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])                 // truncated
		f.Add(append(b[:12:12], b[13:]...)) // a byte missing after the header
		flipped := bytes.Clone(b)           // a flipped bit in the middle
		flipped[len(flipped)/2] ^= 0x10
		f.Add(flipped)
	}
	f.Add([]byte(modelMagic))
	f.Add(binary.LittleEndian.AppendUint32([]byte(modelMagic), formatVersion))
	f.Add(binary.LittleEndian.AppendUint32([]byte(modelMagic), formatVersion+1))
	// A gob message claiming 2^60 bytes.
	f.Add(append(binary.LittleEndian.AppendUint32([]byte(modelMagic), formatVersion), 0xF8, 0x10, 0, 0, 0, 0, 0, 0, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m *Model
		var err error
		n := allocated(func() { m, err = UnmarshalModel(b) })
		// Decoding allocates gob's type tables (about 100 KB) and then at
		// most a few times what the input holds.
		if limit := uint64(1<<20 + 64*len(b)); n > limit {
			t.Fatalf("decoding %d bytes allocated %d bytes (limit %d)", len(b), n, limit)
		}
		if err != nil {
			if m != nil {
				t.Fatalf("a model and an error: %v", err)
			}
			if !errors.Is(err, ErrBadModel) && !errors.Is(err, ErrUnknownAlgorithm) {
				t.Fatalf("error %v wraps neither ErrBadModel nor ErrUnknownAlgorithm", err)
			}
			return
		}
		// Scores may be NaN here: that is the NaN work in the score path,
		// not the decoder's (issue 8, item 10).
		if _, err := m.ScoreRow(make([]float64, len(m.Features))); err != nil {
			t.Fatalf("a decoded model cannot score: %v", err)
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("a decoded model cannot be saved: %v", err)
		}
		m2, err := UnmarshalModel(again)
		if err != nil {
			t.Fatalf("a decoded model saves to bytes that do not decode: %v", err)
		}
		if third, err := m2.MarshalBinary(); err != nil || !bytes.Equal(third, again) {
			t.Fatalf("save, load, save is not stable (%v)", err)
		}
	})
}

// fuzzModelFiles holds the decoded file of a tiny model of every
// algorithm, for FuzzModelFields.
func fuzzModelFiles(tb testing.TB) []modelFile {
	tb.Helper()
	var files []modelFile
	for _, alg := range Algorithms() {
		if IsSequence(alg) {
			continue
		}
		b, err := tinyModel(tb, alg).MarshalBinary()
		if err != nil {
			tb.Fatal(err)
		}
		var f modelFile
		if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
			tb.Fatal(err)
		}
		files = append(files, f)
	}
	return files
}

// encodeModelFile writes f as MarshalBinary would.
func encodeModelFile(tb testing.TB, f *modelFile) []byte {
	tb.Helper()
	var buf bytes.Buffer
	buf.WriteString(modelMagic)
	_ = binary.Write(&buf, binary.LittleEndian, uint32(formatVersion))
	if err := gob.NewEncoder(&buf).Encode(f); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzModelFields changes one field of a valid saved model of any
// algorithm at a time, as a damaged or forged file could (the shape of a
// tensor, against its values or not; the number of features, means and
// standard deviations; an option; a tensor removed or duplicated), and
// checks what FuzzUnmarshalModel checks, through gob's type checks that
// random bytes rarely get past. A model it decodes must score a row and
// a batch without panicking.
func FuzzModelFields(f *testing.F) {
	files := fuzzModelFiles(f)
	for alg := range uint8(len(files)) {
		f.Add(alg, uint8(0), uint8(0), int64(0), int64(0), uint16(0), "", "")
		for ti := range uint8(len(files[alg].Tensors)) {
			// One row of values, and a row count that makes rows*cols
			// wrap around to the number of values.
			f.Add(alg, uint8(1), ti, int64(1<<62+1), int64(0), uint16(1), "", "")
		}
		f.Add(alg, uint8(1), uint8(1), int64(-1), int64(-1), uint16(1), "", "")
		f.Add(alg, uint8(2), uint8(0), int64(5), int64(0), uint16(3), "", "")
		f.Add(alg, uint8(3), uint8(0), int64(0), int64(0), uint16(0), "hidden", "1000,1000")
		f.Add(alg, uint8(3), uint8(0), int64(0), int64(0), uint16(0), "k", "0")
		f.Add(alg, uint8(4), uint8(2), int64(0), int64(0), uint16(0), "", "")
		f.Add(alg, uint8(5), uint8(0), int64(0), int64(0), uint16(0), "", "")
	}
	f.Fuzz(func(t *testing.T, alg, what, which uint8, rows, cols int64, n uint16, key, value string) {
		mf := files[int(alg)%len(files)]
		// Copy what is changed: files is shared by every input.
		mf.Tensors = slices.Clone(mf.Tensors)
		mf.Options = slices.Clone(mf.Options)
		mf.Features, mf.Mean, mf.Std = slices.Clone(mf.Features), slices.Clone(mf.Mean), slices.Clone(mf.Std)
		ti := int(which) % len(mf.Tensors)
		switch what % 6 {
		case 0: // nothing: the model decodes
		case 1: // a tensor's shape; its values stay, or only the first row
			if n%2 == 1 {
				mf.Tensors[ti].Data = mf.Tensors[ti].Data[:min(mf.Tensors[ti].Cols, len(mf.Tensors[ti].Data))]
			}
			if rows != 0 {
				mf.Tensors[ti].Rows = int(rows)
			}
			if cols != 0 {
				mf.Tensors[ti].Cols = int(cols)
			}
		case 2: // a tensor's shape and values, consistent
			r, c := max(int(rows%64), 1), max(int(n%64), 1)
			mf.Tensors[ti] = fileTensor{Name: mf.Tensors[ti].Name, Rows: r, Cols: c, Data: make([]float64, r*c)}
		case 3: // an option
			i := slices.IndexFunc(mf.Options, func(o fileOption) bool { return o.Name == key })
			if i < 0 {
				mf.Options = append(mf.Options, fileOption{key, value})
			} else {
				mf.Options[i].Value = value
			}
		case 4: // features, means and standard deviations
			resize := func(s []float64, k int) []float64 { return append(s[:0:0], make([]float64, k)...) }
			mf.Features = make([]string, int(n%16))
			mf.Mean = resize(mf.Mean, int(n%16)+int(uint64(rows)%2))
			mf.Std = resize(mf.Std, int(n%16)+int(uint64(cols)%2))
		case 5: // a tensor removed, or duplicated
			if n%2 == 0 {
				mf.Tensors = slices.Delete(mf.Tensors, ti, ti+1)
			} else {
				mf.Tensors = append(mf.Tensors, mf.Tensors[ti])
			}
		}
		m, err := UnmarshalModel(encodeModelFile(t, &mf))
		if err != nil {
			if !errors.Is(err, ErrBadModel) && !errors.Is(err, ErrUnknownAlgorithm) && !errors.Is(err, ErrBadOption) {
				t.Fatalf("error %v wraps none of ErrBadModel, ErrUnknownAlgorithm, ErrBadOption", err)
			}
			return
		}
		x := make([]float64, 4*len(m.Features))
		for i := range x {
			x[i] = float64(i%7) - 3
		}
		if _, err := m.ScoreRow(x[:len(m.Features)]); err != nil {
			t.Fatalf("a decoded model cannot score a row: %v", err)
		}
		if _, err := m.ScoreMatrix(mat.NewDense(4, len(m.Features), x), nil); err != nil {
			t.Fatalf("a decoded model cannot score a batch: %v", err)
		}
	})
}
