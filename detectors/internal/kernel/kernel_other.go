//go:build !amd64 || purego

package kernel

const useAVX2 = false

func vecMatAddAVX2(y, x, w *float64, n, k int) { panic("kernel: no AVX2") }
