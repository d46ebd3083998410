package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
	"gorgonia.org/gorgonia"
)

// CellKind is the kind of a recurrent cell.
type CellKind uint8

const (
	// LSTM is the long short-term memory cell (Hochreiter & Schmidhuber
	// 1997, with the forget gate of Gers et al. 2000), as PyTorch's
	// nn.LSTM: i, f, o = σ(x·Wx + h·Wh + b), g = tanh(x·Wx + h·Wh + b),
	// c' = f⊙c + i⊙g, h' = o⊙tanh(c').
	LSTM CellKind = iota
	// GRU is the gated recurrent unit (Cho et al. 2014), as PyTorch's
	// nn.GRU: r, z = σ(x·Wx + h·Wh + b), n = tanh(x·Wxn + bxn +
	// r⊙(h·Whn + bhn)), h' = (1−z)⊙n + z⊙h.
	GRU
)

// gates returns the cell's gate names, in the order of its tensors.
func (k CellKind) gates() []string {
	if k == GRU {
		return []string{"r", "z", "n"}
	}
	return []string{"i", "f", "g", "o"}
}

// Recurrent describes a stack of recurrent layers whose weights live in a
// State: for layer l and gate q, Prefix+"l<l><q>x" (in×out), Prefix+
// "l<l><q>h" (out×out) and Prefix+"l<l><q>b" (1×out); a GRU's n gate has a
// second bias Prefix+"l<l>nhb" on its recurrent term. Each gate has its own
// matrices (rather than one matrix sliced into gates) so that the training
// graph needs no slicing on the gradient's path. The same description
// builds the gorgonia graph unrolled over the steps of a window (Graph),
// which the shared template trains by back-propagation through the
// window, and the plain-Go kernel for scoring (Kernel).
//
// The state starts at zero before the first step: the first step has no
// recurrent term (h·Wh of h = 0 is skipped, in the graph and the kernel).
type Recurrent struct {
	Prefix string
	Kind   CellKind
	// In is the width of a step's input, Sizes the widths of the layers
	// (the last is the output's).
	In    int
	Sizes []int
}

func (r Recurrent) name(l int, gate, part string) string {
	return r.Prefix + "l" + strconv.Itoa(l) + gate + part
}

func (r Recurrent) inWidth(l int) int {
	if l == 0 {
		return r.In
	}
	return r.Sizes[l-1]
}

// Out is the width of the last layer's state.
func (r Recurrent) Out() int { return r.Sizes[len(r.Sizes)-1] }

// Init adds the tensors to st: weights uniform in ±1/sqrt(out) (PyTorch's
// initialisation of its recurrent layers), biases zero except an LSTM's
// forget-gate bias, 1 (Jozefowicz et al., ICML 2015).
func (r Recurrent) Init(st *detectors.State, rng *rand.Rand) {
	for l, out := range r.Sizes {
		in := r.inWidth(l)
		bound := 1 / math.Sqrt(float64(out))
		for _, q := range r.Kind.gates() {
			for _, t := range []*detectors.Tensor{st.Add(r.name(l, q, "x"), in, out, true), st.Add(r.name(l, q, "h"), out, out, true)} {
				for i := range t.Data {
					t.Data[i] = (2*rng.Float64() - 1) * bound
				}
			}
			b := st.Add(r.name(l, q, "b"), 1, out, true)
			if r.Kind == LSTM && q == "f" {
				for i := range b.Data {
					b.Data[i] = 1
				}
			}
		}
		if r.Kind == GRU {
			st.Add(r.name(l, "n", "hb"), 1, out, true)
		}
	}
}

// Footprint is the tensors (trainable) and, per row of a mini-batch, the
// values the graph unrolled over steps steps computes (about ten per gate
// and unit per step).
func (r Recurrent) Footprint(steps int) detectors.Footprint {
	var f detectors.Footprint
	g := int64(len(r.Kind.gates()))
	for l, out := range r.Sizes {
		in, o := int64(r.inWidth(l)), int64(out)
		n := g * (in*o + o*o + o)
		if r.Kind == GRU {
			n += o
		}
		f.Params += n
		f.Trainable += n
		f.RowValues += int64(steps) * 10 * g * o
	}
	return f
}

// Graph unrolls the stack over the inputs xs (one rows × In node per
// step, oldest first) and returns the last layer's state after the last
// step (rows × Out()).
func (r Recurrent) Graph(b *detectors.Graph, xs []*gorgonia.Node) (*gorgonia.Node, error) {
	if len(xs) == 0 {
		return nil, fmt.Errorf("nn: recurrent graph over no steps")
	}
	seq := xs
	for l := range r.Sizes {
		var h, c *gorgonia.Node
		outs := make([]*gorgonia.Node, len(seq))
		for t, x := range seq {
			var err error
			if r.Kind == LSTM {
				h, c, err = r.lstmStep(b, l, x, h, c)
			} else {
				h, err = r.gruStep(b, l, x, h)
			}
			if err != nil {
				return nil, err
			}
			outs[t] = h
		}
		seq = outs
	}
	return seq[len(seq)-1], nil
}

// affine is x·Wx + h·Wh + b of gate q of layer l (no h term for h nil).
func (r Recurrent) affine(b *detectors.Graph, l int, q string, x, h *gorgonia.Node) (*gorgonia.Node, error) {
	c := &Must{}
	y := c.N(detectors.MatMul(x, b.Param(r.name(l, q, "x"))))
	if h != nil {
		y = c.N(gorgonia.Add(y, c.N(detectors.MatMul(h, b.Param(r.name(l, q, "h"))))))
	}
	y = c.N(gorgonia.BroadcastAdd(y, b.Param(r.name(l, q, "b")), nil, []byte{0}))
	return y, c.Err
}

func (r Recurrent) lstmStep(b *detectors.Graph, l int, x, h, c *gorgonia.Node) (*gorgonia.Node, *gorgonia.Node, error) {
	ch := &Must{}
	gate := func(q string, act func(*gorgonia.Node) (*gorgonia.Node, error)) *gorgonia.Node {
		a := ch.N(r.affine(b, l, q, x, h))
		if ch.Err != nil {
			return nil
		}
		return ch.N(act(a))
	}
	i := gate("i", gorgonia.Sigmoid)
	f := gate("f", gorgonia.Sigmoid)
	g := gate("g", gorgonia.Tanh)
	o := gate("o", gorgonia.Sigmoid)
	if ch.Err != nil {
		return nil, nil, ch.Err
	}
	var c2 *gorgonia.Node
	if c == nil {
		c2 = ch.N(gorgonia.HadamardProd(i, g))
	} else {
		c2 = ch.N(gorgonia.Add(ch.N(gorgonia.HadamardProd(f, c)), ch.N(gorgonia.HadamardProd(i, g))))
	}
	h2 := ch.N(gorgonia.HadamardProd(o, ch.N(gorgonia.Tanh(c2))))
	return h2, c2, ch.Err
}

func (r Recurrent) gruStep(b *detectors.Graph, l int, x, h *gorgonia.Node) (*gorgonia.Node, error) {
	ch := &Must{}
	rg := ch.N(gorgonia.Sigmoid(ch.N(r.affine(b, l, "r", x, h))))
	z := ch.N(gorgonia.Sigmoid(ch.N(r.affine(b, l, "z", x, h))))
	if ch.Err != nil {
		return nil, ch.Err
	}
	// n = tanh(x·Wxn + bxn + r⊙(h·Whn + bhn)); for h = 0 the recurrent
	// term is r⊙bhn.
	a := ch.N(r.affine(b, l, "n", x, nil))
	hn := b.Param(r.name(l, "n", "hb"))
	if h != nil {
		hn = ch.N(gorgonia.BroadcastAdd(ch.N(detectors.MatMul(h, b.Param(r.name(l, "n", "h")))), hn, nil, []byte{0}))
		a = ch.N(gorgonia.Add(a, ch.N(gorgonia.HadamardProd(rg, hn))))
	} else {
		a = ch.N(gorgonia.Add(a, ch.N(gorgonia.BroadcastHadamardProd(rg, hn, nil, []byte{0}))))
	}
	n := ch.N(gorgonia.Tanh(a))
	if ch.Err != nil {
		return nil, ch.Err
	}
	// h' = n − z⊙n (+ z⊙h).
	h2 := ch.N(gorgonia.Sub(n, ch.N(gorgonia.HadamardProd(z, n))))
	if h != nil {
		h2 = ch.N(gorgonia.Add(h2, ch.N(gorgonia.HadamardProd(z, h))))
	}
	return h2, ch.Err
}

// RecurrentKernel is the plain-Go forward pass of a Recurrent stack over
// the steps of one window. Every value is computed with the same
// operations in the same order whatever the rows scored with it, so a
// window's result depends only on the window.
type RecurrentKernel struct {
	r      Recurrent
	layers []recLayer
	width  int // widest layer
}

type recLayer struct {
	in, out int
	wx, wh  [][]float64 // per gate
	b       [][]float64
	hb      []float64 // GRU: the n gate's recurrent bias
}

// Kernel returns the kernel over st's tensors, checking their shapes
// (errors wrap detectors.ErrBadModel).
func (r Recurrent) Kernel(st *detectors.State) (*RecurrentKernel, error) {
	k := &RecurrentKernel{r: r}
	for l, out := range r.Sizes {
		in := r.inWidth(l)
		ly := recLayer{in: in, out: out}
		for _, q := range r.Kind.gates() {
			wx, err := st.Lookup(r.name(l, q, "x"), in, out)
			if err != nil {
				return nil, err
			}
			wh, err := st.Lookup(r.name(l, q, "h"), out, out)
			if err != nil {
				return nil, err
			}
			b, err := st.Lookup(r.name(l, q, "b"), 1, out)
			if err != nil {
				return nil, err
			}
			ly.wx, ly.wh, ly.b = append(ly.wx, wx.Data), append(ly.wh, wh.Data), append(ly.b, b.Data)
		}
		if r.Kind == GRU {
			hb, err := st.Lookup(r.name(l, "n", "hb"), 1, out)
			if err != nil {
				return nil, err
			}
			ly.hb = hb.Data
		}
		k.layers = append(k.layers, ly)
		k.width = max(k.width, out)
	}
	return k, nil
}

// ScratchLen is the scratch length Forward needs for steps steps.
func (k *RecurrentKernel) ScratchLen(steps int) int {
	return steps*k.width + 2*k.width + 5*k.width
}

// Forward runs the stack over steps inputs, step t being
// x[t*stride : t*stride+In], and returns the last layer's final state as
// a slice of scratch (valid until scratch is reused).
func (k *RecurrentKernel) Forward(x []float64, steps, stride int, scratch []float64) []float64 {
	w := k.width
	seq := scratch[:steps*w] // outputs of the current layer, step t at t*w
	h, c := scratch[steps*w:steps*w+w], scratch[steps*w+w:steps*w+2*w]
	g := scratch[steps*w+2*w : steps*w+7*w]
	in, inStride := x, stride
	for li := range k.layers {
		ly := &k.layers[li]
		o := ly.out
		hh, cc := h[:o], c[:o]
		for t := 0; t < steps; t++ {
			xt := in[t*inStride : t*inStride+ly.in]
			if k.r.Kind == LSTM {
				k.lstmStep(ly, xt, hh, cc, t > 0, g)
			} else {
				k.gruStep(ly, xt, hh, t > 0, g)
			}
			copy(seq[t*w:t*w+o], hh)
		}
		in, inStride = seq, w
	}
	last := k.layers[len(k.layers)-1].out
	return seq[(steps-1)*w : (steps-1)*w+last]
}

// affine sets y to x·Wx (+ h·Wh if rec) + b of gate q, with the sums in
// the graph's order: (x·Wx + h·Wh) + b.
func affine(y []float64, ly *recLayer, q int, x, h []float64, rec bool) {
	clear(y)
	kernel.VecMatAdd(y, x, ly.wx[q])
	if rec {
		t := y[len(y):cap(y)][:len(y)] // the next gate's buffer as temporary
		clear(t)
		kernel.VecMatAdd(t, h, ly.wh[q])
		for j := range y {
			y[j] += t[j]
		}
	}
	for j := range y {
		y[j] += ly.b[q][j]
	}
}

// lstmStep updates h and c in place; g holds 5 gate buffers.
func (k *RecurrentKernel) lstmStep(ly *recLayer, x, h, c []float64, rec bool, g []float64) {
	o, w := ly.out, k.width
	buf := func(i int) []float64 { return g[i*w : i*w+o : (i+2)*w] }
	ig, fg, gg, og := buf(0), buf(1), buf(2), buf(3)
	affine(ig, ly, 0, x, h, rec)
	affine(fg, ly, 1, x, h, rec)
	affine(gg, ly, 2, x, h, rec)
	affine(og, ly, 3, x, h, rec)
	for j := 0; j < o; j++ {
		i, f, gv, ov := sigmoid(ig[j]), sigmoid(fg[j]), math.Tanh(gg[j]), sigmoid(og[j])
		if rec {
			c[j] = f*c[j] + i*gv
		} else {
			c[j] = i * gv
		}
		h[j] = ov * math.Tanh(c[j])
	}
}

// gruStep updates h in place; g holds 5 gate buffers.
func (k *RecurrentKernel) gruStep(ly *recLayer, x, h []float64, rec bool, g []float64) {
	o, w := ly.out, k.width
	buf := func(i int) []float64 { return g[i*w : i*w+o : (i+2)*w] }
	rg, zg, ng, hn := buf(0), buf(1), buf(2), buf(3)
	affine(rg, ly, 0, x, h, rec)
	affine(zg, ly, 1, x, h, rec)
	affine(ng, ly, 2, x, nil, false)
	if rec {
		clear(hn)
		kernel.VecMatAdd(hn, h, ly.wh[2])
	}
	for j := 0; j < o; j++ {
		r, z := sigmoid(rg[j]), sigmoid(zg[j])
		var a float64
		if rec {
			a = ng[j] + r*(hn[j]+ly.hb[j])
		} else {
			a = ng[j] + r*ly.hb[j]
		}
		n := math.Tanh(a)
		hv := n - z*n
		if rec {
			hv += z * h[j]
		}
		h[j] = hv
	}
}
