package autoencoders

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// randNet is RandNet (Chen, Sathe, Aggarwal & Turaga, "Outlier Detection
// with Autoencoder Ensembles", SDM 2017): an ensemble of autoencoders
// whose connections are randomly dropped, each trained on its own random
// sample of the rows, combined by the median of their standardized
// reconstruction errors.
//
//   - Members: ensemble autoencoders with the architecture of autoencoder
//     (hidden '64,32', mirrored decoder, leaky ReLU, linear output). In
//     member m every connection of every layer is dropped independently
//     with probability randNetDrop, by a fixed 0/1 mask drawn at Init and
//     kept in the state; every unit keeps at least one incoming
//     connection. Masked weights are zero and receive no gradient.
//   - Adaptive sampling: member m is trained on a random sample of the
//     rows whose size grows geometrically over the members, from about
//     n/2^((M-1)/2) (at least min(n, 256) rows) for the first to all n
//     rows for the last, so that the members differ in the data they see
//     as well as in their structure, and the small members are cheap.
//     Each member has its own generator for its shuffles and samples.
//   - Score: each member's reconstruction error (mean squared error over
//     the standardized features) is standardized by its mean and
//     standard deviation over all training rows; the score is the median
//     of these z-scores over the members.
type randNet struct{}

func init() { detectors.Register("randnet", randNet{}) }

// randNetDrop is the probability of dropping a connection.
const randNetDrop = 0.5

// Options: ensemble 10 and 20 epochs per member. With the sample sizes
// of adaptive sampling the ten members see about 3.3 times the rows of
// one autoencoder per epoch, so training costs about as much as 66 epochs
// of one full autoencoder.
func (randNet) Options() []detectors.Option {
	return []detectors.Option{
		detectors.IntOption("ensemble", "10", "number of autoencoders in the ensemble", 1, 1000),
		detectors.WithDefault("epochs", "20"),
	}
}

func (randNet) member(m, d int, o detectors.Options) nn.AENet {
	n := nn.NewAENet("m"+strconv.Itoa(m)+".", d, o.Ints("hidden"))
	n.Masked = true
	return n
}

// Footprint implements Algorithm: ensemble members with their masks and
// statistics, trained one at a time (so one member's trainable values and
// graph), each graph holding its masked weights, and Drive's copy of the
// sampled rows.
func (a randNet) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.member(0, s.Dims, o)
	member := n.Footprint()
	var masks int64
	for l := 0; l+1 < len(n.Sizes); l++ {
		masks += int64(n.Sizes[l]) * int64(n.Sizes[l+1])
	}
	return detectors.Footprint{
		Params:    int64(o.Int("ensemble")) * (member.Params + masks + 2),
		Trainable: member.Trainable,
		RowValues: member.RowValues,
		Extra:     detectors.GraphValueFactor*detectors.TrainShards*masks + int64(s.Rows)*int64(s.Dims+1),
	}
}

func (a randNet) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	for m := 0; m < o.Int("ensemble"); m++ {
		n := a.member(m, d, o)
		n.Init(st, rng)
		for l := 0; l+1 < len(n.Sizes); l++ {
			in, out := n.Sizes[l], n.Sizes[l+1]
			mask := st.Add(n.MaskName(l), in, out, false)
			w := st.Get(n.WeightName(l)).Data
			for j := 0; j < out; j++ {
				kept := false
				for i := 0; i < in; i++ {
					if rng.Float64() >= randNetDrop {
						mask.Data[i*out+j], kept = 1, true
					}
				}
				if !kept {
					mask.Data[rng.IntN(in)*out+j] = 1
				}
			}
			for i, v := range mask.Data {
				w[i] *= v
			}
		}
		st.Add(n.Prefix+"stats", 1, 2, false)
	}
	return st, nil
}

// memberTensors returns the sub-state of the tensors of network n.
func memberTensors(st *detectors.State, n nn.AENet) *detectors.State {
	sub := &detectors.State{}
	for _, t := range st.Tensors {
		if len(t.Name) > len(n.Prefix) && t.Name[:len(n.Prefix)] == n.Prefix {
			sub.Tensors = append(sub.Tensors, t)
		}
	}
	return sub
}

// randNetSample returns the sample size of member m of M over n rows.
func randNetSample(m, M, n int) int {
	if M == 1 {
		return n
	}
	s := int(math.Round(float64(n) * math.Pow(2, -float64(M-1-m)/2)))
	return min(n, max(s, 256))
}

// PlannedEpochs implements detectors.EpochPlanner: each member
// trains for the epochs option.
func (randNet) PlannedEpochs(o detectors.Options) int { return o.Int("ensemble") * o.Int("epochs") }

// Drive trains the members one after another, each on its own sample.
func (a randNet) Drive(st *detectors.State, t *detectors.Trainer) error {
	M, x := t.Opts.Int("ensemble"), t.X
	buf := make([]float64, x.Rows*x.Cols)
	for m := 0; m < M; m++ {
		if err := t.Err(); err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(t.Rand.Uint64(), t.Rand.Uint64()))
		rows := randNetSample(m, M, x.Rows)
		idx := rng.Perm(x.Rows)[:rows]
		slices.Sort(idx)
		sub := buf[:rows*x.Cols]
		for r, i := range idx {
			copy(sub[r*x.Cols:(r+1)*x.Cols], x.Row(i))
		}
		n := a.member(m, x.Cols, t.Opts)
		if err := t.Train(randNetMember{n}, memberTensors(st, n), sub, rows, nil, t.Opts, rng); err != nil {
			return fmt.Errorf("randnet member %d: %w", m, err)
		}
	}
	return nil
}

// Finish sets each member's reconstruction error mean and standard
// deviation over the training rows.
func (a randNet) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	errs := make([]float64, x.Rows)
	for m := 0; m < o.Int("ensemble"); m++ {
		n := a.member(m, x.Cols, o)
		s, err := n.Scorer(st)
		if err != nil {
			return err
		}
		s.ScoreRows(x.Data, errs, make([]float64, s.ScratchLen()))
		stats := st.Get(n.Prefix + "stats").Data
		stats[0], stats[1] = detectors.MeanStd(errs)
	}
	return nil
}

// Graph is the objective of the whole ensemble on one mini-batch, the sum
// of the members' reconstruction errors. Drive trains the members
// separately, with randNetMember; this graph has no Scores (the median of
// the standardized errors is left to the plain-Go scorer).
func (a randNet) Graph(b *detectors.Graph) (detectors.Objective, error) {
	var total *gorgonia.Node
	for m := 0; m < b.Opts.Int("ensemble"); m++ {
		obj, err := randNetMember{a.member(m, b.Dims, b.Opts)}.Graph(b)
		if err != nil {
			return detectors.Objective{}, err
		}
		if total == nil {
			total = obj.RowLoss
		} else if total, err = gorgonia.Add(total, obj.RowLoss); err != nil {
			return detectors.Objective{}, err
		}
	}
	return detectors.Objective{RowLoss: total}, nil
}

// randNetMember is the training objective of one member: its mean squared
// reconstruction error.
type randNetMember struct{ net nn.AENet }

func (r randNetMember) Graph(b *detectors.Graph) (detectors.Objective, error) {
	return nn.ReconObjective(r.net, b)
}

func (a randNet) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	s := &randNetScorer{d: d}
	for m := 0; m < o.Int("ensemble"); m++ {
		n := a.member(m, d, o)
		k, err := n.Scorer(st)
		if err != nil {
			return nil, err
		}
		stats, err := st.Lookup(n.Prefix+"stats", 1, 2)
		if err != nil {
			return nil, err
		}
		s.members = append(s.members, k)
		s.mean = append(s.mean, stats.Data[0])
		s.sd = append(s.sd, stats.Data[1])
		s.scratch = max(s.scratch, k.ScratchLen())
	}
	return s, nil
}

// randNetScorer is the median over members of the standardized
// reconstruction errors.
type randNetScorer struct {
	members  []*nn.ReconScorer
	mean, sd []float64
	scratch  int
	d        int
}

func (s *randNetScorer) ScratchLen() int { return s.scratch + len(s.members) + 1 }

func (s *randNetScorer) ScoreRows(x, dst, scratch []float64) {
	M := len(s.members)
	z, one, rest := scratch[:M], scratch[M:M+1], scratch[M+1:]
	d := s.d
	for i := range dst {
		row := x[i*d : (i+1)*d]
		for m, k := range s.members {
			k.ScoreRows(row, one, rest)
			z[m] = (one[0] - s.mean[m]) / s.sd[m]
		}
		slices.Sort(z)
		if M%2 == 1 {
			dst[i] = z[M/2]
		} else {
			dst[i] = (z[M/2-1] + z[M/2]) / 2
		}
	}
}
