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
	VecMatAddInc(y, x, 1, len(x), w)
}

// VecMatAddInc is VecMatAdd for the k-element vector x[0], x[incX],
// x[2·incX], ... (for example a column of a row-major matrix). It panics
// if incX < 1 or a slice is too short.
func VecMatAddInc(y, x []float64, incX, k int, w []float64) {
	n := len(y)
	if incX < 1 || len(w) < n*k || (k > 0 && len(x) <= (k-1)*incX) {
		panic(fmt.Sprintf("kernel: VecMatAddInc: len(y)=%d len(x)=%d incX=%d k=%d len(w)=%d", n, len(x), incX, k, len(w)))
	}
	if n == 0 || k == 0 {
		return
	}
	if useAVX2 {
		vecMatAddAVX2(&y[0], &x[0], &w[0], n, k, incX)
		return
	}
	vecMatAddGeneric(y, x, incX, k, w)
}

// vecMatAddGeneric is the portable VecMatAddInc: y += x[k]·w[k,:] for
// each input k in order, element by element, the product rounded before
// the addition (the float64 conversion forbids the compiler to fuse them
// into a multiply-add, which it may do on arm64, ppc64 and s390x and
// which gonum's pure-Go axpy does not prevent). Every output element thus
// sees the same operations in the same order as in the AVX2 kernel, and
// the results are bit-identical on every machine (TestVecMatAdd*).
func vecMatAddGeneric(y, x []float64, incX, k int, w []float64) {
	n := len(y)
	for kk := 0; kk < k; kk++ {
		xk, row := x[kk*incX], w[kk*n:kk*n+n]
		j := 0
		for ; j+4 <= n; j += 4 { // unrolled; the 4-element slices drop the bounds checks
			yy, ww := y[j:j+4:j+4], row[j:j+4:j+4]
			yy[0] += float64(xk * ww[0])
			yy[1] += float64(xk * ww[1])
			yy[2] += float64(xk * ww[2])
			yy[3] += float64(xk * ww[3])
		}
		for ; j < n; j++ {
			y[j] += float64(xk * row[j])
		}
	}
}

// Accelerated reports whether an assembly kernel is in use (not forced
// off by ForceGeneric).
func Accelerated() bool { return useAVX2 }

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

// MatMul sets c (m×n) to a (m×k) times b (k×n), all row-major, computing
// each row of c with VecMatAdd (so c's row i is bit-identical to
// VecMatAdd of a's row i into zeros). It panics if a slice is too short.
func MatMul(c, a, b []float64, m, k, n int) {
	if len(c) < m*n || len(a) < m*k || len(b) < k*n {
		panic(fmt.Sprintf("kernel: MatMul: lengths %d, %d, %d for %dx%d · %dx%d", len(c), len(a), len(b), m, k, k, n))
	}
	for i := 0; i < m; i++ {
		row := c[i*n : (i+1)*n]
		clear(row)
		VecMatAdd(row, a[i*k:(i+1)*k], b)
	}
}

// MatTMulAdd adds aᵀ·b to c, where a is m×k, b is m×n and c is k×n, all
// row-major: row r of c gets VecMatAddInc of column r of a times b.
func MatTMulAdd(c, a, b []float64, m, k, n int) {
	if len(c) < k*n || len(a) < m*k || len(b) < m*n {
		panic(fmt.Sprintf("kernel: MatTMulAdd: lengths %d, %d, %d for (%dx%d)ᵀ · %dx%d", len(c), len(a), len(b), m, k, m, n))
	}
	for r := 0; r < k; r++ {
		VecMatAddInc(c[r*n:(r+1)*n], a[r:], k, m, b)
	}
}

// Transpose sets dst (cols×rows) to the transpose of src (rows×cols).
func Transpose(dst, src []float64, rows, cols int) {
	if len(dst) < rows*cols || len(src) < rows*cols {
		panic("kernel: Transpose: slice too short")
	}
	for i := 0; i < rows; i++ {
		for j, v := range src[i*cols : (i+1)*cols] {
			dst[j*rows+i] = v
		}
	}
}
