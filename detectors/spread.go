package detectors

// Spread accumulates the per-column variance of rows, shifted by the
// first row so that rows all (nearly) equal to it add no rounding error.
// The collapse checks of adversarial detectors compare the spread of
// what a generator or reconstruction produced, or of scores, with that
// of the training rows (ErrCollapsed).
type Spread struct {
	n          int
	first      []float64
	sum, sumSq []float64
}

// NewSpread returns an empty Spread of rows of cols values.
func NewSpread(cols int) *Spread {
	return &Spread{first: make([]float64, cols), sum: make([]float64, cols), sumSq: make([]float64, cols)}
}

// Add adds a row of the Spread's width.
func (s *Spread) Add(row []float64) {
	if s.n == 0 {
		copy(s.first, row)
	}
	s.n++
	for j, v := range row {
		d := v - s.first[j]
		s.sum[j] += d
		s.sumSq[j] += d * d
	}
}

// Total is the sum over columns of the (biased) variances; 0 for no rows.
func (s *Spread) Total() float64 {
	if s.n == 0 {
		return 0
	}
	t := 0.0
	for j := range s.sum {
		m := s.sum[j] / float64(s.n)
		t += max(s.sumSq[j]/float64(s.n)-m*m, 0)
	}
	return t
}
