package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Early stopping (options validation and patience, common to every
// algorithm). With validation = v > 0 the template holds out about a
// fraction v of the training rows, stratified by label (1, 0, NULL, so
// labelled anomalies are split in proportion and the training part keeps
// at least one of them if there is any), chosen by a generator seeded from
// the seed option alone. It trains on the rest and, after every epoch
// (after any EpochEnder), evaluates the algorithm's objective on the
// held-out rows: the mean of RowLoss, or for a scalar Loss the row-weighted
// mean over chunks of at most valChunkRows rows. It keeps a copy of the
// whole state at the epoch with the lowest held-out loss, stops after
// patience epochs without a strictly lower one and restores that copy.
// Preparer, Finisher and the threshold still see every training row.

// valChunkRows bounds the rows of one held-out evaluation graph.
const valChunkRows = 1024

// valStream is the PCG stream of the validation generator (split and
// noise), distinct from the training generator's.
const valStream = 0xda3e39cb94b95bdb

// holdout is the held-out part of the training data and the state of
// early stopping.
type holdout struct {
	x      []float64
	labels []float64
	rows   int
	dims   int
	rng    *rand.Rand
	chunks []*shard // forward-only graphs: full chunks, then the remainder
	idx    []int

	patience int
	best     float64
	last     float64 // the held-out loss of the last epoch evaluated (training_log.go)
	bad      int
	saved    [][]float64
}

// splitValidation returns the training part of x (rows × dims, with its
// labels) and the held-out part, or a nil holdout if frac rounds to no
// rows. x and labels are not modified.
func splitValidation(x []float64, rows, dims int, labels []float64, frac float64, seed int64) ([]float64, int, []float64, *holdout) {
	rng := rand.New(rand.NewPCG(uint64(seed), valStream))
	class := func(i int) int {
		switch {
		case labels == nil || math.IsNaN(labels[i]):
			return 0
		case labels[i] == 1:
			return 1
		}
		return 2
	}
	var byClass [3][]int
	for i := 0; i < rows; i++ {
		c := class(i)
		byClass[c] = append(byClass[c], i)
	}
	held := make([]bool, rows)
	n := 0
	for _, idx := range byClass {
		k := int(frac * float64(len(idx)))
		for _, p := range rng.Perm(len(idx))[:k] {
			held[idx[p]] = true
		}
		n += k
	}
	if n == 0 {
		return x, rows, labels, nil
	}
	h := &holdout{rows: n, dims: dims, rng: rng, x: make([]float64, 0, n*dims), best: math.Inf(1)}
	tx := make([]float64, 0, (rows-n)*dims)
	var tl []float64
	if labels != nil {
		h.labels = make([]float64, 0, n)
		tl = make([]float64, 0, rows-n)
	}
	for i := 0; i < rows; i++ {
		row := x[i*dims : (i+1)*dims]
		if held[i] {
			h.x = append(h.x, row...)
			if labels != nil {
				h.labels = append(h.labels, labels[i])
			}
		} else {
			tx = append(tx, row...)
			if labels != nil {
				tl = append(tl, labels[i])
			}
		}
	}
	return tx, rows - n, tl, h
}

// build compiles the forward-only evaluation graphs over st.
func (h *holdout) build(alg Grapher, st *State, opts Options) error {
	h.patience = opts.Int("patience")
	size := min(h.rows, valChunkRows)
	sizes := []int{size}
	if r := h.rows % size; r != 0 && h.rows > size {
		sizes = append(sizes, r)
	}
	for _, n := range sizes {
		b := newGraph(st, n, h.dims, opts)
		obj, err := alg.Graph(b)
		if err != nil {
			return fmt.Errorf("detectors: building validation graph: %w", err)
		}
		sh := &shard{b: b, lo: 0, hi: n, obj: obj}
		// The chunk's summed loss: row losses as they are, a mean-type
		// Loss times the chunk's rows.
		if sh.loss, err = objectiveLoss(obj, 1, float64(n)); err != nil {
			return err
		}
		if sh.prog, err = compileProgram(sh.loss); err != nil {
			return err
		}
		h.chunks = append(h.chunks, sh)
	}
	h.idx = make([]int, h.rows)
	for i := range h.idx {
		h.idx[i] = i
	}
	for _, t := range st.Tensors {
		h.saved = append(h.saved, append([]float64(nil), t.Data...))
	}
	return nil
}

// loss is the mean objective over the held-out rows.
func (h *holdout) loss() (float64, error) {
	total := 0.0
	full := h.chunks[0]
	size := full.hi
	for lo := 0; lo < h.rows; lo += size {
		sh := full
		if lo+size > h.rows {
			sh = h.chunks[1]
		}
		sh.fill(h.x, h.dims, h.idx[lo:lo+sh.hi], h.labels, h.rng)
		if err := sh.prog.run(); err != nil {
			return 0, fmt.Errorf("detectors: validation step: %w", err)
		}
		total += sh.prog.scalar(sh.loss)
	}
	return total / float64(h.rows), nil
}

// endEpoch evaluates the held-out loss, saves st if it is the best so far
// and reports whether training should stop.
func (h *holdout) endEpoch(st *State) (stop bool, err error) {
	l, err := h.loss()
	if err != nil {
		return false, err
	}
	h.last = l
	if l < h.best { // false for NaN
		h.best, h.bad = l, 0
		for i, t := range st.Tensors {
			copy(h.saved[i], t.Data)
		}
		return false, nil
	}
	h.bad++
	return h.bad >= h.patience, nil
}

// restore copies the best epoch's state back into st, in place (the
// training graphs share its arrays). Before any evaluation it keeps st.
func (h *holdout) restore(st *State) {
	if math.IsInf(h.best, 1) {
		return
	}
	for i, t := range st.Tensors {
		copy(t.Data, h.saved[i])
	}
}
