package detectors

import (
	"fmt"
	"hash"
	"hash/fnv"
	"math"
	"slices"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds fused gorgonia ops for the shared layers. gorgonia's own
// LeakyRelu is a composition of six element-wise ops (two comparisons,
// three products and a sum), each allocating a batch-sized tensor in the
// forward pass and more in the backward pass; the fused op does one pass.

// LeakyRelu applies LeakyReLU with slope alpha to a float64 node.
func LeakyRelu(x *gorgonia.Node, alpha float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(leakyReluOp{alpha: alpha}, x)
}

// leakyReluOp computes y = x for x >= 0 and alpha·x otherwise.
type leakyReluOp struct {
	pureOp
	alpha float64
}

var _ gorgonia.SDOp = leakyReluOp{}

// Arity implements gorgonia.Op.
func (op leakyReluOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op leakyReluOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a)
}

// InferShape implements gorgonia.Op.
func (op leakyReluOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op leakyReluOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	x, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x[0])
	kernel.LeakyReLU(out, op.alpha) // the inference kernel's own formula
	return tensor.New(tensor.WithShape(in[0].Shape().Clone()...), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op leakyReluOp) kernel(out *operand, in []*operand) (func() error, error) {
	o, x := out.data, in[0].data
	if len(x) != len(o) {
		return nil, fmt.Errorf("%v: %d values into %d", op, len(x), len(o))
	}
	return func() error {
		copy(o, x)
		kernel.LeakyReLU(o, op.alpha)
		return nil
	}, nil
}

// WriteHash implements gorgonia.Op.
func (op leakyReluOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op leakyReluOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op leakyReluOp) String() string { return fmt.Sprintf("LeakyReLU{%v}", op.alpha) }

// DiffWRT implements gorgonia.SDOp.
func (op leakyReluOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp.
func (op leakyReluOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dx, err := gorgonia.ApplyOp(leakyReluGradOp(op), inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dx}, nil
}

// leakyReluGradOp maps (x, g) to g where x >= 0 and alpha·g elsewhere:
// the gradient of LeakyReLU. It is differentiable in g (it is linear in
// g), not in x (its derivative in x is 0 almost everywhere).
type leakyReluGradOp struct {
	pureOp
	alpha float64
}

var _ gorgonia.SDOp = leakyReluGradOp{}

// LeakyReluGrad returns the node of g times the derivative of LeakyReLU
// with slope alpha at x: the backward pass of a LeakyReLU layer, written
// in a graph that is itself differentiated (a gradient penalty's). It is
// differentiable in g; x is treated as a constant.
func LeakyReluGrad(x, g *gorgonia.Node, alpha float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(leakyReluGradOp{alpha: alpha}, x, g)
}

// DiffWRT implements gorgonia.SDOp: differentiable in g only.
func (op leakyReluGradOp) DiffWRT(int) []bool { return []bool{false, true} }

// SymDiff implements gorgonia.SDOp: the op is linear in g, so dg is the
// op applied to the output's gradient.
func (op leakyReluGradOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dg, err := gorgonia.ApplyOp(op, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{nil, dg}, nil
}

// Arity implements gorgonia.Op.
func (op leakyReluGradOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op leakyReluGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(a, a, a)
}

// InferShape implements gorgonia.Op.
func (op leakyReluGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op leakyReluGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	x, g := d[0], d[1]
	if len(g) != len(x) {
		return nil, fmt.Errorf("%v: input sizes %d and %d differ", op, len(x), len(g))
	}
	out := make([]float64, len(x))
	op.into(out, x, g)
	return tensor.New(tensor.WithShape(in[0].Shape().Clone()...), tensor.WithBacking(out)), nil
}

// into sets out to the gradient for inputs x and output gradients g (all
// of one length).
func (op leakyReluGradOp) into(out, x, g []float64) {
	g, out = g[:len(x)], out[:len(x)]
	for i, v := range x {
		// Branch-free (signs are random, so a branch mispredicts half the
		// time): the slope is 1 + (alpha-1)·signbit(v). At v = -0 this
		// picks alpha, an equally valid subgradient.
		sign := float64(math.Float64bits(v) >> 63)
		out[i] = g[i] * (1 + (op.alpha-1)*sign)
	}
}

// kernel implements kernelOp.
func (op leakyReluGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	o, x, g := out.data, in[0].data, in[1].data
	if len(x) != len(o) || len(g) != len(o) {
		return nil, fmt.Errorf("%v: sizes %d and %d into %d", op, len(x), len(g), len(o))
	}
	return func() error { op.into(o, x, g); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op leakyReluGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op leakyReluGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op leakyReluGradOp) String() string { return fmt.Sprintf("LeakyReLUGrad{%v}", op.alpha) }

func hashOp(op gorgonia.Op) uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

func shapeOf(d gorgonia.DimSizer) (tensor.Shape, error) {
	s, ok := d.(tensor.Shape)
	if !ok {
		return nil, fmt.Errorf("detectors: expected a tensor.Shape, got %T", d)
	}
	return s.Clone(), nil
}

// float64Data returns the backing slices of n float64 tensor inputs.
func float64Data(op gorgonia.Op, in []gorgonia.Value, n int) ([][]float64, error) {
	if len(in) != n {
		return nil, fmt.Errorf("%v: got %d inputs, want %d", op, len(in), n)
	}
	out := make([][]float64, n)
	for i, v := range in {
		d, ok := v.Data().([]float64)
		if !ok {
			return nil, fmt.Errorf("%v: input %d is %T, want float64 tensor", op, i, v)
		}
		out[i] = d
	}
	return out, nil
}

// pureOp supplies the gorgonia.Op methods every op of this package shares:
// it computes a new value in Go and never writes to its inputs. Ops embed
// it and implement the rest.
type pureOp struct{}

// ReturnsPtr implements gorgonia.Op.
func (pureOp) ReturnsPtr() bool { return false }

// CallsExtern implements gorgonia.Op.
func (pureOp) CallsExtern() bool { return false }

// OverwritesInput implements gorgonia.Op.
func (pureOp) OverwritesInput() int { return -1 }
