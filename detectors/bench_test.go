package detectors

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// shuttleBatchRows is the Arrow batch size of the shuttle benchmarks.
const shuttleBatchRows = 8192

// BenchmarkTrainDeepSVDDShuttle trains deep_svdd on all 49,097 × 9 rows of
// shuttle: hidden '64,32', batch_size 256, 20 epochs, seed 1.
func BenchmarkTrainDeepSVDDShuttle(b *testing.B) {
	tb := readTable(b, "shuttle")
	bs := tb.batches(memory.NewGoAllocator(), shuttleBatchRows, false)
	defer releaseAll(bs)
	o := opts("hidden", "64,32", "batch_size", "256", "epochs", "20", "seed", "1")
	data := TrainingData{Batches: bs, Features: tb.features(), Label: -1}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), "deep_svdd", o, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/train")
}

// BenchmarkScoreDeepSVDDShuttle scores all shuttle rows with ScoreBatch,
// batch by batch, in process.
func BenchmarkScoreDeepSVDDShuttle(b *testing.B) {
	tb := readTable(b, "shuttle")
	bs := tb.batches(memory.NewGoAllocator(), shuttleBatchRows, false)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "deep_svdd", opts("hidden", "64,32", "batch_size", "256", "epochs", "1", "seed", "1"),
		TrainingData{Batches: bs, Features: tb.features(), Label: -1})
	if err != nil {
		b.Fatal(err)
	}
	features := tb.features()
	dst := make([]float64, shuttleBatchRows)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for _, rec := range bs {
			if dst, err = m.ScoreBatch(rec, features, dst); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(tb.rows*b.N)/time.Since(start).Seconds(), "rows/s")
}
