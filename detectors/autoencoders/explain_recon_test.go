package autoencoders

import (
	"cmp"
	"math"
	"slices"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
)

// TestAttributionsAddUp checks what vae's and randnet's reconstruction
// attributions add up to (the core's TestExplain checks autoencoder and
// robust_autoencoder, whose terms are the score): for vae the score less
// β·KL of the mean code, for randnet the score plus the median member's
// mean/sd. Rows of the training data with one feature pushed 8 away.
func TestAttributionsAddUp(t *testing.T) {
	tb := Synthetic(2000, 5, 1)
	for _, alg := range []string{"vae", "randnet"} {
		t.Run(alg, func(t *testing.T) {
			m := FitSynthetic(t, alg, tb, Opts("epochs", "3", "seed", "3", "hidden", "16,8"))
			var s detectors.Scorer
			var err error
			switch alg {
			case "vae":
				s, err = vae{}.Scorer(m.Weights(), tb.Cols, detectors.Options(m.Options))
			case "randnet":
				s, err = randNet{}.Scorer(m.Weights(), tb.Cols, detectors.Options(m.Options))
			}
			if err != nil {
				t.Fatal(err)
			}
			e := s.(detectors.Explainer)
			near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(1, math.Abs(b)) }
			for r := 0; r < 5; r++ {
				for j := 0; j < tb.Cols; j++ {
					z := slices.Clone(tb.X[r*tb.Cols : (r+1)*tb.Cols])
					z[j] += 8
					m.Standardize(z)
					attr := make([]float64, len(z))
					e.Attribute(z, attr, make([]float64, e.ExplainScratchLen()))
					sum := 0.0
					for _, v := range attr {
						sum += v
					}
					f := make([]float64, 1)
					s.ScoreRows(slices.Clone(z), f, make([]float64, s.ScratchLen()))
					switch s := s.(type) {
					case *vaeScorer:
						scratch := make([]float64, s.ScratchLen())
						h := s.enc.Forward(z, scratch[:s.enc.ScratchLen()])
						mu := s.mu.Forward(h, make([]float64, s.mu.ScratchLen()))
						lv := s.logvar.Forward(h, make([]float64, s.logvar.ScratchLen()))
						kl := 0.0
						for k, v := range mu {
							kl += v*v + math.Exp(lv[k]) - lv[k] - 1
						}
						if !near(sum+0.5*s.beta*kl, f[0]) {
							t.Fatalf("vae: terms %v + KL %v, score %v", sum, 0.5*s.beta*kl, f[0])
						}
					case *randNetScorer:
						M := len(s.members)
						type member struct{ z, offset float64 }
						ms := make([]member, M)
						one := make([]float64, 1)
						for k, mk := range s.members {
							mk.ScoreRows(z, one, make([]float64, mk.ScratchLen()))
							ms[k] = member{(one[0] - s.mean[k]) / s.sd[k], s.mean[k] / s.sd[k]}
						}
						slices.SortStableFunc(ms, func(a, b member) int { return cmp.Compare(a.z, b.z) })
						offset := ms[M/2].offset
						if M%2 == 0 {
							offset = (ms[M/2-1].offset + ms[M/2].offset) / 2
						}
						if !near(sum-offset, f[0]) {
							t.Fatalf("randnet: terms %v − the median member's mean/sd %v, score %v", sum, offset, f[0])
						}
					default:
						t.Fatalf("scorer %T", s)
					}
				}
			}
		})
	}
}
