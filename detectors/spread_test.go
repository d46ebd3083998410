package detectors

import (
	"math"
	"testing"
)

// TestSpread: Total is the sum of the columns' biased variances, exactly
// 0 for equal rows however large their values (the shift by the first
// row), and 0 for no rows. Bugs caught: unbiased (n−1) variances, a
// missing shift (rounding leaves a positive variance for equal rows of
// 1e9 + 0.1), columns not summed.
func TestSpread(t *testing.T) {
	s := NewSpread(2)
	if s.Total() != 0 {
		t.Errorf("empty Spread: Total %v", s.Total())
	}
	for _, r := range [][]float64{{1, 10}, {2, 10}, {3, 16}} {
		s.Add(r)
	}
	// Column 0: variance 2/3; column 1: mean 12, variance (4+4+16)/3 = 8.
	if got, want := s.Total(), 2.0/3+8; math.Abs(got-want) > 1e-12 {
		t.Errorf("Total %v, want %v", got, want)
	}
	c := NewSpread(1)
	for range 1000 {
		c.Add([]float64{1e9 + 0.1})
	}
	if c.Total() != 0 {
		t.Errorf("equal rows: Total %v, want 0", c.Total())
	}
}
