package detectors

import (
	"fmt"
	"hash"
	"math"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the deterministic contrastive loss (DCL) of NeuTraL AD
// (Qiu et al., ICML 2021, Eq. 2) as one fused gorgonia op with its
// analytic gradient, and the per-row function both the op and the
// plain-Go scorer (detectors/selfsupervised/neutral.go, through
// dcl_kit.go) call, so that training graph and scorer compute a row's
// loss with the same operations in the same order. The op stays in the
// core because the training executor (program.go) runs it through its
// own kernels.
//
// For one row, let z_0 be the encoding of the row itself and z_1 … z_K
// the encodings of its K transformed views, u_v = z_v / max(‖z_v‖, ε)
// (F.normalize) and s_ab = ⟨u_a, u_b⟩ / τ. Then
//
//	L = scale · Σ_{k=1..K} [ log Σ_{l≠k, l=0..K} exp(s_kl) − s_k0 ],
//	scale = 1 / (K·ln K),
//
// which is Σ_k −log( h(x_k, x) / (h(x_k, x) + Σ_{l≠k} h(x_k, x_l)) ) with
// h = exp(cos-sim / τ), times the normalising constant of the reference
// code (boschresearch/NeuTraL-AD, models/Losses.py). The log-sum-exp
// subtracts its maximum first, so no τ overflows exp.
//
// Gradient, with g the row's upstream gradient and p_kl = exp(s_kl − lse_k)
// the softmax of row k over l ≠ k:
//
//	∂L/∂s_kl = scale·g·(p_kl − [l = 0])   (k ≥ 1; s_ab = s_ba collects both)
//	∂L/∂u_a  = Σ_b (∂L/∂s_ab + ∂L/∂s_ba) · u_b / τ
//	∂L/∂z_a  = (∂L/∂u_a − u_a ⟨u_a, ∂L/∂u_a⟩) / ‖z_a‖    (‖z_a‖ > ε)
//	         = ∂L/∂u_a / ε                                (otherwise)

// dclEps is the smallest norm an encoding is divided by (F.normalize's
// default eps).
const dclEps = 1e-12

// dcl holds the shape of the loss and the scratch of one evaluation.
// A dcl is not safe for concurrent use; each op kernel and each scorer
// call has its own scratch.
type dcl struct {
	views int // K+1: the row and its K transformations
	m     int // encoding width
	tau   float64
	scale float64
}

func newDCL(views, m int, tau float64) dcl {
	k := float64(views - 1)
	return dcl{views: views, m: m, tau: tau, scale: 1 / (k * math.Log(k))}
}

// scratchLen is the scratch length of loss and grad: the normalized
// encodings (views×m), their norms (views), the similarities and their
// gradients (2·views×views) and the gradient by u (views×m).
func (c dcl) scratchLen() int { return 2*c.views*c.m + c.views + 2*c.views*c.views }

// normalize sets u to the rows of z divided by max(‖z_v‖, dclEps) and
// norms to the ‖z_v‖. Where Σ z_j² over- or underflows, the norm is
// computed as a·√Σ(z_j/a)² with a the largest |z_j|, so that rows far
// outside the training data still have a direction.
func (c dcl) normalize(z, u, norms []float64) {
	m := c.m
	for v := 0; v < c.views; v++ {
		zv, uv := z[v*m:(v+1)*m], u[v*m:(v+1)*m]
		s := 0.0
		for _, x := range zv {
			s += x * x
		}
		n := math.Sqrt(s)
		if !(s > dclTiny && s <= math.MaxFloat64) {
			n = scaledNorm(zv)
		}
		norms[v] = n
		inv := 1 / max(n, dclEps)
		for j, x := range zv {
			uv[j] = x * inv
		}
	}
}

// dclTiny is the smallest sum of squares normalize takes the square root
// of directly; below it the squares may have lost precision.
const dclTiny = 1e-250

// scaledNorm returns ‖z‖ as a·√Σ(z_j/a)² with a the largest |z_j| (0 for
// a zero vector, NaN if z holds NaN).
func scaledNorm(z []float64) float64 {
	a := 0.0
	for _, x := range z {
		if math.IsNaN(x) {
			return x
		}
		a = max(a, math.Abs(x))
	}
	if a == 0 || math.IsInf(a, 0) {
		return a
	}
	s := 0.0
	for _, x := range z {
		r := x / a
		s += r * r
	}
	return a * math.Sqrt(s)
}

// similarities sets s (views×views, symmetric, zero diagonal) to
// ⟨u_a, u_b⟩/τ.
func (c dcl) similarities(u, s []float64) {
	m, n := c.m, c.views
	for a := 0; a < n; a++ {
		s[a*n+a] = 0
		for b := a + 1; b < n; b++ {
			dot := 0.0
			for j, x := range u[a*m : (a+1)*m] {
				dot += x * u[b*m+j]
			}
			dot /= c.tau
			s[a*n+b], s[b*n+a] = dot, dot
		}
	}
}

// lse returns log Σ_{l≠k} exp(s[k,l]), with the maximum subtracted first.
func (c dcl) lse(s []float64, k int) float64 {
	n := c.views
	row := s[k*n : (k+1)*n]
	mx := math.Inf(-1)
	for l, x := range row {
		if l != k {
			mx = max(mx, x)
		}
	}
	sum := 0.0
	for l, x := range row {
		if l != k {
			sum += math.Exp(x - mx)
		}
	}
	return mx + math.Log(sum)
}

// loss returns the DCL of one row whose views' encodings are the rows of
// z (views×m, view 0 the untransformed row).
func (c dcl) loss(z, scratch []float64) float64 {
	n, m := c.views, c.m
	u, norms, s := scratch[:n*m], scratch[n*m:n*m+n], scratch[n*m+n:n*m+n+n*n]
	c.normalize(z, u, norms)
	c.similarities(u, s)
	l := 0.0
	for k := 1; k < n; k++ {
		l += c.lse(s, k) - s[k*n]
	}
	return c.scale * l
}

// grad sets dz (views×m) to g times the gradient of loss(z) by z.
func (c dcl) grad(dz, z []float64, g float64, scratch []float64) {
	n, m := c.views, c.m
	u, norms := scratch[:n*m], scratch[n*m:n*m+n]
	s, gs := scratch[n*m+n:n*m+n+n*n], scratch[n*m+n+n*n:n*m+n+2*n*n]
	du := scratch[n*m+n+2*n*n : 2*n*m+n+2*n*n]
	c.normalize(z, u, norms)
	c.similarities(u, s)
	gk := c.scale * g
	clear(gs[:n]) // view 0 has no loss term of its own
	for k := 1; k < n; k++ {
		// gs[k,l] = gk·(softmax_{l≠k}(s[k,·])_l − [l = 0]), the exponentials
		// taken once.
		row, gr := s[k*n:(k+1)*n], gs[k*n:(k+1)*n]
		mx := math.Inf(-1)
		for l, x := range row {
			if l != k {
				mx = max(mx, x)
			}
		}
		sum := 0.0
		for l, x := range row {
			e := 0.0
			if l != k {
				e = math.Exp(x - mx)
			}
			gr[l] = e
			sum += e
		}
		w := gk / sum
		for l := range gr {
			gr[l] *= w
		}
		gr[0] -= gk
	}
	clear(du)
	for a := 0; a < n; a++ {
		da := du[a*m : (a+1)*m]
		for b := 0; b < n; b++ {
			if b == a {
				continue
			}
			w := (gs[a*n+b] + gs[b*n+a]) / c.tau
			for j, x := range u[b*m : (b+1)*m] {
				da[j] += w * x
			}
		}
	}
	for a := 0; a < n; a++ {
		ua, da, dza := u[a*m:(a+1)*m], du[a*m:(a+1)*m], dz[a*m:(a+1)*m]
		if norms[a] <= dclEps {
			for j, x := range da {
				dza[j] = x / dclEps
			}
			continue
		}
		dot := 0.0
		for j, x := range ua {
			dot += x * da[j]
		}
		for j, x := range da {
			dza[j] = (x - ua[j]*dot) / norms[a]
		}
	}
}

// dclLoss returns the vector of the b row losses of z, a (views·b)×m
// matrix node whose row v·b+i is the encoding of view v of row i.
func dclLoss(z *gorgonia.Node, views int, tau float64) (*gorgonia.Node, error) {
	return gorgonia.ApplyOp(dclOp{views: views, tau: tau}, z)
}

// dclOp maps the (views·b)×m encodings of b rows to their b losses.
type dclOp struct {
	pureOp
	views int
	tau   float64
}

var _ gorgonia.SDOp = dclOp{}

// Arity implements gorgonia.Op.
func (op dclOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op dclOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	return hm.NewFnType(gorgonia.TensorType{Dims: 2, Of: a}, gorgonia.TensorType{Dims: 1, Of: a})
}

// rows returns the number of rows b and the encoding width of a
// (views·b)×m input shape.
func (op dclOp) rows(s tensor.Shape) (b, m int, err error) {
	if len(s) != 2 || op.views < 3 || s[0]%op.views != 0 {
		return 0, 0, fmt.Errorf("%v: input shape %v is not (%d·rows)×width", op, s, op.views)
	}
	return s[0] / op.views, s[1], nil
}

// InferShape implements gorgonia.Op.
func (op dclOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	s, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	b, _, err := op.rows(s)
	if err != nil {
		return nil, err
	}
	return tensor.Shape{b}, nil
}

// dclRows is the op's forward pass: out[i] is the loss of row i of the
// view-major encodings z ((views·b)×m), gathered into scratch first.
func dclRows(c dcl, out, z, scratch []float64) {
	b, n, m := len(out), c.views, c.m
	zr, rest := scratch[:n*m], scratch[n*m:]
	for i := range out {
		for v := 0; v < n; v++ {
			copy(zr[v*m:(v+1)*m], z[(v*b+i)*m:(v*b+i+1)*m])
		}
		out[i] = c.loss(zr, rest)
	}
}

// Do implements gorgonia.Op.
func (op dclOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	b, m, err := op.rows(in[0].Shape())
	if err != nil {
		return nil, err
	}
	c := newDCL(op.views, m, op.tau)
	out := make([]float64, b)
	dclRows(c, out, d[0], make([]float64, op.views*m+c.scratchLen()))
	return tensor.New(tensor.WithShape(b), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op dclOp) kernel(out *operand, in []*operand) (func() error, error) {
	b, m, err := op.rows(in[0].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != b {
		return nil, fmt.Errorf("%v: %d rows into %d values", op, b, len(out.data))
	}
	c := newDCL(op.views, m, op.tau)
	o, z, scratch := out.data, in[0].data, make([]float64, op.views*m+c.scratchLen())
	return func() error { dclRows(c, o, z, scratch); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op dclOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op dclOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op dclOp) String() string { return fmt.Sprintf("DCL{%d,%v}", op.views, op.tau) }

// DiffWRT implements gorgonia.SDOp.
func (op dclOp) DiffWRT(int) []bool { return []bool{true} }

// SymDiff implements gorgonia.SDOp.
func (op dclOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	d, err := gorgonia.ApplyOp(dclGradOp(op), inputs[0], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{d}, nil
}

// dclGradOp maps (z, g) to the gradient of Σ_i g[i]·loss_i by z: the
// backward pass of dclOp. It is not itself differentiable.
type dclGradOp dclOp

var _ gorgonia.Op = dclGradOp{}

// Arity implements gorgonia.Op.
func (op dclGradOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op dclGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	mat := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(mat, gorgonia.TensorType{Dims: 1, Of: a}, mat)
}

// InferShape implements gorgonia.Op.
func (op dclGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// dclGradRows is the op's backward pass: the rows of out
// ((views·b)×m) that belong to row i are g[i] times the gradient of its
// loss.
func dclGradRows(c dcl, out, z, g, scratch []float64) {
	b, n, m := len(g), c.views, c.m
	zr, dz, rest := scratch[:n*m], scratch[n*m:2*n*m], scratch[2*n*m:]
	for i, gi := range g {
		for v := 0; v < n; v++ {
			copy(zr[v*m:(v+1)*m], z[(v*b+i)*m:(v*b+i+1)*m])
		}
		c.grad(dz, zr, gi, rest)
		for v := 0; v < n; v++ {
			copy(out[(v*b+i)*m:(v*b+i+1)*m], dz[v*m:(v+1)*m])
		}
	}
}

// check returns b and m for inputs of shapes z and g.
func (op dclGradOp) check(z tensor.Shape, g int) (b, m int, err error) {
	if b, m, err = dclOp(op).rows(z); err != nil {
		return 0, 0, err
	}
	if g != b {
		return 0, 0, fmt.Errorf("%v: %d gradients for %d rows", op, g, b)
	}
	return b, m, nil
}

// Do implements gorgonia.Op.
func (op dclGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if _, _, err := op.check(s, len(d[1])); err != nil {
		return nil, err
	}
	c := newDCL(op.views, s[1], op.tau)
	out := make([]float64, len(d[0]))
	dclGradRows(c, out, d[0], d[1], make([]float64, 2*op.views*s[1]+c.scratchLen()))
	return tensor.New(tensor.WithShape(s.Clone()...), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op dclGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	_, m, err := op.check(in[0].shape, len(in[1].data))
	if err != nil {
		return nil, err
	}
	if len(out.data) != len(in[0].data) {
		return nil, fmt.Errorf("%v: %d values into %d", op, len(in[0].data), len(out.data))
	}
	c := newDCL(op.views, m, op.tau)
	o, z, g, scratch := out.data, in[0].data, in[1].data, make([]float64, 2*op.views*m+c.scratchLen())
	return func() error { dclGradRows(c, o, z, g, scratch); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op dclGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op dclGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op dclGradOp) String() string { return fmt.Sprintf("DCLGrad{%d,%v}", op.views, op.tau) }
