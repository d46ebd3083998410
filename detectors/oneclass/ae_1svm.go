package oneclass

import (
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"gorgonia.org/gorgonia"
)

// ae1svm is AE-1SVM (Nguyen & Vien, "Scalable and Interpretable One-class
// SVMs with Deep Learning and Random Fourier Features", ECML-PKDD 2018;
// survey §5.2.2): an autoencoder whose code z is mapped by random Fourier
// features into a space where a linear one-class SVM is trained jointly
// with the autoencoder.
//
//   - Autoencoder: tanh hidden layers, linear code and linear
//     reconstruction of the standardized row (the authors' default
//     activation is linear; a tanh code measured worse); hidden '64,16'
//     (the last entry is the code size).
//   - Random Fourier features (Rahimi & Recht 2007) for the RBF kernel
//     exp(−gamma·‖z−z'‖²): φ(z) = sqrt(1/R)·[cos(zΩ), sin(zΩ)] with
//     Ω (code × R, R = rff_dim) drawn once from N(0, 2·gamma) by the seed
//     and stored as a constant of the model, as in the authors' code
//     (which uses cos and sin of the same frequencies, so ‖φ(z)‖ = 1).
//     gamma 'auto' is 1/code size.
//   - Objective (paper Eq. 8), per mini-batch of n rows:
//     alpha·(1/n)Σ‖x−x'‖²/d + ½‖w‖² − ρ + (1/(nu·n))·Σ max(0, ρ − ⟨w, φ(z)⟩),
//     the reconstruction error being the mean squared error per feature
//     as in the authors' code. It is separable over rows, so it is a
//     RowLoss. alpha defaults to 1000 (the authors' synthetic-data
//     setting): the one-class term alone is minimized by collapsing every
//     code onto one point, and the reconstruction term prevents that.
//   - nu defaults to 0.5, the usual one-class SVM default (scikit-learn,
//     PyOD's OCSVM): with the authors' 0.1 the learned boundary rests on
//     few rows and the ranking of the rest is noisy (seed 0, ADBench
//     split: cardio 0.85 → 0.90, satellite 0.52 → 0.61, vowels 0.75 →
//     0.81, optdigits 0.67 → 0.62).
//   - Score: ρ − ⟨w, φ(z)⟩, the negative SVM decision value (higher is
//     more anomalous).
//   - w starts at N(0, 1/(2R)) per coordinate (unit expected norm, the
//     scale of the optimum since ‖φ‖ = 1; the authors draw N(0, 1), whose
//     ½‖w‖² ≈ R dwarfs the other terms for many steps), ρ at 0.
type ae1svm struct{}

func init() { detectors.Register("ae_1svm", ae1svm{}) }

func (ae1svm) Options() []detectors.Option {
	return []detectors.Option{
		detectors.WithDefault("hidden", "64,16"),
		detectors.FractionOption("nu", "0.5", "upper bound on the fraction of training rows outside the one-class boundary"),
		detectors.GammaOption("RBF kernel width exp(-gamma·‖z−z'‖²) approximated by the random Fourier features; 'auto' is 1/code size"),
		detectors.IntOption("rff_dim", "256", "number of random Fourier frequencies (the feature map has 2·rff_dim coordinates)", 1, 65536),
		detectors.FloatOption("alpha", "1000", "weight of the reconstruction error against the one-class SVM objective",
			func(v float64) bool { return v >= 0 }, ">= 0"),
	}
}

type ae1svmNets struct {
	enc, dec nn.MLP
	code, r  int
	gamma    float64
}

func (ae1svm) nets(d int, o detectors.Options) ae1svmNets {
	hidden := o.Ints("hidden")
	enc := nn.MLP{Prefix: "enc.", Sizes: append([]int{d}, hidden...), Bias: true, Hidden: nn.Tanh, Output: nn.Identity}
	code := hidden[len(hidden)-1]
	gamma := o.Gamma(code)
	return ae1svmNets{
		enc:  enc,
		dec:  enc.Mirror("dec."),
		code: code, r: o.Int("rff_dim"), gamma: gamma,
	}
}

// Footprint implements Algorithm: the autoencoder, the frequencies Ω
// (code × rff_dim), w and ρ, and per row the projection and its cosines
// and sines.
func (a ae1svm) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.nets(s.Dims, o)
	f := n.enc.Footprint().Plus(n.dec.Footprint())
	code, r := int64(n.code), int64(n.r)
	f.Params += code*r + 2*r + 1
	f.Trainable += 2*r + 1
	f.RowValues += 3 * r
	return f
}

func (a ae1svm) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	n := a.nets(d, o)
	st := &detectors.State{}
	n.enc.Init(st, rng)
	n.dec.Init(st, rng)
	omega := st.Add("rff.omega", n.code, n.r, false)
	detectors.DrawFourierFrequencies(omega.Data, n.gamma, rng)
	ws := 1 / math.Sqrt(float64(2*n.r))
	for _, name := range []string{"svm.w_cos", "svm.w_sin"} {
		w := st.Add(name, n.r, 1, true)
		for i := range w.Data {
			w.Data[i] = ws * rng.NormFloat64()
		}
	}
	st.Add("svm.rho", 1, 1, true)
	return st, nil
}

func (a ae1svm) Graph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	var m nn.Must
	z := m.N(n.enc.Graph(b, b.X))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	xr := m.N(n.dec.Graph(b, z))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	alpha, nu := b.Opts.Float("alpha"), b.Opts.Float("nu")
	rec := m.N(nn.Chain(m.N(gorgonia.Sub(b.X, xr)), gorgonia.Square, nn.Sum1, nn.MulC(alpha/float64(b.Dims))))
	proj := m.N(detectors.MatMul(z, b.Param("rff.omega")))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	wc, ws, rho := b.Param("svm.w_cos"), b.Param("svm.w_sin"), b.Param("svm.rho")
	fc := m.N(detectors.MatMul(m.N(gorgonia.Cos(proj)), wc))
	fs := m.N(detectors.MatMul(m.N(gorgonia.Sin(proj)), ws))
	f := m.N(nn.Chain(m.N(gorgonia.Add(fc, fs)), nn.MulC(1/math.Sqrt(float64(n.r)))))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	margin := m.N(nn.Chain(m.N(gorgonia.BroadcastSub(rho, f, []byte{0}, nil)), nn.Sum1)) // ρ − ⟨w, φ(z)⟩
	hinge := m.N(nn.Chain(margin, gorgonia.Rectify, nn.MulC(1/nu)))
	reg := m.N(gorgonia.Add(m.N(nn.Chain(wc, gorgonia.Square, func(v *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(v) })),
		m.N(nn.Chain(ws, gorgonia.Square, func(v *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(v) }))))
	reg = m.N(gorgonia.Sub(m.N(gorgonia.Mul(reg, gorgonia.NewConstant(0.5))), m.N(gorgonia.Sum(rho))))
	loss := m.N(gorgonia.Add(m.N(gorgonia.Add(rec, hinge)), reg))
	if m.Err != nil {
		return detectors.Objective{}, m.Err
	}
	return detectors.Objective{RowLoss: loss, Scores: margin}, nil
}

func (a ae1svm) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := a.nets(d, o)
	enc, err := n.enc.Kernel(st)
	if err != nil {
		return nil, err
	}
	if _, err := n.dec.Kernel(st); err != nil {
		return nil, err
	}
	omega, err := st.Lookup("rff.omega", n.code, n.r)
	if err != nil {
		return nil, err
	}
	wc, err := st.Lookup("svm.w_cos", n.r, 1)
	if err != nil {
		return nil, err
	}
	ws, err := st.Lookup("svm.w_sin", n.r, 1)
	if err != nil {
		return nil, err
	}
	rho, err := st.Lookup("svm.rho", 1, 1)
	if err != nil {
		return nil, err
	}
	return &ae1svmScorer{enc: enc, omega: omega.Data, wc: wc.Data, ws: ws.Data, rho: rho.Data[0],
		scale: 1 / math.Sqrt(float64(n.r)), r: n.r, d: d}, nil
}

// ae1svmScorer scores a row by ρ − ⟨w, φ(enc(x))⟩.
type ae1svmScorer struct {
	enc        *nn.MLPKernel
	omega      []float64
	wc, ws     []float64
	rho, scale float64
	r, d       int
}

// ScratchLen implements Scorer: encoder scratch, then the projection.
func (s *ae1svmScorer) ScratchLen() int { return s.enc.ScratchLen() + s.r }

// ScoreRows implements Scorer.
func (s *ae1svmScorer) ScoreRows(x, dst, scratch []float64) {
	net := s.enc.ScratchLen()
	proj := scratch[net : net+s.r]
	for i := range dst {
		z := s.enc.Forward(x[i*s.d:(i+1)*s.d], scratch[:net])
		clear(proj)
		kernel.VecMatAdd(proj, z, s.omega)
		var fc, fs float64
		for j, p := range proj {
			fc += math.Cos(p) * s.wc[j]
			fs += math.Sin(p) * s.ws[j]
		}
		dst[i] = s.rho - (fc+fs)*s.scale
	}
}
