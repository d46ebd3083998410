package detectors

import (
	"fmt"
	"hash"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MatMul returns the node a·b for float64 matrices, using a fused gorgonia
// op whose forward and backward products run on kernel.MatMul (AVX2 where
// available) instead of gonum's generic Dgemm, which for the small
// mini-batch matrices of tabular detectors is slower and spends much of
// its time dispatching goroutines. Differentiation is gorgonia's: the op
// declares its symbolic derivatives (dA = dC·Bᵀ, dB = Aᵀ·dC) as further
// MatMulOp nodes.
func MatMul(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(matMulOp{}, a, b)
}

// MatMulT returns the node a·bᵀ, differentiable in a and b: the
// backward pass of a layer (a gradient times the transposed weights),
// written in a graph that is itself differentiated, as a gradient
// penalty's is (gans/fast_anogan.go).
func MatMulT(a, b *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(matMulOp{transB: true}, a, b)
}

// MatMulOp computes op(A)·op(B) where op transposes if the flag is set.
type matMulOp struct {
	pureOp
	transA, transB bool
}

var _ gorgonia.SDOp = matMulOp{}

// Arity implements gorgonia.Op.
func (op matMulOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op matMulOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

// dims returns m, k, n of op(A) (m×k) · op(B) (k×n).
func (op matMulOp) dims(a, b tensor.Shape) (m, k, n int, err error) {
	if len(a) != 2 || len(b) != 2 {
		return 0, 0, 0, fmt.Errorf("%v: shapes %v and %v are not matrices", op, a, b)
	}
	m, k = a[0], a[1]
	if op.transA {
		m, k = k, m
	}
	kb, n := b[0], b[1]
	if op.transB {
		kb, n = n, kb
	}
	if k != kb {
		return 0, 0, 0, fmt.Errorf("%v: inner dimensions of %v and %v differ", op, a, b)
	}
	return m, k, n, nil
}

// InferShape implements gorgonia.Op.
func (op matMulOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	a, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	b, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	m, _, n, err := op.dims(a, b)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{m, n}, nil
}

// Do implements gorgonia.Op.
func (op matMulOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	m, k, n, err := op.dims(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	c := make([]float64, m*n)
	var bt []float64
	if op.transB {
		bt = make([]float64, k*n)
	}
	if err := op.into(c, d[0], d[1], bt, m, k, n); err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(m, n), tensor.WithBacking(c)), nil
}

// into sets c (m×n) to op(a)·op(b); bt (k×n) is scratch for transB.
func (op matMulOp) into(c, a, b, bt []float64, m, k, n int) error {
	switch {
	case op.transA && op.transB:
		return fmt.Errorf("%v: not supported", op)
	case op.transA: // A is k×m: c = Aᵀ·B without forming Aᵀ
		clear(c)
		kernel.MatTMulAdd(c, a, b, k, m, n)
	case op.transB: // B is n×k, small (a weight matrix): transpose it
		kernel.Transpose(bt, b, n, k)
		kernel.MatMul(c, a, bt, m, k, n)
	default:
		kernel.MatMul(c, a, b, m, k, n)
	}
	return nil
}

// kernel implements kernelOp.
func (op matMulOp) kernel(out *operand, in []*operand) (func() error, error) {
	m, k, n, err := op.dims(in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != m*n {
		return nil, fmt.Errorf("%v: %d×%d product into %d values", op, m, n, len(out.data))
	}
	var bt []float64
	if op.transB {
		bt = make([]float64, k*n)
	}
	c, a, b := out.data, in[0].data, in[1].data
	return func() error { return op.into(c, a, b, bt, m, k, n) }, nil
}

// WriteHash implements gorgonia.Op.
func (op matMulOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op matMulOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op matMulOp) String() string { return fmt.Sprintf("MatMul{%t,%t}", op.transA, op.transB) }

// DiffWRT implements gorgonia.SDOp. The plain product and A·Bᵀ
// (MatMulT) are differentiable; Aᵀ·B appears only in derivatives.
func (op matMulOp) DiffWRT(int) []bool {
	d := !op.transA
	return []bool{d, d}
}

// SymDiff implements gorgonia.SDOp: for C = A·B, dA = dC·Bᵀ and dB =
// Aᵀ·dC; for C = A·Bᵀ, dA = dC·B and dB = dCᵀ·A.
func (op matMulOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	if op.transA {
		return nil, fmt.Errorf("%v is not differentiable", op)
	}
	if op.transB {
		da, err := gorgonia.ApplyOp(matMulOp{}, grad, inputs[1])
		if err != nil {
			return nil, err
		}
		db, err := gorgonia.ApplyOp(matMulOp{transA: true}, grad, inputs[0])
		if err != nil {
			return nil, err
		}
		return gorgonia.Nodes{da, db}, nil
	}
	da, err := gorgonia.ApplyOp(matMulOp{transB: true}, grad, inputs[1])
	if err != nil {
		return nil, err
	}
	db, err := gorgonia.ApplyOp(matMulOp{transA: true}, inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{da, db}, nil
}
