package detectors

import "math"

// adam is the training template's optimizer: gorgonia v0.9's AdamSolver
// (learning rate lr, β₁ 0.9 and β₂ 0.999 unless an adversarial player
// sets others, ε 1e-8, optional L2 weight decay,
// no clipping, batch 1) for float64 tensors, rewritten to update the
// weights and its moments in place. gorgonia's Step clones five tensors
// per parameter per step; this one allocates its moments once. It
// performs the same IEEE operations in the same order as gorgonia's
// (each intermediate tensor of gorgonia's is a rounded float64 here, and
// the one multiply-add gorgonia leaves to the compiler, m·β + t, is
// written the same way), so a model trains bit for bit as it did with
// gorgonia's solver (TestAdamMatchesGorgonia).
type adam struct {
	lr, l2 float64
	useL2  bool
	// β₁, β₂ and ε are variables, not constants, so that 1 − β is
	// rounded float64 arithmetic as in gorgonia, not exact constant
	// arithmetic.
	beta1, beta2, eps float64
	iter              int
	m, v              [][]float64 // first and second moments, one per parameter
}

// Adam's default decay rates of its moments (Kingma & Ba 2015), which
// every objective but an adversarial player's uses (adversary.go).
const (
	adamBeta1 = 0.9
	adamBeta2 = 0.999
)

// newAdam returns a solver with learning rate lr and L2 weight decay l2
// (0 = none) for parameters of the given sizes, with the default β₁ and
// β₂.
func newAdam(lr, l2 float64, sizes []int) *adam {
	return newAdamBetas(lr, l2, adamBeta1, adamBeta2, sizes)
}

// newAdamBetas is newAdam with the decay rates β₁ and β₂.
func newAdamBetas(lr, l2, beta1, beta2 float64, sizes []int) *adam {
	a := &adam{lr: lr, l2: l2, useL2: l2 > 0, beta1: beta1, beta2: beta2, eps: 1e-8}
	for _, n := range sizes {
		a.m = append(a.m, make([]float64, n))
		a.v = append(a.v, make([]float64, n))
	}
	return a
}

// step updates every w[p] by its gradient g[p] (same length as w[p]) and
// zeroes the gradients, as gorgonia's Step does.
func (a *adam) step(w, g [][]float64) {
	a.iter++
	beta1, beta2, eps := a.beta1, a.beta2, a.eps
	correction1 := 1 - math.Pow(beta1, float64(a.iter))
	correction2 := 1 - math.Pow(beta2, float64(a.iter))
	omb1, omb2 := float64(1)-beta1, float64(1)-beta2
	cv1, cv2 := float64(1)/correction1, float64(1)/correction2
	negEta := -a.lr
	for p := range w {
		wp, gp, mp, vp := w[p], g[p], a.m[p], a.v[p]
		gp, mp, vp = gp[:len(wp)], mp[:len(wp)], vp[:len(wp)]
		for i := range wp {
			gi := gp[i]
			if a.useL2 {
				gi += float64(wp[i] * a.l2)
			}
			t1 := float64(gi * omb1)
			gg := float64(gi * gi)
			gg = float64(gg * omb2)
			t1 += mp[i] * beta1
			gg += vp[i] * beta2
			mp[i], vp[i] = t1, gg
			mHat := float64(t1 * cv1)
			vHat := float64(gg * cv2)
			vHat = math.Sqrt(vHat)
			vHat += eps
			mHat = float64(mHat * negEta)
			mHat /= vHat
			wp[i] += mHat
			gp[i] = 0
		}
	}
}
