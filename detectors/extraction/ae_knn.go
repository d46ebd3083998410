package extraction

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/autoencoders"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
)

// aeKNN is deep feature extraction followed by a classical detector (the
// survey's §4, "deep learning for feature extraction"): an autoencoder
// (the same network and options as autoencoder) is trained on the rows,
// and a row's score is the mean Euclidean distance from its code to its k
// nearest neighbours among the codes of a reference set of training rows
// (the k-NN distance detector of Ramaswamy et al., SIGMOD 2000, with the
// average of the k distances as in Angiulli & Pizzuti, PKDD 2002).
//
//   - The reference set is all training rows, or a seeded sample of
//     max_reference of them; their codes are part of the model state, so
//     a loaded model scores exactly like the trained one. The search is
//     exact, so a row scores the same alone or in any batch.
//   - A training row in the reference set is its own nearest neighbour
//     (distance 0): its score averages the distance 0 with its k-1 other
//     neighbours. This only affects scores of training rows (and the
//     threshold, slightly); rows scored later are not in the set.
type aeKNN struct {
	autoencoders.Autoencoder // the network, its initialization and training
}

func init() { detectors.Register("ae_knn", aeKNN{}) }

// Options: the autoencoder's options and defaults (dropout 0.2, 10
// epochs), k and max_reference. max_reference 5000 bounds the work per
// scored row (5000 distances in code space) and the state's size.
func (aeKNN) Options() []detectors.Option {
	return append(autoencoders.Autoencoder{}.Options(),
		detectors.IntOption("k", "10", "number of nearest neighbours in code space", 1, 100000),
		detectors.IntOption("max_reference", "5000", "maximum number of training rows kept as k-NN reference (seeded sample)", 1, 1000000),
	)
}

// Footprint implements Algorithm: the autoencoder's and the codes of the
// reference rows.
func (a aeKNN) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	f := a.Autoencoder.Footprint(s, o)
	hidden := o.Ints("hidden")
	f.Params += int64(min(s.Rows, o.Int("max_reference"))) * int64(hidden[len(hidden)-1])
	return f
}

func (a aeKNN) Graph(b *detectors.Graph) (detectors.Objective, error) {
	obj, err := nn.AEObjective(a.Net(b.Dims, b.Opts), b)
	obj.Scores = nil // the graph scores reconstruction, not k-NN distance
	return obj, err
}

// Finish stores the codes of the reference rows as the tensor "ref".
func (a aeKNN) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	enc, err := a.Net(x.Cols, o).Encoder().Kernel(st)
	if err != nil {
		return err
	}
	idx := referenceRows(x.Rows, o.Int("max_reference"), o.Int64("seed"))
	c := enc.OutLen()
	ref := st.Add("ref", len(idx), c, false)
	scratch := make([]float64, enc.ScratchLen())
	for r, i := range idx {
		copy(ref.Data[r*c:(r+1)*c], enc.Forward(x.Row(i), scratch))
	}
	return nil
}

// referenceRows returns all of 0..rows-1, or, if there are more than max,
// a sorted sample of max of them drawn with a generator seeded by seed.
func referenceRows(rows, max int, seed int64) []int {
	if rows <= max {
		idx := make([]int, rows)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	idx := detectors.Subsamples(rows, 1, max, rand.New(rand.NewPCG(uint64(seed), 0x6a09e667f3bcc908)))
	slices.Sort(idx)
	return idx
}

func (a aeKNN) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	enc, err := a.Net(d, o).Encoder().Kernel(st)
	if err != nil {
		return nil, err
	}
	t := st.Get("ref")
	if t == nil {
		return nil, fmt.Errorf("%w: missing tensor ref", detectors.ErrBadModel)
	}
	ref, err := st.Lookup("ref", t.Rows, enc.OutLen())
	if err != nil {
		return nil, err
	}
	return &knnScorer{enc: enc, ref: ref.Data, n: ref.Rows, c: ref.Cols, k: min(o.Int("k"), ref.Rows), d: d}, nil
}

// knnScorer is the mean distance from a row's code to its k nearest
// reference codes, by exhaustive search.
type knnScorer struct {
	enc     *nn.MLPKernel
	ref     []float64
	n, c, k int
	d       int
}

func (s *knnScorer) ScratchLen() int { return s.enc.ScratchLen() + s.k }

func (s *knnScorer) ScoreRows(x, dst, scratch []float64) {
	d, c, k := s.d, s.c, s.k
	se, best := scratch[:s.enc.ScratchLen()], scratch[s.enc.ScratchLen():]
	for i := range dst {
		code := s.enc.Forward(x[i*d:(i+1)*d], se)
		// best holds the k smallest squared distances so far, ascending.
		for j := range best {
			best[j] = math.Inf(1)
		}
		for r := 0; r < s.n; r++ {
			dist := kernel.SquaredDistance(code, s.ref[r*c:(r+1)*c])
			if dist >= best[k-1] {
				continue
			}
			j := k - 1
			for j > 0 && best[j-1] > dist {
				best[j] = best[j-1]
				j--
			}
			best[j] = dist
		}
		sum := 0.0
		for _, v := range best {
			sum += math.Sqrt(v)
		}
		dst[i] = sum / float64(k)
	}
}
