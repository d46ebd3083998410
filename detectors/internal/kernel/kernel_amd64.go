//go:build amd64 && !purego

package kernel

import "golang.org/x/sys/cpu"

// useAVX2 selects the AVX2 kernels (the OS must also save YMM state, which
// cpu.X86.HasAVX2 includes).
var useAVX2 = cpu.X86.HasAVX2

//go:noescape
func vecMatAddAVX2(y, x, w *float64, n, k int)
