package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is the builder an Algorithm's Graph method receives: a gorgonia
// expression graph with one mini-batch of standardized input rows and one
// node per state tensor. The template builds it once per training run and
// re-runs it on every mini-batch, refilling the inputs in place.
type Graph struct {
	G *gorgonia.ExprGraph
	// X is the Rows × Dims mini-batch of standardized rows.
	X *gorgonia.Node
	// Rows is the mini-batch size, Dims the number of features.
	Rows, Dims int
	Opts       Options

	st      *State
	params  map[string]*gorgonia.Node
	used    map[string]bool // tensors the objective asked for (Param)
	xData   []float64
	normals [][]float64
	y       *gorgonia.Node
	known   *gorgonia.Node
	yData   []float64
	kData   []float64
}

func newGraph(st *State, rows, dims int, opts Options) *Graph {
	g := gorgonia.NewGraph()
	b := &Graph{G: g, Rows: rows, Dims: dims, Opts: opts, st: st, params: map[string]*gorgonia.Node{}, used: map[string]bool{}}
	b.xData = make([]float64, rows*dims)
	b.X = matrixNode(g, "x", rows, dims, b.xData)
	for _, t := range st.Tensors {
		b.params[t.Name] = matrixNode(g, t.Name, t.Rows, t.Cols, t.Data)
	}
	return b
}

// matrixNode returns a float64 matrix node whose value is backed by data.
func matrixNode(g *gorgonia.ExprGraph, name string, rows, cols int, data []float64) *gorgonia.Node {
	v := tensor.New(tensor.WithShape(rows, cols), tensor.WithBacking(data))
	return gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(rows, cols), gorgonia.WithName(name), gorgonia.WithValue(v))
}

// Param returns the node of state tensor name (shape Rows×Cols of the
// tensor). It panics if the state has no such tensor (a programming error).
// The template trains only the trainable tensors an objective asked for.
func (b *Graph) Param(name string) *gorgonia.Node {
	n, ok := b.params[name]
	if !ok {
		panic("detectors: graph has no state tensor " + name)
	}
	b.used[name] = true
	return n
}

// Normal returns a Rows × cols input node refilled before every step with
// independent standard normal draws from the run's seeded generator (for
// reparameterization, denoising, ...).
func (b *Graph) Normal(cols int) *gorgonia.Node {
	data := make([]float64, b.Rows*cols)
	b.normals = append(b.normals, data)
	return matrixNode(b.G, fmt.Sprintf("normal%d", len(b.normals)), b.Rows, cols, data)
}

// Labels returns two Rows × 1 input nodes for semi-supervised algorithms:
// y is 1 for a known anomaly and 0 otherwise, known is 1 where the row's
// label is not NULL and 0 where it is. Without a label column every row is
// unknown.
func (b *Graph) Labels() (y, known *gorgonia.Node) {
	if b.y == nil {
		b.yData = make([]float64, b.Rows)
		b.kData = make([]float64, b.Rows)
		b.y = matrixNode(b.G, "label", b.Rows, 1, b.yData)
		b.known = matrixNode(b.G, "label_known", b.Rows, 1, b.kData)
	}
	return b.y, b.known
}

// trainable returns the nodes of the trainable tensors the objective
// uses, in state order.
func (b *Graph) trainable() gorgonia.Nodes {
	var ns gorgonia.Nodes
	for _, t := range b.st.Tensors {
		if t.Trainable && b.used[t.Name] {
			ns = append(ns, b.params[t.Name])
		}
	}
	return ns
}

// trainConfig is the part of the options the template itself uses.
type trainConfig struct {
	epochs, batchSize int
	lr, weightDecay   float64
}

func configFrom(o Options) trainConfig {
	return trainConfig{
		epochs:      o.Int("epochs"),
		batchSize:   o.Int("batch_size"),
		lr:          o.Float("lr"),
		weightDecay: o.Float("weight_decay"),
	}
}

// Sharding: a mini-batch of a row-separable objective with at least
// 2*minShardRows rows is evaluated as trainShards graphs of about equal
// size, run concurrently. The count is a constant, not a function of the
// machine, so training results do not depend on GOMAXPROCS.
const (
	trainShards  = 2
	minShardRows = 32
)

// shard is one compiled graph over part of a mini-batch.
type shard struct {
	b      *Graph
	lo, hi int // rows of the mini-batch it evaluates
	obj    Objective
	loss   *gorgonia.Node
	params gorgonia.Nodes
	vm     gorgonia.VM
}

// newShard builds and differentiates the graph for rows [lo, hi) of a
// mini-batch of bs rows. For a RowLoss objective the shard's loss is the
// sum of its row losses divided by bs, so shard losses and gradients add
// up to those of the whole mini-batch.
func newShard(alg Grapher, st *State, lo, hi, bs, dims int, opts Options) (*shard, error) {
	b := newGraph(st, hi-lo, dims, opts)
	obj, err := alg.Graph(b)
	if err != nil {
		return nil, fmt.Errorf("detectors: building graph: %w", err)
	}
	sh := &shard{b: b, lo: lo, hi: hi, obj: obj}
	if sh.loss, err = objectiveLoss(obj, 1/float64(bs), 1); err != nil {
		return nil, err
	}
	sh.params = b.trainable()
	if _, err := gorgonia.Grad(sh.loss, sh.params...); err != nil {
		return nil, fmt.Errorf("detectors: differentiating graph: %w", err)
	}
	sh.vm = gorgonia.NewTapeMachine(b.G, gorgonia.BindDualValues(sh.params...))
	return sh, nil
}

// objectiveLoss is the scalar loss node of obj: the sum of its row losses
// times rowMul, or its Loss times lossMul (a factor of 1 adds no node). It
// is an error unless obj sets exactly one of RowLoss and Loss.
func objectiveLoss(obj Objective, rowMul, lossMul float64) (*gorgonia.Node, error) {
	loss, mul := obj.Loss, lossMul
	switch {
	case (obj.RowLoss == nil) == (obj.Loss == nil):
		return nil, fmt.Errorf("detectors: objective must set exactly one of RowLoss and Loss")
	case obj.RowLoss != nil:
		var err error
		if loss, err = gorgonia.Sum(obj.RowLoss); err != nil {
			return nil, err
		}
		mul = rowMul
	}
	if mul == 1 {
		return loss, nil
	}
	return gorgonia.Mul(loss, gorgonia.NewConstant(mul))
}

// fill copies the shard's rows of the mini-batch idx into its inputs and
// draws its noise from rng.
func (sh *shard) fill(x []float64, dims int, idx []int, labels []float64, rng *rand.Rand) {
	b := sh.b
	idx = idx[sh.lo:sh.hi]
	for r, i := range idx {
		copy(b.xData[r*dims:(r+1)*dims], x[i*dims:(i+1)*dims])
	}
	if b.y != nil {
		for r, i := range idx {
			b.yData[r], b.kData[r] = 0, 0
			if labels != nil && !math.IsNaN(labels[i]) {
				b.yData[r], b.kData[r] = labels[i], 1
			}
		}
	}
	for _, nd := range b.normals {
		for i := range nd {
			nd[i] = rng.NormFloat64()
		}
	}
}

// gradData returns the gradient slice of the shard's i-th parameter.
func (sh *shard) gradData(i int) ([]float64, error) {
	g, err := sh.params[i].Grad()
	if err != nil {
		return nil, err
	}
	d, ok := g.Data().([]float64)
	if !ok {
		return nil, fmt.Errorf("detectors: gradient of %s is not float64", sh.params[i].Name())
	}
	return d, nil
}

// train is the one training template: it builds alg's graph once for
// mini-batches of min(batch_size, rows) rows (as trainShards shards when
// the objective is row-separable and the batch is large enough),
// differentiates it once, and per mini-batch runs the compiled gorgonia
// TapeMachines and one Adam step. Each epoch visits the rows in a fresh
// permutation drawn from rng and runs rows/batch full mini-batches; the
// rows left over by the integer division are not used in that epoch (they
// are in others, since every epoch is reshuffled). Weight decay is Adam's
// L2 weight decay: weight_decay·W is added to the gradient, i.e. the
// gradient of (weight_decay/2)·Σ‖W‖² added to the loss, for every trainable
// tensor. A BatchSampler's mini-batches (batch_sampler.go) replace the
// shuffled ones. After each epoch it calls an EpochEnder's EndEpoch and, with
// validation > 0, evaluates early stopping (validation.go). Training
// updates st in place.
//
// x is the standardized row-major training matrix; labels is nil or has
// one entry per row (1, 0, NaN).
func train(ctx context.Context, alg Grapher, st *State, x []float64, rows, dims int, labels []float64, opts Options, rng *rand.Rand) error {
	cfg := configFrom(opts)
	probe := probeFrom(ctx) // nil outside tests
	probe.startRun()
	var val *holdout // early stopping, see validation.go
	if v := opts.Float("validation"); v > 0 {
		x, rows, labels, val = splitValidation(x, rows, dims, labels, v, opts.Int64("seed"))
		if val != nil {
			if err := val.build(alg, st, opts); err != nil {
				return err
			}
			defer val.close()
		}
	}
	ender, _ := alg.(EpochEnder)
	batches, err := customBatches(alg, st, x, rows, dims, labels, opts, rng) // batch_sampler.go
	if err != nil {
		return err
	}
	bs := min(cfg.batchSize, rows)
	build := buildShards
	if batches != nil {
		bs, build = batches.Rows, buildOneShard
	}
	shards, err := build(alg, st, bs, dims, opts)
	if err != nil {
		return err
	}
	defer func() {
		for _, sh := range shards {
			sh.vm.Close()
		}
	}()
	solverOpts := []gorgonia.SolverOpt{gorgonia.WithLearnRate(cfg.lr)}
	if cfg.weightDecay > 0 {
		solverOpts = append(solverOpts, gorgonia.WithL2Reg(cfg.weightDecay))
	}
	solver := gorgonia.NewAdamSolver(solverOpts...)
	lead := shards[0]
	grads := gorgonia.NodesToValueGrads(lead.params)

	perm := make([]int, rows)
	for i := range perm {
		perm[i] = i
	}
	errs := make([]error, len(shards))
	steps := rows / bs
	if batches != nil {
		steps = batches.Steps
	}
	for epoch := 0; epoch < cfg.epochs; epoch++ {
		epochLoss := 0.0
		if batches == nil {
			rng.Shuffle(rows, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		}
		for s := 0; s < steps; s++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			var idx []int
			if batches != nil {
				idx = batches.draw(rng)
			} else {
				idx = perm[s*bs : (s+1)*bs]
			}
			for _, sh := range shards {
				sh.fill(x, dims, idx, labels, rng)
			}
			runShards(shards, errs)
			loss := 0.0
			for i, sh := range shards {
				if errs[i] != nil {
					return fmt.Errorf("detectors: training step: %w", errs[i])
				}
				l, _ := sh.loss.Value().Data().(float64)
				loss += l
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return fmt.Errorf("%w: loss is %v at epoch %d (try a smaller lr)", ErrDiverged, loss, epoch+1)
			}
			epochLoss += loss
			// Add the other shards' gradients into the lead shard's (in
			// shard order) and clear them: gorgonia accumulates gradients
			// across runs until something zeroes them.
			for p := range lead.params {
				g0, err := lead.gradData(p)
				if err != nil {
					return err
				}
				for _, sh := range shards[1:] {
					g, err := sh.gradData(p)
					if err != nil {
						return err
					}
					for i, v := range g {
						g0[i] += v
					}
					clear(g)
				}
			}
			// The step updates the weight tensors in place; every shard's
			// parameter nodes share their backing arrays. A frozen probe
			// (tests only) skips it and nothing else.
			if !probe.frozen() {
				if err := solver.Step(grads); err != nil {
					return fmt.Errorf("detectors: optimizer step: %w", err)
				}
			}
			for _, sh := range shards {
				sh.vm.Reset()
			}
		}
		probe.endEpoch(epochLoss / float64(steps))
		if ender != nil {
			if err := ender.EndEpoch(st, arrowio.Matrix{Rows: rows, Cols: dims, Data: x}, labels, epoch+1, cfg.epochs, opts); err != nil {
				return err
			}
		}
		if val != nil {
			stop, err := val.endEpoch(st)
			if err != nil {
				return err
			}
			if stop {
				break
			}
		}
	}
	if val != nil {
		val.restore(st)
	}
	for p, n := range lead.params {
		data, ok := n.Value().Data().([]float64)
		t := st.Get(n.Name())
		if !ok || t == nil || len(data) != len(t.Data) || &data[0] != &t.Data[0] {
			return fmt.Errorf("detectors: parameter %d (%s) is no longer bound to the model state", p, n.Name())
		}
	}
	return nil
}

// buildShards builds the graphs for mini-batches of bs rows.
func buildShards(alg Grapher, st *State, bs, dims int, opts Options) ([]*shard, error) {
	if bs < trainShards*minShardRows {
		return buildOneShard(alg, st, bs, dims, opts)
	}
	shards := make([]*shard, trainShards)
	for k := range shards {
		sh, err := newShard(alg, st, bs*k/trainShards, bs*(k+1)/trainShards, bs, dims, opts)
		if err != nil {
			return nil, err
		}
		if sh.obj.Loss != nil { // not separable: one graph for the whole batch
			sh.vm.Close()
			return buildOneShard(alg, st, bs, dims, opts)
		}
		shards[k] = sh
	}
	return shards, nil
}

// runShards runs every shard's machine, concurrently if there are several.
func runShards(shards []*shard, errs []error) {
	if len(shards) == 1 {
		errs[0] = shards[0].vm.RunAll()
		return
	}
	var wg sync.WaitGroup
	panics := make([]*WorkerPanic, len(shards)) // worker_panic.go
	for i, sh := range shards[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer catchWorkerPanic(&panics[i+1])
			errs[i+1] = sh.vm.RunAll()
		}()
	}
	func() {
		defer catchWorkerPanic(&panics[0]) // raised again after the others are done
		errs[0] = shards[0].vm.RunAll()
	}()
	wg.Wait()
	repanic(panics)
}

// trainProbe is a test hook into the training template: a test that
// passes one to Fit in its context (withTrainProbe) sees the loss of
// every training run and can freeze the weights. Without a probe
// (always, outside the package's tests) training is unchanged; all its
// methods accept a nil receiver. A probe belongs to one Fit: the runs of
// one Fit (pretraining, ensemble members, outer iterations) are
// sequential, so it needs no lock.
type trainProbe struct {
	// freeze skips every optimizer step, and only that: the mini-batches,
	// the noise, the graphs, the losses and gradients are computed as in
	// training, and every hook (Preparer, EpochEnder, BatchSampler, Driver,
	// Pretrainer, Finisher) runs, so Fit returns the network at its
	// initial state as a valid model, with the same generator draws as
	// the trained one.
	freeze bool
	// runs holds one entry per call of train, in order: the mean
	// mini-batch loss of each epoch (evaluated before each step, without
	// weight decay).
	runs [][]float64
}

// probeKey is the context key of a *trainProbe.
type probeKey struct{}

// withTrainProbe returns ctx carrying p, for Fit and everything it runs.
func withTrainProbe(ctx context.Context, p *trainProbe) context.Context {
	return context.WithValue(ctx, probeKey{}, p)
}

// probeFrom returns ctx's probe, or nil.
func probeFrom(ctx context.Context) *trainProbe {
	p, _ := ctx.Value(probeKey{}).(*trainProbe)
	return p
}

func (p *trainProbe) frozen() bool { return p != nil && p.freeze }

func (p *trainProbe) startRun() {
	if p != nil {
		p.runs = append(p.runs, nil)
	}
}

func (p *trainProbe) endEpoch(meanLoss float64) {
	if p != nil {
		p.runs[len(p.runs)-1] = append(p.runs[len(p.runs)-1], meanLoss)
	}
}
