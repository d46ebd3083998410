package predictability

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"gorgonia.org/gorgonia"
)

// DeepLog is the log-key anomaly detection model of Du, Li, Zheng and
// Srikumar, "DeepLog: Anomaly Detection and Diagnosis from System Logs
// through Deep Learning" (CCS 2017): an LSTM reads the keys of the
// `window` steps before a step (h = 10 in the paper) and outputs a
// probability for every key; the step is anomalous if its key is not
// among the top_g (g = 9) most probable, and a session is anomalous if
// any of its steps is (Model.AnomalousSequence). Its score is the key's
// negative log-probability.
//
//   - Input: the key column named by the option key, the only feature,
//     encoded as categorical whatever its type (one-hot over the
//     max_categories most frequent training keys, "other" and "unseen";
//     encoding.go). A step of the window is its standardized one-hot and
//     the pad flag (sequence.go); the network's input layer absorbs the
//     standardization, which is an affine map of the one-hot.
//   - Network: the paper's two LSTM layers of 64 units (hidden '64,64'),
//     then a linear layer to one logit per one-hot position, trained with
//     the softmax cross-entropy of the step's key (the position whose
//     standardized value is positive: a one-hot position standardized by
//     its training frequency p is (1−p)/σ > 0 when hot, −p/σ ≤ 0 when cold).
//   - A key never seen in training (the "unseen" position) is always
//     anomalous, as in the paper, whose output layer has no such key.
//   - The end of a session is predicted as one more output (an
//     end-of-session symbol; not in the paper, whose reference
//     implementation pads sessions shorter than a window with a key that
//     is never predicted, which flags them): a session is also anomalous
//     if its end is not among the end_top_g most probable outputs after
//     its last key (Model.AnomalousSequence). Whether a session ends is
//     one event against its continuing, not one key among many: with
//     the paper's g (9 of the 15 or so outputs of its HDFS keys) an end
//     is accepted after almost any prefix, since after a prefix the
//     probability is on a few keys and the end ranks at random among
//     the unlikely rest. The default 2 accepts an end only where it is
//     the most probable outcome or the second to the most probable key.
type DeepLog struct{}

func init() { detectors.Register("deeplog", DeepLog{}) }

// MaxTopG bounds top_g.
const MaxTopG = detectors.MaxMaxCategories + 2

// Options: the paper's h = 10, g = 9, two LSTM layers of 64 units; key,
// required, names the key column.
func (DeepLog) Options() []detectors.Option {
	return append(SequenceOptions("10"),
		detectors.IntOption("top_g", "9", "a step is anomalous if its key is not among this many most probable keys", 1, MaxTopG),
		detectors.IntOption("end_top_g", "2", "a session is anomalous if its end is not among this many most probable outputs after its last key (0: top_g)", 0, MaxTopG),
		detectors.Option{Name: "key", Default: "", Usage: "the key column (e.g. log template id): required, the only feature", Check: func(raw string) (string, error) {
			if strings.TrimSpace(raw) == "" {
				return "", fmt.Errorf("want a column name")
			}
			return strings.TrimSpace(raw), nil
		}},
		detectors.WithDefault("hidden", "64,64"),
		detectors.WithDefault("epochs", "10"))
}

// LaterOptions implements detectors.OptionHistory: a model saved before
// end_top_g existed judged the end with top_g, as 0 does.
func (DeepLog) LaterOptions() map[string]string { return map[string]string{"end_top_g": "0"} }

// Span implements detectors.SequenceAlgorithm: window + horizon − 1.
func (DeepLog) Span(o detectors.Options) int { return o.Int("window") + o.Int("horizon") - 1 }

// KeyOption implements detectors.SequenceAlgorithm.
func (DeepLog) KeyOption() string { return "key" }

func (DeepLog) rnn(w int, o detectors.Options) nn.Recurrent {
	return nn.Recurrent{Prefix: "lstm.", Kind: nn.LSTM, In: w + 1, Sizes: o.Ints("hidden")}
}

// head maps the last state to w+1 logits: one per one-hot position of
// the key, then the end of the session.
func (a DeepLog) head(w int, o detectors.Options) nn.MLP {
	return nn.MLP{Prefix: "out.", Sizes: []int{a.rnn(w, o).Out(), w + 1}, Bias: true}
}

// PredictsEnd implements detectors.SessionEnder: the end of a session is
// predicted like a key (the end-of-sequence symbol of sequence models;
// the reference implementation's padding key has the same effect on
// sessions shorter than a window), so a session that stops where the
// model expects more keys is anomalous.
func (DeepLog) PredictsEnd() bool { return true }

func (a DeepLog) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	w := max(1, s.Dims/(a.Span(o)+1)-1)
	fp := a.rnn(w, o).Footprint(o.Int("window")).Plus(a.head(w, o).Footprint())
	fp.RowValues += int64(o.Int("window")+4) * int64(w+1)
	return fp
}

func (a DeepLog) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	a.rnn(d, o).Init(st, rng)
	a.head(d, o).Init(st, rng)
	return st, nil
}

func (a DeepLog) Graph(b *detectors.Graph) (detectors.Objective, error) {
	span := a.Span(b.Opts)
	step := b.Dims / (span + 1)
	w := step - 1
	xs := make([]*gorgonia.Node, b.Opts.Int("window"))
	var err error
	for s := range xs {
		if xs[s], err = gorgonia.Slice(b.X, nil, gorgonia.S(s*step, (s+1)*step)); err != nil {
			return detectors.Objective{}, err
		}
	}
	h, err := a.rnn(w, b.Opts).Graph(b, xs)
	if err != nil {
		return detectors.Objective{}, err
	}
	logits, err := a.head(w, b.Opts).Graph(b, h)
	if err != nil {
		return detectors.Objective{}, err
	}
	m := &nn.Must{}
	// The row's one-hot and its pad flag, which is 1 for the end window.
	target := m.N(gorgonia.Slice(b.X, nil, gorgonia.S(span*step, span*step+w+1)))
	y := m.N(gorgonia.Gt(target, gorgonia.NewConstant(0.0), true))
	picked := m.N(gorgonia.Sum(m.N(gorgonia.HadamardProd(y, logits)), 1))
	loss := m.N(gorgonia.Sub(m.N(detectors.RowLogSumExp(logits)), picked))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	return detectors.Objective{RowLoss: loss, Scores: loss}, nil
}

func (a DeepLog) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	rk, err := a.rnn(d, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	hk, err := a.head(d, o).Kernel(st)
	if err != nil {
		return nil, err
	}
	endG := o.Int("end_top_g")
	if endG == 0 {
		endG = o.Int("top_g")
	}
	return &deeplogScorer{rnn: rk, head: hk, w: d, window: o.Int("window"), span: a.Span(o), g: o.Int("top_g"), endG: endG}, nil
}

// deeplogScorer is DeepLog's plain-Go scoring path; it is also a
// detectors.StepJudge (the top-g rule).
type deeplogScorer struct {
	rnn                *nn.RecurrentKernel
	head               *nn.MLPKernel
	w, window, span, g int
	endG               int // the g of the end window
}

func (s *deeplogScorer) ScratchLen() int { return s.rnn.ScratchLen(s.window) + s.head.ScratchLen() }

// logits returns the logits of window row x and the index of its key.
func (s *deeplogScorer) logits(x, scratch []float64) ([]float64, int) {
	step := s.w + 1
	rs := scratch[:s.rnn.ScratchLen(s.window)]
	h := s.rnn.Forward(x, s.window, step, rs)
	l := s.head.Forward(h, scratch[len(rs):])
	t := x[s.span*step : s.span*step+s.w+1]
	if t[s.w] > 0 { // the end window: the end's logit
		return l, s.w
	}
	key := 0
	for j, v := range t[:s.w] {
		if v > t[key] {
			key = j
		}
	}
	return l, key
}

// ScoreRows implements detectors.Scorer: −log p(key) under the softmax.
func (s *deeplogScorer) ScoreRows(x, dst, scratch []float64) {
	width := (s.span + 1) * (s.w + 1)
	for i := range dst {
		l, key := s.logits(x[i*width:(i+1)*width], scratch)
		dst[i] = detectors.LogSumExp(l) - l[key]
	}
}

// JudgeRows implements detectors.StepJudge: the key is the "unseen"
// position (the last), or more than top_g − 1 keys are more probable
// (end_top_g − 1 outputs for the end window).
func (s *deeplogScorer) JudgeRows(x []float64, dst []bool, scratch []float64) {
	width := (s.span + 1) * (s.w + 1)
	for i := range dst {
		l, key := s.logits(x[i*width:(i+1)*width], scratch)
		above := 0
		for _, v := range l {
			if v > l[key] {
				above++
			}
		}
		g := s.g
		if key == s.w {
			g = s.endG
		}
		dst[i] = key == s.w-1 || above >= g
	}
}
