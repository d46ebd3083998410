package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gorgonia.org/gorgonia"
)

// TestWindowRow: the window row of row t is the rows t−span … t of its
// partition, oldest first, each followed by a pad flag 0, with pad steps
// (zeros, flag 1) for the rows before the partition's start. Catches an
// off-by-one in the window, the order of the steps, or the pad flag.
func TestWindowRow(t *testing.T) {
	z := []float64{1, 2, 3, 4, 5, 6} // 3 rows of w = 2
	dst := make([]float64, 3*3)
	windowRow(z, 2, 0, 2, dst)
	if want := []float64{0, 0, 1, 0, 0, 1, 1, 2, 0}; !slices.Equal(dst, want) {
		t.Errorf("row 0: %v, want %v", dst, want)
	}
	windowRow(z, 2, 2, 2, dst)
	if want := []float64{1, 2, 0, 3, 4, 0, 5, 6, 0}; !slices.Equal(dst, want) {
		t.Errorf("row 2: %v, want %v", dst, want)
	}
	dst = make([]float64, 2*3)
	windowRow(z, 2, 2, 1, dst)
	if want := []float64{3, 4, 0, 5, 6, 0}; !slices.Equal(dst, want) {
		t.Errorf("row 2, span 1: %v, want %v", dst, want)
	}
}

// TestSequenceTrainingStepDoesNotAllocate is TestTrainingStepDoesNotAllocate
// for the sequence algorithms, on window rows: their unrolled recurrent
// graphs (slices of the window, per-gate matrices, deeplog's softmax)
// must run on the program's kernels. Catches an op without a kernel in
// the recurrent cells.
func TestSequenceTrainingStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates in channel operations")
	}
	for _, name := range Algorithms() {
		if !IsSequence(name) {
			continue
		}
		alg := mustLookup(t, name)
		given := opts("window", "4", "hidden", "8", "batch_size", "128")
		if k := alg.(SequenceAlgorithm).KeyOption(); k != "" {
			given[k] = "k"
		}
		o, err := normalizeOptions(name, alg, given)
		if err != nil {
			t.Fatal(err)
		}
		const rows, w = 600, 3
		span := alg.(SequenceAlgorithm).Span(o)
		width := (span + 1) * (w + 1)
		r := rand.New(rand.NewPCG(1, 2))
		z := make([]float64, rows*w)
		for i := range z {
			z[i] = r.NormFloat64()
		}
		x := make([]float64, rows*width)
		for i := range rows {
			windowRow(z, w, i, span, x[i*width:(i+1)*width])
		}
		rng := newRand(1)
		st, err := alg.Init(w, o, rng)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := newTrainer(context.Background(), alg, st, x, rows, width, nil, o, rng)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s := 0
		step := func() {
			if _, err := tr.step(s%tr.steps, 0); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			s++
		}
		for range 3 {
			step()
		}
		if n := testing.AllocsPerRun(10, step); n > 0 {
			t.Errorf("%s: a training step allocates %v times", name, n)
		}
		tr.close()
	}
}

// TestSequenceGraphMatchesKernel: for every sequence algorithm, the
// plain-Go scores of a trained model (ScoreSequence's path) agree to 1e-9
// with its gorgonia graph run forward on the same window rows. Catches a
// recurrent kernel that computes another cell than the graph trains (a
// gate, a bias or the order of the steps), which the model's own tests,
// trained and scored by the kernel alike, would not see.
func TestSequenceGraphMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n = 300
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Sin(float64(i)/4) + 0.1*r.NormFloat64()
	}
	for _, name := range Algorithms() {
		if !IsSequence(name) {
			continue
		}
		t.Run(name, func(t *testing.T) {
			o := opts("window", "6", "hidden", "8,5", "epochs", "2", "seed", "2")
			var arr arrow.Array
			if name == "deeplog" {
				o["key"] = "k"
				b := array.NewStringBuilder(memory.DefaultAllocator)
				for _, v := range x {
					b.Append(fmt.Sprint(int(3 * v)))
				}
				arr = b.NewArray()
				b.Release()
			} else {
				b := array.NewFloat64Builder(memory.DefaultAllocator)
				b.AppendValues(x, nil)
				arr = b.NewArray()
				b.Release()
			}
			rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "k", Type: arr.DataType()}}, nil), []arrow.Array{arr}, n)
			arr.Release()
			defer rec.Release()
			m, err := FitSequence(context.Background(), name, o, SequenceData{
				TrainingData: TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}, Starts: []int{0, 100}})
			if err != nil {
				t.Fatal(err)
			}
			raw, z := standardizedRows(t, m, rec, []int{0})
			w := m.width()
			span := m.alg.(SequenceAlgorithm).Span(m.opts)
			width := (span + 1) * (w + 1)
			win := make([]float64, n*width)
			for i := range n {
				windowRow(z, w, i, span, win[i*width:(i+1)*width])
			}
			b := newGraph(m.state, n, width, m.opts)
			obj, err := m.alg.Graph(b)
			if err != nil {
				t.Fatal(err)
			}
			copy(b.xData, win)
			vm := gorgonia.NewTapeMachine(b.G.SubgraphRoots(obj.Scores))
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			graph := obj.Scores.Value().Data().([]float64)
			kern := make([]float64, n)
			m.scoreWindows(win, width, kern)
			for i := range kern {
				if d := math.Abs(graph[i]-kern[i]) / math.Max(1, math.Abs(graph[i])); d > 1e-9 {
					t.Fatalf("window %d: graph %v, kernel %v", i, graph[i], kern[i])
				}
			}
			// And ScoreSequence is that kernel, partition by partition.
			whole, err := m.ScoreSequence(raw[100:], 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			part := make([]float64, n-100)
			m.scoreWindows(func() []float64 {
				v := make([]float64, (n-100)*width)
				for i := range n - 100 {
					windowRow(z[100*w:], w, i, span, v[i*width:(i+1)*width])
				}
				return v
			}(), width, part)
			if i, ok := sameBits(whole, part); !ok {
				t.Fatalf("row %d: ScoreSequence %v, kernel on its window %v", i, whole[i], part[i])
			}
		})
	}
}

// standardizedRows returns the raw rows of rec's columns features as m
// reads them, and the same rows encoded and standardized.
func standardizedRows(t *testing.T, m *Model, rec arrow.RecordBatch, features []int) (raw, z []float64) {
	t.Helper()
	n := int(rec.NumRows())
	raw = make([]float64, n*len(features))
	if err := m.fillRaw(rec, features, 0, n, raw); err != nil {
		t.Fatal(err)
	}
	z = make([]float64, n*m.width())
	m.encodeRows(raw, z)
	m.scale.transform(z)
	return raw, z
}
