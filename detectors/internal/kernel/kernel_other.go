//go:build !amd64 || purego

package kernel

const useAVX2 = false

func vecMatAddAVX2(y, x, w *float64, n, k, incX int) { panic("kernel: no AVX2") }

// ForceGeneric is a no-op: only the portable kernels exist here.
func ForceGeneric(on bool) {}
