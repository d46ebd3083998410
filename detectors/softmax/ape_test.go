package softmax

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
)

func TestAPEOptions(t *testing.T) {
	CheckOptionCases(t, "ape", []OptionCase{
		{Opts: Opts("dim", "4", "bins", "8"), Want: nil},
		{Opts: Opts("bins", "0"), Want: nil},
		{Opts: Opts("bins", "2"), Want: nil},
		{Opts: Opts("bins", "1"), Want: detectors.ErrBadOption}, // one bucket tells no row apart
		{Opts: Opts("bins", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("bins", "4097"), Want: detectors.ErrBadOption},
		{Opts: Opts("dim", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("dim", "4097"), Want: detectors.ErrBadOption},
		{Opts: Opts("hidden", "8"), Want: detectors.ErrBadOption}, // no hidden layers
		{Opts: Opts("margin", "1"), Want: detectors.ErrUnknownOption},
	})
}

// TestAPENumericColumns: numeric features are refused with
// ErrNotCategorical unless bucketed (bins), and a single feature (no
// pair to model) with ErrFeatureCount; bucketed, rows in different
// buckets score differently. The bugs it catches: numeric columns
// silently treated as one-hot positions, bins ignored, every value put
// in one bucket.
func TestAPENumericColumns(t *testing.T) {
	tb := Synthetic(3000, 4, 1)
	mem := CheckedMem(t)
	bs := tb.NullBatches(mem, 3000)
	defer ReleaseAll(bs)
	fit := func(o map[string]string, features []int) (*detectors.Model, error) {
		return detectors.Fit(context.Background(), "ape", o, detectors.TrainingData{Batches: bs, Features: features, Label: -1})
	}
	if _, err := fit(Opts("epochs", "1"), tb.Features()); !errors.Is(err, detectors.ErrNotCategorical) {
		t.Fatalf("numeric features without bins: %v, want ErrNotCategorical", err)
	}
	if _, err := fit(Opts("epochs", "1", "bins", "4"), []int{0}); !errors.Is(err, detectors.ErrFeatureCount) {
		t.Fatalf("one feature: %v, want ErrFeatureCount", err)
	}
	m, err := fit(Opts("epochs", "5", "bins", "10", "seed", "2"), tb.Features())
	if err != nil {
		t.Fatal(err)
	}
	// The rows' buckets of equal training frequency: many distinct scores.
	distinct := map[float64]bool{}
	for _, v := range RowScores(t, m, tb) {
		distinct[v] = true
	}
	if len(distinct) < 100 {
		t.Fatalf("bucketed rows get %d distinct scores", len(distinct))
	}
}

// pairTable has four string columns: b equals a on normal rows and
// differs on anomalies (every 20th row), c and d are independent noise.
// Every value is common, so only the pair (a, b) tells anomalies apart.
func pairTable(n int, seed uint64) *catTable {
	rng := rand.New(rand.NewPCG(seed, 1))
	tb := &catTable{names: []string{"a", "b", "c", "d"}}
	for i := range n {
		a := rng.IntN(6)
		b, y := a, 0.0
		if i%20 == 0 {
			b, y = (a+1+rng.IntN(5))%6, 1
		}
		tb.rows = append(tb.rows, []string{fmt.Sprint(a), fmt.Sprint(b), fmt.Sprint(rng.IntN(4)), fmt.Sprint(rng.IntN(3))})
		tb.labels = append(tb.labels, y)
	}
	return tb
}

// TestAPEInteractions: on pairTable, where no value is rare and only the
// interaction of two columns marks an anomaly, ape ranks the held-out
// anomalies first and beats the independence baseline (the negative log
// of the product of the values' training frequencies) by far. The bugs
// it catches: the pairwise interactions dropped or cut from the score
// (ape would be no better than the baseline), noise events equal to the
// rows (nothing to tell apart), the wrong entity read from a span.
func TestAPEInteractions(t *testing.T) {
	tb := pairTable(3000, 1)
	// 100 epochs: 8 mini-batches an epoch on these 2,100 training rows.
	auc, _, _ := splitAUC(t, "ape", tb, Opts("seed", "1", "epochs", "100"), 0)
	trainIdx, testIdx := detectors.StratifiedSplit(tb.labels, 0.7, 0)
	base, err := detectors.AUC(tb.subset(testIdx).labels, marginalScores(tb.subset(trainIdx), tb.subset(testIdx)))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("AUC-ROC %.4f, independence baseline %.4f", auc, base)
	// Measured 1.0000 and 0.5613.
	if auc < 0.95 || auc < base+0.3 {
		t.Fatalf("AUC-ROC %.4f, independence baseline %.4f", auc, base)
	}
}

// TestAPERealTable: on solar_flare (UCI, 1,066 regions, 11 string
// columns, class F the anomaly; from ../shared/datasets/categorical)
// trained unlabelled on a stratified 70 %, ape ranks the held-out 30 %
// well above chance and no worse than the independence model it starts
// from (this table's anomalies are mostly rows of rare values). The bugs
// it catches: a broken loss or gradient, the score's sign flipped,
// training that drifts away from the frequencies.
func TestAPERealTable(t *testing.T) {
	tb := readCategorical(t, "testdata/solar_flare.csv.gz")
	auc, _, _ := splitAUC(t, "ape", tb, Opts("seed", "0"), 0)
	trainIdx, testIdx := detectors.StratifiedSplit(tb.labels, 0.7, 0)
	base, err := detectors.AUC(tb.subset(testIdx).labels, marginalScores(tb.subset(trainIdx), tb.subset(testIdx)))
	if err != nil {
		t.Fatal(err)
	}
	// Measured 0.9136 and 0.9153.
	t.Logf("solar_flare AUC-ROC %.4f, independence baseline %.4f", auc, base)
	if auc < 0.85 || auc < base-0.02 {
		t.Fatalf("solar_flare AUC-ROC %.4f, independence baseline %.4f", auc, base)
	}
}

// rareTable has four independent string columns of four common values;
// about 2 % of each column's values are one of four rare ones, and a row
// holding any is an anomaly.
func rareTable(n int, seed uint64) *catTable {
	rng := rand.New(rand.NewPCG(seed, 1))
	tb := &catTable{names: []string{"a", "b", "c", "d"}}
	for range n {
		row, y := make([]string, 4), 0.0
		for j := range row {
			v := rng.IntN(4)
			if rng.Float64() < 0.02 {
				v, y = 4+rng.IntN(4), 1
			}
			row[j] = fmt.Sprint(v)
		}
		tb.rows = append(tb.rows, row)
		tb.labels = append(tb.labels, y)
	}
	return tb
}

// TestAPERareValues: where anomalies are rows of rare values and the
// columns are independent, ape ranks them first, as the independence
// model does. The bug it catches: the unary terms not started at the
// values' log-frequencies (a rare value, which the noise draws as rarely
// as the data holds it, keeps an untrained score: measured 0.405 at lr
// 0.001), or the noise's frequencies left out of the NCE logit.
func TestAPERareValues(t *testing.T) {
	auc, _, _ := splitAUC(t, "ape", rareTable(5000, 1), Opts("seed", "1"), 0)
	t.Logf("AUC-ROC %.4f", auc) // measured 1.0000
	if auc < 0.98 {
		t.Fatalf("AUC-ROC %.4f, want at least 0.98", auc)
	}
}

// TestAPEAttributionsAddUp: the columns' shares of the score add up to
// it, every position of a column but the first gets 0, and moving one
// column's value changes that column's share. Bugs caught: a pair
// counted twice or not at all, c or the unary terms left out, a share
// written to the wrong position.
func TestAPEAttributionsAddUp(t *testing.T) {
	cols := []detectors.ColumnSpan{
		{Kind: detectors.KindCategorical, Lo: 0, Hi: 4},
		{Kind: detectors.KindNumeric, Lo: 4, Hi: 5},
		{Kind: detectors.KindCategorical, Lo: 5, Hi: 8},
	}
	o := NormalizedOptions(t, "ape", Opts("bins", "3", "dim", "3"))
	rng := rand.New(rand.NewPCG(1, 2))
	st, err := ape{}.InitColumns(cols, o, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, tn := range st.Tensors {
		if tn.Trainable {
			for i := range tn.Data {
				tn.Data[i] = rng.NormFloat64()
			}
		}
	}
	copy(st.Get(apeEdges).Data, []float64{-0.5, 0.5})
	s, err := ape{}.Scorer(st, 8, o)
	if err != nil {
		t.Fatal(err)
	}
	e := s.(detectors.Explainer)
	rows := [][]float64{
		{-1, 2, -1, -1, 0.7, -1, -1, 3},
		{-1, -1, 1, -1, -2, 2, -1, -1},
		{-1, -1, 1, -1, 0.1, 2, -1, -1}, // the second row, numeric bucket moved
	}
	var shares [][]float64
	for _, x := range rows {
		a := make([]float64, 8)
		e.Attribute(x, a, make([]float64, e.ExplainScratchLen()))
		var score [1]float64
		s.ScoreRows(x, score[:], make([]float64, s.ScratchLen()))
		sum := 0.0
		for p, v := range a {
			sum += v
			if p != 0 && p != 4 && p != 5 && v != 0 {
				t.Fatalf("row %v: position %d gets %v", x, p, v)
			}
		}
		if math.Abs(sum-score[0]) > 1e-9*max(1, math.Abs(score[0])) {
			t.Fatalf("row %v: shares add up to %v, score %v", x, sum, score[0])
		}
		shares = append(shares, a)
	}
	if shares[1][4] == shares[2][4] {
		t.Fatalf("moving the numeric column's bucket left its share at %v", shares[1][4])
	}
}

// TestAPEScorerChecksState: a state whose tensors do not fit its columns
// (as a corrupt model file could hold) is ErrBadModel, not a panic.
func TestAPEScorerChecksState(t *testing.T) {
	cols := []detectors.ColumnSpan{{Kind: detectors.KindCategorical, Lo: 0, Hi: 3}, {Kind: detectors.KindCategorical, Lo: 3, Hi: 6}}
	o := NormalizedOptions(t, "ape", nil)
	for name, corrupt := range map[string]func(st *detectors.State){
		"spans past the row": func(st *detectors.State) { st.Get(apeColumns).Data[5] = 9 },
		"gap between spans":  func(st *detectors.State) { st.Get(apeColumns).Data[4] = 4 },
		"unknown kind":       func(st *detectors.State) { st.Get(apeColumns).Data[0] = 7 },
		"short embeddings":   func(st *detectors.State) { st.Get(apeEmb).Rows-- },
		"no weights":         func(st *detectors.State) { st.Get(apeW).Name = "x" },
	} {
		st, err := ape{}.InitColumns(cols, o, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		corrupt(st)
		if _, err := (ape{}).Scorer(st, 6, o); !errors.Is(err, detectors.ErrBadModel) {
			t.Errorf("%s: Scorer error %v, want ErrBadModel", name, err)
		}
	}
}

// TestAPEBatchAndRoundTrip: on string columns, a row scores bit-identically
// alone (a batch of one) and in a batch of all rows, and after a
// MarshalBinary / UnmarshalModel round trip, which keeps the columns'
// spans. The bugs it catches: an entity read from another row of the
// batch, spans or counts not in the saved state.
func TestAPEBatchAndRoundTrip(t *testing.T) {
	tb := readCategorical(t, "testdata/solar_flare.csv.gz")
	m := tb.subset(seq(700)).fit(t, "ape", Opts("epochs", "3", "seed", "4"))
	test := tb.subset(seq(len(tb.rows))[700:])
	all := test.scores(t, m)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	loaded, err := detectors.UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := SameBits(all, test.scores(t, loaded)); !ok {
		t.Fatalf("loaded model: row %d scores differently", i)
	}
	for i := range 40 {
		one := test.subset([]int{i}).scores(t, m)[0]
		if math.Float64bits(one) != math.Float64bits(all[i]) {
			t.Fatalf("row %d: %v alone, %v in the batch", i, one, all[i])
		}
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
