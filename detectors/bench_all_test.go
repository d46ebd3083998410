package detectors

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkAlgorithmsShuttle trains every registered detector with its
// default options (seed 0) on all 49,097 × 9 shuttle rows and scores them
// in process with ScoreBatch: s/train and rows/s per detector. Label-using
// detectors get the shuttle labels.
func BenchmarkAlgorithmsShuttle(b *testing.B) {
	tb := readTable(b, "shuttle")
	bs := tb.LabelledBatches(memory.NewGoAllocator(), shuttleBatchRows, tb.Labels)
	defer releaseAll(bs)
	for _, name := range Algorithms() {
		if IsSequence(name) {
			continue // BenchmarkSequence (detectors/predictability)
		}
		data := TrainingData{Batches: bs, Features: tb.Features(), Label: tb.Cols}
		var m *Model
		b.Run("train/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				var err error
				o := opts("seed", "0")
				if name == "ape" { // numeric columns bucketed
					o["bins"] = "10"
				}
				if m, err = Fit(context.Background(), name, o, data); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/train")
		})
		if m == nil {
			continue
		}
		b.Run("score/"+name, func(b *testing.B) {
			features := tb.Features()
			dst := make([]float64, shuttleBatchRows)
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				for _, rec := range bs {
					var err error
					if dst, err = m.ScoreBatch(rec, features, dst); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(tb.Rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
