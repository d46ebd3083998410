package detectors

import (
	"bytes"
	"context"
	"encoding/gob"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/arrowio"
)

// indexed returns n rows whose feature 0 is the row's index (so that a
// sample's rows can be identified) and features 1..d-1 Gaussian noise
// with a drift along the rows (so that the statistics of a sample differ
// from those of all rows), a few of them NULL.
func indexed(n, d int, seed uint64) *table {
	rng := rand.New(rand.NewPCG(seed, 1))
	tb := &table{Rows: n, Cols: d}
	for j := 0; j < d; j++ {
		tb.Names = append(tb.Names, "f"+strconv.Itoa(j))
	}
	for i := 0; i < n; i++ {
		tb.X = append(tb.X, float64(i))
		for j := 1; j < d; j++ {
			v := float64(j)*rng.NormFloat64() + float64(i)/float64(n)
			if rng.Float64() < 0.01 {
				v = math.NaN()
			}
			tb.X = append(tb.X, v)
		}
		tb.Labels = append(tb.Labels, math.NaN())
	}
	return tb
}

// sampleOf streams tb (with the label column labels, if not nil) in
// batches of batchRows rows through a RowSampler for alg and o, releasing
// each batch once added, as the SQL layer does.
func sampleOf(t *testing.T, alg string, o map[string]string, tb *table, labels []float64, batchRows int) *Sample {
	t.Helper()
	label := -1
	if labels != nil {
		label = tb.Cols
	}
	s, err := NewRowSampler(alg, o, tb.Features(), label)
	if err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	for _, b := range tb.LabelledBatches(mem, batchRows, labels) {
		err := s.Add(b)
		b.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	if s.RowsRead() != int64(tb.Rows) {
		t.Fatalf("RowsRead %d, want %d", s.RowsRead(), tb.Rows)
	}
	return s.Result()
}

// ids returns the row indices (feature 0 of indexed) of a sample.
func ids(s *Sample) []int {
	out := make([]int, s.X.Rows)
	for i := range out {
		out[i] = int(s.X.At(i, 0))
	}
	return out
}

// TestRowSamplerKeepsSmallQueriesWhole: a query of at most max_train_rows
// rows is kept whole and in order, with the labels, and the statistics
// are bit-identical to fitScaler's on the whole matrix; a model trained
// with max_train_rows equal to the number of rows is bit-identical to one
// trained with the default. Catches an off-by-one that samples a query of
// exactly max_train_rows rows, rows reordered or dropped at a batch or
// block boundary (2,500 rows in batches of 700, blocks of 1,024), and
// statistics computed with other arithmetic than fitScaler's.
func TestRowSamplerKeepsSmallQueriesWhole(t *testing.T) {
	tb := synthetic(2500, 4, 5)
	labels := weakLabels(tb)
	mem := checkedMem(t)
	bs := tb.LabelledBatches(mem, 700, labels)
	defer releaseAll(bs)
	x, lab, err := arrowio.FeatureMatrix(bs, tb.Features(), tb.Cols)
	if err != nil {
		t.Fatal(err)
	}
	want := fitScaler(x.Data, x.Rows, x.Cols)
	for _, limit := range []string{"2500", "1000000"} {
		for _, alg := range []string{"deep_svdd", "deep_sad"} { // unstratified and stratified
			s := sampleOf(t, alg, opts("max_train_rows", limit), tb, labels, 700)
			if s.X.Rows != 2500 || s.RowsRead != 2500 {
				t.Fatalf("%s max_train_rows %s: %d rows of %d read", alg, limit, s.X.Rows, s.RowsRead)
			}
			if i, ok := sameBits(s.X.Data, x.Data); !ok {
				t.Fatalf("%s max_train_rows %s: value %d differs from FeatureMatrix's", alg, limit, i)
			}
			if i, ok := sameBits(s.Labels, lab); !ok {
				t.Fatalf("%s max_train_rows %s: label %d differs", alg, limit, i)
			}
			if _, ok := sameBits(s.scale.mean, want.mean); !ok {
				t.Fatalf("%s: means %v, fitScaler's %v", alg, s.scale.mean, want.mean)
			}
			if _, ok := sameBits(s.scale.std, want.std); !ok {
				t.Fatalf("%s: stds %v, fitScaler's %v", alg, s.scale.std, want.std)
			}
		}
	}
	o := opts("epochs", "1", "hidden", "4", "seed", "2")
	def := fitSynthetic(t, "deep_svdd", tb, o)
	o["max_train_rows"] = "2500"
	exact := fitSynthetic(t, "deep_svdd", tb, o)
	if i, ok := sameBits(rowScores(t, def, tb), rowScores(t, exact, tb)); !ok {
		t.Fatalf("max_train_rows = rows changes the score of row %d", i)
	}
	if exact.TrainingRows != 2500 || exact.RowsRead != 2500 {
		t.Fatalf("TrainingRows %d RowsRead %d, want 2500", exact.TrainingRows, exact.RowsRead)
	}
}

// TestRowSamplerUniform: a query of 100 rows sampled down to 10, under
// 2,000 seeds: every sample has 10 distinct rows in query order, the same
// seed gives the same sample and another seed another one, and every row
// is kept in about 10 % of the samples (binomial: 200 ± 13.4, the bounds
// are 6 standard deviations). Catches keeping the first rows, drawing the
// replaced slot from [0, max_train_rows) instead of [0, rows seen), a
// generator that ignores the seed, and a sample left in reservoir order.
func TestRowSamplerUniform(t *testing.T) {
	tb := indexed(100, 2, 1)
	counts := make([]int, tb.Rows)
	var first [2][]int // the samples of seeds 0 and 1
	for seed := range 2000 {
		o := opts("max_train_rows", "10", "seed", strconv.Itoa(seed))
		s := sampleOf(t, "autoencoder", o, tb, nil, 7)
		got := ids(s)
		if len(got) != 10 || !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != 10 {
			t.Fatalf("seed %d: sample %v, want 10 distinct rows in query order", seed, got)
		}
		for _, i := range got {
			counts[i]++
		}
		if seed < 2 {
			first[seed] = got
			if again := ids(sampleOf(t, "autoencoder", o, tb, nil, 7)); !slices.Equal(again, got) {
				t.Fatalf("seed %d: samples %v and %v", seed, got, again)
			}
		}
	}
	if slices.Equal(first[0], first[1]) {
		t.Fatalf("seeds 0 and 1 give the same sample %v", first[0])
	}
	for i, c := range counts {
		if c < 120 || c > 280 {
			t.Errorf("row %d kept in %d of 2000 samples, want about 200", i, c)
		}
	}
}

// TestRowSamplerReserveIsAHint: Reserve changes where the sample is
// stored, never what it holds, whether the hint is right, too small or
// too large. Catches a Reserve that loses kept rows or caps the sample at
// the hint.
func TestRowSamplerReserveIsAHint(t *testing.T) {
	tb := indexed(3000, 3, 10)
	mem := checkedMem(t)
	bs := tb.NullBatches(mem, 512)
	defer releaseAll(bs)
	for _, limit := range []string{"1000", "5000"} {
		var want *Sample
		for _, hint := range []int64{-1, 0, 10, 2999, 3000, 1 << 40} {
			s, err := NewRowSampler("autoencoder", opts("max_train_rows", limit, "seed", "9"), tb.Features(), -1)
			if err != nil {
				t.Fatal(err)
			}
			if hint >= 0 {
				s.Reserve(hint)
			}
			for i, b := range bs {
				if i == 2 && hint >= 0 {
					s.Reserve(hint) // again, with rows kept
				}
				if err := s.Add(b); err != nil {
					t.Fatal(err)
				}
			}
			got := s.Result()
			if want == nil {
				want = got
				continue
			}
			if i, ok := sameBits(got.X.Data, want.X.Data); !ok || got.X.Rows != want.X.Rows {
				t.Fatalf("max_train_rows %s, Reserve(%d): %d rows, value %d differs from the sample without Reserve (%d rows)", limit, hint, got.X.Rows, i, want.X.Rows)
			}
		}
	}
}

// TestMaxTrainRowsFit: Fit on 5,000 rows with max_train_rows = 1,000
// trains on exactly 1,000 rows (reporting 5,000 read), is bit-identical
// for the same seed, standardises with the statistics of all 5,000 rows
// (bit-identical to fitScaler's on them, and not those of the sample),
// and gives the same model whether it is handed the batches or a Sample
// streamed through NewRowSampler (the SQL layer's path). Catches
// statistics taken from the sample, a RowsRead or TrainingRows that
// counts the wrong rows, and the two paths sampling differently.
func TestMaxTrainRowsFit(t *testing.T) {
	tb := indexed(5000, 4, 2)
	mem := checkedMem(t)
	bs := tb.NullBatches(mem, 999)
	defer releaseAll(bs)
	o := opts("epochs", "1", "hidden", "4", "seed", "3", "max_train_rows", "1000")
	fit := func(data TrainingData) *Model {
		t.Helper()
		m, err := Fit(context.Background(), "deep_svdd", o, data)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	m := fit(TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if m.TrainingRows != 1000 || m.RowsRead != 5000 || m.Options["max_train_rows"] != "1000" {
		t.Fatalf("TrainingRows %d, RowsRead %d, max_train_rows %q; want 1000 of 5000", m.TrainingRows, m.RowsRead, m.Options["max_train_rows"])
	}
	all := fitScaler(tb.X, tb.Rows, tb.Cols)
	if _, ok := sameBits(m.scale.mean, all.mean); !ok {
		t.Fatalf("means %v, want those of all rows %v", m.scale.mean, all.mean)
	}
	if _, ok := sameBits(m.scale.std, all.std); !ok {
		t.Fatalf("stds %v, want those of all rows %v", m.scale.std, all.std)
	}
	s := sampleOf(t, "deep_svdd", o, tb, nil, 999)
	of := fitScaler(slices.Clone(s.X.Data), s.X.Rows, s.X.Cols)
	if _, same := sameBits(of.mean, all.mean); same {
		t.Fatal("the sample's means are those of all rows: the test cannot tell them apart")
	}
	want := rowScores(t, m, tb)
	if i, ok := sameBits(rowScores(t, fit(TrainingData{Batches: bs, Features: tb.Features(), Label: -1}), tb), want); !ok {
		t.Fatalf("the same seed changes the score of row %d", i)
	}
	streamed := fit(TrainingData{Sample: s, Features: tb.Features(), Label: -1})
	if i, ok := sameBits(rowScores(t, streamed, tb), want); !ok || streamed.RowsRead != 5000 {
		t.Fatalf("a streamed Sample trains another model (row %d, %d rows read)", i, streamed.RowsRead)
	}
	// Its rows are standardized now: a second training on them is refused.
	if _, err := Fit(context.Background(), "deep_svdd", o, TrainingData{Sample: s, Features: tb.Features(), Label: -1}); err == nil {
		t.Fatal("Fit trained twice on one Sample")
	}
	// A Sample gathered with other options is refused, not trained on.
	other := sampleOf(t, "deep_svdd", opts("max_train_rows", "1000", "seed", "4"), tb, nil, 999)
	if _, err := Fit(context.Background(), "deep_svdd", o, TrainingData{Sample: other, Features: tb.Features(), Label: -1}); err == nil {
		t.Fatal("Fit accepted a Sample gathered with another seed")
	}
}

// TestRowSamplerLabelledAnomalies: for algorithms that learn from labels,
// rows labelled 1 are a stratum guaranteed half of the sample; for
// unsupervised ones they are sampled like any row. Catches labelled
// anomalies lost to sampling (30 in 20,000 rows, sample of 1,000: a
// uniform sample keeps 1.5 on average), stratifying for an algorithm that
// ignores labels, a stratum that does not give up what the other cannot
// use, and max_train_rows = 1 losing the only anomaly.
func TestRowSamplerLabelledAnomalies(t *testing.T) {
	count := func(s *Sample) (anomalies, others int) {
		for _, l := range s.Labels {
			if l == 1 {
				anomalies++
			} else {
				others++
			}
		}
		return anomalies, others
	}
	// labelsWith returns n labels: the rows in anomalies 1, every tenth
	// other row 0, the rest NULL.
	labelsWith := func(n int, anomaly func(i int) bool) []float64 {
		l := make([]float64, n)
		for i := range l {
			switch {
			case anomaly(i):
				l[i] = 1
			case i%10 == 0:
				l[i] = 0
			default:
				l[i] = math.NaN()
			}
		}
		return l
	}
	tb := indexed(20000, 2, 3)
	rare := labelsWith(tb.Rows, func(i int) bool { return i%661 == 5 }) // 31 rows
	wantRare := 0
	for _, l := range rare {
		if l == 1 {
			wantRare++
		}
	}
	o := opts("max_train_rows", "1000", "seed", "1")
	for _, alg := range []string{"deep_sad", "repen"} { // labels required, optional
		s := sampleOf(t, alg, o, tb, rare, 4096)
		if a, n := count(s); a != wantRare || a+n != 1000 {
			t.Errorf("%s: %d labelled anomalies of %d kept, %d rows; want all and 1000 rows", alg, a, wantRare, a+n)
		}
		if got := ids(s); !slices.IsSorted(got) {
			t.Errorf("%s: sample not in query order", alg)
		}
	}
	s := sampleOf(t, "deep_svdd", o, tb, rare, 4096)
	if a, n := count(s); a > 10 || a+n != 1000 {
		t.Errorf("deep_svdd (ignores labels): %d labelled anomalies of %d kept in %d rows; want a uniform sample", a, wantRare, a+n)
	}

	// Anomalies past their half: each stratum gets its half.
	tb = indexed(5000, 2, 4)
	s = sampleOf(t, "deep_sad", o, tb, labelsWith(tb.Rows, func(i int) bool { return i%5 < 3 }), 1000)
	if a, n := count(s); a != 500 || n != 500 {
		t.Errorf("3000 anomalies, 2000 others: kept %d and %d, want 500 and 500", a, n)
	}
	// Few other rows: the anomalies take what the others leave.
	tb = indexed(3100, 2, 5)
	s = sampleOf(t, "deep_sad", o, tb, labelsWith(tb.Rows, func(i int) bool { return i%31 != 0 }), 1000)
	if a, n := count(s); a != 900 || n != 100 {
		t.Errorf("3000 anomalies, 100 others: kept %d and %d, want 900 and 100", a, n)
	}
	// A sample of one keeps the one anomaly.
	tb = indexed(1000, 2, 6)
	s = sampleOf(t, "deep_sad", opts("max_train_rows", "1"), tb, labelsWith(tb.Rows, func(i int) bool { return i == 777 }), 100)
	if got := ids(s); !slices.Equal(got, []int{777}) {
		t.Errorf("max_train_rows = 1: sample %v, want the anomaly [777]", got)
	}
}

// TestRowSamplerStratumUniform: within each stratum the sample is uniform
// (200 rows, 40 of them labelled anomalies, sampled to 20 under 2,000
// seeds: every anomaly kept 10/40 of the time, every other row 10/160).
// Catches an eviction that is not uniform (e.g. always the last kept row,
// which after swaps is not a random one).
func TestRowSamplerStratumUniform(t *testing.T) {
	tb := indexed(200, 2, 7)
	labels := make([]float64, tb.Rows)
	for i := range labels {
		labels[i] = math.NaN()
		if i%5 == 2 {
			labels[i] = 1
		}
	}
	counts := make([]int, tb.Rows)
	for seed := range 2000 {
		s := sampleOf(t, "deep_sad", opts("max_train_rows", "20", "seed", strconv.Itoa(seed)), tb, labels, 64)
		for _, i := range ids(s) {
			counts[i]++
		}
	}
	for i, c := range counts {
		// Anomalies: binomial(2000, 1/4), 500 ± 19; others: (2000, 1/16), 125 ± 10.8.
		lo, hi := 65, 190
		if labels[i] == 1 {
			lo, hi = 385, 615
		}
		if c < lo || c > hi {
			t.Errorf("row %d (label %v) kept in %d of 2000 samples, want in [%d, %d]", i, labels[i], c, lo, hi)
		}
	}
}

// TestRowSamplerChecksEveryRow: labels and feature types are checked on
// every row read, also on rows that are not kept. Catches checks done on
// the sample only.
func TestRowSamplerChecksEveryRow(t *testing.T) {
	tb := indexed(3000, 2, 8)
	labels := make([]float64, tb.Rows)
	for i := range labels {
		labels[i] = math.NaN()
	}
	labels[2500] = 2
	s, err := NewRowSampler("deep_svdd", opts("max_train_rows", "5"), tb.Features(), tb.Cols)
	if err != nil {
		t.Fatal(err)
	}
	mem := checkedMem(t)
	bs := tb.LabelledBatches(mem, 1000, labels)
	defer releaseAll(bs)
	var last error
	for _, b := range bs {
		if last = s.Add(b); last != nil {
			break
		}
	}
	if !errors.Is(last, ErrBadLabel) {
		t.Fatalf("label 2 in row 2500: %v, want ErrBadLabel", last)
	}

	s, err = NewRowSampler("deep_svdd", opts("max_train_rows", "5"), []int{0, 1}, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Add(bs[0]); err != nil {
		t.Fatal(err)
	}
	sb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "f0", Type: arrow.PrimitiveTypes.Float64}, {Name: "f1", Type: arrow.BinaryTypes.String}}, nil))
	defer sb.Release()
	sb.Field(0).(*array.Float64Builder).Append(1)
	sb.Field(1).(*array.StringBuilder).Append("x")
	rec := sb.NewRecordBatch()
	defer rec.Release()
	if err := s.Add(rec); !errors.Is(err, ErrNonNumeric) {
		t.Fatalf("a text feature in the second batch: %v, want ErrNonNumeric", err)
	}
	if _, err := NewRowSampler("deep_svdd", opts("max_train_rows", "0"), []int{0}, -1); !errors.Is(err, ErrBadOption) {
		t.Fatalf("NewRowSampler with max_train_rows 0: %v, want ErrBadOption", err)
	}
}

// TestMaxTrainRowsOption: max_train_rows is a common option in [1, 1e9],
// default 1,000,000. Catches a missing bound (0 would train on nothing,
// a negative value panic) and a changed default.
func TestMaxTrainRowsOption(t *testing.T) {
	for _, alg := range Algorithms() {
		checkOptionCases(t, alg, []optionCase{
			{opts("max_train_rows", "1"), nil},
			{opts("max_train_rows", "1000000000"), nil},
			{opts("max_train_rows", "0"), ErrBadOption},
			{opts("max_train_rows", "-5"), ErrBadOption},
			{opts("max_train_rows", "1000000001"), ErrBadOption},
			{opts("max_train_rows", "1e6"), ErrBadOption},
			{opts("max_train_rows", "many"), ErrBadOption},
		})
		d, err := OptionDefaults(alg)
		if err != nil || d["max_train_rows"] != "1000000" {
			t.Errorf("%s: max_train_rows default %q (%v), want 1000000", alg, d["max_train_rows"], err)
		}
	}
}

// TestRowsReadPersisted: RowsRead survives a save and load, and a model
// file saved before max_train_rows and RowsRead existed still loads, with
// the default max_train_rows and RowsRead = TrainingRows (it trained on
// every row). Catches RowsRead not saved or not loaded, and old models
// refused for lacking the new option (their options would no longer
// equal the normalized ones).
func TestRowsReadPersisted(t *testing.T) {
	tb := indexed(300, 3, 9)
	m := fitLabelled(t, "deep_svdd", tb, opts("epochs", "1", "hidden", "4", "max_train_rows", "120"), nil)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.RowsRead != 300 || back.TrainingRows != 120 || back.Options["max_train_rows"] != "120" {
		t.Fatalf("loaded RowsRead %d TrainingRows %d max_train_rows %q, want 300 120 120", back.RowsRead, back.TrainingRows, back.Options["max_train_rows"])
	}

	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.RowsRead = 0
	f.Options = slices.DeleteFunc(f.Options, func(o fileOption) bool { return o.Name == "max_train_rows" })
	old, err := UnmarshalModel(encodeModelFile(t, &f))
	if err != nil {
		t.Fatalf("a model saved before max_train_rows: %v", err)
	}
	if old.RowsRead != 120 || old.Options["max_train_rows"] != "1000000" {
		t.Fatalf("old model: RowsRead %d max_train_rows %q, want 120 1000000", old.RowsRead, old.Options["max_train_rows"])
	}
	if i, ok := sameBits(rowScores(t, old, tb), rowScores(t, m, tb)); !ok {
		t.Fatalf("old model scores row %d differently", i)
	}
}

// BenchmarkTrainingPeakHeap trains deep_svdd (one epoch, hidden 16,
// batch 256) on 2 and 4 million generated rows of 16 features (seed 1),
// produced in batches of 65,536 rows as CREATE DETECTOR reads a table,
// and reports the peak of the Go heap during the run (peak-heap-MB:
// live and not yet collected objects, sampled every millisecond), for
// the rows streamed through a RowSampler of the default 1,000,000 rows
// and of 100,000 rows, each batch released once added (the SQL layer's
// path; "reserved": told the row count first, as for a stored table),
// and for every batch held and trained on whole (max_train_rows at its
// bound, as the SQL layer did before sampling).
// The streamed peaks do not grow with the rows read. Not part of make
// test:
//
//	go test ./detectors -run '^$' -bench TrainingPeakHeap -benchtime 1x
func BenchmarkTrainingPeakHeap(b *testing.B) {
	const dims, batch = 16, 65_536
	var fields []arrow.Field
	for j := 0; j < dims; j++ {
		fields = append(fields, arrow.Field{Name: "c" + strconv.Itoa(j), Type: arrow.PrimitiveTypes.Float64})
	}
	schema := arrow.NewSchema(fields, nil)
	features := make([]int, dims)
	for j := range features {
		features[j] = j
	}
	// generate calls fn with each batch of rows rows (seed 1); fn owns
	// the batch.
	generate := func(rows int, fn func(arrow.RecordBatch) error) {
		rng := rand.New(rand.NewPCG(1, 2))
		bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
		defer bld.Release()
		for lo := 0; lo < rows; lo += batch {
			n := min(batch, rows-lo)
			for j := 0; j < dims; j++ {
				fb := bld.Field(j).(*array.Float64Builder)
				for i := 0; i < n; i++ {
					fb.Append(float64(j) + rng.NormFloat64())
				}
			}
			if err := fn(bld.NewRecordBatch()); err != nil {
				b.Fatal(err)
			}
		}
	}
	o := func(limit int) map[string]string {
		return opts("epochs", "1", "hidden", "16", "batch_size", "256", "seed", "0", "max_train_rows", strconv.Itoa(limit))
	}
	cases := []struct {
		name              string
		streamed, reserve bool
		limit             int
	}{
		{"streamed_1000000", true, false, 1_000_000},
		{"streamed_1000000_reserved", true, true, 1_000_000},
		{"streamed_100000", true, false, 100_000},
		{"all_batches_held", false, false, maxTrainRows},
	}
	for _, rows := range []int{2_000_000, 4_000_000} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("rows=%d/%s", rows, c.name), func(b *testing.B) {
				for range b.N {
					peak := watchHeap()
					var m *Model
					var err error
					if c.streamed {
						s, err2 := NewRowSampler("deep_svdd", o(c.limit), features, -1)
						if err2 != nil {
							b.Fatal(err2)
						}
						if c.reserve {
							s.Reserve(int64(rows))
						}
						generate(rows, func(rec arrow.RecordBatch) error { defer rec.Release(); return s.Add(rec) })
						m, err = Fit(context.Background(), "deep_svdd", o(c.limit), TrainingData{Sample: s.Result(), Features: features, Label: -1})
					} else {
						var all []arrow.RecordBatch
						generate(rows, func(rec arrow.RecordBatch) error { all = append(all, rec); return nil })
						m, err = Fit(context.Background(), "deep_svdd", o(c.limit), TrainingData{Batches: all, Features: features, Label: -1})
						releaseAll(all)
					}
					if err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(peak())/(1<<20), "peak-heap-MB")
					b.ReportMetric(float64(m.TrainingRows), "training-rows")
				}
			})
		}
	}
}

// watchHeap samples the live Go heap every millisecond (after a GC, so
// that earlier garbage is not counted) until the returned function is
// called, which returns the largest value seen.
func watchHeap() func() uint64 {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	var peak atomic.Uint64
	peak.Store(read())
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if v := read(); v > peak.Load() {
					peak.Store(v)
				}
			}
		}
	}()
	return func() uint64 {
		close(stop)
		<-done
		if v := read(); v > peak.Load() {
			peak.Store(v)
		}
		return peak.Load()
	}
}
