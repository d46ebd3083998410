package detectors

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
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
