package detectors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The tests of the deterministic contrastive loss of neutral
// (detectors/selfsupervised) live in the core, beside its op
// (dcl_op.go), whose internals they check.

// naiveDCL is the loss of one row as the issue states it, term by term:
// for each transformed view k, −log(h(x_k, x) / (h(x_k, x) + Σ_{l≠k}
// h(x_k, x_l))) with h = exp(cos-sim/τ), summed and divided by K·ln K.
// z holds the K+1 encodings (view 0 the row itself) as rows of m.
func naiveDCL(z []float64, views, m int, tau float64) float64 {
	cos := func(a, b int) float64 {
		var ab, aa, bb float64
		for j := 0; j < m; j++ {
			ab += z[a*m+j] * z[b*m+j]
			aa += z[a*m+j] * z[a*m+j]
			bb += z[b*m+j] * z[b*m+j]
		}
		return ab / (math.Sqrt(aa) * math.Sqrt(bb))
	}
	h := func(a, b int) float64 { return math.Exp(cos(a, b) / tau) }
	k := views - 1
	sum := 0.0
	for i := 1; i <= k; i++ {
		den := h(i, 0)
		for l := 1; l <= k; l++ {
			if l != i {
				den += h(i, l)
			}
		}
		sum += -math.Log(h(i, 0) / den)
	}
	return sum / (float64(k) * math.Log(float64(k)))
}

// TestDCLLoss checks the fused loss against the formula written out, for
// several K and τ. Bugs it catches: the untransformed view left out of a
// denominator (or its other views), the diagonal h(x_k, x_k) counted,
// cosine similarity without normalisation, a wrong scale.
func TestDCLLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		views, m int
		tau      float64
	}{{3, 2, 0.1}, {12, 6, 0.1}, {5, 7, 1}, {9, 3, 0.02}} {
		d := newDCL(c.views, c.m, c.tau)
		z := make([]float64, c.views*c.m)
		scratch := make([]float64, d.scratchLen())
		for trial := 0; trial < 20; trial++ {
			for i := range z {
				z[i] = rng.NormFloat64() * math.Exp(3*rng.NormFloat64())
			}
			got, want := d.loss(z, scratch), naiveDCL(z, c.views, c.m, c.tau)
			if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
				t.Fatalf("views %d m %d τ %v: loss %v, formula %v", c.views, c.m, c.tau, got, want)
			}
		}
	}
	// K+1 identical views: every term is log K, so the loss is 1; the same
	// for all-zero encodings (a row at the training mean of a bias-free
	// network), whose normalized views are all 0.
	d := newDCL(12, 4, 0.1)
	z := make([]float64, 12*4)
	scratch := make([]float64, d.scratchLen())
	if got := d.loss(z, scratch); math.Abs(got-1) > 1e-12 {
		t.Errorf("zero encodings: loss %v, want 1", got)
	}
	for v := 0; v < 12; v++ {
		copy(z[v*4:], []float64{1, -2, 3, 0.5})
	}
	if got := d.loss(z, scratch); math.Abs(got-1) > 1e-12 {
		t.Errorf("identical views: loss %v, want 1", got)
	}
	// Huge encodings (a row far outside the training data) keep their
	// direction: the same loss as the same encodings scaled down.
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	want := d.loss(z, scratch)
	for i := range z {
		z[i] *= 1e300
	}
	if got := d.loss(z, scratch); math.Abs(got-want) > 1e-12 {
		t.Errorf("encodings times 1e300: loss %v, want %v", got, want)
	}
}

// TestDCLGradient checks the op's analytic gradient against central
// finite differences of its loss, through the gorgonia op pair as the
// training graph uses them (several rows in view-major layout, upstream
// gradients per row). Bugs it catches: a sign, a missing 1/τ, the
// symmetric similarity counted once, the projection of the normalization
// left out, rows or views mixed up in the layout.
func TestDCLGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const views, m, rows, tau = 5, 3, 4, 0.2
	c := newDCL(views, m, tau)
	z := make([]float64, views*rows*m)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	g := []float64{1, -0.5, 2, 0.25}
	scratch := make([]float64, 2*views*m+c.scratchLen())
	grad := make([]float64, len(z))
	dclGradRows(c, grad, z, g, scratch)
	total := func() float64 {
		out := make([]float64, rows)
		dclRows(c, out, z, scratch)
		s := 0.0
		for i, v := range out {
			s += g[i] * v
		}
		return s
	}
	const h = 1e-6
	for i := range z {
		keep := z[i]
		z[i] = keep + h
		up := total()
		z[i] = keep - h
		down := total()
		z[i] = keep
		num := (up - down) / (2 * h)
		if math.Abs(num-grad[i]) > 1e-6*math.Max(1, math.Abs(num)) {
			t.Fatalf("∂/∂z[%d]: analytic %v, numeric %v", i, grad[i], num)
		}
	}
}

// TestNeutralLossGradients compares the training program's gradients of
// neutral (detectors/selfsupervised: K residual transformations, the
// encoder on the K+1 views, the fused loss op) with central differences
// of its loss, for every trainable value, with multiplicative masks as
// well as residual transformations. It runs the training template's
// shard (train.go), so it lives in the core. The bugs it catches: the
// op's backward pass wired wrongly into the graph (SymDiff handing it
// the loss instead of the upstream gradient: killed when tried), the
// per-row upstream gradients of the shard's mean loss mis-scaled, a
// gradient through the masks or the residual sum that gorgonia's and
// the op's disagree on.
func TestNeutralLossGradients(t *testing.T) {
	neutral, _, err := lookup("neutral")
	if err != nil {
		t.Fatal(err)
	}
	const rows, dims = 5, 3
	for _, transform := range []string{"residual", "mul"} {
		o, err := normalizeOptions("neutral", neutral, opts("transforms", "3", "hidden", "4", "rep_dim", "3", "trans_hidden", "4", "temperature", "0.5", "transform", transform))
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		x := make([]float64, rows*dims)
		for i := range x {
			x[i] = rng.NormFloat64()
		}
		st, err := neutral.Init(dims, o, newRand(2))
		if err != nil {
			t.Fatal(err)
		}
		sh, err := newShard(neutral, st, 0, rows, rows, dims, o)
		if err != nil {
			t.Fatal(err)
		}
		sh.fill(x, dims, []int{0, 1, 2, 3, 4}, nil, rng)
		checked := checkShardGradients(t, sh, st, transform)
		if checked < 100 {
			t.Fatalf("%s: checked %d values", transform, checked)
		}
	}
}
