package predictability_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/testtable"
	"github.com/apache/arrow-go/v18/arrow"
	"gonum.org/v1/gonum/mat"
)

var forecasters = []string{"lstm_forecast", "gru_forecast"}

// smallOpts train quickly.
func smallOpts() map[string]string {
	return map[string]string{"window": "12", "hidden": "16", "epochs": "8", "seed": "1"}
}

// TestForecastInjectedAnomalyRanksFirst: a spike in a sine wave, which a
// network that learnt the wave cannot predict, scores highest of all
// rows. Catches a scorer that does not compare the prediction with the
// row (e.g. reads a window step instead of the last one), or a network
// that never trained.
func TestForecastInjectedAnomalyRanksFirst(t *testing.T) {
	for _, alg := range forecasters {
		t.Run(alg, func(t *testing.T) {
			x := sine(600, 1)
			start := time.Now()
			m := fitSeq(t, alg, smallOpts(), nil, []string{"v"}, x)
			t.Logf("trained in %v", time.Since(start))
			y := sine(300, 2)
			const at = 200
			y[at] += 2.5
			s, err := m.ScoreSequence(y, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			best := 0
			for i := range s {
				if s[i] > s[best] {
					best = i
				}
			}
			if best != at {
				t.Fatalf("highest score at row %d (%v), want the spike at %d (%v)", best, s[best], at, s[at])
			}
		})
	}
}

// TestForecastWindowOnly: a row's score depends on its window (the
// window rows before it and itself) and nothing else: changing a row
// just outside the window leaves the score bit-identical, changing the
// oldest row inside it changes it. Catches a scorer or window builder
// that reads one row too many or too few, or carries state across rows.
func TestForecastWindowOnly(t *testing.T) {
	for _, alg := range forecasters {
		t.Run(alg, func(t *testing.T) {
			o := smallOpts()
			o["horizon"] = "2"
			m := fitSeq(t, alg, o, nil, []string{"v"}, sine(300, 1))
			spec, ok := m.Sequence()
			if !ok || spec.Span != 12+2-1 || spec.Window != 12 || spec.Horizon != 2 {
				t.Fatalf("Sequence() = %+v, %v", spec, ok)
			}
			y := sine(100, 3)
			const row = 60
			base, err := m.ScoreSequence(y, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			outside := slices.Clone(y)
			outside[row-spec.Span-1] += 5
			got, _ := m.ScoreSequence(outside, 0, nil)
			if math.Float64bits(got[row]) != math.Float64bits(base[row]) {
				t.Errorf("changing row %d, outside the window of row %d, changed its score %v -> %v", row-spec.Span-1, row, base[row], got[row])
			}
			inside := slices.Clone(y)
			inside[row-spec.Span] += 5
			got, _ = m.ScoreSequence(inside, 0, nil)
			if got[row] == base[row] {
				t.Errorf("changing row %d, the oldest of the window of row %d, left its score unchanged", row-spec.Span, row)
			}
		})
	}
}

// TestForecastChunkedEqualsWhole: a partition scored in chunks, each
// given the Span rows before it as context (fewer at the start), scores
// bit-identically to the partition scored whole, and to every row scored
// on its own with its window. Catches context handled differently from
// the rows scored (e.g. a chunk's first rows padded).
func TestForecastChunkedEqualsWhole(t *testing.T) {
	for _, alg := range forecasters {
		t.Run(alg, func(t *testing.T) {
			m := fitSeq(t, alg, smallOpts(), nil, []string{"v"}, sine(300, 1))
			spec, _ := m.Sequence()
			y := sine(230, 4)
			whole, err := m.ScoreSequence(y, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, chunk := range []int{1, 7, 64, 100} {
				var got []float64
				for lo := 0; lo < len(y); lo += chunk {
					hi := min(lo+chunk, len(y))
					ctx := min(spec.Span, lo)
					s, err := m.ScoreSequence(y[lo-ctx:hi], ctx, nil)
					if err != nil {
						t.Fatal(err)
					}
					if len(s) != hi-lo {
						t.Fatalf("chunk [%d,%d): %d scores", lo, hi, len(s))
					}
					got = append(got, s...)
				}
				if i, ok := testtable.SameBits(whole, got); !ok {
					t.Fatalf("chunks of %d: row %d scores %v, whole %v", chunk, i, got[i], whole[i])
				}
			}
			// A long partition is scored by several goroutines: the same
			// scores as in chunks each scored by one.
			long := sine(6000, 7)
			all, _ := m.ScoreSequence(long, 0, nil)
			for lo := 0; lo < len(long); lo += 1000 {
				ctx := min(spec.Span, lo)
				s, _ := m.ScoreSequence(long[lo-ctx:lo+1000], ctx, nil)
				if i, ok := testtable.SameBits(all[lo:lo+1000], s); !ok {
					t.Fatalf("long partition: row %d scores %v, in its chunk %v", lo+i, all[lo+i], s[i])
				}
			}
		})
	}
}

// TestForecastFirstRows: the rows before a full window get a finite score
// (never an error), computed as if the rows before them were the
// partition's start: row t of a partition scores the same whether the
// partition is scored whole or only its first t+1 rows are, and the
// first rows are not all scored alike (their windows differ by the pad
// steps). Catches a first-rows rule that errors, returns NaN, or reads
// past the partition's start.
func TestForecastFirstRows(t *testing.T) {
	m := fitSeq(t, "lstm_forecast", smallOpts(), nil, []string{"v"}, sine(300, 1))
	y := sine(40, 5)
	whole, err := m.ScoreSequence(y, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	for tr := 0; tr < 12; tr++ {
		s, err := m.ScoreSequence(y[:tr+1], 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(s[tr]) || math.IsInf(s[tr], 0) || s[tr] == detectors.MaxScore {
			t.Fatalf("row %d scores %v", tr, s[tr])
		}
		if math.Float64bits(s[tr]) != math.Float64bits(whole[tr]) {
			t.Fatalf("row %d: %v alone, %v in the whole partition", tr, s[tr], whole[tr])
		}
	}
	if whole[0] == whole[1] && whole[1] == whole[2] {
		t.Fatalf("the first rows all score %v", whole[0])
	}
}

// TestSequenceModelRefusesRowScoring: ScoreRow, ScoreMatrix and Explain
// on a sequence model are ErrSequenceModel, which the engine maps to
// "use OVER (...) or detect_anomalies". Catches a guard removed from one
// entry point.
func TestSequenceModelRefusesRowScoring(t *testing.T) {
	m := fitSeq(t, "gru_forecast", smallOpts(), nil, []string{"v"}, sine(200, 1))
	if _, err := m.ScoreRow([]float64{0.5}); !errors.Is(err, detectors.ErrSequenceModel) {
		t.Errorf("ScoreRow: %v, want ErrSequenceModel", err)
	}
	if _, err := m.ScoreMatrix(mat.NewDense(1, 1, []float64{0.5}), nil); !errors.Is(err, detectors.ErrSequenceModel) {
		t.Errorf("ScoreMatrix: %v, want ErrSequenceModel", err)
	}
	if _, err := m.Explain([]float64{0.5}); !errors.Is(err, detectors.ErrSequenceModel) {
		t.Errorf("Explain: %v, want ErrSequenceModel", err)
	}
	rec := floatBatch(t, []string{"v"}, []float64{0.5})
	if _, err := m.ScoreBatch(rec, []int{0}, nil); !errors.Is(err, detectors.ErrSequenceModel) {
		t.Errorf("ScoreBatch: %v, want ErrSequenceModel", err)
	}
	if !detectors.IsSequence("gru_forecast") || detectors.IsSequence("autoencoder") {
		t.Error("IsSequence is wrong")
	}
}

// TestSequencePartitions: windows never cross a partition boundary.
// Scoring two partitions in one batch (ScoreSequenceBatch with starts)
// gives each the scores it gets alone; training with starts differs from
// training on the same rows as one partition. Catches starts ignored.
func TestSequencePartitions(t *testing.T) {
	a, b := sine(150, 1), sine(90, 2)
	x := append(slices.Clone(a), b...)
	m := fitSeq(t, "lstm_forecast", smallOpts(), []int{0, 150}, []string{"v"}, x)
	one := fitSeq(t, "lstm_forecast", smallOpts(), nil, []string{"v"}, x)
	rec := floatBatch(t, []string{"v"}, x)
	got, err := m.ScoreSequenceBatch(rec, []int{0}, []int{0, 150}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sa, _ := m.ScoreSequence(a, 0, nil)
	sb, _ := m.ScoreSequence(b, 0, nil)
	if i, ok := testtable.SameBits(append(sa, sb...), got); !ok {
		t.Fatalf("row %d: batch %v, alone %v", i, got[i], append(sa, sb...)[i])
	}
	s1, _ := one.ScoreSequence(b, 0, nil)
	if _, same := testtable.SameBits(sb, s1); same {
		t.Fatal("training with partition starts gives the same model as without")
	}
}

// TestSequenceOptionErrors: bad input is a clear error. Catches a
// missing check.
func TestSequenceOptionErrors(t *testing.T) {
	rec := floatBatch(t, []string{"v"}, sine(40, 1))
	fit := func(alg string, o map[string]string, starts []int) error {
		_, err := detectors.FitSequence(context.Background(), alg, o, detectors.SequenceData{
			TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1}, Starts: starts})
		return err
	}
	// 40 rows in partitions of 20: window 20 leaves no full window.
	if err := fit("lstm_forecast", map[string]string{"window": "20", "epochs": "1"}, []int{0, 20}); !errors.Is(err, detectors.ErrWindowTooLong) {
		t.Errorf("window 20 over partitions of 20 rows: %v, want ErrWindowTooLong", err)
	}
	if err := fit("lstm_forecast", map[string]string{"window": "19", "epochs": "1"}, []int{0, 20}); err != nil {
		t.Errorf("window 19 over partitions of 20 rows: %v", err)
	}
	if err := fit("lstm_forecast", map[string]string{"window": "0"}, nil); !errors.Is(err, detectors.ErrBadOption) {
		t.Errorf("window 0: %v, want ErrBadOption", err)
	}
	if err := fit("lstm_forecast", map[string]string{"epochs": "1"}, []int{0, 50}); err == nil {
		t.Error("a partition start past the rows is accepted")
	}
	lim := detectors.Limits{MaxParams: 1 << 30, MaxBytes: 8 * 40 * 13 * 2} // 40 windows of 13 steps of 2 values, less one byte
	lim.MaxBytes--
	_, err := detectors.FitSequence(context.Background(), "lstm_forecast", map[string]string{"window": "12", "hidden": "1", "epochs": "1"}, detectors.SequenceData{
		TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1, Limits: &lim}})
	if !errors.Is(err, detectors.ErrTooLarge) || !strings.Contains(err.Error(), "windows") {
		t.Errorf("windows above MaxBytes: %v, want ErrTooLarge naming the windows", err)
	}
	if err := fit("autoencoder", nil, nil); !errors.Is(err, detectors.ErrUnknownAlgorithm) {
		t.Errorf("FitSequence of a tabular algorithm: %v", err)
	}
	// Fit of a sequence algorithm with a label (or a RowSampler's
	// sample, which is not in order) is refused.
	lab := floatBatch(t, []string{"v", "label"}, sine(40, 1), make([]float64, 40))
	_, err = detectors.Fit(context.Background(), "lstm_forecast", map[string]string{"epochs": "1"},
		detectors.TrainingData{Batches: []arrow.RecordBatch{lab}, Features: []int{0}, Label: 1})
	if !errors.Is(err, detectors.ErrSequenceModel) {
		t.Errorf("Fit with a label: %v, want ErrSequenceModel", err)
	}
}

// TestSequenceThreshold: the threshold is the (1 − contamination)
// quantile of the training rows' scores, as ScoreSequence gives them: a
// tenth of the training rows (two partitions, over a thousand rows) are
// anomalies. Catches training scores computed on other windows than
// scoring's (the windows of a block misaligned, say).
func TestSequenceThreshold(t *testing.T) {
	a, b := sine(700, 1), sine(500, 2)
	for _, alg := range forecasters {
		m := fitSeq(t, alg, smallOpts(), []int{0, 700}, []string{"v"}, append(slices.Clone(a), b...))
		sa, _ := m.ScoreSequence(a, 0, nil)
		sb, _ := m.ScoreSequence(b, 0, nil)
		n := 0
		for _, s := range append(sa, sb...) {
			if m.IsAnomaly(s) {
				n++
			}
		}
		if n < 110 || n > 120 {
			t.Errorf("%s: %d of 1200 training rows above the threshold, want about 120", alg, n)
		}
	}
}
