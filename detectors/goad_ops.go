package detectors

import (
	"fmt"
	"hash"
	"math"

	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// This file holds the fused gorgonia ops of GOAD (goad.go). Its training
// graph works on n = rows·M transformed rows at once (M transformations
// of each row of the mini-batch, row b·M + m of a matrix being
// transformation m of row b), so composing the loss from gorgonia's
// element-wise ops would allocate and traverse several n×M matrices per
// term; these ops make one pass each:
//
//	goadDistOp      D = ‖z_i − c_j‖² for every feature row z_i and centre c_j
//	goadSoftmaxOp   the classifier's softmax and log-sum-exp
//	goadLossOp      cross-entropy of the transformation classifier plus
//	                the weighted centre triplet loss, per transformed row
//	goadScoreOp     the score of each original row (only for the test
//	                that compares the graph with the plain-Go scorer)
//
// The plain-Go scorer (goadScorer) computes distances and scores with the
// same functions (goadDistances, goadNLL).

// goadDistances sets d (M values) to ‖z − c_j‖² = ‖z‖² + ‖c_j‖² − 2·z·c_j
// for each centre j, with ct the k×M transposed centres and cc their
// squared norms: one VecMatAdd (AVX2 where available) instead of M
// distance loops. The expansion can leave a distance a rounding error
// below zero; the softmax over distances does not mind.
func goadDistances(d, z, ct, cc []float64) {
	clear(d)
	kernel.VecMatAdd(d, z, ct)
	zz := 0.0
	for _, v := range z {
		zz += float64(v * v)
	}
	for j, v := range d {
		d[j] = (zz + cc[j]) - 2*v
	}
}

// goadCentres sets ct (k×M) to the transpose of the centres c (M×k) and
// cc (M) to their squared norms.
func goadCentres(ct, cc, c []float64, m, k int) {
	kernel.Transpose(ct, c, m, k)
	for j := 0; j < m; j++ {
		s := 0.0
		for _, v := range c[j*k : (j+1)*k] {
			s += float64(v * v)
		}
		cc[j] = s
	}
}

// goadExpCutoff: log-sum-exps over M terms skip the terms more than this
// below the largest (each under e^-40 ≈ 4e-18 of it), whose sum changes
// the result by less than M·4e-18 relative; over the M×M distances of a
// row most terms are that far below, and the exponential is the cost of
// GOAD's training and scoring.
const goadExpCutoff = 40

// goadLogSumExp returns log Σ exp(x[j]) as m + log Σ exp(x[j] − m), m the
// maximum, summing in index order the terms within goadExpCutoff of m.
func goadLogSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	if math.IsInf(m, 0) {
		return m
	}
	var s float64
	for _, v := range x {
		if e := v - m; e > -goadExpCutoff {
			s += math.Exp(e)
		}
	}
	return m + math.Log(s)
}

// logAddExp returns log(exp(a) + exp(b)) without overflow; either may be
// −Inf.
func logAddExp(a, b float64) float64 {
	if a < b {
		a, b = b, a
	}
	if math.IsInf(b, -1) {
		return a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// goadNLL returns Bergman & Hoshen's score of one row, −Σ_m log P̃(m |
// T(x, m)) (their Eqs. 4 and 5), from the squared distances dist (M×M,
// row m: transformation m's features to every centre) and logEps =
// log ε, logMEps = log(M·ε) (both −Inf for ε = 0, the plain softmax):
//
//	P̃(m | T(x, m)) = (exp(−D[m,m]) + ε) / (Σ_j exp(−D[m,j]) + M·ε)
//
// computed in log space (log-sum-exp), summing over m in order. neg (M
// values) is scratch.
func goadNLL(dist []float64, m int, logEps, logMEps float64, neg []float64) float64 {
	s := 0.0
	for t := 0; t < m; t++ {
		row := dist[t*m : (t+1)*m]
		for j, v := range row {
			neg[j] = -v
		}
		num := logAddExp(-row[t], logEps)
		den := logAddExp(goadLogSumExp(neg), logMEps)
		s += den - num
	}
	return s
}

// goadDistOp maps the features Z (n×k) and the centres C (M×k) to the
// n×M squared distances (goadDistances). It is differentiable in Z only:
// the centres are constants of the training step.
type goadDistOp struct{ pureOp }

var _ gorgonia.SDOp = goadDistOp{}

// Arity implements gorgonia.Op.
func (op goadDistOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op goadDistOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t)
}

// dims checks the shapes of Z and C and returns n, k and M.
func (op goadDistOp) dims(z, c tensor.Shape) (n, k, m int, err error) {
	if len(z) != 2 || len(c) != 2 || z[1] != c[1] {
		return 0, 0, 0, fmt.Errorf("%v: shapes %v and %v", op, z, c)
	}
	return z[0], z[1], c[0], nil
}

// InferShape implements gorgonia.Op.
func (op goadDistOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	z, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	c, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	n, _, m, err := op.dims(z, c)
	return tensor.Shape{n, m}, err
}

// into sets out (n×M) to the distances; ct and cc are scratch.
func (op goadDistOp) into(out, z, c, ct, cc []float64, n, k, m int) {
	goadCentres(ct, cc, c, m, k)
	for i := 0; i < n; i++ {
		goadDistances(out[i*m:(i+1)*m], z[i*k:(i+1)*k], ct, cc)
	}
}

// Do implements gorgonia.Op.
func (op goadDistOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	n, k, m, err := op.dims(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*m)
	op.into(out, d[0], d[1], make([]float64, k*m), make([]float64, m), n, k, m)
	return tensor.New(tensor.WithShape(n, m), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadDistOp) kernel(out *operand, in []*operand) (func() error, error) {
	n, k, m, err := op.dims(in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != n*m {
		return nil, fmt.Errorf("%v: %d×%d distances into %d values", op, n, m, len(out.data))
	}
	ct, cc := make([]float64, k*m), make([]float64, m)
	o, z, c := out.data, in[0].data, in[1].data
	return func() error { op.into(o, z, c, ct, cc, n, k, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadDistOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadDistOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadDistOp) String() string { return "GOADDistances" }

// DiffWRT implements gorgonia.SDOp.
func (op goadDistOp) DiffWRT(int) []bool { return []bool{true, false} }

// SymDiff implements gorgonia.SDOp.
func (op goadDistOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dz, err := gorgonia.ApplyOp(goadDistGradOp{}, inputs[0], inputs[1], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dz, nil}, nil
}

// goadDistGradOp maps (Z, C, G) to the gradient of Σ G⊙D in Z:
// row i is 2·(Σ_j G[i,j])·z_i − 2·Σ_j G[i,j]·c_j. It is not itself
// differentiable.
type goadDistGradOp struct{ pureOp }

var _ gorgonia.Op = goadDistGradOp{}

// Arity implements gorgonia.Op.
func (op goadDistGradOp) Arity() int { return 3 }

// Type implements gorgonia.Op.
func (op goadDistGradOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t, t, t)
}

// dims checks the shapes of Z, C and G and returns n, k and M.
func (op goadDistGradOp) dims(z, c, g tensor.Shape) (n, k, m int, err error) {
	if n, k, m, err = (goadDistOp{}).dims(z, c); err != nil {
		return 0, 0, 0, err
	}
	if len(g) != 2 || g[0] != n || g[1] != m {
		return 0, 0, 0, fmt.Errorf("%v: gradient shape %v, want (%d, %d)", op, g, n, m)
	}
	return n, k, m, nil
}

// InferShape implements gorgonia.Op.
func (op goadDistGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[0])
}

// into sets out (n×k) to the gradient.
func (op goadDistGradOp) into(out, z, c, g []float64, n, k, m int) {
	for i := 0; i < n; i++ {
		row, gi := out[i*k:(i+1)*k], g[i*m:(i+1)*m]
		clear(row)
		kernel.VecMatAdd(row, gi, c) // Σ_j G[i,j]·c_j
		s := 0.0
		for _, v := range gi {
			s += v
		}
		for j, v := range z[i*k : (i+1)*k] {
			row[j] = 2 * (s*v - row[j])
		}
	}
}

// Do implements gorgonia.Op.
func (op goadDistGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	d, err := float64Data(op, in, 3)
	if err != nil {
		return nil, err
	}
	n, k, m, err := op.dims(in[0].Shape(), in[1].Shape(), in[2].Shape())
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*k)
	op.into(out, d[0], d[1], d[2], n, k, m)
	return tensor.New(tensor.WithShape(n, k), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadDistGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	n, k, m, err := op.dims(in[0].shape, in[1].shape, in[2].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != n*k {
		return nil, fmt.Errorf("%v: %d×%d gradient into %d values", op, n, k, len(out.data))
	}
	o, z, c, g := out.data, in[0].data, in[1].data, in[2].data
	return func() error { op.into(o, z, c, g, n, k, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadDistGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadDistGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadDistGradOp) String() string { return "GOADDistancesGrad" }

// goadSoftmaxOp maps the classifier's logits H (n×M) to S (n×(M+1)):
// each row's softmax in columns 0..M−1 (terms more than goadExpCutoff
// below the row's largest are 0) and its log-sum-exp in column M. The
// loss reads the log-sum-exp and its gradient the softmax, so each logit
// costs one exponential per training step, not one for the loss and one
// for its gradient. It is not differentiated: goadLossOp, its only
// reader, supplies the whole gradient in H (see there).
type goadSoftmaxOp struct{ pureOp }

var _ gorgonia.SDOp = goadSoftmaxOp{}

// Arity implements gorgonia.Op.
func (op goadSoftmaxOp) Arity() int { return 1 }

// Type implements gorgonia.Op.
func (op goadSoftmaxOp) Type() hm.Type {
	t := gorgonia.TensorType{Dims: 2, Of: hm.TypeVariable('a')}
	return hm.NewFnType(t, t)
}

// InferShape implements gorgonia.Op.
func (op goadSoftmaxOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	h, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	if len(h) != 2 {
		return nil, fmt.Errorf("%v: shape %v is not a matrix", op, h)
	}
	return tensor.Shape{h[0], h[1] + 1}, nil
}

// into sets out (n×(M+1)) from the logits h (n×M).
func (op goadSoftmaxOp) into(out, h []float64, n, m int) {
	for i := 0; i < n; i++ {
		hi, o := h[i*m:(i+1)*m], out[i*(m+1):(i+1)*(m+1)]
		top := math.Inf(-1)
		for _, v := range hi {
			top = max(top, v)
		}
		var sum float64
		for j, v := range hi {
			o[j] = 0
			if e := v - top; e > -goadExpCutoff {
				o[j] = math.Exp(e)
				sum += o[j]
			}
		}
		for j := range hi {
			o[j] /= sum
		}
		o[m] = top + math.Log(sum)
	}
}

// Do implements gorgonia.Op.
func (op goadSoftmaxOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := float64Data(op, in, 1)
	if err != nil {
		return nil, err
	}
	s := in[0].Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("%v: shape %v is not a matrix", op, s)
	}
	out := make([]float64, s[0]*(s[1]+1))
	op.into(out, v[0], s[0], s[1])
	return tensor.New(tensor.WithShape(s[0], s[1]+1), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadSoftmaxOp) kernel(out *operand, in []*operand) (func() error, error) {
	s := in[0].shape
	if len(s) != 2 || len(out.data) != s[0]*(s[1]+1) {
		return nil, fmt.Errorf("%v: shape %v into %d values", op, s, len(out.data))
	}
	o, h, n, m := out.data, in[0].data, s[0], s[1]
	return func() error { op.into(o, h, n, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadSoftmaxOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadSoftmaxOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadSoftmaxOp) String() string { return "GOADSoftmax" }

// DiffWRT implements gorgonia.SDOp: see the type's comment.
func (op goadSoftmaxOp) DiffWRT(int) []bool { return []bool{false} }

// SymDiff implements gorgonia.SDOp.
func (op goadSoftmaxOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiated", op)
}

// goadLossOp maps the classifier's logits H (n×M), their softmax and
// log-sum-exp S = goadSoftmaxOp(H) (n×(M+1)) and the squared distances D
// (n×M) of n transformed rows, row i being transformation m = i mod M,
// to the n-vector of their losses
//
//	lse(H[i,:]) − H[i,m] + lambda·max(0, D[i,m] + margin − min_{j≠m} D[i,j])
//
// the cross-entropy of predicting the transformation and Bergman &
// Hoshen's centre triplet loss (their Eq. 6). It is differentiated in H
// and D; its gradient in H, g[i]·(softmax(H[i,:]) − e_m), is the whole
// gradient of the cross-entropy, including the part through S, which is
// therefore not differentiated.
type goadLossOp struct {
	pureOp
	margin, lambda float64
}

var _ gorgonia.SDOp = goadLossOp{}

// Arity implements gorgonia.Op.
func (op goadLossOp) Arity() int { return 3 }

// Type implements gorgonia.Op.
func (op goadLossOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	mt := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(mt, mt, mt, gorgonia.TensorType{Dims: 1, Of: a})
}

// goadLossDims checks that S is n×(M+1) and D is n×M (and H, if not nil,
// n×M) and returns n and M ≥ 2.
func goadLossDims(op gorgonia.Op, h, s, d tensor.Shape) (n, m int, err error) {
	if len(d) != 2 || d[1] < 2 || len(s) != 2 || s[0] != d[0] || s[1] != d[1]+1 || (h != nil && !h.Eq(d)) {
		return 0, 0, fmt.Errorf("%v: shapes %v, %v and %v", op, h, s, d)
	}
	return d[0], d[1], nil
}

// InferShape implements gorgonia.Op.
func (op goadLossOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	var sh [3]tensor.Shape
	for i := range sh {
		var err error
		if sh[i], err = shapeOf(in[i]); err != nil {
			return nil, err
		}
	}
	n, _, err := goadLossDims(op, sh[0], sh[1], sh[2])
	return tensor.Shape{n}, err
}

// goadNearestOther returns the index and value of the smallest d[j], j ≠ t
// (the first one on ties).
func goadNearestOther(d []float64, t int) (int, float64) {
	best, arg := math.Inf(1), -1
	for j, v := range d {
		if j != t && (arg < 0 || v < best) {
			best, arg = v, j
		}
	}
	return arg, best
}

// into sets out (n) to the row losses.
func (op goadLossOp) into(out, h, s, d []float64, n, m int) {
	for i := 0; i < n; i++ {
		t := i % m
		di := d[i*m : (i+1)*m]
		_, neg := goadNearestOther(di, t)
		tc := max(0, di[t]+op.margin-neg)
		out[i] = (s[i*(m+1)+m] - h[i*m+t]) + op.lambda*tc
	}
}

// Do implements gorgonia.Op.
func (op goadLossOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := float64Data(op, in, 3)
	if err != nil {
		return nil, err
	}
	n, m, err := goadLossDims(op, in[0].Shape(), in[1].Shape(), in[2].Shape())
	if err != nil {
		return nil, err
	}
	out := make([]float64, n)
	op.into(out, v[0], v[1], v[2], n, m)
	return tensor.New(tensor.WithShape(n), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadLossOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	n, m, err := goadLossDims(op, in[0].shape, in[1].shape, in[2].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != n {
		return nil, fmt.Errorf("%v: %d losses into %d values", op, n, len(out.data))
	}
	o, h, s, d := out.data, in[0].data, in[1].data, in[2].data
	return func() error { op.into(o, h, s, d, n, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadLossOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadLossOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadLossOp) String() string {
	return fmt.Sprintf("GOADLoss{%v,%v}", op.margin, op.lambda)
}

// DiffWRT implements gorgonia.SDOp.
func (op goadLossOp) DiffWRT(int) []bool { return []bool{true, false, true} }

// SymDiff implements gorgonia.SDOp.
func (op goadLossOp) SymDiff(inputs gorgonia.Nodes, output, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	dh, err := gorgonia.ApplyOp(goadLossGradOp{loss: op, wrtD: false}, inputs[1], inputs[2], grad)
	if err != nil {
		return nil, err
	}
	dd, err := gorgonia.ApplyOp(goadLossGradOp{loss: op, wrtD: true}, inputs[1], inputs[2], grad)
	if err != nil {
		return nil, err
	}
	return gorgonia.Nodes{dh, nil, dd}, nil
}

// goadLossGradOp maps (S, D, g) to the gradient of Σ g⊙goadLoss in H
// (g[i]·(softmax(H[i,:]) − e_m), the softmax read from S) or, with wrtD,
// in D (g[i]·lambda·(e_m − e_j) for the nearest other centre j where the
// triplet term is positive, else 0). It is not itself differentiable.
type goadLossGradOp struct {
	pureOp
	loss goadLossOp
	wrtD bool
}

var _ gorgonia.Op = goadLossGradOp{}

// Arity implements gorgonia.Op.
func (op goadLossGradOp) Arity() int { return 3 }

// Type implements gorgonia.Op.
func (op goadLossGradOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	mt := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(mt, mt, gorgonia.TensorType{Dims: 1, Of: a}, mt)
}

// InferShape implements gorgonia.Op: the shape of D (and of H).
func (op goadLossGradOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	return shapeOf(in[1])
}

// into sets out (n×M) to the gradient.
func (op goadLossGradOp) into(out, s, d, g []float64, n, m int) {
	for i := 0; i < n; i++ {
		t := i % m
		o := out[i*m : (i+1)*m]
		if !op.wrtD {
			for j, p := range s[i*(m+1) : i*(m+1)+m] {
				o[j] = g[i] * p
			}
			o[t] -= g[i]
			continue
		}
		clear(o)
		di := d[i*m : (i+1)*m]
		j, neg := goadNearestOther(di, t)
		if di[t]+op.loss.margin-neg > 0 {
			w := g[i] * op.loss.lambda
			o[t], o[j] = w, -w
		}
	}
}

// shapes checks the inputs' shapes and returns n and M.
func (op goadLossGradOp) shapes(s, d, g tensor.Shape) (n, m int, err error) {
	if n, m, err = goadLossDims(op, nil, s, d); err != nil {
		return 0, 0, err
	}
	if g.TotalSize() != n {
		return 0, 0, fmt.Errorf("%v: gradient shape %v for %d rows", op, g, n)
	}
	return n, m, nil
}

// Do implements gorgonia.Op.
func (op goadLossGradOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := float64Data(op, in, 3)
	if err != nil {
		return nil, err
	}
	n, m, err := op.shapes(in[0].Shape(), in[1].Shape(), in[2].Shape())
	if err != nil {
		return nil, err
	}
	out := make([]float64, n*m)
	op.into(out, v[0], v[1], v[2], n, m)
	return tensor.New(tensor.WithShape(n, m), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadLossGradOp) kernel(out *operand, in []*operand) (func() error, error) {
	if len(in) != 3 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	g := in[2].shape
	if in[2].scalar {
		g = tensor.Shape{1}
	}
	n, m, err := op.shapes(in[0].shape, in[1].shape, g)
	if err != nil {
		return nil, err
	}
	if len(out.data) != n*m {
		return nil, fmt.Errorf("%v: %d×%d gradient into %d values", op, n, m, len(out.data))
	}
	o, s, d, gd := out.data, in[0].data, in[1].data, in[2].data
	return func() error { op.into(o, s, d, gd, n, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadLossGradOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadLossGradOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadLossGradOp) String() string {
	return fmt.Sprintf("GOADLossGrad{%v,%v,%t}", op.loss.margin, op.loss.lambda, op.wrtD)
}

// goadScoreOp maps the features Z (rows·M × k) of rows rows and the
// centres C (M×k) to the rows-vector of their scores (goadNLL), as the
// plain-Go scorer computes them. The training objective does not use it;
// it is not differentiable.
type goadScoreOp struct {
	pureOp
	logEps, logMEps float64
}

var _ gorgonia.SDOp = goadScoreOp{}

// Arity implements gorgonia.Op.
func (op goadScoreOp) Arity() int { return 2 }

// Type implements gorgonia.Op.
func (op goadScoreOp) Type() hm.Type {
	a := hm.TypeVariable('a')
	mt := gorgonia.TensorType{Dims: 2, Of: a}
	return hm.NewFnType(mt, mt, gorgonia.TensorType{Dims: 1, Of: a})
}

// dims checks the shapes of Z and C and returns rows, k and M.
func (op goadScoreOp) dims(z, c tensor.Shape) (rows, k, m int, err error) {
	n, k, m, err := (goadDistOp{}).dims(z, c)
	if err != nil || n%m != 0 {
		return 0, 0, 0, fmt.Errorf("%v: shapes %v and %v", op, z, c)
	}
	return n / m, k, m, nil
}

// InferShape implements gorgonia.Op.
func (op goadScoreOp) InferShape(in ...gorgonia.DimSizer) (tensor.Shape, error) {
	if len(in) != 2 {
		return nil, fmt.Errorf("%v: %d inputs", op, len(in))
	}
	z, err := shapeOf(in[0])
	if err != nil {
		return nil, err
	}
	c, err := shapeOf(in[1])
	if err != nil {
		return nil, err
	}
	rows, _, _, err := op.dims(z, c)
	return tensor.Shape{rows}, err
}

// into sets out (rows) to the scores; ct, cc, dist and neg are scratch.
func (op goadScoreOp) into(out, z, c, ct, cc, dist, neg []float64, k, m int) {
	goadCentres(ct, cc, c, m, k)
	for r := range out {
		for t := 0; t < m; t++ {
			i := r*m + t
			goadDistances(dist[t*m:(t+1)*m], z[i*k:(i+1)*k], ct, cc)
		}
		out[r] = goadNLL(dist, m, op.logEps, op.logMEps, neg)
	}
}

// scratch returns the scratch slices of into.
func (op goadScoreOp) scratch(k, m int) (ct, cc, dist, neg []float64) {
	return make([]float64, k*m), make([]float64, m), make([]float64, m*m), make([]float64, m)
}

// Do implements gorgonia.Op.
func (op goadScoreOp) Do(in ...gorgonia.Value) (gorgonia.Value, error) {
	v, err := float64Data(op, in, 2)
	if err != nil {
		return nil, err
	}
	rows, k, m, err := op.dims(in[0].Shape(), in[1].Shape())
	if err != nil {
		return nil, err
	}
	out := make([]float64, rows)
	ct, cc, dist, neg := op.scratch(k, m)
	op.into(out, v[0], v[1], ct, cc, dist, neg, k, m)
	return tensor.New(tensor.WithShape(rows), tensor.WithBacking(out)), nil
}

// kernel implements kernelOp.
func (op goadScoreOp) kernel(out *operand, in []*operand) (func() error, error) {
	rows, k, m, err := op.dims(in[0].shape, in[1].shape)
	if err != nil {
		return nil, err
	}
	if len(out.data) != rows {
		return nil, fmt.Errorf("%v: %d scores into %d values", op, rows, len(out.data))
	}
	ct, cc, dist, neg := op.scratch(k, m)
	o, z, c := out.data, in[0].data, in[1].data
	return func() error { op.into(o, z, c, ct, cc, dist, neg, k, m); return nil }, nil
}

// WriteHash implements gorgonia.Op.
func (op goadScoreOp) WriteHash(h hash.Hash) { fmt.Fprintf(h, "%v", op) }

// Hashcode implements gorgonia.Op.
func (op goadScoreOp) Hashcode() uint32 { return hashOp(op) }

// String implements gorgonia.Op.
func (op goadScoreOp) String() string { return fmt.Sprintf("GOADScore{%v,%v}", op.logEps, op.logMEps) }

// DiffWRT implements gorgonia.SDOp: the scores are not differentiated.
func (op goadScoreOp) DiffWRT(int) []bool { return []bool{false, false} }

// SymDiff implements gorgonia.SDOp.
func (op goadScoreOp) SymDiff(gorgonia.Nodes, *gorgonia.Node, *gorgonia.Node) (gorgonia.Nodes, error) {
	return nil, fmt.Errorf("%v is not differentiable", op)
}
