package detectors

import (
	"context"
	"math"
	"sync"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// unsharded wraps deep_svdd but reports its loss as a batch scalar, which
// the template never shards.
type unsharded struct{ deepSVDD }

func (u unsharded) Graph(b *Graph) (Objective, error) {
	obj, err := u.deepSVDD.Graph(b)
	if err != nil {
		return obj, err
	}
	loss, err := gorgonia.Mean(obj.RowLoss)
	return Objective{Loss: loss, Scores: obj.Scores}, err
}

// trainState runs the template directly on a standardized matrix.
func trainState(t *testing.T, alg Algorithm, tb *table, o map[string]string, labels []float64) *State {
	t.Helper()
	opts, err := normalizeOptions("test", alg, o)
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float64(nil), tb.X...)
	fitScaler(x, tb.Rows, tb.Cols).transform(x)
	rng := newRand(opts.Int64("seed"))
	st, err := alg.Init(tb.Cols, opts, rng)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := alg.(Preparer); ok {
		if err := p.Prepare(st, arrowio.Matrix{Rows: tb.Rows, Cols: tb.Cols, Data: x}, opts); err != nil {
			t.Fatal(err)
		}
	}
	if err := train(context.Background(), alg, st, x, tb.Rows, tb.Cols, labels, opts, rng); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestShardedGradients checks that a mini-batch evaluated as parallel
// shards takes the same optimizer steps as the whole mini-batch evaluated
// at once (up to rounding), i.e. shard gradients are all added in and
// cleared after each step.
func TestShardedGradients(t *testing.T) {
	tb := synthetic(1000, 4, 9)
	o := opts("epochs", "4", "batch_size", "100", "hidden", "12,6", "lr", "0.003")
	if n := len(mustShards(t, deepSVDD{}, 100, 4, o)); n != trainShards {
		t.Fatalf("deep_svdd built %d shards, want %d", n, trainShards)
	}
	if n := len(mustShards(t, unsharded{}, 100, 4, o)); n != 1 {
		t.Fatalf("scalar loss built %d shards, want 1", n)
	}
	a := trainState(t, deepSVDD{}, tb, o, nil)
	b := trainState(t, unsharded{}, tb, o, nil)
	for i, ta := range a.Tensors {
		tb := b.Tensors[i]
		for k := range ta.Data {
			if d := math.Abs(ta.Data[k] - tb.Data[k]); d > 1e-9*math.Max(1, math.Abs(tb.Data[k])) {
				t.Fatalf("%s[%d]: sharded %v, whole batch %v", ta.Name, k, ta.Data[k], tb.Data[k])
			}
		}
	}
}

func mustShards(t *testing.T, alg Algorithm, bs, d int, o map[string]string) []*shard {
	t.Helper()
	opts, err := normalizeOptions("test", alg, o)
	if err != nil {
		t.Fatal(err)
	}
	st, err := alg.Init(d, opts, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	shards, err := buildShards(alg, st, bs, d, opts)
	if err != nil {
		t.Fatal(err)
	}
	return shards
}

// noisyLabelled exercises Graph.Normal and Graph.Labels: a denoising Deep
// SVDD whose loss pushes known anomalies away from c (like Deep SAD).
type noisyLabelled struct{ deepSVDD }

func (a noisyLabelled) Graph(b *Graph) (Objective, error) {
	noise := b.Normal(b.Dims)
	scaled, err := gorgonia.HadamardProd(noise, gorgonia.NewConstant(0.1))
	if err != nil {
		return Objective{}, err
	}
	x, err := gorgonia.Add(b.X, scaled)
	if err != nil {
		return Objective{}, err
	}
	phi, err := a.encode(b, x)
	if err != nil {
		return Objective{}, err
	}
	diff := gorgonia.Must(gorgonia.BroadcastSub(phi, b.Param("c"), nil, []byte{0}))
	dist := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(diff)), 1))
	y, known := b.Labels()
	// rows with label 1 contribute 1/(dist+1) instead of dist.
	yv := gorgonia.Must(gorgonia.Reshape(gorgonia.Must(gorgonia.HadamardProd(y, known)), []int{b.Rows}))
	inv := gorgonia.Must(gorgonia.Inverse(gorgonia.Must(gorgonia.Add(dist, gorgonia.NewConstant(1.0)))))
	one := gorgonia.NewConstant(1.0)
	normal := gorgonia.Must(gorgonia.HadamardProd(dist, gorgonia.Must(gorgonia.Sub(one, yv))))
	anom := gorgonia.Must(gorgonia.HadamardProd(inv, yv))
	return Objective{RowLoss: gorgonia.Must(gorgonia.Add(normal, anom))}, nil
}

func TestNoiseAndLabelsAreSeeded(t *testing.T) {
	tb := synthetic(600, 3, 4)
	o := opts("epochs", "3", "batch_size", "64", "hidden", "8,4", "seed", "5")
	labels := append([]float64(nil), tb.Labels...)
	for i := range labels {
		if i%3 == 0 {
			labels[i] = math.NaN()
		}
	}
	a := trainState(t, noisyLabelled{}, tb, o, labels)
	b := trainState(t, noisyLabelled{}, tb, o, labels)
	c := trainState(t, noisyLabelled{}, tb, o, nil)
	same, differs := true, false
	for i := range a.Tensors {
		for k := range a.Tensors[i].Data {
			same = same && a.Tensors[i].Data[k] == b.Tensors[i].Data[k]
			differs = differs || a.Tensors[i].Data[k] != c.Tensors[i].Data[k]
		}
	}
	if !same {
		t.Fatal("same seed, noise and labels gave different weights")
	}
	if !differs {
		t.Fatal("labels had no effect")
	}
}

// TestConcurrentScoring scores from many goroutines at once (run with
// -race) and checks every result equals the serial one.
func TestConcurrentScoring(t *testing.T) {
	mem := checkedMem(t)
	tb := synthetic(5000, 4, 8)
	bs := tb.NullBatches(mem, 5000)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "1", "hidden", "8,4"), TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	want := rowScores(t, m, tb)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.ScoreBatch(bs[0], tb.Features(), nil)
			if err != nil {
				errs <- err.Error()
				return
			}
			if i, ok := sameBits(got, want); !ok {
				errs <- "batch differs"
				_ = i
			}
			for i := g; i < tb.Rows; i += 8 {
				s, err := m.ScoreRow(tb.X[i*tb.Cols : (i+1)*tb.Cols])
				if err != nil || math.Float64bits(s) != math.Float64bits(want[i]) {
					errs <- "row differs"
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestScoreRowDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool is randomized under -race")
	}
	m := fitSynthetic(t, "deep_svdd", synthetic(200, 4, 8), opts("epochs", "1"))
	row := []float64{1, 2, math.NaN(), 4}
	m.ScoreRow(row) // warm the pool
	if n := testing.AllocsPerRun(1000, func() { m.ScoreRow(row) }); n > 0 {
		t.Fatalf("ScoreRow allocates %v times per call", n)
	}
}

// testTrainer returns the training run of alg on tb's standardized rows
// (with labels, nil for none), prepared as Fit prepares it and ready for
// its first mini-batch. The caller closes it.
func testTrainer(t testing.TB, alg Algorithm, tb *table, o map[string]string, labels []float64) *trainer {
	t.Helper()
	opts, err := normalizeOptions("test", alg, o)
	if err != nil {
		t.Fatal(err)
	}
	x := append([]float64(nil), tb.X...)
	fitScaler(x, tb.Rows, tb.Cols).transform(x)
	rng := newRand(opts.Int64("seed"))
	st, err := alg.Init(tb.Cols, opts, rng)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := alg.(Preparer); ok {
		if err := p.Prepare(st, arrowio.Matrix{Rows: tb.Rows, Cols: tb.Cols, Data: x}, opts); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := newTrainer(context.Background(), alg, st, x, tb.Rows, tb.Cols, labels, opts, rng)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// TestTrainingStepDoesNotAllocate: after a few warm-up mini-batches, a
// training step (filling the inputs and noise, running the compiled
// graphs of every shard, adding the gradients, Adam) allocates nothing,
// for every algorithm: sharded and single graphs, noise inputs, labels,
// sampled mini-batches (repen), scalar losses (dagmm). The bug it
// catches: anything that brings per-step garbage back (an op without a
// kernel falling back to gorgonia's Do, a goroutine or closure per step,
// a solver that clones its tensors), which made one Deep SVDD training on
// shuttle allocate 4.2 GB.
func TestTrainingStepDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates in channel operations")
	}
	tb := synthetic(600, 5, 3)
	for _, name := range Algorithms() {
		if IsSequence(name) {
			continue // trained on window rows: TestSequenceTrainingStepDoesNotAllocate
		}
		alg := mustLookup(t, name)
		o := conformanceOptsFor(name)
		o["batch_size"] = "128" // two shards of 64 rows where separable
		var labels []float64
		if use, err := UsesLabels(name); err != nil {
			t.Fatal(err)
		} else if use != LabelsNone {
			labels = weakLabels(tb)
		}
		tr := testTrainer(t, alg, tb, o, labels)
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
