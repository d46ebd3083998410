package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

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
	if e := st.front; e != nil { // stage E: dims is the full rows' width
		b.X, b.Dims = gorgonia.Must(e.graph(b, b.X)), e.width
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
// uses, in state order: those for which trains is true, or all if it is
// nil.
func (b *Graph) trainable(trains func(name string) bool) gorgonia.Nodes {
	var ns gorgonia.Nodes
	for _, t := range b.st.Tensors {
		if t.Trainable && b.used[t.Name] && (trains == nil || trains(t.Name)) {
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
	grads  gorgonia.Nodes // grads[i] is the gradient of loss by params[i]
	prog   *program       // computes loss and grads (program.go)
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
	sh.params = b.trainable(trainedBy(alg)) // adversary.go
	if len(sh.params) == 0 {
		return nil, fmt.Errorf("detectors: the objective trains no tensor")
	}
	if sh.grads, err = gorgonia.Grad(sh.loss, sh.params...); err != nil {
		return nil, fmt.Errorf("detectors: differentiating graph: %w", err)
	}
	if sh.prog, err = compileProgram(append(gorgonia.Nodes{sh.loss}, sh.grads...)...); err != nil {
		return nil, err
	}
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
	sh.fillRows(x, dims, idx, labels)
	sh.fillNoise(rng)
}

// fillRows copies the shard's rows of the mini-batch idx and their labels
// into its inputs. Shards fill their rows concurrently.
func (sh *shard) fillRows(x []float64, dims int, idx []int, labels []float64) {
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
}

// fillNoise draws the shard's noise inputs from rng, in order. Shards
// draw theirs one after another, in shard order.
func (sh *shard) fillNoise(rng *rand.Rand) {
	for _, nd := range sh.b.normals {
		for i := range nd {
			nd[i] = rng.NormFloat64()
		}
	}
}

// train is the one training template: it builds alg's graph once for
// mini-batches of min(batch_size, rows) rows (as trainShards shards when
// the objective is row-separable and the batch is large enough),
// differentiates it once, compiles it into a program (program.go) and
// per mini-batch runs the programs and one Adam step (adam.go). Each
// epoch visits the rows in a fresh
// permutation drawn from rng and runs rows/batch full mini-batches; the
// rows left over by the integer division are not used in that epoch (they
// are in others, since every epoch is reshuffled). Weight decay is Adam's
// L2 weight decay: weight_decay·W is added to the gradient, i.e. the
// gradient of (weight_decay/2)·Σ‖W‖² added to the loss, for every trainable
// tensor. A BatchSampler's mini-batches (batch_sampler.go) replace the
// shuffled ones. An Adversary (adversary.go) has several players instead
// of one objective: each has its graphs and its Adam, and they take
// their steps in turn on every mini-batch. After each epoch it calls an
// EpochEnder's EndEpoch, updates the running means of the players'
// averaged tensors (Player.Average; after the last epoch they replace the
// tensors) and, with validation > 0, evaluates early stopping
// (validation.go). Training updates st in place.
//
// Everything a mini-batch needs (the programs' buffers, the gradients,
// Adam's moments, the shards' worker goroutines) is allocated before the
// first one, so a training step allocates nothing
// (TestTrainingStepDoesNotAllocate).
//
// x is the standardized row-major training matrix; labels is nil or has
// one entry per row (1, 0, NaN).
func train(ctx context.Context, alg Grapher, st *State, x []float64, rows, dims int, labels []float64, opts Options, rng *rand.Rand) error {
	t, err := newTrainer(ctx, alg, st, x, rows, dims, labels, opts, rng)
	if err != nil {
		return err
	}
	defer t.close()
	return t.run()
}

// trainer is one run of the training template (see train).
type trainer struct {
	ctx     context.Context
	alg     Grapher
	st      *State
	x       []float64
	rows    int
	dims    int
	labels  []float64
	opts    Options
	rng     *rand.Rand
	cfg     trainConfig
	probe   *trainProbe
	losses  *lossRecord    // recipe.go
	epochs  *epochRecorder // training_log.go
	val     *holdout
	ender   EpochEnder
	batches *Batches
	bs      int
	players []*player // one, or an Adversary's (adversary.go)
	avg     averager  // the players' averaged tensors (adversary.go)
	perm    []int
	steps   int // mini-batches per epoch
	pass    int // mini-batches per pass over the shuffled rows (steps, unless a MinStepper asks for more)
	batch   int // mini-batches run so far
}

// player is one optimizer of a training run: the graphs of an objective
// and the Adam that minimizes it over the trainable tensors they are
// differentiated by.
type player struct {
	Player
	shards  *shardRunner
	solver  *adam
	weights [][]float64 // the trainable tensors' data, in the order of the lead shard's params
	grads   [][]float64 // their gradients over the mini-batch
	// The epoch's sum of mini-batch losses and their number.
	sum float64
	n   int
}

func newTrainer(ctx context.Context, alg Grapher, st *State, x []float64, rows, dims int, labels []float64, opts Options, rng *rand.Rand) (*trainer, error) {
	t := &trainer{ctx: ctx, alg: alg, st: st, cfg: configFrom(opts), probe: probeFrom(ctx), losses: lossRecordFrom(ctx), epochs: epochRecorderFrom(ctx), opts: opts, rng: rng, dims: dims}
	t.probe.startRun()
	if v := opts.Float("validation"); v > 0 {
		x, rows, labels, t.val = splitValidation(x, rows, dims, labels, v, opts.Int64("seed"))
		if t.val != nil {
			if err := t.val.build(alg, st, opts); err != nil {
				return nil, err
			}
		}
	}
	t.x, t.rows, t.labels = x, rows, labels
	t.probe.recordData(x, labels)
	t.ender, _ = alg.(EpochEnder)
	var err error
	if t.batches, err = customBatches(alg, st, x, rows, dims, labels, opts, rng); err != nil { // batch_sampler.go
		return nil, err
	}
	t.bs = min(t.cfg.batchSize, rows)
	build := buildShards
	t.steps = rows / t.bs
	t.pass = t.steps
	if t.batches != nil {
		t.bs, build, t.steps = t.batches.Rows, buildOneShard, t.batches.Steps
	} else {
		t.steps = minStepsPerEpoch(alg, opts, t.steps, t.cfg.epochs) // min_steps.go
	}
	specs, err := playersOf(alg, dims, t.cfg, opts) // adversary.go
	if err != nil {
		return nil, err
	}
	_, adversarial := alg.(Adversary)
	owner := map[string]string{} // tensor → the player that trains it
	built := make([][]*shard, len(specs))
	for i := range specs {
		p := &player{Player: specs[i]}
		g := alg
		if adversarial {
			g = playerGraph{&p.Player}
		}
		shards, err := build(g, st, t.bs, dims, opts)
		if err != nil {
			if adversarial {
				err = fmt.Errorf("%s: %w", p.Name, err)
			}
			return nil, err
		}
		var sizes []int
		for _, n := range shards[0].params {
			tn := st.Get(n.Name())
			if tn == nil {
				return nil, fmt.Errorf("detectors: parameter %s is not in the model state", n.Name())
			}
			if o, dup := owner[tn.Name]; dup {
				return nil, fmt.Errorf("detectors: tensor %s is trained by players %s and %s", tn.Name, o, p.Name)
			}
			owner[tn.Name] = p.Name
			p.weights = append(p.weights, tn.Data)
			p.grads = append(p.grads, make([]float64, len(tn.Data)))
			sizes = append(sizes, len(tn.Data))
			for _, sh := range shards {
				if g := sh.prog.value(sh.grads[len(sizes)-1]); len(g) != len(tn.Data) {
					return nil, fmt.Errorf("detectors: gradient of %s has %d values, want %d", n.Name(), len(g), len(tn.Data))
				}
			}
		}
		if a := p.Average; a != nil { // adversary.go
			n := 0
			for j, pn := range shards[0].params {
				if a.averages(pn.Name()) {
					t.avg.add(int(a.After*float64(t.cfg.epochs)), p.weights[j])
					n++
				}
			}
			if n == 0 {
				return nil, fmt.Errorf("detectors: player %q averages none of the tensors it trains", p.Name)
			}
		}
		p.solver = newAdamBetas(p.LR, t.cfg.weightDecay, p.Beta1, p.Beta2, sizes)
		built[i] = shards
		t.players = append(t.players, p)
	}
	for i, p := range t.players { // last: close stops their workers
		p.shards = startShards(built[i])
	}
	t.perm = make([]int, rows)
	for i := range t.perm {
		t.perm[i] = i
	}
	return t, nil
}

// close stops the shards' workers.
func (t *trainer) close() {
	for _, p := range t.players {
		if p.shards != nil {
			p.shards.stop()
		}
	}
}

// run runs every epoch and records the kept epoch's losses (recipe.go).
func (t *trainer) run() error {
	lastLoss, bestLoss := math.NaN(), math.NaN() // of the last epoch, of the best held-out epoch
	for epoch := 0; epoch < t.cfg.epochs; epoch++ {
		for _, p := range t.players {
			p.sum, p.n = 0, 0
		}
		for s := 0; s < t.steps; s++ {
			if t.batches == nil && s%t.pass == 0 { // a new pass over the rows
				t.rng.Shuffle(t.rows, func(i, j int) { t.perm[i], t.perm[j] = t.perm[j], t.perm[i] })
			}
			if _, err := t.step(s, epoch); err != nil {
				return err
			}
		}
		// The players' mean mini-batch losses, added in order (one player:
		// its mean).
		lastLoss = 0
		for _, p := range t.players {
			if p.n > 0 {
				lastLoss += p.sum / float64(p.n)
			}
		}
		t.probe.endEpoch(lastLoss)
		if t.ender != nil {
			if err := t.ender.EndEpoch(t.st, arrowio.Matrix{Rows: t.rows, Cols: t.dims, Data: t.x}, t.labels, epoch+1, t.cfg.epochs, t.opts); err != nil {
				return err
			}
		}
		t.avg.endEpoch(epoch+1, t.cfg.epochs) // adversary.go
		stop := false
		if t.val != nil {
			var err error
			if stop, err = t.val.endEpoch(t.st); err != nil {
				return err
			}
			if t.val.bad == 0 { // this epoch's state is the one kept so far
				bestLoss = lastLoss
			}
		}
		t.epochs.endEpoch(lastLoss, validationOf(t.val), t.cfg.lr) // training_log.go
		if stop {
			break
		}
	}
	if t.val != nil {
		t.val.restore(t.st)
	}
	if t.val != nil && !math.IsInf(t.val.best, 1) {
		t.losses.set(bestLoss, t.val.best)
	} else {
		t.losses.set(lastLoss, math.NaN())
	}
	return nil
}

// step runs mini-batch s of the epoch: the steps of every player that
// plays on it, in order. It returns the sum of their losses, each the
// mean over the player's steps.
func (t *trainer) step(s, epoch int) (float64, error) {
	if err := t.ctx.Err(); err != nil {
		return 0, err
	}
	var idx []int
	if t.batches != nil {
		idx = t.batches.draw(t.rng)
	} else {
		k := s % t.pass
		idx = t.perm[k*t.bs : (k+1)*t.bs]
	}
	t.batch++
	t.probe.countBatch(idx)
	total := 0.0
	for _, p := range t.players {
		if t.batch%p.Every != 0 {
			continue
		}
		loss := 0.0
		for range p.Steps {
			l, err := t.play(p, idx, epoch)
			if err != nil {
				return 0, err
			}
			loss += l
		}
		if p.Steps > 1 {
			loss /= float64(p.Steps)
		}
		p.sum += loss
		p.n++
		total += loss
	}
	return total, nil
}

// play runs one optimizer step of p on the mini-batch idx and returns
// the loss it minimized.
func (t *trainer) play(p *player, idx []int, epoch int) (float64, error) {
	shards := p.shards.shards
	for _, sh := range shards { // the generator's draws in shard order
		sh.fillNoise(t.rng)
	}
	errs := p.shards.run(t.x, t.dims, idx, t.labels)
	loss := 0.0
	for i, sh := range shards {
		if errs[i] != nil {
			return 0, fmt.Errorf("detectors: training step: %w", errs[i])
		}
		loss += sh.prog.scalar(sh.loss)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		if p.Name != "" {
			return 0, fmt.Errorf("%w: the %s's loss is %v at epoch %d (try a smaller lr)", ErrDiverged, p.Name, loss, epoch+1)
		}
		return 0, fmt.Errorf("%w: loss is %v at epoch %d (try a smaller lr)", ErrDiverged, loss, epoch+1)
	}
	// The mini-batch's gradient: the shards' gradients added in shard
	// order, each to zero first, as gorgonia accumulated them into its
	// zeroed dual values (so even the sign of a zero is as it was).
	for k, g := range p.grads {
		clear(g)
		for _, sh := range shards {
			for i, v := range sh.prog.value(sh.grads[k]) {
				g[i] += 0 + v
			}
		}
	}
	// The step updates the weight tensors in place; every shard's
	// parameter nodes share their backing arrays. A frozen probe (tests
	// only) skips it and nothing else.
	if !t.probe.frozen() {
		p.solver.step(p.weights, p.grads)
	}
	if p.After != nil {
		if err := p.After(t.st, loss, t.rng); err != nil {
			return 0, err
		}
	}
	return loss, nil
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
			return buildOneShard(alg, st, bs, dims, opts)
		}
		shards[k] = sh
	}
	return shards, nil
}

// shardRunner fills the rows of a mini-batch's shards and runs their
// programs, concurrently if there are several: shard 0 in the calling
// goroutine, each other one in a worker goroutine of its own that lives
// as long as the training run (starting goroutines per mini-batch would
// allocate).
type shardRunner struct {
	shards []*shard
	start  []chan struct{} // one per worker (shards 1, 2, ...)
	done   chan struct{}
	errs   []error
	panics []*WorkerPanic // worker_panic.go

	// The mini-batch of the current run, set before the workers start.
	x      []float64
	dims   int
	idx    []int
	labels []float64
}

func startShards(shards []*shard) *shardRunner {
	r := &shardRunner{
		shards: shards,
		done:   make(chan struct{}, len(shards)),
		errs:   make([]error, len(shards)),
		panics: make([]*WorkerPanic, len(shards)),
	}
	for i := 1; i < len(shards); i++ {
		c := make(chan struct{})
		r.start = append(r.start, c)
		go func() {
			for range c {
				r.runOne(i)
				r.done <- struct{}{}
			}
		}()
	}
	return r
}

// runOne fills and runs shard i, catching a panic.
func (r *shardRunner) runOne(i int) {
	defer CatchWorkerPanic(&r.panics[i])
	sh := r.shards[i]
	sh.fillRows(r.x, r.dims, r.idx, r.labels)
	r.errs[i] = sh.prog.run()
}

// run fills every shard with its rows of the mini-batch idx of x (with
// labels, or nil) and runs it once, and returns their errors, indexed
// like the shards. A panic of any shard is raised again here once all
// are done.
func (r *shardRunner) run(x []float64, dims int, idx []int, labels []float64) []error {
	r.x, r.dims, r.idx, r.labels = x, dims, idx, labels
	clear(r.panics)
	for _, c := range r.start {
		c <- struct{}{}
	}
	r.runOne(0)
	for range r.start {
		<-r.done
	}
	repanic(r.panics)
	return r.errs
}

// stop ends the workers.
func (r *shardRunner) stop() {
	for _, c := range r.start {
		close(c)
	}
	r.start = nil
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
	// data, if keepData, holds one entry per call of train, in order: a
	// copy of the rows (standardized, row-major) and labels it trained
	// on, after any validation split; for Drivers that choose them.
	keepData bool
	data     []probeData
	// batches holds one entry per call of train, in order: the number of
	// mini-batches it ran.
	batches []int
	// rows, if keepRows, holds a copy of the row indices of every
	// mini-batch of every run, in order.
	keepRows bool
	rows     [][]int
}

// probeData is what one training run trained on.
type probeData struct {
	x, labels []float64
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
		p.batches = append(p.batches, 0)
	}
}

func (p *trainProbe) countBatch(idx []int) {
	if p != nil {
		p.batches[len(p.batches)-1]++
		if p.keepRows {
			p.rows = append(p.rows, slices.Clone(idx))
		}
	}
}

func (p *trainProbe) recordData(x, labels []float64) {
	if p != nil && p.keepData {
		p.data = append(p.data, probeData{x: slices.Clone(x), labels: slices.Clone(labels)})
	}
}

func (p *trainProbe) endEpoch(meanLoss float64) {
	if p != nil {
		p.runs[len(p.runs)-1] = append(p.runs[len(p.runs)-1], meanLoss)
	}
}
