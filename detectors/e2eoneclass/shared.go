package e2eoneclass

import (
	"slices"

	"github.com/anomalydb/anomalydb/detectors/nn"
)

// spread accumulates the per-column variance of rows, shifted by the
// first row so that rows all (nearly) equal to it add no rounding error.
// The collapse checks of the family's detectors compare the spread of
// generated rows, or of scores, with that of the training rows.
type spread struct {
	n          int
	first      []float64
	sum, sumSq []float64
}

func newSpread(cols int) *spread {
	return &spread{first: make([]float64, cols), sum: make([]float64, cols), sumSq: make([]float64, cols)}
}

func (s *spread) add(row []float64) {
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

// total is the sum over columns of the (biased) variances.
func (s *spread) total() float64 {
	t := 0.0
	for j := range s.sum {
		m := s.sum[j] / float64(s.n)
		t += max(s.sumSq[j]/float64(s.n)-m*m, 0)
	}
	return t
}

// reversed returns a reversed copy of s (a generator's or decoder's
// widths mirror an encoder's).
func reversed(s []int) []int {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// logitScorer scores a row by the negated logit of a discriminator whose
// output is high for normal rows.
type logitScorer struct {
	net *nn.MLPKernel
	d   int
}

func (s *logitScorer) ScratchLen() int { return s.net.ScratchLen() }

func (s *logitScorer) ScoreRows(x, dst, scratch []float64) {
	for i := range dst {
		dst[i] = -s.net.Forward(x[i*s.d:(i+1)*s.d], scratch)[0]
	}
}
