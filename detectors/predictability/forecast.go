package predictability

import (
	"math"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// Forecaster is lstm_forecast and gru_forecast: a recurrent network
// reads the `window` rows before a row (ending `horizon` rows before it)
// and predicts the row's standardized features; the row's score is its
// prediction error standardized per feature. This is the predictability
// model of the survey's §5.1.3 in the line of Malhotra et al., "Long Short
// Term Memory Networks for Anomaly Detection in Time Series" (ESANN 2015),
// with the GRU cell of Cho et al. (2014) as the alternative.
//
//   - Network: a stack of recurrent layers (hidden, default one layer of
//     32 units) over the window's steps, each step its standardized
//     features and the pad flag (sequence.go), then a linear layer from
//     the last state to the w encoded features of the predicted row.
//   - Loss: per window, the mean over features of the squared error of the
//     prediction; trained by the shared template on windows, i.e. truncated
//     back-propagation through the window.
//   - Score: mean over features j of (e_j/σ_j)², e_j the prediction error
//     and σ_j the root mean square of feature j's error over the training
//     rows (Finish): errors are standardized on the training residuals, so
//     a feature the network predicts well weighs more per unit of error.
//
// The horizon's rows between the window and the row (horizon > 1) are in
// the row's span but not read.
type Forecaster struct{ Kind nn.CellKind }

func init() {
	detectors.Register("lstm_forecast", Forecaster{Kind: nn.LSTM})
	detectors.Register("gru_forecast", Forecaster{Kind: nn.GRU})
}

// residName is the tensor of the per-feature residual scales σ_j.
const residName = "resid"

// MaxWindow bounds window and horizon: a window is unrolled into the
// training graph step by step.
const MaxWindow = 512

// SequenceOptions are the options of every sequence algorithm here.
func SequenceOptions(window string) []detectors.Option {
	return []detectors.Option{
		detectors.IntOption("window", window, "rows before a row that its prediction reads", 1, MaxWindow),
		detectors.IntOption("horizon", "1", "the row predicted is this many rows after the window's last row", 1, MaxWindow),
	}
}

// Options: window 32, horizon 1 (issue 12); hidden '32' (one recurrent
// layer); 20 epochs.
func (Forecaster) Options() []detectors.Option {
	return append(SequenceOptions("32"),
		detectors.WithDefault("hidden", "32"),
		detectors.WithDefault("epochs", "20"))
}

// Span implements detectors.SequenceAlgorithm: window + horizon − 1.
func (Forecaster) Span(o detectors.Options) int { return o.Int("window") + o.Int("horizon") - 1 }

// KeyOption implements detectors.SequenceAlgorithm: no key.
func (Forecaster) KeyOption() string { return "" }

func (f Forecaster) rnn(w int, o detectors.Options) nn.Recurrent {
	return nn.Recurrent{Prefix: "rnn.", Kind: f.Kind, In: w + 1, Sizes: o.Ints("hidden")}
}

func (f Forecaster) head(w int, o detectors.Options) nn.MLP {
	r := f.rnn(w, o)
	return nn.MLP{Prefix: "out.", Sizes: []int{r.Out(), w}, Bias: true}
}

func (f Forecaster) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	span := f.Span(o)
	w := max(1, s.Dims/(span+1)-1)
	fp := f.rnn(w, o).Footprint(o.Int("window")).Plus(f.head(w, o).Footprint())
	fp.Params += int64(w)
	fp.RowValues += int64(o.Int("window")+2) * int64(w+1)
	return fp
}

func (f Forecaster) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	f.rnn(d, o).Init(st, rng)
	f.head(d, o).Init(st, rng)
	r := st.Add(residName, 1, d, false)
	for i := range r.Data {
		r.Data[i] = 1
	}
	return st, nil
}

// predict builds the prediction of the row from b.X's window steps and
// returns it with the row's features (both rows × w).
func (f Forecaster) predict(b *detectors.Graph) (pred, target *gorgonia.Node, err error) {
	span := f.Span(b.Opts)
	step := b.Dims / (span + 1)
	w := step - 1
	xs := make([]*gorgonia.Node, b.Opts.Int("window"))
	for s := range xs {
		if xs[s], err = gorgonia.Slice(b.X, nil, gorgonia.S(s*step, (s+1)*step)); err != nil {
			return nil, nil, err
		}
	}
	if target, err = gorgonia.Slice(b.X, nil, gorgonia.S(span*step, span*step+w)); err != nil {
		return nil, nil, err
	}
	h, err := f.rnn(w, b.Opts).Graph(b, xs)
	if err != nil {
		return nil, nil, err
	}
	pred, err = f.head(w, b.Opts).Graph(b, h)
	return pred, target, err
}

func (f Forecaster) Graph(b *detectors.Graph) (detectors.Objective, error) {
	pred, target, err := f.predict(b)
	if err != nil {
		return detectors.Objective{}, err
	}
	loss, err := nn.MeanSquaredError(pred, target)
	if err != nil {
		return detectors.Objective{}, err
	}
	// The score, for the graph-versus-kernel check only (the template
	// computes what the loss needs): the errors over σ_j.
	m := &nn.Must{}
	e := m.N(gorgonia.BroadcastHadamardDiv(m.N(gorgonia.Sub(pred, target)), b.Param(residName), nil, []byte{0}))
	scores := m.N(gorgonia.Mean(m.N(gorgonia.Square(e)), 1))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	return detectors.Objective{RowLoss: loss, Scores: scores}, nil
}

// Finish sets σ_j, the root mean square of feature j's prediction error
// over the training windows x (1 where it is 0 or not finite).
func (f Forecaster) Finish(st *detectors.State, x arrowio.Matrix, o detectors.Options) error {
	w := x.Cols/(f.Span(o)+1) - 1
	r := st.Get(residName)
	for j := range r.Data {
		r.Data[j] = 1
	}
	k, err := f.kernel(st, w, o)
	if err != nil {
		return err
	}
	sum := make([]float64, w)
	e := make([]float64, w)
	s := make([]float64, k.ScratchLen())
	for i := 0; i < x.Rows; i++ {
		k.errors(x.Data[i*x.Cols:(i+1)*x.Cols], e, s)
		for j, v := range e {
			sum[j] += v * v
		}
	}
	for j := range sum {
		v := math.Sqrt(sum[j] / float64(x.Rows))
		if v > 0 && !math.IsInf(v, 0) && !math.IsNaN(v) {
			r.Data[j] = v
		}
	}
	return nil
}

func (f Forecaster) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	return f.kernel(st, d, o)
}

func (f Forecaster) kernel(st *detectors.State, w int, o detectors.Options) (*forecastScorer, error) {
	rk, err := f.rnn(w, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	hk, err := f.head(w, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	r, err := st.Lookup(residName, 1, w)
	if err != nil {
		return nil, err
	}
	return &forecastScorer{rnn: rk, head: hk, resid: r.Data, w: w, window: o.Int("window"), span: f.Span(o)}, nil
}

// forecastScorer is the plain-Go scoring path of a Forecaster.
type forecastScorer struct {
	rnn             *nn.RecurrentKernel
	head            *nn.MLPKernel
	resid           []float64
	w, window, span int
}

func (s *forecastScorer) ScratchLen() int {
	return s.rnn.ScratchLen(s.window) + s.head.ScratchLen() + s.w
}

// errors sets e to the prediction error (prediction − row) of window row x.
func (s *forecastScorer) errors(x, e, scratch []float64) {
	step := s.w + 1
	rs := scratch[:s.rnn.ScratchLen(s.window)]
	hs := scratch[len(rs) : len(rs)+s.head.ScratchLen()]
	h := s.rnn.Forward(x, s.window, step, rs)
	p := s.head.Forward(h, hs)
	t := x[s.span*step : s.span*step+s.w]
	for j := range e {
		e[j] = p[j] - t[j]
	}
}

// ScoreRows implements detectors.Scorer.
func (s *forecastScorer) ScoreRows(x, dst, scratch []float64) {
	width := (s.span + 1) * (s.w + 1)
	e := scratch[len(scratch)-s.w:]
	for i := range dst {
		s.errors(x[i*width:(i+1)*width], e, scratch[:len(scratch)-s.w])
		sum := 0.0
		for j, v := range e {
			z := v / s.resid[j]
			sum += z * z
		}
		dst[i] = sum / float64(s.w)
	}
}
