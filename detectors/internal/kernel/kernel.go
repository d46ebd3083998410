package kernel

import "fmt"

// VecMatAdd adds the row vector x times the row-major len(x)×len(y) matrix
// w to y:
//
//	y[j] += x[0]·w[j] + x[1]·w[len(y)+j] + ... (left to right)
//
// Each y[j] is updated once per k = 0, 1, ..., len(x)-1 in that order,
// with the product rounded before the addition. It panics if
// len(w) < len(x)·len(y).
func VecMatAdd(y, x, w []float64) {
	n, k := len(y), len(x)
	if len(w) < n*k {
		panic(fmt.Sprintf("kernel: VecMatAdd: len(w) = %d < %d·%d", len(w), k, n))
	}
	if n == 0 || k == 0 {
		return
	}
	if useAVX2 {
		vecMatAddAVX2(&y[0], &x[0], &w[0], n, k)
		return
	}
	vecMatAddGeneric(y, x, w)
}

// vecMatAddGeneric is the portable VecMatAdd. The explicit float64
// conversion forbids the compiler from fusing the multiply and add (Go
// spec, "Arithmetic operators"), which it would otherwise do for
// GOAMD64=v3 or on arm64.
func vecMatAddGeneric(y, x, w []float64) {
	n := len(y)
	for k, xk := range x {
		row := w[k*n : k*n+n]
		for j := range y {
			y[j] += float64(xk * row[j])
		}
	}
}

// LeakyReLU replaces each y[i] by max(y[i], alpha·y[i]), which for
// 0 <= alpha <= 1 is y[i] for y[i] >= 0 and alpha·y[i] otherwise.
func LeakyReLU(y []float64, alpha float64) {
	for i, v := range y {
		y[i] = max(v, v*alpha)
	}
}

// SquaredDistance returns Σ (x[i]-c[i])², summed left to right with each
// square rounded before the addition. It panics if len(c) < len(x).
func SquaredDistance(x, c []float64) float64 {
	c = c[:len(x)]
	var s float64
	for i, v := range x {
		e := v - c[i]
		s += float64(e * e)
	}
	return s
}
