package detectors

import (
	"math"
	"testing"
)

// checkShardGradients compares the gradient of every trainable value of
// st that sh's training program computes with a central difference of
// its loss (step 1e-6, tolerance 1e-5 relative to max(1, |difference|)),
// for a shard already filled with its mini-batch; errors name what. It
// returns how many values it checked.
func checkShardGradients(t *testing.T, sh *shard, st *State, what string) int {
	t.Helper()
	loss := func() float64 {
		if err := sh.prog.run(); err != nil {
			t.Fatal(err)
		}
		return sh.prog.scalar(sh.loss)
	}
	loss()
	checked := 0
	for p, n := range sh.params {
		tn := st.Get(n.Name())
		grad := append([]float64(nil), sh.prog.value(sh.grads[p])...)
		for i := range tn.Data {
			const h = 1e-6
			v := tn.Data[i]
			tn.Data[i] = v + h
			up := loss()
			tn.Data[i] = v - h
			dn := loss()
			tn.Data[i] = v
			num := (up - dn) / (2 * h)
			if math.Abs(num-grad[i]) > 1e-5*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: %s[%d]: gradient %v, central difference %v", what, tn.Name, i, grad[i], num)
			}
			checked++
		}
	}
	return checked
}
