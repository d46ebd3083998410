package detectors

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// shuttleBatchRows is the Arrow batch size of the shuttle benchmarks.
const shuttleBatchRows = 8192

// BenchmarkTrainDeepSVDDShuttle trains deep_svdd on all 49,097 × 9 rows of
// shuttle: hidden '64,32', batch_size 256, 20 epochs, seed 1. Besides the
// time of a whole training (s/train, allocs/op and B/op of Fit) it reports
// what one steady-state mini-batch step costs (see trainStepCost).
func BenchmarkTrainDeepSVDDShuttle(b *testing.B) {
	benchTrainShuttle(b, "deep_svdd", opts("hidden", "64,32", "batch_size", "256", "epochs", "20", "seed", "1"))
}

// BenchmarkTrainAutoencoderShuttle is BenchmarkTrainDeepSVDDShuttle for
// the autoencoder with the same encoder widths, batch size and epochs
// (and its default dropout 0.2, whose noise inputs are refilled every
// step).
func BenchmarkTrainAutoencoderShuttle(b *testing.B) {
	benchTrainShuttle(b, "autoencoder", opts("hidden", "64,32", "batch_size", "256", "epochs", "20", "seed", "1"))
}

// BenchmarkTrainGANomalyShuttle is BenchmarkTrainDeepSVDDShuttle for
// ganomaly with its defaults: adversarial training (adversary.go), a
// discriminator's and a generator's step on every mini-batch of 64 rows.
func BenchmarkTrainGANomalyShuttle(b *testing.B) {
	benchTrainShuttle(b, "ganomaly", opts("seed", "1"))
}

func benchTrainShuttle(b *testing.B, alg string, o map[string]string) {
	tb := readTable(b, "shuttle")
	bs := tb.NullBatches(memory.NewGoAllocator(), shuttleBatchRows)
	defer releaseAll(bs)
	data := TrainingData{Batches: bs, Features: tb.Features(), Label: -1}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := Fit(context.Background(), alg, o, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/train")
	b.StopTimer()
	allocs, bytes, ns := trainStepCost(b, mustLookup(b, alg), tb, o)
	b.ReportMetric(allocs, "allocs/step")
	b.ReportMetric(bytes, "B/step")
	b.ReportMetric(ns, "ns/step")
}

// trainStepCost measures steady-state training steps of alg on tb: after
// one epoch of warm-up, the mean allocations, allocated bytes and time of
// one mini-batch step over another epoch (runtime.MemStats before and
// after).
func trainStepCost(b *testing.B, alg Algorithm, tb *table, o map[string]string) (allocs, bytes, ns float64) {
	tr := testTrainer(b, alg, tb, o, nil)
	defer tr.close()
	for s := 0; s < tr.steps; s++ {
		if _, err := tr.step(s, 0); err != nil {
			b.Fatal(err)
		}
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for s := 0; s < tr.steps; s++ {
		if _, err := tr.step(s, 1); err != nil {
			b.Fatal(err)
		}
	}
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	n := float64(tr.steps)
	return float64(after.Mallocs-before.Mallocs) / n, float64(after.TotalAlloc-before.TotalAlloc) / n, float64(elapsed.Nanoseconds()) / n
}

// shuttleModel trains a one-epoch deep_svdd ('64,32') on shuttle for the
// scoring benchmarks (scoring cost does not depend on the weights).
func shuttleModel(b *testing.B) (*table, []arrow.RecordBatch, *Model) {
	tb := readTable(b, "shuttle")
	bs := tb.NullBatches(memory.NewGoAllocator(), shuttleBatchRows)
	m, err := Fit(context.Background(), "deep_svdd", opts("hidden", "64,32", "batch_size", "256", "epochs", "1", "seed", "1"),
		TrainingData{Batches: bs, Features: tb.Features(), Label: -1})
	if err != nil {
		b.Fatal(err)
	}
	return tb, bs, m
}

// BenchmarkScoreDeepSVDDShuttle scores all 49,097 shuttle rows with
// ScoreBatch, batch by batch (8192 rows each), in process.
func BenchmarkScoreDeepSVDDShuttle(b *testing.B) {
	tb, bs, m := shuttleModel(b)
	defer releaseAll(bs)
	features := tb.Features()
	var err error
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
	b.ReportMetric(float64(tb.Rows*b.N)/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkScoreBatchSizes scores shuttle through ScoreBatch in batches of
// increasing size.
func BenchmarkScoreBatchSizes(b *testing.B) {
	tb, bs, m := shuttleModel(b)
	defer releaseAll(bs)
	features := tb.Features()
	for _, size := range []int64{1, 64, 1024, 8192} {
		b.Run(fmt.Sprint(size), func(b *testing.B) {
			rec := bs[0].NewSlice(0, size)
			defer rec.Release()
			dst := make([]float64, size)
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if _, err := m.ScoreBatch(rec, features, dst); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(size*int64(b.N))/time.Since(start).Seconds(), "rows/s")
		})
	}
}

// BenchmarkScoreRow scores single rows (the per-call path of the SQL
// function anomaly_score).
func BenchmarkScoreRow(b *testing.B) {
	tb, bs, m := shuttleModel(b)
	defer releaseAll(bs)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := i % tb.Rows
		if _, err := m.ScoreRow(tb.X[r*tb.Cols : (r+1)*tb.Cols]); err != nil {
			b.Fatal(err)
		}
	}
}
