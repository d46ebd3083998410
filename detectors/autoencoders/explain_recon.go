package autoencoders

import (
	"cmp"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/nn"
	"slices"
)

// The reconstruction family's Explainer: a score that is a reconstruction
// error is a sum over features of each feature's squared error, so each
// feature's attribution is its own term of that sum (nn.SquaredErrors),
// exactly the part of the score it accounts for.
//
//   - autoencoder, robust_autoencoder (nn.ReconScorer, whose Explainer is
//     in package nn): the score is (1/d)·Σ_j (x̂_j − x_j)²; feature j's
//     term is (x̂_j − x_j)²/d, and the terms sum to the score.
//   - vae (vaeScorer): the score is ½·Σ_j (x̂_j − x_j)² + β·KL, with x̂ the
//     decoding of the mean code; feature j's term is ½·(x̂_j − x_j)². The
//     KL term of the code has no per-feature decomposition and is not
//     attributed.
//   - randnet (randNetScorer): the score is the median over members of
//     (e_m − mean_m)/sd_m for member m's reconstruction error e_m, so it
//     moves with the median member's errors alone (with an even number of
//     members, the mean of the two middle ones): feature j's term is that
//     member's (x̂_j − x_j)²/(d·sd_m) (averaged over the two).

var (
	_ detectors.Explainer = (*vaeScorer)(nil)
	_ detectors.Explainer = (*randNetScorer)(nil)
)

// ExplainMethod implements Explainer.
func (s *vaeScorer) ExplainMethod() string { return detectors.ExplainReconstruction }

// ExplainScratchLen implements Explainer.
func (s *vaeScorer) ExplainScratchLen() int { return s.ScratchLen() }

// Attribute implements Explainer: ½·(x̂_j − x_j)² for the decoding x̂ of
// the mean code, as in ScoreRows.
func (s *vaeScorer) Attribute(x, dst, scratch []float64) {
	se, rest := scratch[:s.enc.ScratchLen()], scratch[s.enc.ScratchLen():]
	sm, rest := rest[:s.mu.ScratchLen()], rest[s.mu.ScratchLen():]
	sd := rest[s.logvar.ScratchLen():]
	mu := s.mu.Forward(s.enc.Forward(x, se), sm)
	clear(dst)
	nn.SquaredErrors(dst, s.dec.Forward(mu, sd), x, 0.5)
}

// ExplainMethod implements Explainer.
func (s *randNetScorer) ExplainMethod() string { return detectors.ExplainReconstruction }

// ExplainScratchLen implements Explainer: ScoreRows's.
func (s *randNetScorer) ExplainScratchLen() int { return s.ScratchLen() }

// Attribute implements Explainer: the median member's per-feature errors,
// scaled as that member's error is in the score.
func (s *randNetScorer) Attribute(x, dst, scratch []float64) {
	M := len(s.members)
	z, one, rest := scratch[:M], scratch[M:M+1], scratch[M+1:]
	idx := make([]int, M)
	for m, k := range s.members {
		k.ScoreRows(x, one, rest)
		z[m] = (one[0] - s.mean[m]) / s.sd[m]
		idx[m] = m
	}
	// The members in the order of ScoreRows's sort (ties by index).
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(z[a], z[b]) })
	mid := []int{idx[M/2]}
	if M%2 == 0 {
		mid = []int{idx[M/2-1], idx[M/2]}
	}
	clear(dst)
	for _, m := range mid {
		k := s.members[m]
		k.AddAttribution(dst, x, rest, 1/(float64(s.d)*s.sd[m]*float64(len(mid))))
	}
}
