package detectors

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestPercentileOf checks percentileOf on knots with a tie, below, on,
// between and above them. Bugs caught: the interpolation off by one knot,
// ties counted wholly below or above instead of half, the ends not 0 and
// 1, an overflowing knot gap giving NaN.
func TestPercentileOf(t *testing.T) {
	d := []float64{1, 2, 2, 2, 5} // K = 4
	for _, c := range []struct{ s, want float64 }{
		{-math.MaxFloat64, 0}, {0, 0}, {1, 0},
		{1.5, 0.5 / 4},       // halfway between knots 0 and 1
		{2, (1 + 3) / 8.0},   // knots 1..3 tie: the middle of [1/4, 3/4]
		{3, (3 + 1.0/3) / 4}, // a third of the way from knot 3 to 4
		{5, 1}, {6, 1}, {MaxScore, 1}, {math.Inf(1), 1}, {math.NaN(), 1},
	} {
		if got := percentileOf(d, c.s); got != c.want {
			t.Errorf("percentileOf(%v, %v) = %v, want %v", d, c.s, got, c.want)
		}
	}
	for _, c := range []struct {
		d       []float64
		s, want float64
	}{
		{[]float64{3}, 3, 0.5}, {[]float64{3}, 2, 0}, {[]float64{3}, 4, 1},
		{[]float64{7, 7, 7}, 7, 0.5},
		{[]float64{-1e308, 1e308}, 0, 0.5}, // the gap overflows float64
		{[]float64{0, 1, 2, 3, 4}, 3, 0.75},
	} {
		if got := percentileOf(c.d, c.s); got != c.want {
			t.Errorf("percentileOf(%v, %v) = %v, want %v", c.d, c.s, got, c.want)
		}
	}
}

// TestPercentileMonotone: over random knots with many ties and random
// scores, percentileOf is in [0, 1] and never decreases as the score
// grows. Bug caught: a tie block given its lower end while the segment
// before it interpolates past it (or the reverse), or t not clamped.
func TestPercentileMonotone(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + rng.IntN(40)
		d := make([]float64, n)
		for i := range d {
			d[i] = float64(rng.IntN(8)) + []float64{0, 0.5, 1e-9}[rng.IntN(3)]
		}
		slices.Sort(d)
		s := make([]float64, 300)
		for i := range s {
			s[i] = rng.Float64()*12 - 2
		}
		s = append(s, d...)
		slices.Sort(s)
		prev := -1.0
		for _, x := range s {
			p := percentileOf(d, x)
			if !(p >= 0 && p <= 1) || p < prev {
				t.Fatalf("trial %d, knots %v: percentile %v of %v after %v", trial, d, p, x, prev)
			}
			prev = p
		}
	}
}

// TestSummarizeSorted: up to MaxDistributionPoints scores are kept
// whole; beyond, knot k is the k/1000 quantile, the ends are the minimum
// and the maximum, and the knots are non-decreasing.
func TestSummarizeSorted(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 2, MaxDistributionPoints, MaxDistributionPoints + 1, 5000} {
		s := make([]float64, n)
		for i := range s {
			s[i] = rng.ExpFloat64()
		}
		slices.Sort(s)
		d := summarizeSorted(slices.Clone(s))
		if n <= MaxDistributionPoints {
			if !slices.Equal(d, s) {
				t.Fatalf("n=%d: not every score kept", n)
			}
			continue
		}
		if len(d) != MaxDistributionPoints || d[0] != s[0] || d[len(d)-1] != s[n-1] || !slices.IsSorted(d) {
			t.Fatalf("n=%d: %d knots from %v to %v, scores from %v to %v", n, len(d), d[0], d[len(d)-1], s[0], s[n-1])
		}
		for _, k := range []int{1, 500, 980, 999} {
			if want := Quantile(s, float64(k)/1000); d[k] != want {
				t.Fatalf("n=%d: knot %d is %v, the %v quantile %v", n, k, d[k], float64(k)/1000, want)
			}
		}
	}
}

// fitForDistribution trains a one-epoch deep_svdd on rows synthetic rows.
func fitForDistribution(t *testing.T, rows int) (*Model, *table) {
	t.Helper()
	tb := synthetic(rows, 3, 5)
	bs := tb.NullBatches(memory.DefaultAllocator, 4096)
	defer releaseAll(bs)
	m, err := Fit(context.Background(), "deep_svdd", opts("epochs", "1", "seed", "2", "hidden", "8,4", "contamination", "0.05", "validation", "0.2"),
		TrainingData{Batches: bs, Features: tb.Features(), Label: -1, Source: "synthetic",
			Recipe: &Recipe{Options: []RecipeOption{{"epochs", "1"}}, Query: "SELECT a, b, c FROM synthetic"}})
	if err != nil {
		t.Fatal(err)
	}
	return m, tb
}

// flaggedCount is the number of scores above threshold.
func flaggedCount(scores []float64, threshold float64) int {
	n := 0
	for _, s := range scores {
		if s > threshold {
			n++
		}
	}
	return n
}

// TestWithContamination: on a model of few rows (every score kept) the
// threshold for the training contamination is Fit's, bit for bit, and a
// new contamination c flags exactly n-1-floor((1-c)(n-1)) of n training
// rows with distinct scores; on a model of many rows (a summary), about
// c·n. The original model is unchanged and the copy scores identically.
// Bugs caught: the quantile taken at c instead of 1-c, the threshold
// written into the shared model, the distribution not kept by Fit.
func TestWithContamination(t *testing.T) {
	for _, rows := range []int{600, 4000} {
		m, tb := fitForDistribution(t, rows)
		scores := rowScores(t, m, tb)
		if rows <= MaxDistributionPoints {
			same, err := m.WithContamination(0.05)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float64bits(same.Threshold) != math.Float64bits(m.Threshold) {
				t.Fatalf("%d rows: contamination 0.05 again gives threshold %v, Fit's %v", rows, same.Threshold, m.Threshold)
			}
		}
		old := m.Threshold
		for _, c := range []float64{0.01, 0.02, 0.1, 0.25, 0.5} {
			m2, err := m.WithContamination(c)
			if err != nil {
				t.Fatal(err)
			}
			if m.Threshold != old || m.Contamination != 0.05 || m2.Contamination != c {
				t.Fatalf("contamination %v: original threshold %v (was %v) contamination %v, copy's %v", c, m.Threshold, old, m.Contamination, m2.Contamination)
			}
			got := flaggedCount(scores, m2.Threshold)
			if rows <= MaxDistributionPoints {
				if want := rows - 1 - int(math.Floor((1-c)*float64(rows-1))); got != want {
					t.Errorf("%d rows, contamination %v: %d flagged, want %d", rows, c, got, want)
				}
			} else if want := c * float64(rows); math.Abs(float64(got)-want) > 0.002*float64(rows)+1 {
				t.Errorf("%d rows, contamination %v: %d flagged, want about %v", rows, c, got, want)
			}
			if i, ok := sameBits(rowScores(t, m2, tb), scores); !ok {
				t.Fatalf("the copy scores row %d differently", i)
			}
		}
	}
}

// TestThresholdChangeBadValues: contamination outside (0, 0.5] and
// thresholds that are not finite or not below MaxScore are ErrBadOption.
func TestThresholdChangeBadValues(t *testing.T) {
	m := tinyModel(t, "deep_svdd")
	for _, c := range []float64{0, -1, 0.5000001, 0.6, 1, math.NaN(), math.Inf(1)} {
		if _, err := m.WithContamination(c); !errors.Is(err, ErrBadOption) {
			t.Errorf("WithContamination(%v): %v, want ErrBadOption", c, err)
		}
	}
	for _, th := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), MaxScore} {
		if _, err := m.WithThreshold(th); !errors.Is(err, ErrBadOption) {
			t.Errorf("WithThreshold(%v): %v, want ErrBadOption", th, err)
		}
	}
	m2, err := m.WithThreshold(-3)
	if err != nil || m2.Threshold != -3 || m2.Contamination != 0 || !m2.IsAnomaly(-2.9) || m2.IsAnomaly(-3) {
		t.Fatalf("WithThreshold(-3): %v, threshold %v contamination %v", err, m2.Threshold, m2.Contamination)
	}
}

// TestScoreDistributionPersists, for every algorithm: a saved and loaded
// model has the same distribution (the same percentile for every row),
// threshold and contamination, after WithContamination and after
// WithThreshold (contamination 0). Bugs caught: a field not written or
// not read by persist.go, an explicit threshold reloaded with the
// contamination option.
func TestScoreDistributionPersists(t *testing.T) {
	tb := synthetic(64, 3, 1)
	for _, alg := range Algorithms() {
		if IsSequence(alg) {
			continue // no ScoreRow; detectors/predictability tests persistence
		}
		m := tinyModel(t, alg)
		if !m.HasScoreDistribution() {
			t.Fatalf("%s: Fit kept no distribution", alg)
		}
		a, err := m.WithContamination(0.3)
		if err != nil {
			t.Fatal(err)
		}
		b, err := a.WithThreshold(a.Threshold / 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []*Model{m, a, b} {
			blob, err := want.MarshalBinary()
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalModel(blob)
			if err != nil {
				t.Fatalf("%s: %v", alg, err)
			}
			if got.Threshold != want.Threshold || got.Contamination != want.Contamination || !slices.Equal(got.dist, want.dist) {
				t.Fatalf("%s: loaded threshold %v contamination %v (%d points), saved %v %v (%d points)", alg,
					got.Threshold, got.Contamination, len(got.dist), want.Threshold, want.Contamination, len(want.dist))
			}
			for _, s := range rowScores(t, want, tb) {
				p1, err1 := want.Percentile(s)
				p2, err2 := got.Percentile(s)
				if err1 != nil || err2 != nil || p1 != p2 || p1 < 0 || p1 > 1 {
					t.Fatalf("%s: percentile of %v: %v (%v) before saving, %v (%v) after", alg, s, p1, err1, p2, err2)
				}
			}
		}
	}
}

// TestOlderModelFile: a file saved before distributions (no ScoreDist,
// Contamination or ExplicitThreshold, as an older version wrote it)
// loads with its contamination option and no distribution: Percentile and
// WithContamination fail with ErrNoScoreDistribution, WithThreshold works
// and saves a file that loads again. Damaged distribution fields are
// ErrBadModel.
func TestOlderModelFile(t *testing.T) {
	files := fuzzModelFiles(t)
	f := files[0]
	if len(f.ScoreDist) == 0 || f.Contamination == 0 {
		t.Fatalf("a new file holds no distribution (%d points) or contamination %v", len(f.ScoreDist), f.Contamination)
	}
	old := f
	old.ScoreDist, old.Contamination, old.ExplicitThreshold = nil, 0, false
	m, err := UnmarshalModel(encodeModelFile(t, &old))
	if err != nil {
		t.Fatal(err)
	}
	if m.HasScoreDistribution() || m.Contamination != 0.1 || m.Threshold != f.Threshold {
		t.Fatalf("older file: distribution %v, contamination %v, threshold %v", m.HasScoreDistribution(), m.Contamination, m.Threshold)
	}
	if _, err := m.Percentile(1); !errors.Is(err, ErrNoScoreDistribution) {
		t.Errorf("Percentile: %v", err)
	}
	if _, err := m.WithContamination(0.2); !errors.Is(err, ErrNoScoreDistribution) {
		t.Errorf("WithContamination: %v", err)
	}
	m2, err := m.WithThreshold(1.5)
	if err != nil {
		t.Fatal(err)
	}
	blob, err := m2.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if m3, err := UnmarshalModel(blob); err != nil || m3.Threshold != 1.5 || m3.Contamination != 0 || m3.HasScoreDistribution() {
		t.Fatalf("older model with a new threshold, reloaded: %v", err)
	}

	for name, damage := range map[string]func(*modelFile){
		"unsorted":      func(f *modelFile) { f.ScoreDist[0], f.ScoreDist[1] = f.ScoreDist[1]+1, f.ScoreDist[0] },
		"NaN":           func(f *modelFile) { f.ScoreDist[1] = math.NaN() },
		"infinite":      func(f *modelFile) { f.ScoreDist[len(f.ScoreDist)-1] = math.Inf(1) },
		"too long":      func(f *modelFile) { f.ScoreDist = make([]float64, MaxDistributionPoints+1) },
		"contamination": func(f *modelFile) { f.Contamination = 0.7 },
		"negative":      func(f *modelFile) { f.Contamination = -0.1 },
	} {
		bad := f
		bad.ScoreDist = slices.Clone(f.ScoreDist)
		damage(&bad)
		if _, err := UnmarshalModel(encodeModelFile(t, &bad)); !errors.Is(err, ErrBadModel) {
			t.Errorf("%s: %v, want ErrBadModel", name, err)
		}
	}
}

// TestDeriveCopiesEveryField: derive copies every field of Model but the
// pools, so a field added to Model later is not lost by ALTER DETECTOR
// (add it to derive).
func TestDeriveCopiesEveryField(t *testing.T) {
	// A model of numeric columns has no encoding (enc is nil); one with a
	// string column has.
	train := mixedRecord(t, 200, 1, []string{"acme", "bolt"})
	defer train.Release()
	mixed := fitMixed(t, train)
	if n := mixed.derive(); n.enc != mixed.enc {
		t.Error("derive does not copy Model.enc")
	}
	m, _ := fitForDistribution(t, 100)
	n := m.derive()
	mv, nv := reflect.ValueOf(m).Elem(), reflect.ValueOf(n).Elem()
	for i := range mv.NumField() {
		f := mv.Type().Field(i)
		if f.Type == reflect.TypeFor[sync.Pool]() || f.Name == "enc" {
			continue
		}
		if mv.Field(i).IsZero() {
			t.Fatalf("Model.%s is zero in the trained model: the comparison would not see it lost", f.Name)
		}
		// %v prints unexported fields too, pointers as addresses: equal
		// text means the same values or the same shared objects.
		if a, b := fmt.Sprintf("%v", mv.Field(i)), fmt.Sprintf("%v", nv.Field(i)); a != b {
			t.Errorf("derive does not copy Model.%s", f.Name)
		}
	}
	want, err := m.ScoreRow([]float64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := n.ScoreRow([]float64{1, 2, 3}); err != nil || s != want {
		t.Fatalf("the derived model scores %v (%v), the original %v", s, err, want)
	}
}

// BenchmarkPercentile reads scores against a full distribution of
// MaxDistributionPoints knots (a binary search and an interpolation),
// next to the scoring it follows.
func BenchmarkPercentile(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	s := make([]float64, 5000)
	for i := range s {
		s[i] = rng.ExpFloat64()
	}
	slices.Sort(s)
	d := summarizeSorted(s)
	b.ReportAllocs()
	sum := 0.0
	for i := 0; b.Loop(); i++ {
		sum += percentileOf(d, s[i%len(s)])
	}
	if sum < 0 {
		b.Fatal(sum)
	}
}
