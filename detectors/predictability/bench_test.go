package predictability_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/apache/arrow-go/v18/arrow"
)

// BenchmarkSequence: training (s/op) and scoring (rows/s, one partition
// with ScoreSequence) of each sequence detector with its default options
// but 2 epochs, on a sine of 10,000 rows (deeplog: the sine's sign
// changes as keys, sessions of 100 rows), over a ladder of scored rows.
// Scoring a row reruns the recurrent network over its window (the score
// depends on the window only), so its cost is window × the cost of one
// step.
//
//	go test ./detectors/predictability -run '^$' -bench Sequence -benchtime 1x
func BenchmarkSequence(b *testing.B) {
	x := sine(10000, 1)
	for _, alg := range []string{"lstm_forecast", "gru_forecast", "deeplog"} {
		o := map[string]string{"epochs": "2"}
		var rec arrow.RecordBatch
		var starts []int
		if alg == "deeplog" {
			keys := make([]string, len(x))
			for i, v := range x {
				keys[i] = fmt.Sprint(int(4 * v))
			}
			rec = stringBatch(b, "k", keys)
			for i := 0; i < len(x); i += 100 {
				starts = append(starts, i)
			}
			o["key"] = "k"
		} else {
			rec = floatBatch(b, []string{"v"}, x)
		}
		var m *detectors.Model
		b.Run("train/"+alg, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				var err error
				m, err = detectors.FitSequence(context.Background(), alg, o, detectors.SequenceData{
					TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}, Starts: starts})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
		if m == nil {
			continue
		}
		raw := x
		if alg == "deeplog" {
			raw = make([]float64, len(x))
			for i, v := range x {
				raw[i] = m.Encoding().Code(0, fmt.Sprint(int(4*v)), false)
			}
		}
		for _, n := range []int{1000, 10000} {
			b.Run(fmt.Sprintf("score/%s/%d", alg, n), func(b *testing.B) {
				b.ReportAllocs()
				dst := make([]float64, n)
				for i := 0; i < b.N; i++ {
					if _, err := m.ScoreSequence(raw[:n], 0, dst); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
			})
		}
	}
}
