package main

import (
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/detectors"
)

// Bags of rows (-bags N, issue 12's MIL ranking): no bag-labelled table
// is shipped, so bags are built from the labelled tables. For each
// dataset and seed, after the protocol's stratified 70/30 split, the
// training rows are shuffled with the seed and cut into bags of N
// consecutive rows, a bag labelled 1 if and only if it holds an anomaly:
// the only labels a detector that takes bags (mil_ranking) sees; it
// trains on the rows in bag order. Any other detector trains on the same
// rows, in the same order, as the protocol has it (unlabelled, or with
// its share of labelled anomalies). Scores are row by row on the 30 %,
// against the row labels. A seed whose bags all hold an anomaly cannot
// be trained on by mil_ranking: its run records the error and the
// dataset's mean is over the other seeds.

// shuffleForBags shuffles the training rows as the bag protocol does.
func shuffleForBags(trainIdx []int, seed int) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0xb465))
	rng.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
}

// bagRows cuts the training rows trainIdx (in their order) into bags of
// size rows and returns each row's bag id and bag label, and the number
// of bags and of anomalous bags.
func bagRows(labels []float64, trainIdx []int, size int) (ids []int64, bagLabels []float64, bags, anomalous int) {
	ids = make([]int64, len(trainIdx))
	bagLabels = make([]float64, len(trainIdx))
	for lo := 0; lo < len(trainIdx); lo += size {
		hi := min(lo+size, len(trainIdx))
		y := 0.0
		for _, r := range trainIdx[lo:hi] {
			y = max(y, labels[r])
		}
		for i := lo; i < hi; i++ {
			ids[i], bagLabels[i] = int64(bags), y
		}
		bags++
		anomalous += int(y)
	}
	return ids, bagLabels, bags, anomalous
}

// withBagColumn returns rec with an Int64 column "bag" of ids appended
// (rec is released).
func withBagColumn(rec arrow.RecordBatch, ids []int64) arrow.RecordBatch {
	b := array.NewInt64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(ids, nil)
	col := b.NewArray()
	defer col.Release()
	fields := append(rec.Schema().Fields(), arrow.Field{Name: "bag", Type: arrow.PrimitiveTypes.Int64})
	cols := append(rec.Columns()[:rec.NumCols():rec.NumCols()], col)
	out := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, rec.NumRows())
	rec.Release()
	return out
}

// takesBags reports whether det trains on bags.
func takesBags(det string) bool {
	use, err := detectors.UsesBags(det)
	return err == nil && use
}
