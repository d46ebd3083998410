package detectors

import (
	"fmt"
	"hash"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// The deep multiple-instance ranking loss of Sultani, Chen and Shah
// ("Real-world Anomaly Detection in Surveillance Videos", CVPR 2018), as
// the op of detectors/ranking's mil_ranking (exported by mil_kit.go).
//
// Its input is the vector of the scores of a mini-batch of 2·p bags of t
// instances each, bag k being scores [k·t, (k+1)·t), the first p bags
// anomalous and the last p normal. With m_k the largest score of bag k,
// the loss is, as in the paper's reference code (all p×p pairs of an
// anomalous and a normal bag, summed over the anomalous bags and averaged
// over the normal ones, the penalties summed over the anomalous bags):
//
//	(1/p)·Σ_n Σ_a max(0, 1 − m_a + m_n)
//	  + λ1·Σ_a Σ_{i<t−1} (s_{a,i} − s_{a,i+1})²   (temporal smoothness)
//	  + λ2·Σ_a Σ_i s_{a,i}                          (sparsity)
//
// Its gradient goes, for the hinge, to the first instance of a bag
// reaching its maximum (a subgradient of the max).

// milLoss is the loss's configuration: p bag pairs of t instances, λ1
// (smoothness) and λ2 (sparsity).
type milLoss struct {
	p, t   int
	l1, l2 float64
}

// bagMax returns the largest score of the bag at s (t scores) and the
// index of its first occurrence.
func bagMax(s []float64) (float64, int) {
	m, at := s[0], 0
	for i, v := range s[1:] {
		if v > m {
			m, at = v, i+1
		}
	}
	return m, at
}

// loss returns the loss of the 2·p·t scores s; maxes (2p) is scratch.
func (c milLoss) loss(s, maxes []float64) float64 {
	p, t := c.p, c.t
	for k := range 2 * p {
		maxes[k], _ = bagMax(s[k*t : (k+1)*t])
	}
	hinge := 0.0
	for n := range p {
		sum := 0.0
		for a := range p {
			sum += max(0, 1-maxes[a]+maxes[p+n])
		}
		hinge += sum
	}
	hinge /= float64(p)
	smooth, sparse := 0.0, 0.0
	for a := range p {
		b := s[a*t : (a+1)*t]
		for i, v := range b {
			sparse += v
			if i+1 < t {
				d := v - b[i+1]
				smooth += d * d
			}
		}
	}
	return hinge + c.l1*smooth + c.l2*sparse
}

// grad writes into ds the gradient of g·loss by the scores s; maxes and
// at (2p each) are scratch.
func (c milLoss) grad(ds, s []float64, g float64, maxes []float64, at []int) {
	p, t := c.p, c.t
	clear(ds)
	for k := range 2 * p {
		maxes[k], at[k] = bagMax(s[k*t : (k+1)*t])
		at[k] += k * t
	}
	w := g / float64(p)
	for n := range p {
		for a := range p {
			if 1-maxes[a]+maxes[p+n] > 0 {
				ds[at[a]] -= w
				ds[at[p+n]] += w
			}
		}
	}
	for a := range p {
		b, db := s[a*t:(a+1)*t], ds[a*t:(a+1)*t]
		for i, v := range b {
			db[i] += g * c.l2
			if i+1 < t {
				d := 2 * c.l1 * g * (v - b[i+1])
				db[i] += d
				db[i+1] -= d
			}
		}
	}
}

// milLossOp maps the 2·p·t scores of a mini-batch to its loss (a vector
// of one value).
type milLossOp struct {
	pureOp
	milLoss
}

var _ gorgonia.SDOp = milLossOp{}

// check returns an error unless shape is the op's input shape.
func (op milLossOp) check(s tensor.Shape) error {
	if op.p < 1 || op.t < 1 || len(s) != 1 || s[0] != 2*op.p*op.t {
		return fmt.Errorf("%v: input shape %v is not (2·%d·%d)", op, s, op.p, op.t)
	}
	return nil
}

// Arity implements gorgonia.Op.
func (op milLossOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op milLossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	vec := gorgonia.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(vec, vec)
}

// InferShape implements gorgonia.Op.
func (op milLossOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if err := op.check(s); err != nil {
		return nil, err
	}
	return tensor.Shape{1}, nil
}

// Do implements gorgonia.Op.
func (op milLossOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	if err := op.check(in[0].Shape()); err != nil {
		return nil, err
	}
	out := []float64{op.loss(d[0], make([]float64, 2*op.p))}
	return tensor.New(tensor.WithShape(1), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op milLossOp) kernel(out *operand, in []*operand) (func() error, error) {
	if err := op.check(in[0].shape); err != nil {
		return nil, err
	}
	if len(out.data) != 1 {
		return nil, fmt.Errorf("%v: output of %d values", op, len(out.data))
	}
	o, s, maxes := out.data, in[0].data, make([]float64, 2*op.p)
	return func() error { o[0] = op.loss(s, maxes); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op milLossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op milLossOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op milLossOp) String() string {
	return fmt.Sprintf("MILRanking{%d,%d,%v,%v}", op.p, op.t, op.l1, op.l2)
}

// DiffWRT implements gorgonia.SDOp.
func (op milLossOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp.
func (op milLossOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(milLossGradOp(op), inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d}, nil
}

// milLossGradOp maps (s, g) to the gradient of g·loss by the scores s:
// the backward pass of milLossOp. It is not itself differentiable.
type milLossGradOp milLossOp

var _ gorgonia.Op = milLossGradOp{}

// Arity implements gorgonia.Op.
func (op milLossGradOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op milLossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	vec := gorgonia.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(vec, vec, vec)
}

// InferShape implements gorgonia.Op.
func (op milLossGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op milLossGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	if err := milLossOp(op).check(in[0].Shape()); err != nil {
		return nil, err
	}
	if len(d[1]) != 1 {
		return nil, fmt.Errorf("%v: %d upstream gradients", op, len(d[1]))
	}
	out := make([]float64, len(d[0]))
	op.grad(out, d[0], d[1][0], make([]float64, 2*op.p), make([]int, 2*op.p))
	return tensor.New(tensor.WithShape(len(out)), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op milLossGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	if err := milLossOp(op).check(in[0].shape); err != nil {
		return nil, err
	}
	if len(in[1].data) != 1 || len(out.data) != len(in[0].data) {
		return nil, fmt.Errorf("%v: %d upstream gradients, %d values into %d", op, len(in[1].data), len(in[0].data), len(out.data))
	}
	o, s, g := out.data, in[0].data, in[1].data
	maxes, at := make([]float64, 2*op.p), make([]int, 2*op.p)
	return func() error { op.grad(o, s, g[0], maxes, at); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op milLossGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op milLossGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op milLossGradOp) String() string {
	return fmt.Sprintf("MILRankingGrad{%d,%d,%v,%v}", op.p, op.t, op.l1, op.l2)
}
