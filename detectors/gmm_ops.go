package detectors

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the gorgonia ops a Gaussian mixture energy needs and
// gorgonia v0.9 lacks: the inverse and the log-determinant of a symmetric
// positive definite matrix (both through a Cholesky factorization), and a
// numerically stable row-wise log-sum-exp. Each declares its analytic
// derivative as further graph nodes:
//
//	d log det A = tr(A⁻¹ dA)      ⇒ ∂/∂A = g·A⁻¹        (A symmetric)
//	d A⁻¹ = −A⁻¹ dA A⁻¹           ⇒ ∂/∂A = −A⁻¹ G A⁻¹   (A symmetric)
//	d lse(x) = Σ_k softmax(x)_k dx_k

// SPDInverse returns the inverse of the symmetric positive definite matrix
// node a (n×n).
func SPDInverse(a *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(spdInvOp{}, a)
}

// SPDLogDet returns the scalar log-determinant of the symmetric positive
// definite matrix node a.
func SPDLogDet(a *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(spdLogDetOp{}, a)
}

// RowLogSumExp returns the vector of log Σ_k exp(x[i,k]) over the rows of
// the matrix node x, each computed as m + log Σ_k exp(x[i,k] − m) with m
// the row maximum.
func RowLogSumExp(x *gorgonia.Node) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(rowLSEOp{}, x)
}

// SPDCholesky overwrites the lower triangle of the row-major n×n matrix a
// with its Cholesky factor L (a = L·Lᵀ); the strict upper triangle is
// set to zero. It returns false if a is not (numerically) positive
// definite.
func SPDCholesky(a []float64, n int) bool {
	for j := 0; j < n; j++ {
		s := a[j*n+j]
		for k := 0; k < j; k++ {
			s -= a[j*n+k] * a[j*n+k]
		}
		if !(s > 0) { // also catches NaN
			return false
		}
		d := math.Sqrt(s)
		a[j*n+j] = d
		for i := j + 1; i < n; i++ {
			t := a[i*n+j]
			for k := 0; k < j; k++ {
				t -= a[i*n+k] * a[j*n+k]
			}
			a[i*n+j] = t / d
		}
		for k := j + 1; k < n; k++ {
			a[j*n+k] = 0
		}
	}
	return true
}

// SPDLowerInverse sets dst to the inverse of the row-major lower triangular
// n×n matrix l (dst is lower triangular too).
func SPDLowerInverse(dst, l []float64, n int) {
	clear(dst[:n*n])
	for j := 0; j < n; j++ {
		dst[j*n+j] = 1 / l[j*n+j]
		for i := j + 1; i < n; i++ {
			var s float64
			for k := j; k < i; k++ {
				s -= l[i*n+k] * dst[k*n+j]
			}
			dst[i*n+j] = s / l[i*n+i]
		}
	}
}

// spdFactor sets l to the Cholesky factor of the symmetric positive
// definite n×n matrix a (not modified), or returns an error if it is not
// positive definite.
func spdFactor(op gorgonia.Op, l, a []float64, n int) error {
	copy(l[:n*n], a[:n*n])
	if !SPDCholesky(l, n) {
		return fmt.Errorf("%w: %v: covariance matrix is not positive definite", ErrDiverged, op)
	}
	return nil
}

// squareOperand returns the order of a square matrix operand.
func squareOperand(op gorgonia.Op, in []*operand) (int, error) {
	if len(in) != 1 {
		return 0, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	s := in[0].shape
	if in[0].scalar || len(s) != 2 || s[0] != s[1] {
		return 0, fmt.Errorf("%v: input shape %v is not square", op, s)
	}
	return s[0], nil
}

// spdSquareInput returns the data and order of a square float64 matrix input.
func spdSquareInput(op gorgonia.Op, in []gorgonia.Value) ([]float64, int, error) {
	d, err := float64Data(op, in, 1)
	if err != nil {
		return nil, 0, err
	}
	s := in[0].Shape()
	if len(s) != 2 || s[0] != s[1] {
		return nil, 0, fmt.Errorf("%v: input shape %v is not square", op, s)
	}
	return d[0], s[0], nil
}

// spdInvOp computes A⁻¹ = L⁻ᵀ·L⁻¹ for A = L·Lᵀ.
type spdInvOp struct{ pureOp }

var _ gorgonia.SDOp = spdInvOp{}

// Arity implements gorgonia.Op.
func (op spdInvOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op spdInvOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

// InferShape implements gorgonia.Op.
func (op spdInvOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op spdInvOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	a, n, err := spdSquareInput(op, in)
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*n)
	if err := op.into(out, a, make([]float64, n*n), make([]float64, n*n), n); err != nil {
		return nil, err
	}
	return tensor.New(tensor.WithShape(n, n), tensor.WithBacking(out)), nil
}

// into sets out to the inverse of the n×n matrix a, with scratch l and li
// (n×n each).
func (op spdInvOp) into(out, a, l, li []float64, n int) error {
	if err := spdFactor(op, l, a, n); err != nil {
		return err
	}
	SPDLowerInverse(li, l, n)
	for i := 0; i < n; i++ {
		for j := 0; j <= i; j++ {
			// (L⁻ᵀL⁻¹)[i,j] = Σ_k L⁻¹[k,i]·L⁻¹[k,j], k >= max(i,j) = i.
			var s float64
			for k := i; k < n; k++ {
				s += li[k*n+i] * li[k*n+j]
			}
			out[i*n+j], out[j*n+i] = s, s
		}
	}
	return nil
}

// kernel implements kernelOp.
func (op spdInvOp) kernel(out *operand, in []*operand) (func() error, error) {
	n, err := squareOperand(op, in)
	if err != nil {
		return nil, err
	}
	l, li := make([]float64, n*n), make([]float64, n*n)
	o, a := out.data, in[0].data
	return func() error { return op.into(o, a, l, li, n) }, nil
}

// WriteHash implements gorgonia.Op.
func (op spdInvOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op spdInvOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op spdInvOp) String() string { return "SPDInverse" }

// DiffWRT implements gorgonia.SDOp.
func (op spdInvOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp: ∂/∂A = −A⁻¹·G·A⁻¹ (the output is
// symmetric, so A⁻ᵀ = A⁻¹).
func (op spdInvOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	t, err := MatMul(output, grad)
	if err != nil {
		return nil, err
	}
	if t, err = MatMul(t, output); err != nil {
		return nil, err
	}
	if t, err = gorgonia.Neg(t); err != nil {
		return nil, err
	}
	return gorgonia.Nodes{t}, nil
}

// SPDLogDetOp computes log det A = 2·Σ log L[i,i] for A = L·Lᵀ.
type spdLogDetOp struct{ pureOp }

var _ gorgonia.SDOp = spdLogDetOp{}

// Arity implements gorgonia.Op.
func (op spdLogDetOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op spdLogDetOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, a)
}

// InferShape implements gorgonia.Op.
func (op spdLogDetOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return tensor.ScalarShape(), nil
}

// Do implements gorgonia.Op.
func (op spdLogDetOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	a, n, err := spdSquareInput(op, in)
	if err != nil {
		return nil, err
	}
	v, err := op.logDet(a, make([]float64, n*n), n)
	if err != nil {
		return nil, err
	}
	return gorgonia.NewF64(v), nil
}

// logDet returns the log-determinant of the n×n matrix a, with scratch l
// (n×n).
func (op spdLogDetOp) logDet(a, l []float64, n int) (float64, error) {
	if err := spdFactor(op, l, a, n); err != nil {
		return 0, err
	}
	var s float64
	for i := 0; i < n; i++ {
		s += math.Log(l[i*n+i])
	}
	return 2 * s, nil
}

// kernel implements kernelOp.
func (op spdLogDetOp) kernel(out *operand, in []*operand) (func() error, error) {
	n, err := squareOperand(op, in)
	if err != nil {
		return nil, err
	}
	l := make([]float64, n*n)
	o, a := out.data, in[0].data
	return func() error {
		v, err := op.logDet(a, l, n)
		o[0] = v
		return err
	}, nil
}

// WriteHash implements gorgonia.Op.
func (op spdLogDetOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op spdLogDetOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op spdLogDetOp) String() string { return "SPDLogDet" }

// DiffWRT implements gorgonia.SDOp.
func (op spdLogDetOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp: ∂/∂A = g·A⁻¹.
func (op spdLogDetOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	inv, err := SPDInverse(inputs[0])
	if err != nil {
		return nil, err
	}
	d, err := gorgonia.Mul(inv, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d}, nil
}

// rowLSEOp maps an n×k matrix to the n-vector of its rows' log-sum-exp.
type rowLSEOp struct{ pureOp }

var _ gorgonia.SDOp = rowLSEOp{}

// Arity implements gorgonia.Op.
func (op rowLSEOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op rowLSEOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 1, Of: a})
}

// InferShape implements gorgonia.Op.
func (op rowLSEOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(s) != 2 {
		return nil, fmt.Errorf("%v: input shape %v is not a matrix", op, s)
	}
	return tensor.Shape{s[0]}, nil
}

// LogSumExp returns log Σ exp(x[k]) as max + log Σ exp(x[k] − max),
// summing in index order.
func LogSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	var s float64
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// Do implements gorgonia.Op.
func (op rowLSEOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("%v: input shape %v is not a matrix", op, s)
	}
	out := make([]float64, s[0])
	rowLSE(out, d[0], s[1])
	return tensor.New(tensor.WithShape(s[0]), tensor.WithBacking(out)), nil
}

// rowLSE sets out[i] to the log-sum-exp of row i of the row-major
// len(out)×k matrix x.
func rowLSE(out, x []float64, k int) {
	for i := range out {
		out[i] = LogSumExp(x[i*k : (i+1)*k])
	}
}

// kernel implements kernelOp.
func (op rowLSEOp) kernel(out *operand, in []*operand) (func() error, error) {
	s := in[0].shape
	if len(s) != 2 || len(out.data) != s[0] {
		return nil, fmt.Errorf("%v: input shape %v into %d values", op, s, len(out.data))
	}
	o, x, k := out.data, in[0].data, s[1]
	return func() error { rowLSE(o, x, k); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op rowLSEOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op rowLSEOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op rowLSEOp) String() string { return "RowLogSumExp" }

// DiffWRT implements gorgonia.SDOp.
func (op rowLSEOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp.
func (op rowLSEOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(rowLSEGradOp{}, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d}, nil
}

// rowLSEGradOp maps (x, lse, g) to g[i]·exp(x[i,k] − lse[i]), the
// gradient of the row log-sum-exp. It is not itself differentiable.
type rowLSEGradOp struct{ pureOp }

var _ gorgonia.Op = rowLSEGradOp{}

// Arity implements gorgonia.Op.
func (op rowLSEGradOp) Arity() int { return 3 }

// Type implements gorgonia.Op.
func (op rowLSEGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	m := gorgonia.TensorType{Dims: 2, Of: a}
	v := gorgonia.TensorType{Dims: 1, Of: a}
	return hm.NewFnType(m, v, v, m)
}

// InferShape implements gorgonia.Op.
func (op rowLSEGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// Do implements gorgonia.Op.
func (op rowLSEGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 3)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if len(s) != 2 || len(d[1]) < s[0] || len(d[2]) < s[0] {
		return nil, fmt.Errorf("%v: shapes %v, %v, %v", op, s, in[1].Shape(), in[2].Shape())
	}
	out := make([]float64, s[0]*s[1])
	rowLSEGrad(out, d[0], d[1], d[2], s[0], s[1])
	return tensor.New(tensor.WithShape(s[0], s[1]), tensor.WithBacking(out)), nil
}

// rowLSEGrad sets out (n×k) to g[i]·exp(x[i,k] − lse[i]).
func rowLSEGrad(out, x, lse, g []float64, n, k int) {
	for i := 0; i < n; i++ {
		for j := 0; j < k; j++ {
			out[i*k+j] = g[i] * math.Exp(x[i*k+j]-lse[i])
		}
	}
}

// kernel implements kernelOp.
func (op rowLSEGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	s := in[0].shape
	if len(s) != 2 || len(in[1].data) < s[0] || len(in[2].data) < s[0] || len(out.data) != s[0]*s[1] {
		return nil, fmt.Errorf("%v: shapes %v, %v, %v", op, s, in[1].shape, in[2].shape)
	}
	o, x, lse, g, n, k := out.data, in[0].data, in[1].data, in[2].data, s[0], s[1]
	return func() error { rowLSEGrad(o, x, lse, g, n, k); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op rowLSEGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op rowLSEGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op rowLSEGradOp) String() string { return "RowLogSumExpGrad" }
