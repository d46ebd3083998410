package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphCase is a training graph of one algorithm with some options.
type graphCase struct {
	alg  string
	opts map[string]string
}

// graphCases are every algorithm's graph (conformance options) and
// variants that reach other ops: objectives, pretraining graphs (see
// allGraphers), regularizers, single-shard batches.
func graphCases() []graphCase {
	var cs []graphCase
	for _, a := range Algorithms() {
		if IsSequence(a) {
			continue // their graphs read window rows, not table rows
		}
		cs = append(cs, graphCase{a, conformanceOptsFor(a)})
	}
	return append(cs,
		graphCase{"deep_svdd", opts("objective", "soft-boundary", "nu", "0.2", "hidden", "16,8", "pretrain_epochs", "1")},
		graphCase{"ocnn", opts("pretrain_epochs", "2", "encoder", "8,4", "hidden", "6")},
		graphCase{"autoencoder", opts("noise", "0.3", "sparsity", "0.1")},
		graphCase{"autoencoder", opts("dropout", "0")},
		graphCase{"robust_autoencoder", opts("norm", "l1")},
		graphCase{"vae", opts("beta", "0.5")},
		graphCase{"dagmm", opts("n_components", "2")},
		graphCase{"ganomaly", opts("w_adv", "0", "hidden", "7")},
		graphCase{"ganomaly", opts("w_adv", "0", "w_con", "0", "w_enc", "0")},
		graphCase{"alad", opts("cycle", "false", "hidden", "7,5", "latent", "3")},
	)
}

// allGraphers returns alg's training objective, for a Pretrainer with
// pretraining epochs its pretraining objective, and for an Adversary its
// players' objectives (each differentiated by every tensor it uses).
func allGraphers(alg Algorithm, o Options, dims int) []Grapher {
	gs := []Grapher{alg}
	if p, ok := alg.(Pretrainer); ok && p.PretrainEpochs(o) > 0 {
		gs = append(gs, graphFunc(p.PretrainGraph))
	}
	if a, ok := alg.(Adversary); ok {
		for _, p := range a.Players(dims, o) {
			gs = append(gs, graphFunc(p.Graph))
		}
	}
	return gs
}

// randomFill fills a shard's inputs for a mini-batch of random rows with
// labels 1, 0 and NULL.
func randomFill(sh *shard, dims int, rng *rand.Rand) {
	rows := sh.hi
	x := make([]float64, rows*dims)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	labels := make([]float64, rows)
	for i := range labels {
		labels[i] = []float64{1, 0, math.NaN()}[i%3]
	}
	idx := make([]int, rows)
	for i := range idx {
		idx[i] = i
	}
	sh.fill(x, dims, idx, labels, rng)
}

// TestProgramMatchesTapeMachine checks the compiled programs against
// gorgonia's TapeMachine on every algorithm's training graph (one shard
// of a sharded mini-batch, and a whole mini-batch in one graph), on
// random inputs: every value of the graph bit for bit, and the loss and
// gradients of the training program, whose buffers are reused. It also
// checks that no op of these graphs falls back to gorgonia's allocating
// Do. It catches a kernel of program.go that computes anything
// differently from gorgonia's op (another summation order, the sign of a
// zero, a wrong axis) and a buffer reused while its value is still
// needed.
func TestProgramMatchesTapeMachine(t *testing.T) {
	for _, c := range graphCases() {
		alg := mustLookup(t, c.alg)
		o, err := normalizeOptions("test", alg, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		const dims, bs = 5, 96
		for gi, g := range allGraphers(alg, o, dims) {
			for _, build := range []func(Grapher, *State, int, int, Options) ([]*shard, error){buildShards, buildOneShard} {
				st, err := alg.Init(dims, o, newRand(1))
				if err != nil {
					t.Fatal(err)
				}
				shards, err := build(g, st, bs, dims, o)
				if err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%s %v graph %d of %d shards", c.alg, c.opts, gi, len(shards))
				sh := shards[0]
				if len(sh.prog.fallbacks) > 0 {
					t.Errorf("%s: ops %v fall back to gorgonia's Do", name, sh.prog.fallbacks)
				}
				randomFill(sh, dims, rand.New(rand.NewPCG(5, 6)))
				compareWithTapeMachine(t, name, sh)
			}
		}
	}
}

func compareWithTapeMachine(t *testing.T, name string, sh *shard) {
	t.Helper()
	if err := sh.prog.run(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	loss := sh.prog.scalar(sh.loss)
	grads := make([][]float64, len(sh.grads))
	for i, g := range sh.grads {
		for _, v := range sh.prog.value(g) {
			grads[i] = append(grads[i], 0+v) // as gorgonia adds it to a zero gradient
		}
	}
	// Every node of the graph, each a root (no buffer reused).
	all := sh.b.G.AllNodes()
	full, err := compileProgram(all...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if err := full.run(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	vm := gorgonia.NewTapeMachine(sh.b.G, gorgonia.BindDualValues(sh.params...), gorgonia.TraceExec())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatalf("%s: tape machine: %v", name, err)
	}
	for _, n := range all {
		want, err := valueData(n.Value())
		if err != nil {
			t.Fatalf("%s: node %v: %v", name, n, err)
		}
		if i, ok := sameBits(full.value(n), want); !ok {
			t.Fatalf("%s: node %v (op %v): value %d is %v, gorgonia's %v", name, n, n.Op(), i, full.value(n)[i], want[i])
		}
	}
	if want := sh.loss.Value().Data().(float64); math.Float64bits(loss) != math.Float64bits(want) {
		t.Fatalf("%s: loss %v, gorgonia's %v", name, loss, want)
	}
	for i, p := range sh.params {
		gv, err := p.Grad()
		if err != nil {
			t.Fatal(err)
		}
		if j, ok := sameBits(grads[i], gv.Data().([]float64)); !ok {
			t.Fatalf("%s: gradient of %s differs at %d: %v, gorgonia's %v", name, p.Name(), j, grads[i][j], gv.Data().([]float64)[j])
		}
	}
}

// valueData returns the values of a gorgonia value as a slice.
func valueData(v gorgonia.Value) ([]float64, error) {
	switch v := v.(type) {
	case *gorgonia.F64:
		return []float64{float64(*v)}, nil
	case tensor.Tensor:
		d, ok := v.Data().([]float64)
		if !ok {
			return nil, fmt.Errorf("data %T", v.Data())
		}
		return d, nil
	}
	return nil, fmt.Errorf("value %T", v)
}

// TestProgramEdgeValues runs the element-wise, reduction and shape
// kernels of program.go on values gorgonia's ops treat specially (signed
// zeros, NaN, ±Inf, sign of a scalar) and compares each result with the
// TapeMachine's bit for bit. The bug it catches: a kernel that agrees
// with gorgonia on ordinary numbers only (a sum that starts from the
// first value instead of +0, a sign that maps 0 to 1).
func TestProgramEdgeValues(t *testing.T) {
	g := gorgonia.NewGraph()
	vals := []float64{0, math.Copysign(0, -1), 1.5, -2, math.NaN(), math.Inf(1), math.Inf(-1), -0.25, 3, math.Copysign(0, -1), 7, -1e-300}
	a := matrixNode(g, "a", 3, 4, vals)
	b := matrixNode(g, "b", 3, 4, append(append([]float64(nil), vals[4:]...), vals[:4]...))
	col := matrixNode(g, "col", 3, 1, []float64{math.Copysign(0, -1), 2, math.NaN()})
	zeros := matrixNode(g, "z", 2, 2, []float64{math.Copysign(0, -1), math.Copysign(0, -1), math.Copysign(0, -1), math.Copysign(0, -1)})
	s := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(col))))
	var outs gorgonia.Nodes
	add := func(n *gorgonia.Node, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		outs = append(outs, n)
	}
	for _, f := range []func(x, y *gorgonia.Node) (*gorgonia.Node, error){gorgonia.Add, gorgonia.Sub, gorgonia.HadamardProd, gorgonia.HadamardDiv} {
		add(f(a, b))
		add(f(a, s))
		add(f(s, b))
	}
	add(gorgonia.Gt(a, b, true))
	add(gorgonia.Gte(a, s, true))
	add(gorgonia.Lt(s, b, true))
	for _, f := range []func(*gorgonia.Node) (*gorgonia.Node, error){gorgonia.Abs, gorgonia.Sign, gorgonia.Sin, gorgonia.Cos, gorgonia.Exp, gorgonia.Log, gorgonia.Neg, gorgonia.Square, gorgonia.Sqrt, gorgonia.Inverse, gorgonia.Tanh, gorgonia.Sigmoid} {
		add(f(a))
		add(f(s))
	}
	add(gorgonia.Sign(gorgonia.Must(gorgonia.Neg(gorgonia.Must(gorgonia.Sum(zeros))))))
	add(gorgonia.Sum(a))
	add(gorgonia.Sum(a, 0))
	add(gorgonia.Sum(a, 1))
	add(gorgonia.Sum(zeros, 0))
	add(gorgonia.Sum(zeros, 1))
	add(gorgonia.Sum(zeros))
	add(gorgonia.Mean(a, 1))
	add(gorgonia.BroadcastAdd(a, col, nil, []byte{1}))
	add(gorgonia.BroadcastSub(gorgonia.Must(gorgonia.Reshape(col, tensor.Shape{1, 3})), gorgonia.Must(gorgonia.Transpose(a)), []byte{0}, nil))
	add(gorgonia.Concat(1, a, col, b))
	add(gorgonia.Concat(0, a, b))
	add(gorgonia.Slice(a, nil, gorgonia.S(1, 3)))
	add(gorgonia.Slice(a, nil, gorgonia.S(2)))
	add(gorgonia.Slice(a, gorgonia.S(1)))
	p, err := compileProgram(outs...)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.fallbacks) > 0 {
		t.Errorf("ops %v fall back to gorgonia's Do", p.fallbacks)
	}
	if err := p.run(); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.TraceExec())
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	for _, n := range outs {
		want, err := valueData(n.Value())
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := sameBits(p.value(n), want); !ok {
			t.Errorf("%v (op %v): value %d is %v, gorgonia's %v", n, n.Op(), i, p.value(n)[i], want[i])
		}
	}
}

// TestProgramFallback: an op the program has no kernel for runs through
// its own Do (here gorgonia's max over an axis) and gives gorgonia's
// result; the program reports it as a fallback.
func TestProgramFallback(t *testing.T) {
	g := gorgonia.NewGraph()
	a := matrixNode(g, "a", 2, 3, []float64{1, 5, 3, -4, 2, 0.5})
	m := gorgonia.Must(gorgonia.Max(a, 1))
	out := gorgonia.Must(gorgonia.Add(m, gorgonia.NewConstant(1.0)))
	p, err := compileProgram(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.fallbacks) != 1 {
		t.Fatalf("fallbacks %v, want the max", p.fallbacks)
	}
	if err := p.run(); err != nil {
		t.Fatal(err)
	}
	if got := p.value(out); len(got) != 2 || got[0] != 6 || got[1] != 3 {
		t.Fatalf("max+1 = %v, want [6 3]", got)
	}
}
