package distance

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors/internal/lesinn"
	"gorgonia.org/gorgonia"
)

// repen is REPEN (Pang, Cao, Chen, Liu, "Learning Representations of
// Ultrahigh-dimensional Data for Random Distance-based Outlier
// Detection", KDD 2018), a ranking-based detector (survey §5.2.1):
//
//  1. Pseudo-labels: LeSiNN (Pang, Ting, Albrecht, ICDMW 2015; the mean
//     over ensemble_size random subsamples of subsample rows of the
//     distance to the nearest subsample member) scores the standardized
//     training rows; rows above Cantelli's cut-off mean + √3·std (at most
//     a 25% false-alarm rate for any distribution) are outlier candidates,
//     the others inliers. If no score exceeds it, the ten top-scored rows
//     are the candidates (as in the reference code, utilities.cutoff_unsorted).
//  2. Labels (optional): with rows labelled 1, they are the negatives
//     (drawn uniformly) in place of the pseudo-outliers, which are still
//     kept out of the inliers; rows labelled 0 are always inliers. (ADBench
//     runs REPEN this way with labelled anomalies; on the 14 benchmark sets
//     it beat mixing pseudo-outliers into the negatives, 0.883 vs 0.869
//     mean AUC-ROC with 10% of the anomalies labelled.)
//  3. φ is one dense ReLU layer of rep_dim units (hidden adds layers before
//     it), trained on triplets (anchor inlier, positive inlier, negative
//     outlier) with the hinge max(0, margin + ‖φ(a)−φ(p)‖² − ‖φ(a)−φ(n)‖²)
//     (squared distances, as in the reference code). Anchors are drawn
//     with probability ∝ Σs − s(x) (less outlying inliers more often),
//     positives uniformly among the inliers, pseudo-outlier negatives
//     ∝ s(x), where s is the LeSiNN score (the paper's sampling scheme).
//     The margin stays the paper's 1000: on standardized data the hinge is
//     then almost always active, i.e. the loss keeps pushing outliers away
//     from inliers; margins 10 and 100 gave slightly lower mean AUC-ROC
//     on the benchmark sets (0.857, 0.866 vs 0.869, one seed).
//  4. Score: LeSiNN in the learned space: the mean over ensemble_size
//     subsamples of training rows (drawn from the seed and stored as their
//     representations) of the Euclidean distance to the nearest member.
//
// A mini-batch is batch_size triplets, rows 3k, 3k+1, 3k+2 being the
// anchor, positive and negative of triplet k (see BatchSampler); an epoch
// is steps mini-batches (default: rows/batch_size, at least 50; the paper
// uses rows/batch_size, ADBench 50), 30 epochs as in the paper. Adam (the
// shared template) replaces the paper's Adadelta.
type repen struct{}

func init() { detectors.Register("repen", repen{}) }

// Labels implements LabelUser: labelled anomalies and normals refine the
// pseudo-labels, but REPEN also trains without any.
func (repen) Labels() detectors.LabelUse { return detectors.LabelsOptional }

// cantelliK is the cut-off in standard deviations above the mean of the
// pseudo-labelling scores: by Cantelli's inequality at most 1/(1+k²) = 25%
// of any distribution lies above it (the reference code's 1.7321).
const cantelliK = 1.7320508075688772

// repenMinOutliers is the number of top-scored rows taken as outlier
// candidates when no score is above the cut-off.
const repenMinOutliers = 10

// CheckOptions implements OptionChecker: held-out validation would score
// plain rows with the triplet objective, which has no meaning.
func (repen) CheckOptions(o detectors.Options, given func(string) bool) error {
	if o.Float("validation") > 0 {
		return fmt.Errorf("%w: validation is not supported by repen (its mini-batches are sampled triplets)", detectors.ErrBadOption)
	}
	return nil
}

func (repen) Options() []detectors.Option {
	return []detectors.Option{
		detectors.IntOption("rep_dim", "20", "dimension of the learned representation", 1, detectors.MaxLayerWidth),
		detectors.FloatOption("margin", "1000", "triplet hinge margin on squared representation distances", func(v float64) bool { return v > 0 }, "> 0"),
		detectors.IntOption("ensemble_size", "50", "LeSiNN subsamples (pseudo-labelling and scoring)", 1, 1000),
		detectors.IntOption("subsample", "8", "rows per LeSiNN subsample", 1, 1000),
		detectors.IntOption("steps", "0", "mini-batches per epoch (0: training rows / batch_size, at least 50)", 0, 1000000),
		detectors.WithDefault("batch_size", "256"),
		detectors.WithDefault("epochs", "30"),
		detectors.LayerListOption("hidden", "", "widths of hidden layers before the representation layer (empty: none, as in the paper)"),
	}
}

func (repen) net(d int, o detectors.Options) nn.MLP {
	sizes := append([]int{d}, detectors.LayerList(o, "hidden")...)
	sizes = append(sizes, o.Int("rep_dim"))
	return nn.MLP{Prefix: "phi.", Sizes: sizes, Bias: true, Hidden: nn.ReLU, Output: nn.ReLU}
}

// Footprint implements Algorithm: the network, the stored LeSiNN
// subsamples (ensemble_size·subsample × rep_dim), mini-batches of three
// rows per triplet, the triplet difference matrix and the LeSiNN scores
// and sampling weights of the training rows.
func (a repen) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	f := a.net(s.Dims, o).Footprint()
	m := int64(o.Int("rep_dim"))
	f.Params += int64(o.Int("ensemble_size")) * int64(o.Int("subsample")) * m
	f.RowValues = 3*f.RowValues + 2*int64(s.Dims)
	f.Extra += 6*m*m + 3*int64(s.Rows)
	return f
}

func (a repen) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	net := a.net(d, o)
	net.Init(st, rng)
	st.Add("lesinn", o.Int("ensemble_size")*o.Int("subsample"), o.Int("rep_dim"), false)
	return st, nil
}

// NewBatches implements BatchSampler: pseudo-labels and triplet sampling.
func (a repen) NewBatches(st *detectors.State, x arrowio.Matrix, labels []float64, o detectors.Options, rng *rand.Rand) (detectors.Batches, error) {
	n := x.Rows
	score := lesinn.Scores(x, o.Int("ensemble_size"), o.Int("subsample"), rng)
	labelled := make([]int8, n) // -1 unknown, 0 normal, 1 anomaly
	var known []int
	for i := range labelled {
		labelled[i] = -1
		if labels != nil && !math.IsNaN(labels[i]) {
			labelled[i] = int8(labels[i])
			if labels[i] == 1 {
				known = append(known, i)
			}
		}
	}
	pseudo := pseudoOutliers(score, labelled)
	isOut := make([]bool, n)
	for _, i := range known {
		isOut[i] = true
	}
	for _, i := range pseudo {
		isOut[i] = true
	}
	var inliers []int
	for i := range n {
		if !isOut[i] {
			inliers = append(inliers, i)
		}
	}
	if len(known) > 0 {
		pseudo = nil // negatives: the labelled anomalies only
	}
	if len(inliers) == 0 { // degenerate: a row or two
		inliers = []int{0}
	}
	if len(pseudo)+len(known) == 0 {
		pseudo = []int{0}
	}

	total := 0.0
	for _, i := range inliers {
		total += score[i]
	}
	anchorW := make([]float64, len(inliers))
	for k, i := range inliers {
		anchorW[k] = total - score[i]
	}
	anchors := newWeighted(inliers, anchorW)
	var negs *weighted
	if len(known) > 0 {
		negs = newWeighted(known, nil)
	} else {
		w := make([]float64, len(pseudo))
		for k, i := range pseudo {
			w[k] = score[i]
		}
		negs = newWeighted(pseudo, w)
	}

	t := o.Int("batch_size")
	steps := o.Int("steps")
	if steps == 0 {
		steps = max(n/t, 50)
	}
	draw := func(idx []int, rng *rand.Rand) {
		for k := range t {
			anc := anchors.draw(rng)
			pos := inliers[rng.IntN(len(inliers))]
			for tries := 0; pos == anc && len(inliers) > 1 && tries < 100; tries++ {
				pos = inliers[rng.IntN(len(inliers))]
			}
			neg := negs.draw(rng)
			idx[3*k], idx[3*k+1], idx[3*k+2] = anc, pos, neg
		}
	}
	return detectors.Batches{Rows: 3 * t, Steps: steps, Draw: draw}, nil
}

// pseudoOutliers returns the rows not labelled (label -1) whose score is
// above Cantelli's cut-off over those rows, or their repenMinOutliers top
// scorers if none is, in row order.
func pseudoOutliers(score []float64, label []int8) []int {
	var mean, m2 float64
	cnt := 0
	for i, s := range score {
		if label[i] != -1 {
			continue
		}
		cnt++
		d := s - mean
		mean += d / float64(cnt)
		m2 += d * (s - mean)
	}
	if cnt < 2 {
		return nil
	}
	th := mean + cantelliK*math.Sqrt(m2/float64(cnt))
	var out []int
	for i, s := range score {
		if label[i] == -1 && s > th {
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out
	}
	var unl []int
	for i := range score {
		if label[i] == -1 {
			unl = append(unl, i)
		}
	}
	sort.SliceStable(unl, func(p, q int) bool { return score[unl[p]] > score[unl[q]] })
	out = unl[:min(repenMinOutliers, len(unl)-1)]
	sort.Ints(out)
	return out
}

// weighted draws elements of ids with probability proportional to their
// weights (uniformly if the weights are nil or sum to 0).
type weighted struct {
	ids []int
	cum []float64 // cumulative weights, nil for uniform
}

func newWeighted(ids []int, w []float64) *weighted {
	s := &weighted{ids: ids}
	if w == nil {
		return s
	}
	cum := make([]float64, len(w))
	acc := 0.0
	for i, v := range w {
		acc += max(v, 0)
		cum[i] = acc
	}
	if acc > 0 && !math.IsInf(acc, 0) {
		s.cum = cum
	}
	return s
}

func (s *weighted) draw(rng *rand.Rand) int {
	if s.cum == nil {
		return s.ids[rng.IntN(len(s.ids))]
	}
	u := rng.Float64() * s.cum[len(s.cum)-1]
	k := sort.SearchFloat64s(s.cum, u)
	return s.ids[min(k, len(s.ids)-1)]
}

// Finish stores the representations of ensemble_size random subsamples of
// the training rows, drawn from the seed, for LeSiNN scoring.
func (a repen) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	k, err := a.net(x.Cols, o).Kernel(st)
	if err != nil {
		return err
	}
	ens, sub, m := o.Int("ensemble_size"), o.Int("subsample"), o.Int("rep_dim")
	t, err := st.Lookup("lesinn", ens*sub, m)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(uint64(o.Int64("seed")), 0x5e9e7a11e5a11))
	scratch := make([]float64, k.ScratchLen())
	for j, i := range detectors.Subsamples(x.Rows, ens, sub, rng) {
		copy(t.Data[j*m:(j+1)*m], k.Forward(x.Row(i), scratch))
	}
	return nil
}

func (a repen) Graph(b *detectors.Graph) (detectors.Objective, error) {
	t, m := b.Rows/3, b.Opts.Int("rep_dim")
	if t == 0 {
		return detectors.Objective{}, fmt.Errorf("repen: mini-batch of %d rows has no triplet", b.Rows)
	}
	phi, err := a.net(b.Dims, b.Opts).Graph(b, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	if b.Rows != 3*t { // not from the sampler: drop the rows after the last whole triplet
		sel := make([]float64, 3*t*b.Rows)
		for i := range 3 * t {
			sel[i*b.Rows+i] = 1
		}
		if phi, err = detectors.MatMul(detectors.MatrixNode(b.G, "repen.sel", 3*t, b.Rows, sel), phi); err != nil {
			return detectors.Objective{}, err
		}
	}
	// Row k of trip is [φ(anchor_k) φ(positive_k) φ(negative_k)]; times
	// diff it is [φ(a)−φ(p) φ(a)−φ(n)], and the squares of that times sign
	// are ‖φ(a)−φ(p)‖² − ‖φ(a)−φ(n)‖².
	trip, err := gorgonia.Reshape(phi, []int{t, 3 * m})
	if err != nil {
		return detectors.Objective{}, err
	}
	diffW := make([]float64, 3*m*2*m)
	signW := make([]float64, 2*m)
	for j := range m {
		diffW[j*2*m+j], diffW[j*2*m+m+j] = 1, 1
		diffW[(m+j)*2*m+j] = -1
		diffW[(2*m+j)*2*m+m+j] = -1
		signW[j], signW[m+j] = 1, -1
	}
	diffs, err := detectors.MatMul(trip, detectors.MatrixNode(b.G, "repen.diff", 3*m, 2*m, diffW))
	if err != nil {
		return detectors.Objective{}, err
	}
	sq, err := gorgonia.Square(diffs)
	if err != nil {
		return detectors.Objective{}, err
	}
	gap, err := detectors.MatMul(sq, detectors.MatrixNode(b.G, "repen.sign", 2*m, 1, signW))
	if err != nil {
		return detectors.Objective{}, err
	}
	hinge, err := gorgonia.Add(gap, gorgonia.NewConstant(b.Opts.Float("margin")))
	if err != nil {
		return detectors.Objective{}, err
	}
	if hinge, err = gorgonia.Rectify(hinge); err != nil {
		return detectors.Objective{}, err
	}
	loss, err := gorgonia.Mean(hinge)
	if err != nil {
		return detectors.Objective{}, err
	}
	// The score is a nearest-neighbour search over stored
	// representations, not part of the training graph: Scores stays nil.
	return detectors.Objective{Loss: loss}, nil
}

func (a repen) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	k, err := a.net(d, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	ens, sub := o.Int("ensemble_size"), o.Int("subsample")
	t, err := st.Lookup("lesinn", ens*sub, k.OutLen())
	if err != nil {
		return nil, err
	}
	return &lesinnScorer{net: k, members: t.Data, ens: ens, sub: sub, d: d}, nil
}

// lesinnScorer scores a row by LeSiNN in representation space: the mean
// over the ensemble of the Euclidean distance to the nearest member,
// accumulated in ensemble order.
type lesinnScorer struct {
	net      *nn.MLPKernel
	members  []float64 // ens·sub × rep_dim
	ens, sub int
	d        int
}

func (s *lesinnScorer) ScratchLen() int { return s.net.ScratchLen() }

func (s *lesinnScorer) ScoreRows(x, dst, scratch []float64) {
	d := s.d
	for i := range dst {
		dst[i] = lesinn.Score(s.net.Forward(x[i*d:(i+1)*d], scratch), s.members, s.ens, s.sub)
	}
}
