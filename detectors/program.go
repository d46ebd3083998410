package detectors

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A program evaluates chosen nodes of a gorgonia expression graph again
// and again without allocating: the training template compiles its
// (differentiated) graph into one once per training run and runs it on
// every mini-batch. gorgonia's own TapeMachine allocates a fresh tensor
// for every value of every run, starts a goroutine per run and keeps
// everything it computed until Reset; for the small mini-batches of
// tabular detectors that garbage, not the arithmetic, was most of the
// cost of training.
//
// Compilation walks the graph from the requested roots and turns every
// node they depend on into one step with a preallocated output buffer:
//
//   - inputs (nodes without an op: the mini-batch, noise, labels and the
//     model's tensors) are read in place from the slices backing their
//     values, so refilling those slices feeds the next run;
//   - constants are copied once;
//   - the ops of this package (matmul_op.go, ops.go, gmm_ops.go) run
//     through their kernelOp method, on the same code as their Do;
//   - gorgonia's element-wise, reduction and shape ops, which are all
//     that the algorithms' graphs and their derivatives use besides, are
//     run by the kernels of this file, each computing exactly what
//     gorgonia v0.9's Do computes (the same IEEE operations in the same
//     order; TestProgramMatchesTapeMachine compares every value bit for
//     bit on every algorithm's graph);
//   - any other op falls back to its own Do, copied into the buffer (it
//     allocates; the program counts such steps in fallbacks).
//
// Buffers are reused once the values in them are dead (see alloc), so a
// program's working set is a few live layers, not the whole graph. The
// values of a program's roots stay valid until the next run. A program
// is not safe for concurrent use; programs over distinct graphs are.
type program struct {
	steps []progStep
	vals  map[*gorgonia.Node]*operand
	// fallbacks names the ops run through their allocating Do.
	fallbacks []string
	// size is the number of float64 values the program's buffers hold.
	size int

	free map[int][]*progBuf // during compilation: released buffers by size
}

type progStep struct {
	node *gorgonia.Node
	run  func() error
}

// operand is a node's value in a program: its static shape (empty for
// a scalar) and the buffer holding it.
type operand struct {
	shape  tensor.Shape
	scalar bool
	data   []float64
	buf    *progBuf // nil for inputs and constants, which are never reused
}

// progBuf is one reusable buffer and the number of steps that will still
// read it.
type progBuf struct {
	data    []float64
	pending int
}

// kernelOp is implemented by the ops of this package: kernel returns a
// function computing the op of inputs in into out, without allocating,
// using the same arithmetic as Do. The slices are fixed for the
// program's life; their contents change between calls.
type kernelOp interface {
	kernel(out *operand, in []*operand) (func() error, error)
}

// compileProgram compiles the nodes roots depend on (all in one graph,
// of dtype float64).
func compileProgram(roots ...*gorgonia.Node) (*program, error) {
	p := &program{vals: map[*gorgonia.Node]*operand{}}
	var order []*gorgonia.Node
	seen := map[*gorgonia.Node]bool{}
	var visit func(n *gorgonia.Node)
	visit = func(n *gorgonia.Node) {
		if seen[n] {
			return
		}
		seen[n] = true
		for _, c := range children(n) {
			visit(c)
		}
		order = append(order, n)
	}
	for _, r := range roots {
		visit(r)
	}
	// Reads still to come of each node's value: a root is read after the
	// run, so it is never released.
	reads := map[*gorgonia.Node]int{}
	for _, n := range order {
		for _, c := range children(n) {
			reads[c]++
		}
	}
	for _, r := range roots {
		reads[r] = math.MaxInt / 2
	}
	p.free = map[int][]*progBuf{}
	for _, n := range order {
		if err := p.add(n, reads[n]); err != nil {
			return nil, fmt.Errorf("detectors: compiling %v (%v): %w", n, n.Op(), err)
		}
	}
	p.free = nil
	return p, nil
}

// children returns the inputs of n in order.
func children(n *gorgonia.Node) []*gorgonia.Node {
	it := n.Graph().From(n.ID())
	var out []*gorgonia.Node
	for it.Next() {
		out = append(out, it.Node().(*gorgonia.Node))
	}
	return out
}

// run evaluates the program once.
func (p *program) run() error {
	for i := range p.steps {
		if err := p.steps[i].run(); err != nil {
			return fmt.Errorf("%v: %w", p.steps[i].node.Op(), err)
		}
	}
	return nil
}

// value returns the buffer of node n (a root of the program), valid until
// the next run.
func (p *program) value(n *gorgonia.Node) []float64 { return p.vals[n].data }

// scalar returns the value of the scalar root n.
func (p *program) scalar(n *gorgonia.Node) float64 { return p.vals[n].data[0] }

// add compiles node n whose value is read by reads later steps.
func (p *program) add(n *gorgonia.Node, reads int) error {
	if n.Dtype() != tensor.Float64 {
		return fmt.Errorf("dtype %v is not float64", n.Dtype())
	}
	cs := children(n)
	in := make([]*operand, len(cs))
	for i, c := range cs {
		in[i] = p.vals[c]
	}
	op := n.Op()
	out := &operand{shape: n.Shape(), scalar: n.IsScalar()}
	size := out.size()
	if op == nil || len(cs) == 0 { // an input or a constant
		v := n.Value()
		if v == nil {
			return fmt.Errorf("input has no value")
		}
		switch v := v.(type) {
		case *gorgonia.F64:
			out.data = []float64{float64(*v)}
			if op == nil {
				return fmt.Errorf("scalar inputs are not supported")
			}
		case tensor.Tensor:
			d, ok := v.Data().([]float64)
			if !ok || len(d) != size {
				return fmt.Errorf("value %T of %d elements for shape %v", v.Data(), v.DataSize(), out.shape)
			}
			if op == nil {
				out.data = d // read in place: refilled between runs
			} else {
				out.data = append([]float64(nil), d...)
			}
		default:
			return fmt.Errorf("value of type %T", v)
		}
		p.vals[n] = out
		return nil
	}
	var run func() error
	var err error
	name := reflect.TypeOf(op).String()
	axis, sizeErr := intField(op, "axis")
	switch {
	case name == "gorgonia.reshapeOp":
		// A view: the same values under another shape.
		if in[0].size() != size {
			return fmt.Errorf("reshape of %d values to %v", in[0].size(), out.shape)
		}
		out.data, out.buf = in[0].data, in[0].buf
		if out.buf != nil {
			out.buf.pending += reads
		}
	case name == "gorgonia.sizeOp" && sizeErr == nil:
		// A constant: the size of the input's axis, known statically.
		v := 1.0
		if !in[0].scalar {
			if axis >= len(in[0].shape) {
				return fmt.Errorf("axis %d of shape %v", axis, in[0].shape)
			}
			v = float64(in[0].shape[axis])
		}
		out.data = []float64{v}
	default:
		p.alloc(out, size, reads)
		if k, ok := op.(kernelOp); ok {
			run, err = k.kernel(out, in)
		} else {
			run, err = gorgoniaKernel(name, op, out, in)
		}
		if err != nil {
			return err
		}
		if run == nil {
			p.fallbacks = append(p.fallbacks, op.String())
			if run, err = fallbackKernel(op, out, in); err != nil {
				return err
			}
		}
		p.steps = append(p.steps, progStep{node: n, run: run})
	}
	p.vals[n] = out
	// The inputs' buffers are free once their last reader has run.
	for _, o := range in {
		if o.buf != nil {
			o.buf.pending--
			if o.buf.pending == 0 {
				p.free[len(o.buf.data)] = append(p.free[len(o.buf.data)], o.buf)
			}
		}
	}
	return nil
}

// size is the number of values of o.
func (o *operand) size() int {
	if o.scalar {
		return 1
	}
	return o.shape.TotalSize()
}

// alloc gives out a buffer of size values that reads later steps will
// read: a free one of that size (released by an earlier step) or a new
// one. The free list is keyed by size, so a buffer never changes length.
func (p *program) alloc(out *operand, size, reads int) {
	if l := p.free[size]; len(l) > 0 {
		out.buf = l[len(l)-1]
		p.free[size] = l[:len(l)-1]
	} else {
		out.buf = &progBuf{data: make([]float64, size)}
		p.size += size
	}
	out.buf.pending = reads
	out.data = out.buf.data
}

// intField reads the int field name of gorgonia's unexported op struct.
func intField(op gorgonia.Op, name string) (int, error) {
	v := reflect.Indirect(reflect.ValueOf(op)).FieldByName(name)
	if !v.IsValid() || v.Kind() != reflect.Int {
		return 0, fmt.Errorf("%T has no int field %s", op, name)
	}
	return int(v.Int()), nil
}

// intsField reads the []int field name of gorgonia's unexported op struct.
func intsField(op gorgonia.Op, name string) ([]int, error) {
	v := reflect.Indirect(reflect.ValueOf(op)).FieldByName(name)
	if !v.IsValid() || v.Kind() != reflect.Slice || v.Type().Elem().Kind() != reflect.Int {
		return nil, fmt.Errorf("%T has no []int field %s", op, name)
	}
	out := make([]int, v.Len())
	for i := range out {
		out[i] = int(v.Index(i).Int())
	}
	return out, nil
}

// boolField reads the bool field name of gorgonia's unexported op struct.
func boolField(op gorgonia.Op, name string) (bool, error) {
	v := reflect.Indirect(reflect.ValueOf(op)).FieldByName(name)
	if !v.IsValid() || v.Kind() != reflect.Bool {
		return false, fmt.Errorf("%T has no bool field %s", op, name)
	}
	return v.Bool(), nil
}

// gorgoniaKernel returns the kernel of one of gorgonia's ops (named by
// its Go type), or nil if this file does not implement it. The ops'
// parameters are unexported fields, read by reflection; if they are not
// where gorgonia v0.9.18 has them, the op falls back to its Do.
func gorgoniaKernel(name string, op gorgonia.Op, out *operand, in []*operand) (func() error, error) {
	switch name {
	case "gorgonia.elemBinOp":
		return binaryKernel(op, out, in)
	case "gorgonia.elemUnaryOp":
		return unaryKernel(op.String(), out, in[0])
	case "gorgonia.sumOp":
		along, err := intsField(op, "along")
		if err != nil {
			return nil, nil
		}
		return sumKernel(along, out, in[0])
	case "*gorgonia.repeatOp":
		along, err := intField(op, "along")
		if err != nil {
			return nil, nil
		}
		return repeatKernel(along, out, in[0])
	case "gorgonia.transposeOp":
		pattern, err := intsField(op, "pattern")
		if err != nil {
			return nil, nil
		}
		if s := in[0].shape; len(s) != 2 || len(pattern) != 2 || pattern[0] != 1 || pattern[1] != 0 {
			return nil, nil
		}
		x, rows, cols := in[0].data, in[0].shape[0], in[0].shape[1]
		return func() error {
			for i := 0; i < rows; i++ {
				for j, v := range x[i*cols : (i+1)*cols] {
					out.data[j*rows+i] = v
				}
			}
			return nil
		}, nil
	case "*gorgonia.sliceOp":
		return sliceKernel(op, out, in[0])
	case "gorgonia.concatOp":
		axis, err := intField(op, "axis")
		if err != nil {
			return nil, nil
		}
		return concatKernel(axis, out, in)
	}
	return nil, nil
}

// fallbackKernel runs op's own Do on values wrapping the input buffers
// and copies the result into out's buffer.
func fallbackKernel(op gorgonia.Op, out *operand, in []*operand) (func() error, error) {
	vals := make([]gorgonia.Value, len(in))
	scalars := make([]*gorgonia.F64, len(in))
	for i, o := range in {
		if o.scalar {
			scalars[i] = gorgonia.NewF64(0)
			vals[i] = scalars[i]
		} else {
			vals[i] = tensor.New(tensor.WithShape(o.shape.Clone()...), tensor.WithBacking(o.data))
		}
	}
	return func() error {
		for i, s := range scalars {
			if s != nil {
				*s = gorgonia.F64(in[i].data[0])
			}
		}
		v, err := op.Do(vals...)
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case *gorgonia.F64:
			out.data[0] = float64(*v)
		case tensor.Tensor:
			d, ok := v.Data().([]float64)
			if !ok || len(d) != len(out.data) {
				return fmt.Errorf("result %T of %d values, want %d", v.Data(), v.DataSize(), len(out.data))
			}
			copy(out.data, d)
		default:
			return fmt.Errorf("result of type %T", v)
		}
		return nil
	}, nil
}

// binOp is an element-wise binary operator of gorgonia.
type binOp uint8

const (
	binAdd binOp = iota
	binSub
	binMul
	binDiv
	binLt
	binGt
	binLte
	binGte
	binEq
	binNe
)

var binOps = map[string]binOp{
	"+": binAdd, "-": binSub, "⊙": binMul, "÷": binDiv, // "^" falls back: vecf64's Pow has special cases
	"<": binLt, ">": binGt, "<=": binLte, ">=": binGte, "==": binEq, "!=": binNe,
}

// binaryKernel is gorgonia's elemBinOp: tensor ∘ tensor of one size,
// tensor ∘ scalar, scalar ∘ tensor or scalar ∘ scalar; a comparison
// gives 1 or 0 (gorgonia's "retSame", the only kind of comparison whose
// result is float64).
func binaryKernel(op gorgonia.Op, out *operand, in []*operand) (func() error, error) {
	f := strings.Fields(op.String())
	if len(f) == 0 {
		return nil, nil
	}
	k, ok := binOps[f[0]]
	if !ok {
		return nil, nil
	}
	if k >= binLt {
		if same, err := boolField(op, "retSame"); err != nil || !same {
			return nil, nil // a boolean result: not float64
		}
	}
	a, b, o := in[0], in[1], out.data
	switch {
	case !a.scalar && !b.scalar:
		if len(a.data) != len(o) || len(b.data) != len(o) {
			return nil, fmt.Errorf("sizes %d and %d into %d", len(a.data), len(b.data), len(o))
		}
		return func() error { binVV(k, o, a.data, b.data); return nil }, nil
	case !a.scalar:
		if len(a.data) != len(o) {
			return nil, fmt.Errorf("size %d into %d", len(a.data), len(o))
		}
		return func() error { binVS(k, o, a.data, b.data[0]); return nil }, nil
	case !b.scalar:
		if len(b.data) != len(o) {
			return nil, fmt.Errorf("size %d into %d", len(b.data), len(o))
		}
		return func() error { binSV(k, o, a.data[0], b.data); return nil }, nil
	}
	return func() error { o[0] = binScalar(k, a.data[0], b.data[0]); return nil }, nil
}

// oneBits is the bit pattern of 1.0.
const oneBits = 0x3ff0000000000000

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func binScalar(k binOp, x, y float64) float64 {
	switch k {
	case binAdd:
		return x + y
	case binSub:
		return x - y
	case binMul:
		return x * y
	case binDiv:
		return x / y
	case binLt:
		return b2f(x < y)
	case binGt:
		return b2f(x > y)
	case binLte:
		return b2f(x <= y)
	case binGte:
		return b2f(x >= y)
	case binEq:
		return b2f(x == y)
	}
	return b2f(x != y)
}

// binVV sets o[i] = a[i] ∘ b[i].
func binVV(k binOp, o, a, b []float64) {
	a, b = a[:len(o)], b[:len(o)]
	switch k {
	case binAdd:
		for i := range o {
			o[i] = a[i] + b[i]
		}
	case binSub:
		for i := range o {
			o[i] = a[i] - b[i]
		}
	case binMul:
		for i := range o {
			o[i] = a[i] * b[i]
		}
	case binDiv:
		vecDiv(o, a, b)
	default:
		for i := range o {
			o[i] = binScalar(k, a[i], b[i])
		}
	}
}

// vecDiv sets o[i] = a[i] / b[i] as gorgonia.org/vecf64's Div, which
// the tensor package uses for tensor ÷ tensor, for scalar ÷ tensor (the
// scalar filled into a tensor first) and for a one-element tensor ÷
// scalar: +Inf for every zero divisor, even for 0/0 and negative
// dividends. (gorgonia's TapeMachine may run a division in place, which
// divides a scalar by a tensor without that check; for non-zero
// divisors the two agree.)
func vecDiv(o, a, b []float64) {
	a, b = a[:len(o)], b[:len(o)]
	for i := range o {
		if b[i] == 0 {
			o[i] = math.Inf(0)
			continue
		}
		o[i] = a[i] / b[i]
	}
}

// binVS sets o[i] = a[i] ∘ s.
func binVS(k binOp, o, a []float64, s float64) {
	a = a[:len(o)]
	switch k {
	case binAdd:
		for i := range o {
			o[i] = a[i] + s
		}
	case binSub:
		for i := range o {
			o[i] = a[i] - s
		}
	case binMul:
		for i := range o {
			o[i] = a[i] * s
		}
	case binDiv:
		if len(o) == 1 {
			vecDiv(o, a, []float64{s})
			return
		}
		for i := range o {
			o[i] = a[i] / s
		}
	case binGt: // dropout masks: random outcomes, so branch-free
		for i := range o {
			var bits uint64
			if a[i] > s {
				bits = oneBits
			}
			o[i] = math.Float64frombits(bits)
		}
	case binGte:
		for i := range o {
			var bits uint64
			if a[i] >= s {
				bits = oneBits
			}
			o[i] = math.Float64frombits(bits)
		}
	default:
		for i := range o {
			o[i] = binScalar(k, a[i], s)
		}
	}
}

// binSV sets o[i] = s ∘ b[i].
func binSV(k binOp, o []float64, s float64, b []float64) {
	b = b[:len(o)]
	switch k {
	case binAdd:
		for i := range o {
			o[i] = s + b[i]
		}
	case binSub:
		for i := range o {
			o[i] = s - b[i]
		}
	case binMul:
		for i := range o {
			o[i] = s * b[i]
		}
	case binDiv:
		for i := range o {
			if b[i] == 0 {
				o[i] = math.Inf(0)
				continue
			}
			o[i] = s / b[i]
		}
	default:
		for i := range o {
			o[i] = binScalar(k, s, b[i])
		}
	}
}

// unaryKernel is gorgonia's elemUnaryOp named name. A tensor goes
// through the tensor package's engine (sign keeps 0 and NaN), a scalar
// through gorgonia's scalar functions (sign is -1 for a set sign bit,
// else 1); the other functions are the same both ways.
func unaryKernel(name string, out, x *operand) (func() error, error) {
	var f func(o, x []float64)
	switch name {
	case "abs":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Abs(v)
			}
		}
	case "sign":
		if x.scalar {
			f = func(o, x []float64) {
				o[0] = 1
				if math.Signbit(x[0]) {
					o[0] = -1
				}
			}
		} else {
			f = func(o, x []float64) {
				for i, v := range x {
					switch {
					case v < 0:
						v = -1
					case v > 0:
						v = 1
					}
					o[i] = v
				}
			}
		}
	case "sin":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Sin(v)
			}
		}
	case "cos":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Cos(v)
			}
		}
	case "exp":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Exp(v)
			}
		}
	case "ln":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Log(v)
			}
		}
	case "neg":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = -v
			}
		}
	case "square":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = v * v
			}
		}
	case "sqrt":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Sqrt(v)
			}
		}
	case "inv":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = 1 / v
			}
		}
	case "tanh":
		f = func(o, x []float64) {
			for i, v := range x {
				o[i] = math.Tanh(v)
			}
		}
	case "sigmoid":
		f = func(o, x []float64) {
			for i, v := range x {
				switch {
				case v < -709:
					o[i] = 0
				case v > 19:
					o[i] = 1
				default:
					o[i] = 1.0 / (1.0 + math.Exp(-v))
				}
			}
		}
	default:
		return nil, nil
	}
	if len(x.data) != len(out.data) {
		return nil, fmt.Errorf("size %d into %d", len(x.data), len(out.data))
	}
	o, xd := out.data, x.data
	return func() error { f(o, xd); return nil }, nil
}

// sumKernel is gorgonia's sumOp over the axes along of x, computed as
// the tensor package does: a sum over every axis (or none given) adds
// all values in order from zero; otherwise the axes are reduced one at
// a time in increasing order, axis 0 by adding the later slices to a
// copy of the first, the last axis by summing each run from zero. Only
// 1- and 2-dimensional inputs are implemented.
func sumKernel(along []int, out, x *operand) (func() error, error) {
	o, xd := out.data, x.data
	dims := len(x.shape)
	if x.scalar {
		dims = 0
	}
	mono, incr1 := tensor.IsMonotonicInts(along)
	if (mono && incr1 && len(along) == dims) || len(along) == 0 {
		if len(o) != 1 {
			return nil, fmt.Errorf("a full sum into %d values", len(o))
		}
		return func() error {
			var s float64
			for _, v := range xd {
				s += v
			}
			o[0] = s
			return nil
		}, nil
	}
	if dims != 2 || len(along) != 1 {
		return nil, nil // [0 1] out of order would be two passes: not needed
	}
	rows, cols := x.shape[0], x.shape[1]
	switch along[0] {
	case 0:
		if len(o) != cols {
			return nil, fmt.Errorf("sum over rows of %v into %d values", x.shape, len(o))
		}
		return func() error {
			copy(o, xd[:cols])
			for r := 1; r < rows; r++ {
				row := xd[r*cols : (r+1)*cols]
				for j, v := range row {
					o[j] += v
				}
			}
			return nil
		}, nil
	case 1:
		if len(o) != rows {
			return nil, fmt.Errorf("sum over columns of %v into %d values", x.shape, len(o))
		}
		return func() error {
			for r := range o {
				var s float64
				for _, v := range xd[r*cols : (r+1)*cols] {
					s += v
				}
				o[r] = s
			}
			return nil
		}, nil
	}
	return nil, fmt.Errorf("axis %d of shape %v", along[0], x.shape)
}

// blocks splits shape around axis: the product of the dimensions before
// it, its own size and the product of those after it.
func blocks(shape tensor.Shape, axis int) (outer, n, inner int, err error) {
	if axis < 0 || axis >= len(shape) {
		return 0, 0, 0, fmt.Errorf("axis %d of shape %v", axis, shape)
	}
	outer, inner = 1, 1
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	return outer, shape[axis], inner, nil
}

// repeatKernel is gorgonia's repeatOp along axis (tensor.Repeat: each
// slice along the axis repeated in place, as numpy.repeat; a scalar is a
// one-element vector). The number of repeats is fixed by the output's
// static shape.
func repeatKernel(axis int, out, x *operand) (func() error, error) {
	shape := x.shape
	if x.scalar {
		shape = tensor.Shape{1}
	}
	outer, n, inner, err := blocks(shape, axis)
	if err != nil {
		return nil, err
	}
	if n*outer*inner == 0 || len(out.data)%(n*outer*inner) != 0 {
		return nil, fmt.Errorf("repeat of %v into %d values", shape, len(out.data))
	}
	reps := len(out.data) / (n * outer * inner)
	o, xd := out.data, x.data
	if inner == 1 { // a column repeated across: no copy calls per value
		return func() error {
			for i, v := range xd[:outer*n] {
				row := o[i*reps : (i+1)*reps]
				for r := range row {
					row[r] = v
				}
			}
			return nil
		}, nil
	}
	return func() error {
		at := 0
		for i := 0; i < outer*n; i++ {
			src := xd[i*inner : (i+1)*inner]
			for r := 0; r < reps; r++ {
				copy(o[at:at+inner], src)
				at += inner
			}
		}
		return nil
	}, nil
}

// sliceKernel is gorgonia's sliceOp: the range start:end:step of one
// axis.
func sliceKernel(op gorgonia.Op, out, x *operand) (func() error, error) {
	s, ok := op.(tensor.Slice)
	if !ok || x.scalar {
		return nil, nil
	}
	along, err := intField(op, "along")
	if err != nil {
		return nil, nil
	}
	outer, n, inner, err := blocks(x.shape, along)
	if err != nil {
		return nil, err
	}
	start, end, step := 0, n, 1
	if f := reflect.ValueOf(op).Elem().FieldByName("Slice"); f.IsValid() && !f.IsNil() { // nil: the whole axis
		start, end, step = s.Start(), s.End(), s.Step()
		if step < 1 {
			step = 1
		}
		if end <= start { // gorgonia: the whole axis
			start, end = 0, n
		}
	}
	if start < 0 || end > n {
		return nil, fmt.Errorf("slice %d:%d of axis %d of %v", start, end, along, x.shape)
	}
	picked := (end - start + step - 1) / step
	if outer*picked*inner != len(out.data) {
		return nil, fmt.Errorf("slice of %v into %d values", x.shape, len(out.data))
	}
	o, xd := out.data, x.data
	return func() error {
		at := 0
		for i := 0; i < outer; i++ {
			for j := start; j < end; j += step {
				from := (i*n + j) * inner
				copy(o[at:at+inner], xd[from:from+inner])
				at += inner
			}
		}
		return nil
	}, nil
}

// concatKernel is gorgonia's concatOp along axis.
func concatKernel(axis int, out *operand, in []*operand) (func() error, error) {
	type part struct {
		data  []float64
		width int // n·inner of the part
	}
	parts := make([]part, len(in))
	outer, total := -1, 0
	for i, x := range in {
		if x.scalar {
			return nil, nil
		}
		o, n, inner, err := blocks(x.shape, axis)
		if err != nil {
			return nil, err
		}
		if outer >= 0 && o != outer {
			return nil, fmt.Errorf("concatenating shapes of different outer sizes")
		}
		outer = o
		parts[i] = part{x.data, n * inner}
		total += n * inner
	}
	if outer*total != len(out.data) {
		return nil, fmt.Errorf("concatenation into %d values", len(out.data))
	}
	o := out.data
	return func() error {
		at := 0
		for i := 0; i < outer; i++ {
			for _, p := range parts {
				copy(o[at:at+p.width], p.data[i*p.width:(i+1)*p.width])
				at += p.width
			}
		}
		return nil
	}, nil
}
