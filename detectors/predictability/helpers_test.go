package predictability_test

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	_ "github.com/anomalydb/anomalydb/detectors/predictability"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// floatBatch returns a record batch of float64 columns named names.
func floatBatch(t testing.TB, names []string, cols ...[]float64) arrow.RecordBatch {
	t.Helper()
	fields := make([]arrow.Field, len(cols))
	arrs := make([]arrow.Array, len(cols))
	for j, c := range cols {
		fields[j] = arrow.Field{Name: names[j], Type: arrow.PrimitiveTypes.Float64, Nullable: true}
		b := array.NewFloat64Builder(memory.DefaultAllocator)
		for _, v := range c {
			if math.IsNaN(v) {
				b.AppendNull()
			} else {
				b.Append(v)
			}
		}
		arrs[j] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(cols[0])))
	for _, a := range arrs {
		a.Release()
	}
	t.Cleanup(rec.Release)
	return rec
}

// stringBatch returns a record batch of one string column.
func stringBatch(t testing.TB, name string, vals []string) arrow.RecordBatch {
	t.Helper()
	b := array.NewStringBuilder(memory.DefaultAllocator)
	for _, v := range vals {
		b.Append(v)
	}
	a := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.BinaryTypes.String}}, nil), []arrow.Array{a}, int64(len(vals)))
	a.Release()
	t.Cleanup(rec.Release)
	return rec
}

// sine returns n rows of a noisy sine of period 24 (seeded).
func sine(n int, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Sin(2*math.Pi*float64(i)/24) + 0.05*r.NormFloat64()
	}
	return x
}

func fitSeq(t testing.TB, alg string, opts map[string]string, starts []int, names []string, cols ...[]float64) *detectors.Model {
	t.Helper()
	rec := floatBatch(t, names, cols...)
	feats := make([]int, len(cols))
	for j := range feats {
		feats[j] = j
	}
	m, err := detectors.FitSequence(context.Background(), alg, opts, detectors.SequenceData{
		TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: feats, Label: -1},
		Starts:       starts,
	})
	if err != nil {
		t.Fatalf("%s: FitSequence: %v", alg, err)
	}
	return m
}

// interleave returns the row-major rows of columns cols.
func interleave(cols ...[]float64) []float64 {
	n, d := len(cols[0]), len(cols)
	x := make([]float64, n*d)
	for j, c := range cols {
		for i, v := range c {
			x[i*d+j] = v
		}
	}
	return x
}
