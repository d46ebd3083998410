package detectors_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func ExampleFit() {
	// 500 rows of two correlated features.
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "x", Type: arrow.PrimitiveTypes.Float64},
		{Name: "y", Type: arrow.PrimitiveTypes.Float64},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 500; i++ {
		t := rng.NormFloat64()
		b.Field(0).(*array.Float64Builder).Append(t)
		b.Field(1).(*array.Float64Builder).Append(2*t + 0.1*rng.NormFloat64())
	}
	rec := b.NewRecordBatch()
	defer rec.Release()

	m, err := detectors.Fit(context.Background(), "deep_svdd",
		map[string]string{"epochs": "50", "lr": "0.001", "hidden": "16,8", "seed": "7"},
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1}, Label: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, row := range [][]float64{{0.5, 1}, {1, -2}} {
		s, _ := m.ScoreRow(row)
		fmt.Printf("%v anomaly: %v\n", row, m.IsAnomaly(s))
	}
	fmt.Println(m.Features, m.Options["hidden"], m.TrainingRows)
	// Output:
	// [0.5 1] anomaly: false
	// [1 -2] anomaly: true
	// [x y] 16,8 500
}
