package main

import (
	"math"
	"math/rand/v2"
)

// Isolation forest (Liu, Ting & Zhou, ICDM 2008), the baseline of the
// categorical tables (issue 12): 100 trees, each grown on a subsample of
// 256 rows drawn without replacement, to a height of ceil(log2 256) = 8;
// a node splits on a feature drawn uniformly among those not constant in
// it, at a threshold uniform between their minimum and maximum (as
// scikit-learn's IsolationForest draws them); the score of a row is
// 2^(−E[h(x)]/c(256)), h its path length plus c(size) of the leaf it ends
// in. It runs on the harness's one-hot rows, not on the core's encoding,
// so that the baseline does not share a bug with what it is compared to.

const (
	forestTrees     = 100
	forestSubsample = 256
)

// forestNode is a node of an isolation tree: a leaf if feature < 0.
type forestNode struct {
	feature     int
	threshold   float64
	left, right int // child indices in the tree's node slice
	size        int // rows that reached a leaf
}

// isolationForest is a fitted forest over rows of dims values.
type isolationForest struct {
	trees [][]forestNode
	dims  int
	c     float64 // c(subsample size)
}

// avgPathLength is c(n), the average path length of an unsuccessful
// search in a binary search tree of n keys.
func avgPathLength(n int) float64 {
	switch {
	case n <= 1:
		return 0
	case n == 2:
		return 1
	}
	const euler = 0.5772156649015329
	return 2*(math.Log(float64(n-1))+euler) - 2*float64(n-1)/float64(n)
}

// fitForest grows the forest on the rows×dims matrix x (row-major), seeded.
func fitForest(x []float64, rows, dims int, seed uint64) *isolationForest {
	rng := rand.New(rand.NewPCG(seed, 0x1f0e57))
	psi := min(forestSubsample, rows)
	f := &isolationForest{dims: dims, c: avgPathLength(psi)}
	limit := int(math.Ceil(math.Log2(float64(max(psi, 2)))))
	for range forestTrees {
		idx := rng.Perm(rows)[:psi]
		var nodes []forestNode
		var grow func(idx []int, depth int) int
		grow = func(idx []int, depth int) int {
			at := len(nodes)
			nodes = append(nodes, forestNode{feature: -1, size: len(idx)})
			if depth >= limit || len(idx) <= 1 {
				return at
			}
			for _, j := range rng.Perm(dims) {
				lo, hi := math.Inf(1), math.Inf(-1)
				for _, r := range idx {
					v := x[r*dims+j]
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				if lo == hi {
					continue
				}
				t := lo + rng.Float64()*(hi-lo)
				var l, r []int
				for _, i := range idx {
					if x[i*dims+j] < t {
						l = append(l, i)
					} else {
						r = append(r, i)
					}
				}
				nodes[at].feature, nodes[at].threshold = j, t
				left := grow(l, depth+1)
				right := grow(r, depth+1)
				nodes[at].left, nodes[at].right = left, right
				return at
			}
			return at // every feature constant: a leaf
		}
		grow(idx, 0)
		f.trees = append(f.trees, nodes)
	}
	return f
}

// score returns the anomaly score of one row (higher is more anomalous).
func (f *isolationForest) score(row []float64) float64 {
	total := 0.0
	for _, nodes := range f.trees {
		n, depth := 0, 0.0
		for nodes[n].feature >= 0 {
			if row[nodes[n].feature] < nodes[n].threshold {
				n = nodes[n].left
			} else {
				n = nodes[n].right
			}
			depth++
		}
		total += depth + avgPathLength(nodes[n].size)
	}
	return math.Pow(2, -total/float64(len(f.trees))/f.c)
}
