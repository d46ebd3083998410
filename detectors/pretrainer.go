package detectors

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// Pretrainer is implemented by algorithms that first train another
// objective on the same state, such as an autoencoder whose encoder then
// initializes the network (Deep SVDD, OC-NN). Fit runs pretraining after
// Init and before Prepare, with the training template and the same
// options (batch size, learning rate, weight decay, validation) except
// the number of epochs, and a fresh optimizer. Only the trainable tensors
// the pretraining graph uses are updated (see Graph.Param). Tensors used
// only by pretraining (a decoder) are named with the prefix PretrainOnly;
// they are dropped from the state when pretraining ends.
type Pretrainer interface {
	// PretrainEpochs is the number of pretraining epochs (0 = none),
	// usually an option of the algorithm.
	PretrainEpochs(o Options) int
	// PretrainGraph builds the pretraining objective for one mini-batch,
	// like Algorithm.Graph.
	PretrainGraph(b *Graph) (Objective, error)
}

// PretrainOnly prefixes the names of tensors that only pretraining uses.
const PretrainOnly = "dec."

// pretrain runs a's pretraining, if it has any.
func pretrain(ctx context.Context, a Algorithm, st *State, x []float64, rows, dims int, labels []float64, o Options, rng *rand.Rand) error {
	p, ok := a.(Pretrainer)
	if !ok {
		return nil
	}
	n := p.PretrainEpochs(o)
	if n <= 0 {
		return nil
	}
	po := o.Clone()
	po["epochs"] = strconv.Itoa(n)
	// The pretraining objective alone, without the algorithm's hooks.
	if err := train(ctx, graphFunc(p.PretrainGraph), st, x, rows, dims, labels, po, rng); err != nil {
		return err
	}
	st.Tensors = slices.DeleteFunc(st.Tensors, func(t *Tensor) bool { return strings.HasPrefix(t.Name, PretrainOnly) })
	return nil
}
