// Package lesinn is LeSiNN (Pang, Ting, Albrecht, "LeSiNN: Detecting
// anomalies by identifying least similar nearest neighbours", ICDMW 2015),
// the isolation measure that repen scores its representations with and
// that sdor takes its initial pseudo-labels from: a row's score is the
// mean, over random subsamples of the rows, of the Euclidean distance to
// its nearest subsample member.
package lesinn

import (
	"math"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/kernel"
)

// Scores returns the LeSiNN score of every row of x: the mean over ens
// random subsamples of sub rows (without replacement; all rows if there
// are fewer), drawn from rng, of the Euclidean distance to the nearest
// subsample member.
func Scores(x arrowio.Matrix, ens, sub int, rng *rand.Rand) []float64 {
	members := detectors.Subsamples(x.Rows, ens, sub, rng)
	ref := make([]float64, 0, len(members)*x.Cols)
	for _, m := range members {
		ref = append(ref, x.Row(m)...)
	}
	score := make([]float64, x.Rows)
	for i := range score {
		score[i] = Score(x.Row(i), ref, ens, sub)
	}
	return score
}

// Score is the LeSiNN score of z against ens groups of sub member rows of
// ref (row-major, rows of len(z)): the mean over the groups, in group
// order, of the Euclidean distance to the group's nearest member.
func Score(z, ref []float64, ens, sub int) float64 {
	m := len(z)
	sum := 0.0
	for e := range ens {
		best := math.Inf(1)
		for j := e * sub; j < (e+1)*sub; j++ {
			best = min(best, kernel.SquaredDistance(z, ref[j*m:(j+1)*m]))
		}
		sum += math.Sqrt(best)
	}
	return sum / float64(ens)
}
