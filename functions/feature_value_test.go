package functions

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/detectors"
)

// TestModelFeatureValueMatchesTraining trains on Arrow columns as CREATE
// DETECTOR does (a string with NULLs, a DATE, a DATETIME) and checks that
// each row's SQL values, converted by ModelFeatureValue and scored alone,
// score bit for bit as the detector core scores the Arrow row
// (ScoreBatch reads the columns exactly as training did). Bugs caught: a
// string feature argument parsed as a number (the digits "2" are a
// category, not 2), a DATE read in days on one side and seconds on the
// other, microseconds lost from a DATETIME, NULL not its own category.
func TestModelFeatureValueMatchesTraining(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "level", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Microsecond}, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	levels := []string{"1", "2", "3", "10"}
	base := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	type row struct {
		level interface{}
		d, ts interface{}
	}
	var rows []row
	for i := 0; i < 300; i++ {
		r := row{level: levels[i%len(levels)], d: base.AddDate(0, 0, i%40), ts: base.Add(time.Duration(i*7919) * time.Second).Add(time.Duration(i) * time.Microsecond)}
		if i%9 == 0 {
			r.level = nil
		}
		if i%11 == 0 {
			r.ts = nil
		}
		rows = append(rows, r)
		if r.level == nil {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.StringBuilder).Append(r.level.(string))
		}
		b.Field(1).(*array.Date32Builder).Append(arrow.Date32FromTime(r.d.(time.Time)))
		if r.ts == nil {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(r.ts.(time.Time).UnixMicro()))
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	m, err := detectors.Fit(context.Background(), "deep_svdd", map[string]string{"epochs": "2", "hidden": "8,4", "time_cycles": "1"},
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1, 2}, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	want, err := m.ScoreBatch(rec, []int{0, 1, 2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		x := make([]float64, 3)
		for k, v := range []interface{}{r.level, r.d, r.ts} {
			f, ok := ModelFeatureValue(m, k, v)
			if !ok {
				t.Fatalf("row %d feature %d: %v refused", i, k, v)
			}
			x[k] = f
		}
		s, err := m.ScoreRow(x)
		if err != nil {
			t.Fatal(err)
		}
		if math.Float64bits(s) != math.Float64bits(want[i]) {
			t.Fatalf("row %d (%v): %v from SQL values, %v from the Arrow row", i, r, s, want[i])
		}
	}
	// A string MySQL converts to a date is that date; one it does not is
	// refused; a number for a string feature is compared by its text.
	if f, ok := ModelFeatureValue(m, 1, "2024-03-02"); !ok || f != float64(base.AddDate(0, 0, 1).Unix()) {
		t.Errorf("'2024-03-02' for a DATE feature: %v, %v", f, ok)
	}
	if _, ok := ModelFeatureValue(m, 1, "soon"); ok {
		t.Error("'soon' for a DATE feature accepted")
	}
	if a, _ := ModelFeatureValue(m, 0, int64(10)); a != m.Encoding().Code(0, "10", false) {
		t.Errorf("10 for a string feature: code %v, want the code of '10'", a)
	}
}
