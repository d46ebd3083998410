package detectors

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestAdamMatchesGorgonia runs the in-place Adam and gorgonia's
// AdamSolver side by side for many steps, with and without weight decay,
// and checks the weights stay bit-identical and the gradients are zeroed.
// The bug it catches: any reordered or fused operation of the update
// (e.g. 1−β computed as an exact constant, or ε added before the square
// root).
func TestAdamMatchesGorgonia(t *testing.T) {
	for _, l2 := range []float64{0, 5e-4} {
		rng := rand.New(rand.NewPCG(1, uint64(l2*1e6)))
		sizes := []int{12, 5}
		var ours, theirs [][]float64
		var nodes gorgonia.Nodes
		g := gorgonia.NewGraph()
		for p, n := range sizes {
			w := make([]float64, n)
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			ours = append(ours, append([]float64(nil), w...))
			theirs = append(theirs, w)
			nodes = append(nodes, matrixNode(g, fmt.Sprint("w", p), 1, n, w))
		}
		loss := gorgonia.Must(gorgonia.Add(gorgonia.Must(gorgonia.Sum(nodes[0])), gorgonia.Must(gorgonia.Sum(nodes[1]))))
		if _, err := gorgonia.Grad(loss, nodes...); err != nil {
			t.Fatal(err)
		}
		vm := gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(nodes...))
		defer vm.Close()
		if err := vm.RunAll(); err != nil { // binds the gradients
			t.Fatal(err)
		}
		opts := []gorgonia.SolverOpt{gorgonia.WithLearnRate(0.01)}
		if l2 > 0 {
			opts = append(opts, gorgonia.WithL2Reg(l2))
		}
		ref := gorgonia.NewAdamSolver(opts...)
		a := newAdam(0.01, l2, sizes)
		grads := [][]float64{make([]float64, sizes[0]), make([]float64, sizes[1])}
		model := gorgonia.NodesToValueGrads(nodes)
		for step := 0; step < 50; step++ {
			for p, n := range nodes {
				gv, err := n.Grad()
				if err != nil {
					t.Fatal(err)
				}
				d := gv.Data().([]float64)
				for i := range d {
					v := rng.NormFloat64() * math.Pow(10, float64(rng.IntN(7)-3))
					if i == 0 {
						v = math.Copysign(0, -1)
					}
					d[i], grads[p][i] = v, v
				}
			}
			if err := ref.Step(model); err != nil {
				t.Fatal(err)
			}
			a.step(ours, grads)
			for p := range ours {
				if i, ok := sameBits(ours[p], theirs[p]); !ok {
					t.Fatalf("l2 %v, step %d: w%d[%d] = %v, gorgonia's %v", l2, step, p, i, ours[p][i], theirs[p][i])
				}
				for _, v := range grads[p] {
					if v != 0 {
						t.Fatalf("step did not zero the gradient")
					}
				}
			}
		}
	}
}
