package e2eoneclass

import (
	"slices"

	"github.com/anomalydb/anomalydb/detectors/nn"
)

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
