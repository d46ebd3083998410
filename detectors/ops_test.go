package detectors

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// gradsOf builds loss = Σ f(A, B)² over fresh copies of a and b and
// returns the loss and the gradients with respect to A and B, computed by
// gorgonia's symbolic differentiation on a TapeMachine.
func gradsOf(t *testing.T, f func(a, b *gorgonia.Node) (*gorgonia.Node, error), a, b []float64, ar, ac, br, bc int) (float64, []float64, []float64) {
	t.Helper()
	g := gorgonia.NewGraph()
	an := matrixNode(g, "a", ar, ac, append([]float64(nil), a...))
	bn := matrixNode(g, "b", br, bc, append([]float64(nil), b...))
	out, err := f(an, bn)
	if err != nil {
		t.Fatal(err)
	}
	loss := gorgonia.Must(gorgonia.Sum(gorgonia.Must(gorgonia.Square(out))))
	if _, err := gorgonia.Grad(loss, an, bn); err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(an, bn))
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	ga, _ := an.Grad()
	gb, _ := bn.Grad()
	return loss.Value().Data().(float64), append([]float64(nil), ga.Data().([]float64)...), append([]float64(nil), gb.Data().([]float64)...)
}

func closeAll(t *testing.T, what string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Max(1, math.Abs(want[i])) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// TestMatMulOpMatchesGorgonia checks the fused product and its gradients
// against gorgonia's built-in Mul.
func TestMatMulOpMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{1, 1, 1}, {7, 5, 3}, {64, 9, 33}, {13, 40, 5}} {
		m, k, n := s[0], s[1], s[2]
		a := make([]float64, m*k)
		b := make([]float64, k*n)
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		l1, ga1, gb1 := gradsOf(t, MatMul, a, b, m, k, k, n)
		l2, ga2, gb2 := gradsOf(t, gorgonia.Mul, a, b, m, k, k, n)
		closeAll(t, "loss", []float64{l1}, []float64{l2})
		closeAll(t, "dA", ga1, ga2)
		closeAll(t, "dB", gb1, gb2)
	}
	g := gorgonia.NewGraph()
	x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(2, 3))
	y := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(4, 2))
	if _, err := MatMul(x, y); err == nil {
		t.Fatal("mismatched inner dimensions accepted")
	}
}

// TestLeakyReLUOpMatchesGorgonia checks the fused LeakyReLU and its
// gradient against gorgonia's composed LeakyRelu.
func TestLeakyReLUOpMatchesGorgonia(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := make([]float64, 50*8)
	for i := range a {
		a[i] = rng.NormFloat64()
	}
	a[0], a[1] = 0, math.Copysign(0, -1)
	b := make([]float64, 8*4)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	ours := func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
		h, err := LeakyRelu(x, leakySlope)
		if err != nil {
			return nil, err
		}
		return gorgonia.Mul(h, w)
	}
	theirs := func(x, w *gorgonia.Node) (*gorgonia.Node, error) {
		h, err := gorgonia.LeakyRelu(x, leakySlope)
		if err != nil {
			return nil, err
		}
		return gorgonia.Mul(h, w)
	}
	l1, ga1, gb1 := gradsOf(t, ours, a, b, 50, 8, 8, 4)
	l2, ga2, gb2 := gradsOf(t, theirs, a, b, 50, 8, 8, 4)
	closeAll(t, "loss", []float64{l1}, []float64{l2})
	// At exactly -0 the subgradients differ (alpha vs 1), as documented.
	ga1[1], ga2[1] = 0, 0
	closeAll(t, "dX", ga1, ga2)
	closeAll(t, "dW", gb1, gb2)
}

// leakySlope is nn.LeakySlope, the slope the networks use (nn imports
// this package, so its tests cannot import nn).
const leakySlope = 0.01
