package detectors

import "gorgonia.org/gorgonia"

// This file exports the deep MIL ranking loss (mil_op.go) that
// detectors/ranking's mil_ranking builds on. The op stays in the core
// because the training executor (program.go) runs it through its own
// kernels.

// MILRankingLoss applies the op of Sultani et al.'s MIL ranking loss to
// scores, the vector of the 2·p·t scores of a mini-batch of p anomalous
// bags (scores [k·t, (k+1)·t) for bag k < p) followed by p normal bags,
// t instances each, in order within a bag; l1 weighs the smoothness term
// and l2 the sparsity term (see mil_op.go). The result is a vector of one
// value, differentiable in scores.
func MILRankingLoss(scores *gorgonia.Node, p, t int, l1, l2 float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(milLossOp{milLoss: milLoss{p: p, t: t, l1: l1, l2: l2}}, scores)
}

// MILRankingLossValue is the same loss in plain Go, for tests: scores as
// for MILRankingLoss.
func MILRankingLossValue(scores []float64, p, t int, l1, l2 float64) float64 {
	return milLoss{p: p, t: t, l1: l1, l2: l2}.loss(scores, make([]float64, 2*p))
}
