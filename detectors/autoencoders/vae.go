package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"math"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"gorgonia.org/gorgonia"
)

// vae is the variational autoencoder (Kingma & Welling, "Auto-Encoding
// Variational Bayes", ICLR 2014) used as an anomaly detector (survey
// §5.1.1): a Gaussian encoder q(z|x) = N(μ(x), diag σ²(x)), the standard
// normal prior, and a Gaussian decoder with unit variance, trained on the
// negative ELBO of each row,
//
//	½·Σ_j (x_j − x̂_j(z))² + β·KL(q(z|x) ‖ N(0, I)),   z = μ + σ⊙ε,
//
// with ε drawn from the graph's seeded normal input (reparameterization).
//
//   - hidden '64,32' are the encoder's hidden widths (the decoder mirrors
//     them), latent the width of z; leaky ReLU hidden activation, linear μ,
//     log σ² and output layers.
//   - Score: the negative ELBO with z set to the mean code μ(x), i.e. the
//     reconstruction error of the decoded mean plus β times the KL term.
//     It is deterministic (no sampling at scoring time), so a row's score
//     does not depend on when or with what it is scored.
type vae struct{}

func init() { detectors.Register("vae", vae{}) }

func (vae) Options() []detectors.Option {
	return []detectors.Option{
		detectors.IntOption("latent", "8", "width of the latent code z", 1, detectors.MaxLayerWidth),
		detectors.FloatOption("beta", "1", "weight of the KL term (β-VAE; 1 is the ELBO)", func(v float64) bool { return v >= 0 }, ">= 0"),
	}
}

// vaeNets are the four MLPs of the VAE.
type vaeNets struct{ enc, mu, logvar, dec nn.MLP }

func (vae) nets(d int, o detectors.Options) vaeNets {
	hidden, latent := o.Ints("hidden"), o.Int("latent")
	top := hidden[len(hidden)-1]
	dec := []int{latent}
	for i := len(hidden) - 1; i >= 0; i-- {
		dec = append(dec, hidden[i])
	}
	return vaeNets{
		enc:    nn.MLP{Prefix: "vae.enc.", Sizes: append([]int{d}, hidden...), Bias: true, Hidden: nn.AEActivation, Output: nn.AEActivation},
		mu:     nn.MLP{Prefix: "vae.mu.", Sizes: []int{top, latent}, Bias: true, Output: nn.Identity},
		logvar: nn.MLP{Prefix: "vae.logvar.", Sizes: []int{top, latent}, Bias: true, Output: nn.Identity},
		dec:    nn.MLP{Prefix: "vae.dec.", Sizes: append(dec, d), Bias: true, Hidden: nn.AEActivation, Output: nn.Identity},
	}
}

// Footprint implements Algorithm: the four networks and the graph's
// noise, σ, z and KL terms.
func (a vae) Footprint(s detectors.Shape, o detectors.Options) detectors.Footprint {
	n := a.nets(s.Dims, o)
	f := n.enc.Footprint().Plus(n.mu.Footprint()).Plus(n.logvar.Footprint()).Plus(n.dec.Footprint())
	f.RowValues += 6 * int64(o.Int("latent"))
	return f
}

func (a vae) Init(d int, o detectors.Options, rng *rand.Rand) (*detectors.State, error) {
	st := &detectors.State{}
	n := a.nets(d, o)
	for _, m := range []nn.MLP{n.enc, n.mu, n.logvar, n.dec} {
		m.Init(st, rng)
	}
	return st, nil
}

func (a vae) Graph(b *detectors.Graph) (detectors.Objective, error) {
	n := a.nets(b.Dims, b.Opts)
	h, err := n.enc.Graph(b, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	mu, err := n.mu.Graph(b, h)
	if err != nil {
		return detectors.Objective{}, err
	}
	logvar, err := n.logvar.Graph(b, h)
	if err != nil {
		return detectors.Objective{}, err
	}
	// z = μ + exp(½·log σ²)⊙ε
	half, err := gorgonia.Mul(logvar, gorgonia.NewConstant(0.5))
	if err != nil {
		return detectors.Objective{}, err
	}
	sigma, err := gorgonia.Exp(half)
	if err != nil {
		return detectors.Objective{}, err
	}
	noise, err := gorgonia.HadamardProd(sigma, b.Normal(b.Opts.Int("latent")))
	if err != nil {
		return detectors.Objective{}, err
	}
	z, err := gorgonia.Add(mu, noise)
	if err != nil {
		return detectors.Objective{}, err
	}
	out, err := n.dec.Graph(b, z)
	if err != nil {
		return detectors.Objective{}, err
	}
	// ½·Σ_j (x̂_j − x_j)²
	diff, err := gorgonia.Sub(out, b.X)
	if err != nil {
		return detectors.Objective{}, err
	}
	sq, err := gorgonia.Square(diff)
	if err != nil {
		return detectors.Objective{}, err
	}
	rec, err := gorgonia.Sum(sq, 1)
	if err != nil {
		return detectors.Objective{}, err
	}
	if rec, err = gorgonia.Mul(rec, gorgonia.NewConstant(0.5)); err != nil {
		return detectors.Objective{}, err
	}
	// KL = ½·Σ_k (μ_k² + σ_k² − log σ_k² − 1)
	mu2, err := gorgonia.Square(mu)
	if err != nil {
		return detectors.Objective{}, err
	}
	var2, err := gorgonia.Exp(logvar)
	if err != nil {
		return detectors.Objective{}, err
	}
	t, err := gorgonia.Add(mu2, var2)
	if err != nil {
		return detectors.Objective{}, err
	}
	if t, err = gorgonia.Sub(t, logvar); err != nil {
		return detectors.Objective{}, err
	}
	kl, err := gorgonia.Sum(t, 1)
	if err != nil {
		return detectors.Objective{}, err
	}
	latent := float64(b.Opts.Int("latent"))
	if kl, err = gorgonia.Sub(kl, gorgonia.NewConstant(latent)); err != nil {
		return detectors.Objective{}, err
	}
	if kl, err = gorgonia.Mul(kl, gorgonia.NewConstant(0.5*b.Opts.Float("beta"))); err != nil {
		return detectors.Objective{}, err
	}
	loss, err := gorgonia.Add(rec, kl)
	if err != nil {
		return detectors.Objective{}, err
	}
	// With the normal input left at zero (as when checking the graph
	// against the kernel), z = μ and loss is the score.
	return detectors.Objective{RowLoss: loss, Scores: loss}, nil
}

func (a vae) Scorer(st *detectors.State, d int, o detectors.Options) (detectors.Scorer, error) {
	n := a.nets(d, o)
	s := &vaeScorer{d: d, beta: o.Float("beta")}
	var err error
	for _, p := range []struct {
		m nn.MLP
		k **nn.MLPKernel
	}{{n.enc, &s.enc}, {n.mu, &s.mu}, {n.logvar, &s.logvar}, {n.dec, &s.dec}} {
		if *p.k, err = p.m.Kernel(st); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// vaeScorer is the negative ELBO of a row at z = μ(x).
type vaeScorer struct {
	enc, mu, logvar, dec *nn.MLPKernel
	d                    int
	beta                 float64
}

func (s *vaeScorer) ScratchLen() int {
	return s.enc.ScratchLen() + s.mu.ScratchLen() + s.logvar.ScratchLen() + s.dec.ScratchLen()
}

func (s *vaeScorer) ScoreRows(x, dst, scratch []float64) {
	d := s.d
	se, rest := scratch[:s.enc.ScratchLen()], scratch[s.enc.ScratchLen():]
	sm, rest := rest[:s.mu.ScratchLen()], rest[s.mu.ScratchLen():]
	sl, sd := rest[:s.logvar.ScratchLen()], rest[s.logvar.ScratchLen():]
	for i := range dst {
		row := x[i*d : (i+1)*d]
		h := s.enc.Forward(row, se)
		mu := s.mu.Forward(h, sm)
		logvar := s.logvar.Forward(h, sl)
		rec := 0.5 * kernel.SquaredDistance(s.dec.Forward(mu, sd), row)
		kl := 0.0
		for k, m := range mu {
			kl += m*m + math.Exp(logvar[k]) - logvar[k]
		}
		kl = 0.5 * s.beta * (kl - float64(len(mu)))
		dst[i] = rec + kl
	}
}
