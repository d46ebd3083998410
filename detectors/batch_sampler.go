package detectors

import (
	"fmt"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/arrowio"
)

// BatchSampler is implemented by algorithms whose mini-batches are not
// shuffles of the training rows but are drawn by the algorithm, e.g.
// REPEN's triplets (anchor, positive, negative) sampled with weights from
// pseudo-labels. The template calls NewBatches once, after Prepare and
// before the first optimizer step, with the standardized training matrix,
// its labels (nil without a label column; 1, 0 or NaN per row; neither
// may be modified) and the run's seeded generator.
//
// With a sampler, every epoch runs Batches.Steps mini-batches of
// Batches.Rows rows whose row indices Batches.Draw chooses; the graph is
// built for Batches.Rows rows and is never sharded, so the algorithm may
// give the rows of a mini-batch a layout (e.g. REPEN's rows 3k, 3k+1,
// 3k+2 are the anchor, positive and negative of triplet k) and use either
// RowLoss or Loss.
type BatchSampler interface {
	NewBatches(st *State, x arrowio.Matrix, labels []float64, opts Options, rng *rand.Rand) (Batches, error)
}

// Batches is a custom mini-batch schedule returned by a BatchSampler.
type Batches struct {
	// Rows is the number of rows of every mini-batch (>= 1).
	Rows int
	// Steps is the number of mini-batches per epoch (>= 1).
	Steps int
	// Draw fills idx (len Rows) with the training row indices of the next
	// mini-batch, drawing every random choice from rng. Indices may
	// repeat.
	Draw func(idx []int, rng *rand.Rand)

	idx []int // the template's buffer for Draw
}

// customBatches returns alg's mini-batch schedule if it is a BatchSampler,
// else nil. x is the standardized row-major training matrix.
func customBatches(alg Grapher, st *State, x []float64, rows, dims int, labels []float64, opts Options, rng *rand.Rand) (*Batches, error) {
	s, ok := alg.(BatchSampler)
	if !ok {
		return nil, nil
	}
	b, err := s.NewBatches(st, arrowio.Matrix{Rows: rows, Cols: dims, Data: x}, labels, opts, rng)
	if err != nil {
		return nil, err
	}
	if b.Rows < 1 || b.Steps < 1 || b.Draw == nil {
		return nil, fmt.Errorf("detectors: sampler returned %d rows × %d steps per epoch", b.Rows, b.Steps)
	}
	b.idx = make([]int, b.Rows)
	return &b, nil
}

// draw returns the row indices of the next mini-batch.
func (b *Batches) draw(rng *rand.Rand) []int {
	b.Draw(b.idx, rng)
	return b.idx
}

// buildOneShard builds one graph for mini-batches of bs rows, for sampled
// mini-batches whose rows have a layout that sharding would cut.
func buildOneShard(alg Grapher, st *State, bs, dims int, opts Options) ([]*shard, error) {
	sh, err := newShard(alg, st, 0, bs, bs, dims, opts)
	if err != nil {
		return nil, err
	}
	return []*shard{sh}, nil
}
