package detectors

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestMILLossValue checks the MIL ranking loss on a mini-batch worked
// out by hand: 2 anomalous and 2 normal bags of 3 instances. It catches
// the hinge taken on a mean or the first instance instead of the bag's
// maximum, the anomalous and normal halves swapped, the pairs averaged
// over the anomalous bags instead of the normal ones, and either penalty
// applied to the normal bags or left out.
func TestMILLossValue(t *testing.T) {
	s := []float64{
		0.1, 0.9, 0.2, // anomalous bag 0: max 0.9
		0.3, 0.3, 0.4, // anomalous bag 1: max 0.4
		0.5, 0.2, 0.1, // normal bag 0: max 0.5
		0.0, 0.7, 0.0, // normal bag 1: max 0.7
	}
	const l1, l2 = 0.5, 0.25
	// Hinges: n=0.5: (1−0.9+0.5)+(1−0.4+0.5) = 0.6+1.1; n=0.7: 0.8+1.3;
	// summed over a, averaged over n: (1.7+2.1)/2 = 1.9.
	hinge := 1.9
	smooth := (0.8*0.8 + 0.7*0.7) + (0 + 0.1*0.1)
	sparse := 1.2 + 1.0
	want := hinge + l1*smooth + l2*sparse
	if got := (milLoss{p: 2, t: 3, l1: l1, l2: l2}).loss(s, make([]float64, 4)); math.Abs(got-want) > 1e-12 {
		t.Fatalf("loss %v, want %v", got, want)
	}
	// A normal bag scoring far below every anomalous one costs nothing
	// but the penalties.
	want2 := l1*0.01 + l2*1.7
	if got := (milLoss{p: 1, t: 2, l1: l1, l2: l2}).loss([]float64{0.9, 0.8, -0.5, -0.5}, make([]float64, 2)); math.Abs(got-want2) > 1e-12 {
		t.Fatalf("separated bags: loss %v, want %v", got, want2)
	}
}

// TestMILLossGradient compares the op's backward pass with central
// differences of its loss, at random scores (no ties, so the maximum is
// differentiable) and an upstream gradient of 1.7. It catches a sign
// error, a term left out of the gradient, or the hinge's gradient sent to
// the wrong instance.
func TestMILLossGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := milLoss{p: 3, t: 4, l1: 0.3, l2: 0.2}
	s := make([]float64, 2*c.p*c.t)
	for i := range s {
		s[i] = rng.Float64()
	}
	const g = 1.7
	ds := make([]float64, len(s))
	c.grad(ds, s, g, make([]float64, 2*c.p), make([]int, 2*c.p))
	maxes := make([]float64, 2*c.p)
	for i := range s {
		const h = 1e-7
		v := s[i]
		s[i] = v + h
		up := c.loss(s, maxes)
		s[i] = v - h
		dn := c.loss(s, maxes)
		s[i] = v
		if num := g * (up - dn) / (2 * h); math.Abs(num-ds[i]) > 1e-6 {
			t.Errorf("score %d: gradient %v, central difference %v", i, ds[i], num)
		}
	}
}
