package detectors_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/internal/testcsv"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// updateScoreHashes rewrites testdata/score_hashes.json from this run:
//
//	go test ./detectors -run TestScoreHashes -update-score-hashes
//
// Do it only for a change that is meant to change what an algorithm
// trains or scores, and say so in the commit.
var updateScoreHashes = flag.Bool("update-score-hashes", false, "record the score hashes of TestScoreHashes in testdata/score_hashes.json")

const scoreHashesFile = "testdata/score_hashes.json"

// TestScoreHashes trains every registered algorithm with small fixed
// options on the first rows of thyroid and compares a SHA-256 of its
// model file and of its scores of those rows with the value recorded in
// testdata/score_hashes.json. It guards refactorings that must not change
// a single bit of any model or score (moving code between packages,
// reordering a loop), which the conformance test, checking properties
// rather than values, lets through. A registered algorithm without a
// recorded hash fails, so the guard covers every new algorithm too.
func TestScoreHashes(t *testing.T) {
	names, x, labels := thyroidRows(t, 400)
	want := map[string]string{}
	if b, err := os.ReadFile(scoreHashesFile); err == nil {
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("%s: %v", scoreHashesFile, err)
		}
	} else if !*updateScoreHashes {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, alg := range detectors.Algorithms() {
		got[alg] = scoreHash(t, alg, names, x, labels)
		if *updateScoreHashes {
			continue
		}
		switch w, ok := want[alg]; {
		case !ok:
			t.Errorf("%s: no recorded score hash; record it with go test ./detectors -run TestScoreHashes -update-score-hashes", alg)
		case w != got[alg]:
			t.Errorf("%s: score hash %s, recorded %s: the model or its scores changed", alg, got[alg], w)
		}
	}
	if *updateScoreHashes {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(scoreHashesFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	for alg := range want {
		if _, ok := got[alg]; !ok {
			t.Errorf("%s: recorded in %s but not registered", alg, scoreHashesFile)
		}
	}
}

// scoreHash trains alg (2 epochs, seed 3, hidden 16,8; a label column
// for the algorithms that use labels) and hashes its model file, with
// the wall-clock fields cleared, and the bits of its scores of x.
func scoreHash(t *testing.T, alg string, names []string, x, labels []float64) string {
	t.Helper()
	d := len(names)
	n := len(x) / d
	fields := make([]arrow.Field, 0, d+1)
	for _, name := range names {
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64})
	}
	fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			b.Field(j).(*array.Float64Builder).Append(x[i*d+j])
		}
		// Every third anomaly and every tenth normal row labelled, the
		// rest NULL (unlabelled).
		lb := b.Field(d).(*array.Float64Builder)
		if i%3 == 0 && labels[i] == 1 || i%10 == 0 && labels[i] == 0 {
			lb.Append(labels[i])
		} else {
			lb.AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	features := make([]int, d)
	for j := range features {
		features[j] = j
	}
	label := -1
	if use, err := detectors.UsesLabels(alg); err != nil {
		t.Fatal(err)
	} else if use != detectors.LabelsNone {
		label = d
	}
	o := map[string]string{"epochs": "2", "seed": "3", "hidden": "16,8"}
	switch alg {
	case "ocnn":
		o["hidden"] = "16"
	case "deep_sad":
		o["pretrain_epochs"] = "2"
	case "ape": // no hidden layers; numeric columns bucketed
		delete(o, "hidden")
		o["bins"] = "8"
	}
	if detectors.IsSequence(alg) {
		// The rows in file order as one partition, window 8; deeplog's
		// key is the first column (as categories).
		o["window"] = "8"
		if alg == "deeplog" {
			o["key"], features = names[0], features[:1]
		}
	}
	m, err := detectors.Fit(context.Background(), alg, o,
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: label})
	if err != nil {
		t.Fatalf("%s: Fit: %v", alg, err)
	}
	m.TrainSeconds, m.CreatedAt = 0, time.Time{}
	if m.TrainingLog != nil {
		for i := range m.TrainingLog.Epochs {
			m.TrainingLog.Epochs[i].ElapsedSeconds = 0
		}
	}
	file, err := m.MarshalBinary()
	if err != nil {
		t.Fatalf("%s: MarshalBinary: %v", alg, err)
	}
	h := sha256.New()
	h.Write(file)
	if detectors.IsSequence(alg) {
		scores, err := m.ScoreSequenceBatch(rec, features, nil, nil)
		if err != nil {
			t.Fatalf("%s: ScoreSequenceBatch: %v", alg, err)
		}
		for _, s := range scores {
			h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(s)))
		}
		return hex.EncodeToString(h.Sum(nil))
	}
	for i := 0; i < n; i++ {
		s, err := m.ScoreRow(x[i*d : (i+1)*d])
		if err != nil {
			t.Fatalf("%s: ScoreRow: %v", alg, err)
		}
		h.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(s)))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// thyroidRows reads the first n rows of ../testdata/thyroid.csv.gz: the
// feature names, the row-major features and the 0/1 labels.
func thyroidRows(t *testing.T, n int) (names []string, x, labels []float64) {
	t.Helper()
	recs := testcsv.Read(t, filepath.Join("..", "testdata", "thyroid.csv.gz"))
	d := len(recs[0]) - 1
	names = recs[0][:d]
	for _, r := range recs[1 : n+1] {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			if j == d {
				labels = append(labels, v)
			} else {
				x = append(x, v)
			}
		}
	}
	return names, x, labels
}
