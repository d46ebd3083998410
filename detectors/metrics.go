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
	idx, pos, err := labelledRows("AUC", labels, scores)
	if err != nil {
		return 0, err
	}
	if pos == 0 || pos == len(idx) {
		return 0, errors.New("detectors: AUC needs both anomalies and normal rows")
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		mid := float64(i+j+1) / 2 // mean of 1-based ranks i+1..j
		for k := i; k < j; k++ {
			if labels[idx[k]] == 1 {
				rankSum += mid
			}
		}
		i = j
	}
	npos, nneg := float64(pos), float64(len(idx)-pos)
	return (rankSum - npos*(npos+1)/2) / (npos * nneg), nil
}

// labelledRows checks labels and scores for AUC and AveragePrecision
// (named what in errors) and returns the indices of the rows whose label
// is not NaN, in order, and how many of them are anomalies. It is an error
// if the lengths differ, a label is not 0, 1 or NaN (wrapping
// ErrBadLabel), or a labelled row's score is NaN.
func labelledRows(what string, labels, scores []float64) (idx []int, positives int, err error) {
	if len(labels) != len(scores) {
		return nil, 0, fmt.Errorf("detectors: %s: %d labels, %d scores", what, len(labels), len(scores))
	}
	idx = make([]int, 0, len(labels))
	for i, l := range labels {
		switch {
		case math.IsNaN(l):
			continue
		case l != 0 && l != 1:
			return nil, 0, fmt.Errorf("%w: %s label %v", ErrBadLabel, what, l)
		case math.IsNaN(scores[i]):
			return nil, 0, fmt.Errorf("detectors: %s: score %d is NaN", what, i)
		}
		if l == 1 {
			positives++
		}
		idx = append(idx, i)
	}
	return idx, positives, nil
}

// StratifiedSplit splits row indices 0..len(labels)-1 into a training and
// a test set, putting round(trainFrac·n_c) rows of each class c (0, 1, and
// every other label, such as NaN, as a third class) into the training
// set, chosen by a seeded shuffle. Both index lists are sorted.
func StratifiedSplit(labels []float64, trainFrac float64, seed uint64) (train, test []int) {
	rng := rand.New(rand.NewPCG(seed, 0x5851f42d4c957f2d))
	var classes [3][]int
	for i, l := range labels {
		c := 2
		switch l {
		case 0:
			c = 0
		case 1:
			c = 1
		}
		classes[c] = append(classes[c], i)
	}
	for _, idx := range classes {
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
