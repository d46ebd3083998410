package detectors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// AUC returns the area under the ROC curve of scores (higher = more
// anomalous) against labels (1 = anomaly, 0 = normal), i.e. the
// probability that a random anomaly outscores a random normal row, ties
// counting one half (Mann–Whitney U with mid-ranks). Rows whose label is
// NaN are ignored. It is an error if the lengths differ, a label is not 0,
// 1 or NaN, a score is NaN, or either class is empty.
func AUC(labels, scores []float64) (float64, error) {
	if len(labels) != len(scores) {
		return 0, fmt.Errorf("detectors: AUC: %d labels, %d scores", len(labels), len(scores))
	}
	type pair struct {
		s   float64
		pos bool
	}
	ps := make([]pair, 0, len(scores))
	for i, l := range labels {
		switch {
		case math.IsNaN(l):
			continue
		case l != 0 && l != 1:
			return 0, fmt.Errorf("%w: AUC label %v", ErrBadLabel, l)
		case math.IsNaN(scores[i]):
			return 0, errors.New("detectors: AUC: NaN score")
		}
		ps = append(ps, pair{scores[i], l == 1})
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].s < ps[j].s })
	var npos, nneg, rankSum float64
	for i := 0; i < len(ps); {
		j := i
		for j < len(ps) && ps[j].s == ps[i].s {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of 1-based ranks i+1..j
		for k := i; k < j; k++ {
			if ps[k].pos {
				npos++
				rankSum += mid
			} else {
				nneg++
			}
		}
		i = j
	}
	if npos == 0 || nneg == 0 {
		return 0, errors.New("detectors: AUC needs both anomalies and normal rows")
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg), nil
}

// StratifiedSplit splits row indices 0..len(labels)-1 into a training and
// a test set, putting round(trainFrac·n_c) rows of each class c (0, 1, and
// NaN as a third class) into the training set, chosen by a seeded shuffle.
// Both index lists are sorted.
func StratifiedSplit(labels []float64, trainFrac float64, seed uint64) (train, test []int) {
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	classes := map[int][]int{}
	for i, l := range labels {
		c := 2
		if !math.IsNaN(l) {
			c = int(l)
		}
		classes[c] = append(classes[c], i)
	}
	for c := 0; c <= 2; c++ {
		idx := classes[c]
		if len(idx) == 0 {
			continue
		}
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		k := int(math.Round(trainFrac * float64(len(idx))))
		train = append(train, idx[:k]...)
		test = append(test, idx[k:]...)
	}
	sort.Ints(train)
	sort.Ints(test)
	return train, test
}
