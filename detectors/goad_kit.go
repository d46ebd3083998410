package detectors

import "gorgonia.org/gorgonia"

// This file exports the GOAD pieces (goad_ops.go) that detectors/
// selfsupervised's goad builds on. The ops stay in the core because the
// training executor (program.go) runs them through its own kernels.

// GOADDistances applies the op of the squared distances of each of the
// rows z (n·M rows of k features, M per input row) to the M centres c
// (M × k): an (n·M) × M matrix, differentiable in z.
func GOADDistances(z, c *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(goadDistOp{}, z, c)
}

// GOADSoftmax applies the row-wise softmax op to logits (not
// differentiated: the loss op carries the gradient).
func GOADSoftmax(logits *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(goadSoftmaxOp{}, logits)
}

// GOADLoss applies the op of GOAD's per-row loss: cross-entropy of the
// transformation classifier plus lambda times the centre triplet loss
// with margin, from the logits, their softmax and the distances.
func GOADLoss(margin, lambda float64, logits, soft, dist *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(goadLossOp{margin: margin, lambda: lambda}, logits, soft, dist)
}

// GOADScores applies the op of GOAD's scores of the rows z against the
// centres c, given log ε and log(M·ε).
func GOADScores(logEps, logMEps float64, z, c *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(goadScoreOp{logEps: logEps, logMEps: logMEps}, z, c)
}

// GOADCentres prepares the centres c (M × k) for GOADDistanceRow: their
// transpose ct and squared norms cc.
func GOADCentres(ct, cc, c []float64, m, k int) { goadCentres(ct, cc, c, m, k) }

// GOADDistanceRow sets d (M) to the squared distances of the feature
// vector z (k) to the M centres prepared by GOADCentres.
func GOADDistanceRow(d, z, ct, cc []float64) { goadDistances(d, z, ct, cc) }

// GOADNLL is GOAD's score of one row from its M × M distances: the
// negative log-likelihood of each transformation being recognised, with
// log ε and log(M·ε); neg is scratch of length M.
func GOADNLL(dist []float64, m int, logEps, logMEps float64, neg []float64) float64 {
	return goadNLL(dist, m, logEps, logMEps, neg)
}
