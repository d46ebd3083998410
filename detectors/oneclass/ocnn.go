package oneclass

import (
	"fmt"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"
	"strings"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// ocnn is the One-Class Neural Network (Chalapathy, Menon and Chawla,
// "Anomaly Detection using One-Class Neural Networks", 2018; survey
// §5.2.2): the one-class SVM objective with the kernel feature map
// replaced by a trained hidden layer. With ŷ(x) = ⟨w, ĝ(x)⟩ it minimizes
// (paper Eq. 3)
//
//	½‖w‖² + ½‖V‖² + (1/nu)·mean(max(0, r − ŷ(x))) − r
//
// over w and the layer V by Adam with r fixed, and after every epoch sets
// r to the nu-quantile of ŷ over the training rows (the paper's
// alternating minimization, Eq. 5 and Algorithm 1; the authors' code does
// the same with np.percentile). The score is r − ŷ(x): positive outside
// the learned region, higher is more anomalous (the authors' decision
// value is ŷ − r, anomalous when negative).
//
// The paper derives OC-NN from the OC-SVM, whose decision function
// ⟨w, ϕ(x)⟩ with the RBF kernel's feature map ϕ is local: it decays away
// from the training rows, which is what makes low values anomalous. A
// hidden layer g(Vx) with the paper's sigmoid (or linear) g is not local:
// a row far from the data can get a large ŷ, and with small weights (the
// authors' code draws them with standard deviation 10⁻⁵) the sigmoid is
// in its linear range, so ŷ is nearly a linear function of x, which cannot
// enclose the data. So the layer here is the RBF feature map that the
// OC-NN replaces, made trainable:
//
//   - g(Vx + b) with g = cos, one hidden layer of `hidden` units (default
//     256), V drawn from N(0, 2·gamma) and b from U[0, 2π): the random
//     Fourier features of the RBF kernel exp(−gamma·‖x−x'‖²) (Rahimi &
//     Recht 2007), so training starts from the OC-SVM it generalizes, and
//     V (the kernel's frequencies) and b are then learned. gamma 'auto'
//     is 1/d for the d standardized inputs (scikit-learn's 'scale').
//   - ĝ = g/‖g‖: every row on the unit sphere, as ϕ(x) under the RBF
//     kernel (k(x, x) = 1).
//   - w starts at the mean of ĝ over the training rows: the OC-SVM's
//     solution for nu = 1 (w = Σαᵢϕ(xᵢ) with every αᵢ = 1/n), so the
//     initial ŷ is a kernel density estimate. r starts as its
//     nu-quantile (Prepare).
//   - nu defaults to 0.5, the one-class SVM's usual default (scikit-learn,
//     PyOD's OCSVM; the authors' code uses 0.04): a small nu makes the
//     hinge lift the lowest rows of contaminated training data, which are
//     the anomalies, into the accepted region.
//   - lr defaults to 10⁻⁴, the authors' learning rate (with plain
//     gradient descent there). At Adam's usual 10⁻³ the frequencies drift
//     far enough in 50 epochs to lift clusters of training anomalies into
//     the accepted region.
//
// The paper's deep variant puts an autoencoder-pretrained encoder in
// front of the layer: pretrain_epochs > 0 pretrains a bias-free leaky-ReLU
// encoder (widths encoder, default '64,32') with its mirror decoder on
// the mean squared reconstruction error, then freezes it and trains the
// OC-NN on its code (gamma 'auto' is then 1/code size). Off by default.
//
// Measured (ADBench protocol, the 14 benchmark datasets, mean AUC-ROC;
// `go run ./cmd/adbench -detectors ocnn`, docs/accuracy/ocnn.json). This
// model with its defaults: 0.746 over seeds 0, 1, 2 (0.749, 0.749,
// 0.740; weakest on optdigits, 0.36 (0.17–0.46 by seed), and campaign,
// 0.48 (0.44–0.55)). The paper's model, sigmoid g without normalization:
// 0.50, the ranking changing sign with the seed; with ĝ normalized 0.668
// (the previous default here); tanh or linear g worse. Variants of this
// model on seed 0, with a draw order of an earlier build (its defaults
// scored 0.755 there): the untrained initial model (a kernel density
// estimate) 0.781; V frozen, i.e. a linear OC-SVM on random Fourier
// features, 0.775; without the ½‖V‖² term 0.729; 64 units 0.736; lr
// 10⁻³ 0.677, and with nu 0.1 as well 0.594. Training the layer, which is
// what makes it an OC-NN, costs 0.01–0.03 here against the fixed kernel.
// smtp (95k rows) trains in 41 s (adbench, seed 0), shuttle in 29.5 s
// (make bench).
type ocnn struct{}

// ocnnNormEps keeps the feature norm away from zero.
const ocnnNormEps = 1e-12

func init() { detectors.Register("ocnn", ocnn{}) }

func (ocnn) Options() []detectors.Option {
	return []detectors.Option{
		detectors.WithDefault("hidden", "256"),
		detectors.WithDefault("lr", "0.0001"),
		detectors.FractionOption("nu", "0.5", "upper bound on the fraction of training rows outside the learned region"),
		detectors.GammaOption("RBF kernel width exp(-gamma·‖x−x'‖²) of the hidden layer's initial random Fourier features; 'auto' is 1/input width"),
		detectors.IntOption("pretrain_epochs", "0", "epochs of autoencoder pretraining of an encoder in front of the OC-NN (0 = no encoder)", 0, detectors.MaxEpochs),
		detectors.IntListOption("encoder", "64,32", "layer widths of the pretrained encoder (with pretrain_epochs > 0)"),
	}
}

// CheckOptions rejects more than one hidden layer (the OC-NN has one) and
// encoder without pretraining, where it has no meaning.
func (ocnn) CheckOptions(o detectors.Options, given func(string) bool) error {
	if len(o.Ints("hidden")) != 1 {
		return fmt.Errorf("%w: hidden: the OC-NN has one hidden layer; give one width (use encoder with pretrain_epochs for a deeper network)", detectors.ErrBadOption)
	}
	if given("encoder") && o.Int("pretrain_epochs") == 0 {
		return fmt.Errorf("%w: encoder applies only with pretrain_epochs > 0", detectors.ErrUnknownOption)
	}
	return nil
}

// pretrained reports whether the model has an autoencoder-pretrained
// encoder in front of the OC-NN layer.
func (ocnn) pretrained(o detectors.Options) bool { return o.Int("pretrain_epochs") > 0 }

// encoder is the pretrained encoder (bias-free, leaky ReLU, linear code)
// and decoder its mirror, as for Deep SVDD's pretraining.
func (ocnn) encoder(d int, o detectors.Options) nn.MLP {
	return nn.MLP{Prefix: "ae.", Sizes: append([]int{d}, o.Ints("encoder")...), Hidden: nn.LeakyReLU, Output: nn.Identity}
}

func (a ocnn) decoder(d int, o detectors.Options) nn.MLP {
	return a.encoder(d, o).Mirror(detectors.PretrainOnly)
}

// net is the OC-NN layer g(Vx + b), g = cos, over the input rows or the
// encoder's code.
func (a ocnn) net(d int, o detectors.Options) nn.MLP {
	in := d
	if a.pretrained(o) {
		in = o.Ints("encoder")[len(o.Ints("encoder"))-1]
	}
	return nn.MLP{Prefix: "enc.", Sizes: []int{in, o.Ints("hidden")[0]}, Bias: true, Output: nn.Cos}
}

// PretrainEpochs implements Pretrainer.
func (a ocnn) PretrainEpochs(o detectors.Options) int { return o.Int("pretrain_epochs") }

// PretrainGraph is the autoencoder's mean squared reconstruction error.
func (a ocnn) PretrainGraph(b *detectors.Graph) (detectors.Objective, error) {
	return nn.AutoencoderGraph(b, a.encoder(b.Dims, b.Opts), a.decoder(b.Dims, b.Opts))
}

// Footprint implements Algorithm: the pretrained autoencoder if any, the
// layer, w and r, and ŷ over the training rows (for r).
func (a ocnn) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	var f detectors.Footprint
	if a.pretrained(o) {
		f = a.encoder(s.Dims, o).Footprint().Plus(a.decoder(s.Dims, o).Footprint())
	}
	net := a.net(s.Dims, o)
	g := net.Footprint()
	h := int64(net.Sizes[1])
	g.Params += h + 1
	g.Trainable += h
	g.RowValues += 2 * h
	f = f.Plus(g)
	f.Extra += int64(s.Rows)
	return f
}

// Init draws the layer as random Fourier features; w and r are set from
// the data in Prepare.
func (a ocnn) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	if a.pretrained(o) {
		a.encoder(d, o).Init(st, rng)
		a.decoder(d, o).Init(st, rng)
	}
	net := a.net(d, o)
	in, h := net.Sizes[0], net.Sizes[1]
	detectors.DrawFourierFrequencies(st.Add(net.WeightName(0), in, h, true).Data, o.Gamma(in), rng)
	for i, b := 0, st.Add(net.BiasName(0), 1, h, true); i < h; i++ {
		b.Data[i] = 2 * math.Pi * rng.Float64()
	}
	st.Add("w", h, 1, true)
	st.Add("r", 1, 1, false)
	return st, nil
}

// Prepare freezes the pretrained encoder, if any, sets w to the mean ĝ over the rows of x (the kernel mean) and r to the
// nu-quantile of the resulting ŷ.
func (a ocnn) Prepare(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	for _, t := range st.Tensors {
		if strings.HasPrefix(t.Name, "ae.") {
			t.Trainable = false
		}
	}
	s, err := a.scorer(st, x.Cols, o)
	if err != nil {
		return err
	}
	w := st.Get("w").Data
	scratch := make([]float64, s.ScratchLen())
	for i := 0; i < x.Rows; i++ {
		for j, v := range s.features(x.Row(i), scratch) {
			w[j] += v
		}
	}
	for j := range w {
		w[j] /= float64(x.Rows)
	}
	return a.setR(st, x, o)
}

// EndEpoch is the r-step of the alternating minimization.
func (a ocnn) EndEpoch(st *detectors.State, x arrowio.Matrix, _ []float64, _, _ int, o detectors.Options) error {
	return a.setR(st, x, o)
}

// setR sets r to the nu-quantile of ŷ over the rows of x.
func (a ocnn) setR(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	s, err := a.scorer(st, x.Cols, o)
	if err != nil {
		return err
	}
	y := make([]float64, x.Rows)
	scratch := make([]float64, s.ScratchLen())
	for i := range y {
		y[i] = s.output(x.Row(i), scratch)
	}
	st.Get("r").Data[0] = detectors.Quantile(y, o.Float("nu"))
	return nil
}

func (a ocnn) Graph(b *detectors.Graph) (detectors.Objective, error) {
	net := a.net(b.Dims, b.Opts)
	in := b.X
	if a.pretrained(b.Opts) {
		var err error
		if in, err = a.encoder(b.Dims, b.Opts).Graph(b, b.X); err != nil {
			return detectors.Objective{}, err
		}
	}
	h, err := net.Graph(b, in)
	if err != nil {
		return detectors.Objective{}, err
	}
	// ĝ = g/‖g‖, every row on the unit sphere.
	ss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(h)), 1))
	ss = gorgonia.Must(gorgonia.Add(ss, gorgonia.NewConstant(ocnnNormEps)))
	norm := gorgonia.Must(gorgonia.Reshape(gorgonia.Must(gorgonia.Sqrt(ss)), []int{b.Rows, 1}))
	h = gorgonia.Must(gorgonia.BroadcastHadamardDiv(h, norm, nil, []byte{1}))
	yhat, err := detectors.MatMul(h, b.Param("w"))
	if err != nil {
		return detectors.Objective{}, err
	}
	yhat = gorgonia.Must(gorgonia.Reshape(yhat, []int{b.Rows}))
	r := gorgonia.Must(gorgonia.Reshape(b.Param("r"), []int{1}))
	margin := gorgonia.Must(gorgonia.BroadcastSub(r, yhat, []byte{0}, nil))
	hinge := gorgonia.Must(gorgonia.Mul(gorgonia.Must(gorgonia.Rectify(margin)), gorgonia.NewConstant(1/b.Opts.Float("nu"))))
	// Every row also gets ½‖w‖² + ½‖V‖² − r, so the mean of the row
	// losses is the objective.
	loss := gorgonia.Must(gorgonia.BroadcastSub(hinge, r, nil, []byte{0}))
	half := gorgonia.NewConstant(math.Sqrt(0.5))
	for _, p := range []string{"w", net.WeightName(0)} {
		sq := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(gorgonia.Must(gorgonia.Mul(b.Param(p), half))))))
		loss = gorgonia.Must(gorgonia.Add(loss, sq))
	}
	return detectors.Objective{RowLoss: loss, Scores: margin}, nil
}

func (a ocnn) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	return a.scorer(st, d, o)
}

func (a ocnn) scorer(st *detectors.State, d int, o detectors.Options) (*ocnnScorer, error) {
	k, err := a.net(d, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	w, err := st.Lookup("w", k.OutLen(), 1)
	if err != nil {
		return nil, err
	}
	r, err := st.Lookup("r", 1, 1)
	if err != nil {
		return nil, err
	}
	sc := &ocnnScorer{net: k, w: w.Data, r: r.Data[0], d: d}
	if a.pretrained(o) {
		if sc.pre, err = a.encoder(d, o).Kernel(st); err != nil {
			return nil, err
		}
	}
	return sc, nil
}

// ocnnScorer scores a row by r − ⟨w, ĝ(x)⟩, sums taken in index order.
type ocnnScorer struct {
	pre *nn.MLPKernel // the pretrained encoder, or nil
	net *nn.MLPKernel
	w   []float64
	r   float64
	d   int
}

func (s *ocnnScorer) ScratchLen() int {
	n := s.net.ScratchLen()
	if s.pre != nil {
		n += s.pre.ScratchLen()
	}
	return n
}

// features returns ĝ(x) as a slice of scratch.
func (s *ocnnScorer) features(x, scratch []float64) []float64 {
	if s.pre != nil {
		k := s.pre.ScratchLen()
		x, scratch = s.pre.Forward(x, scratch[:k]), scratch[k:]
	}
	h := s.net.Forward(x, scratch)
	ss := 0.0
	for _, v := range h {
		ss += float64(v * v) // no fused multiply-add: same bits on every build
	}
	norm := math.Sqrt(ss + ocnnNormEps)
	for j, v := range h {
		h[j] = v / norm
	}
	return h
}

// output is ŷ(x) = ⟨w, ĝ(x)⟩.
func (s *ocnnScorer) output(x, scratch []float64) float64 {
	y := 0.0
	for j, v := range s.features(x, scratch) {
		y += float64(v * s.w[j])
	}
	return y
}

func (s *ocnnScorer) ScoreRows(x, dst, scratch []float64) {
	d := s.d
	for i := range dst {
		dst[i] = s.r - s.output(x[i*d:(i+1)*d], scratch)
	}
}
