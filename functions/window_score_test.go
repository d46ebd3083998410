package functions

import (
	"context"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/types"

	"github.com/anomalydb/anomalydb/detectors"
	_ "github.com/anomalydb/anomalydb/detectors/predictability" // lstm_forecast
)

// sequenceModel trains a small lstm_forecast on one seeded series x.
func sequenceModel(t *testing.T, x []float64) *detectors.Model {
	t.Helper()
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(x, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{col}, int64(len(x)))
	col.Release()
	defer rec.Release()
	m, err := detectors.FitSequence(context.Background(), "lstm_forecast", map[string]string{"window": "3", "epochs": "1", "hidden": "4"},
		detectors.SequenceData{TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestWindowScorer runs the window function of WindowScore over a buffer
// of two partitions as go-mysql-server's window iterator does
// (StartPartition, then Compute once per row) and checks that each
// partition's values are ScoreSequence's and SequenceVerdicts' on its
// rows alone; that a NULL name gives NULLs, a name that changes within a
// partition is 1210, and a tabular detector is 3593. Bugs caught: rows
// of the previous partition used as context, values handed out in the
// wrong order or shifted by one, the verdicts taken from another rule.
func TestWindowScorer(t *testing.T) {
	x := make([]float64, 60)
	for i := range x {
		x[i] = math.Sin(float64(i)/2) + float64(i%5)/4
	}
	seq := sequenceModel(t, x)
	r := fakeResolver{"s": seq, "tab": twoFeatureModel(t)}
	ctx := sql.NewEmptyContext()
	// Rows (name, v): partition 1 is x[:25], partition 2 x[25:].
	buf := make(sql.WindowBuffer, len(x))
	for i, v := range x {
		buf[i] = sql.Row{"s", v}
	}
	name := expression.NewGetField(0, types.Text, "name", true)
	v := expression.NewGetField(1, types.Float64, "v", true)
	parts := []sql.WindowInterval{{Start: 0, End: 25}, {Start: 25, End: 60}}
	for _, fn := range []string{"anomaly_score", "is_anomaly"} {
		ws, err := NewWindowScore(fn, r, name, v)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := ws.NewWindowFunction()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range parts {
			if err := wf.StartPartition(ctx, p, buf); err != nil {
				t.Fatal(err)
			}
			scores, _ := seq.ScoreSequence(x[p.Start:p.End], 0, nil)
			flags, _ := seq.SequenceVerdicts(x[p.Start:p.End], 0, nil)
			for i := p.Start; i < p.End; i++ {
				got := wf.Compute(ctx, p, buf)
				var want interface{} = scores[i-p.Start]
				if fn == "is_anomaly" {
					want = map[bool]int8{true: 1, false: 0}[flags[i-p.Start]]
				}
				if got != want {
					t.Fatalf("%s row %d: %v, want %v", fn, i, got, want)
				}
			}
		}
	}
	startErr := func(rows sql.WindowBuffer) error {
		ws, _ := NewWindowScore("anomaly_score", r, name, v)
		wf, _ := ws.NewWindowFunction()
		err := wf.StartPartition(ctx, sql.WindowInterval{Start: 0, End: len(rows)}, rows)
		if err == nil {
			if got := wf.Compute(ctx, sql.WindowInterval{}, rows); got != nil {
				t.Fatalf("a NULL name gives %v", got)
			}
		}
		return err
	}
	if err := startErr(sql.WindowBuffer{{nil, 1.0}, {nil, 2.0}}); err != nil {
		t.Fatalf("a NULL name: %v", err)
	}
	if n := sqlErrNum(startErr(sql.WindowBuffer{{"s", 1.0}, {"tab", 2.0}})); n != 1210 {
		t.Fatalf("a name that changes: error %d", n)
	}
	ws, _ := NewWindowScore("anomaly_score", r, name, v, v)
	wf, _ := ws.NewWindowFunction()
	if n := sqlErrNum(wf.StartPartition(ctx, sql.WindowInterval{Start: 0, End: 1}, sql.WindowBuffer{{"tab", 1.0, 2.0}})); n != 3593 {
		t.Fatalf("a tabular detector: error %d", n)
	}
	if n := sqlErrNum(ErrPlainSequenceCall("anomaly_score", "s", seq)); n != 3593 {
		t.Fatalf("a plain call: error %d", n)
	}
	if ErrPlainSequenceCall("anomaly_score", "tab", r["tab"]) != nil {
		t.Fatal("a plain call on a tabular detector refused")
	}
}
