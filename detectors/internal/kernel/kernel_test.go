package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVecMatAddMatchesGeneric checks that the selected implementation is
// bit-identical to the portable one over many shapes (covering every chunk
// size and tail) and value ranges.
func TestVecMatAddMatchesGeneric(t *testing.T) {
	if !useAVX2 {
		t.Log("no AVX2 on this machine: only the generic kernel is tested")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 70; n++ {
		for _, k := range []int{1, 2, 3, 9, 17, 64} {
			x := make([]float64, k)
			w := make([]float64, k*n)
			y0 := make([]float64, n)
			for i := range x {
				x[i] = rng.NormFloat64() * math.Exp(4*rng.NormFloat64())
			}
			for i := range w {
				w[i] = rng.NormFloat64()
			}
			for i := range y0 {
				y0[i] = rng.NormFloat64()
			}
			got := append([]float64(nil), y0...)
			want := append([]float64(nil), y0...)
			VecMatAdd(got, x, w)
			vecMatAddGeneric(want, x, 1, k, w)
			for j := range got {
				if math.Float64bits(got[j]) != math.Float64bits(want[j]) {
					t.Fatalf("n=%d k=%d: y[%d] = %v, generic %v", n, k, j, got[j], want[j])
				}
			}
			// And against a straightforward reference.
			for j := range y0 {
				ref := y0[j]
				for kk := range x {
					ref += x[kk] * w[kk*n+j]
				}
				if d := math.Abs(ref - got[j]); d > 1e-9*math.Max(1, math.Abs(ref)) {
					t.Fatalf("n=%d k=%d: y[%d] = %v, reference %v", n, k, j, got[j], ref)
				}
			}
		}
	}
}

// TestVecMatAddIncAndMatTMul checks the strided form against the
// contiguous one and MatTMulAdd against a reference.
func TestVecMatAddIncAndMatTMul(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range [][3]int{{1, 1, 1}, {5, 3, 7}, {128, 64, 32}, {100, 9, 64}, {3, 33, 35}} {
		m, k, n := s[0], s[1], s[2]
		a := make([]float64, m*k)
		b := make([]float64, m*n)
		for i := range a {
			a[i] = rng.NormFloat64()
		}
		for i := range b {
			b[i] = rng.NormFloat64()
		}
		c := make([]float64, k*n)
		MatTMulAdd(c, a, b, m, k, n)
		at := make([]float64, k*m)
		Transpose(at, a, m, k)
		for r := 0; r < k; r++ {
			want := make([]float64, n)
			vecMatAddGeneric(want, at[r*m:(r+1)*m], 1, m, b)
			for j := range want {
				if math.Float64bits(want[j]) != math.Float64bits(c[r*n+j]) {
					t.Fatalf("%v: c[%d,%d] = %v, want %v", s, r, j, c[r*n+j], want[j])
				}
			}
		}
	}
}

func TestVecMatAddDoesNotTouchOutside(t *testing.T) {
	buf := make([]float64, 40)
	for i := range buf {
		buf[i] = -1
	}
	y := buf[3:36] // 33 columns: chunk32 + tail
	x := []float64{1, 2}
	w := make([]float64, 2*len(y))
	for i := range w {
		w[i] = 1
	}
	VecMatAdd(y, x, w)
	for i, v := range buf {
		want := -1.0
		if i >= 3 && i < 36 {
			want = 2
		}
		if v != want {
			t.Fatalf("buf[%d] = %v, want %v", i, v, want)
		}
	}
}

func TestVecMatAddPanicsOnShortW(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	VecMatAdd(make([]float64, 3), make([]float64, 2), make([]float64, 5))
}

func BenchmarkVecMatAdd(b *testing.B) {
	for _, s := range []struct{ k, n int }{{9, 64}, {64, 32}, {128, 128}} {
		x := make([]float64, s.k)
		w := make([]float64, s.k*s.n)
		y := make([]float64, s.n)
		b.Run(fmtShape(s.k, s.n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				VecMatAdd(y, x, w)
			}
		})
		b.Run(fmtShape(s.k, s.n)+"/generic", func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				vecMatAddGeneric(y, x, 1, len(x), w)
			}
		})
	}
}

func fmtShape(k, n int) string {
	return string(rune('0'+k/100%10)) + string(rune('0'+k/10%10)) + string(rune('0'+k%10)) + "x" +
		string(rune('0'+n/100%10)) + string(rune('0'+n/10%10)) + string(rune('0'+n%10))
}
