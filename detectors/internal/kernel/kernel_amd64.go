//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2 kernels (the OS must also save YMM state, which
// cpu.X86.HasAVX2 includes).
var useAVX2 = cpu.X86.HasAVX2

// ForceGeneric makes the kernels use their portable Go implementations
// (on = true) or the best available ones (on = false). It is for tests that
// check the two agree; it must not be called while kernels are running.
func ForceGeneric(on bool) {
	useAVX2 = !on && cpu.X86.HasAVX2
}

//go:noescape
func vecMatAddAVX2(y, x, w *float64, n, k, incX int)
