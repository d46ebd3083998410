package detectors

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// AboveMidrange returns a node of x's shape that is 1 where x is above
// the midrange of x, (max(x) + min(x)) / 2, and 0 elsewhere. It is a
// constant for differentiation (a gradient does not flow through it into
// x), as a comparison is. OCAN's generator (e2eoneclass/ocan.go) masks
// its low-density term with it. gorgonia's Max reduction would do, but
// its Do allocates on every training step; this op's kernel does not.
func AboveMidrange(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(aboveMidrangeOp{}, x)
}

// aboveMidrangeOp computes the AboveMidrange mask.
type aboveMidrangeOp struct{ pureOp }

var _ gorgonia.SDOp = aboveMidrangeOp{}

// aboveMidrange writes the mask of x into o.
func aboveMidrange(o, x []float64) {
	if len(x) == 0 {
		return
	}
	lo, hi := x[0], x[0]
	for _, v := range x[1:] {
		lo, hi = min(lo, v), max(hi, v)
	}
	mid := (lo + hi) / 2
	for i, v := range x {
		o[i] = 0
		if v > mid {
			o[i] = 1
		}
	}
}

// Arity implements gorgonia.Op.
func (aboveMidrangeOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (aboveMidrangeOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

// InferShape implements gorgonia.Op.
func (aboveMidrangeOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op aboveMidrangeOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(x[0]))
	aboveMidrange(out, x[0])
	return tensor.New(tensor.WithShape(in[0].Shape().Clone()...), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op aboveMidrangeOp) kernel(out *operand, in []*operand) (func() error, error) {
	o, x := out.data, in[0].data
	if len(x) != len(o) {
		return nil, fmt.Errorf("%v: %d values into %d", op, len(x), len(o))
	}
	return func() error {
		aboveMidrange(o, x)
		return nil
	}, nil
}

// WriteHash implements gorgonia.Op.
func (op aboveMidrangeOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op aboveMidrangeOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (aboveMidrangeOp) String() string { return "AboveMidrange" }

// DiffWRT implements gorgonia.SDOp: the mask is not differentiated.
func (aboveMidrangeOp) DiffWRT(int) []bool { return []bool{false} }

// SymDiff implements gorgonia.SDOp; it is never called, since DiffWRT
// is false.
func (op aboveMidrangeOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
