package detectors

import "gorgonia.org/gorgonia"

// This file holds what the adversarial detectors (adversary.go) share:
// the discriminator's binary cross-entropy.

// softplusGraph is log(1 + exp(v)) element-wise, computed without
// overflow as max(v, 0) + log(1 + exp(−|v|)).
func softplusGraph(v *gorgonia.Node) (*gorgonia.Node, error) {
	var m dgMust
	pos := m.n(gorgonia.Rectify(v))
	tail := m.n(dgChain(v, gorgonia.Abs, gorgonia.Neg, gorgonia.Exp, dgAddC(1), gorgonia.Log))
	if m.err != nil {
		return nil, m.err
	}
	return gorgonia.Add(pos, tail)
}

// bceLogitsGraph is the binary cross-entropy of the probabilities
// sigmoid(logits) against label 1 (real) or 0 (fake), one per element:
// −log σ(l) = softplus(−l) for real, −log(1 − σ(l)) = softplus(l) for
// fake, computed from the logits so that a confident discriminator's
// loss neither overflows nor rounds to 0 as it would through σ.
func bceLogitsGraph(logits *gorgonia.Node, real bool) (*gorgonia.Node, error) {
	if real {
		neg, err := gorgonia.Neg(logits)
		if err != nil {
			return nil, err
		}
		return softplusGraph(neg)
	}
	return softplusGraph(logits)
}
