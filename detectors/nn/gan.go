package nn

import "gorgonia.org/gorgonia"

// This file holds what the adversarial detectors (detectors/adversary.go) share:
// the discriminator's binary cross-entropy.

// Softplus is log(1 + exp(v)) element-wise, computed without
// overflow as max(v, 0) + log(1 + exp(−|v|)).
func Softplus(v *gorgonia.Node) (*gorgonia.Node, error) {
	var m Must
	pos := m.N(gorgonia.Rectify(v))
	tail := m.N(Chain(v, gorgonia.Abs, gorgonia.Neg, gorgonia.Exp, AddC(1), gorgonia.Log))
	if m.Err != nil {
		return nil, m.Err
	}
	return gorgonia.Add(pos, tail)
}

// BCELogits is the binary cross-entropy of the probabilities
// sigmoid(logits) against label 1 (real) or 0 (fake), one per element:
// −log σ(l) = softplus(−l) for real, −log(1 − σ(l)) = softplus(l) for
// fake, computed from the logits so that a confident discriminator's
// loss neither overflows nor rounds to 0 as it would through σ.
func BCELogits(logits *gorgonia.Node, real bool) (*gorgonia.Node, error) {
	if real {
		neg, err := gorgonia.Neg(logits)
		if err != nil {
			return nil, err
		}
		return Softplus(neg)
	}
	return Softplus(logits)
}
