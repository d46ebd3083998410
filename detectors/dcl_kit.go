package detectors

import "gorgonia.org/gorgonia"

// This file exports the deterministic contrastive loss of NeuTraL AD
// (dcl_op.go) that detectors/selfsupervised's neutral builds on. The op
// stays in the core because the training executor (program.go) runs it
// through its own kernels.

// DCLLoss applies the op of the deterministic contrastive loss to z, a
// (views·b)×m matrix node whose row v·b+i is the encoding of view v of
// row i (view 0 the untransformed row): the vector of the b row losses,
// differentiable in z. views must be at least 3 (K ≥ 2 transformations).
func DCLLoss(z *gorgonia.Node, views int, tau float64) (*gorgonia.Node, error) {
	return dclLoss(z, views, tau)
}

// DCL computes the deterministic contrastive loss of one row in plain Go,
// with the same operations in the same order as DCLLoss's op, so that a
// scorer built on it reproduces the training graph's loss bit for bit.
type DCL struct{ c dcl }

// NewDCL returns the loss of views encodings of width m (views ≥ 3) at
// temperature tau.
func NewDCL(views, m int, tau float64) DCL { return DCL{newDCL(views, m, tau)} }

// Views is the number of encodings per row, K+1.
func (l DCL) Views() int { return l.c.views }

// Width is the encoding width m.
func (l DCL) Width() int { return l.c.m }

// ScratchLen is the scratch length Loss needs.
func (l DCL) ScratchLen() int { return l.c.scratchLen() }

// Loss returns the loss of one row whose views' encodings are the rows of
// z (Views()×Width(), view 0 the untransformed row); z is not modified.
func (l DCL) Loss(z, scratch []float64) float64 { return l.c.loss(z, scratch) }
