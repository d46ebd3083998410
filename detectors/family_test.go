package detectors

import (
	"math/rand/v2"
	"strconv"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// registered returns the algorithm registered as name (all_test.go
// registers every family's).
func registered(name string) Algorithm {
	a, _, err := lookup(name)
	if err != nil {
		panic(err)
	}
	return a
}

// deepSVDD is the registered deep_svdd (detectors/oneclass) as a type the
// tests of the training template can embed and override a method of: it
// forwards every method deep_svdd has, the optional ones included.
type deepSVDD struct{}

func (deepSVDD) alg() Algorithm                      { return registered("deep_svdd") }
func (d deepSVDD) Options() []Option                 { return d.alg().Options() }
func (d deepSVDD) Graph(b *Graph) (Objective, error) { return d.alg().Graph(b) }
func (d deepSVDD) Init(dims int, o Options, rng *rand.Rand) (*State, error) {
	return d.alg().Init(dims, o, rng)
}
func (d deepSVDD) Scorer(st *State, dims int, o Options) (Scorer, error) {
	return d.alg().Scorer(st, dims, o)
}
func (d deepSVDD) Footprint(s Shape, o Options) Footprint { return d.alg().Footprint(s, o) }
func (d deepSVDD) CheckOptions(o Options, given func(string) bool) error {
	return d.alg().(OptionChecker).CheckOptions(o, given)
}
func (d deepSVDD) PretrainEpochs(o Options) int { return d.alg().(Pretrainer).PretrainEpochs(o) }
func (d deepSVDD) PretrainGraph(b *Graph) (Objective, error) {
	return d.alg().(Pretrainer).PretrainGraph(b)
}
func (d deepSVDD) EndEpoch(st *State, x arrowio.Matrix, labels []float64, epoch, epochs int, o Options) error {
	return d.alg().(EpochEnder).EndEpoch(st, x, labels, epoch, epochs, o)
}
func (d deepSVDD) Prepare(st *State, x arrowio.Matrix, o Options) error {
	return d.alg().(Preparer).Prepare(st, x, o)
}

// encode is deep_svdd's network φ on x: bias-free layers "enc.w<l>" of
// the hidden sizes, leaky ReLU after each but the last (nn.MLP with
// Prefix "enc.", Hidden LeakyReLU, Output Identity).
func (deepSVDD) encode(b *Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	h := x
	hidden := b.Opts.Ints("hidden")
	for l := range hidden {
		var err error
		if h, err = MatMul(h, b.Param("enc.w"+strconv.Itoa(l))); err != nil {
			return nil, err
		}
		if l+1 < len(hidden) {
			if h, err = LeakyRelu(h, leakySlope); err != nil {
				return nil, err
			}
		}
	}
	return h, nil
}
