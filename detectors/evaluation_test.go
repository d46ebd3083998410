package detectors

import (
	"encoding/json"
	"errors"
	"flag"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The evaluation fixtures (testdata/evaluation/) hold scores, labels and
// the metrics expected of them:
//
//   - hand.json: small cases with ties, whose expected values were worked
//     out by hand (each case's "derivation" shows the arithmetic), among
//     them scikit-learn's documented example;
//   - random.json: 3,000 seeded rows with many ties, unlabelled rows and
//     extreme scores, whose expected AUC-ROC and AUC-PR were computed
//     exactly, in rational arithmetic, by exactROC and exactAP below
//     (written with -write-evaluation-fixture).
//
// There is no Python here; scikit-learn's definitions are reproduced
// exactly instead: roc_auc_score is the trapezoidal area under the ROC
// curve whose points are the (FPR, TPR) after each distinct score,
// highest first (roc_curve, then auc); average_precision_score is
// Σ (R_k − R_{k−1}) P_k over the same points of the precision-recall
// curve (precision_recall_curve). exactROC computes both the trapezoids
// and, independently, the pairwise definition (an anomaly outscoring a
// normal row counts 1, a tie 1/2) and the test checks they agree. Every
// fixture's stored values are checked against these exact computations,
// and Evaluate must match them to 1e-9.

var writeEvaluationFixture = flag.Bool("write-evaluation-fixture", false, "rewrite testdata/evaluation/random.json")

// evalCase is one fixture case. Labels are 0, 1 or null (unlabelled); a
// nil expectation is not checked (precision_at_threshold: null means
// NaN, no row flagged, in hand.json).
type evalCase struct {
	Name       string     `json:"name"`
	Derivation string     `json:"derivation,omitempty"`
	Labels     []*float64 `json:"labels"`
	Scores     []float64  `json:"scores"`
	AUCROC     float64    `json:"auc_roc"`
	AUCPR      float64    `json:"auc_pr"`
	Threshold  *float64   `json:"threshold,omitempty"`

	PrecisionAtN         *float64 `json:"precision_at_n,omitempty"`
	RecallAtThreshold    *float64 `json:"recall_at_threshold,omitempty"`
	PrecisionAtThreshold *float64 `json:"precision_at_threshold"`
	F1AtThreshold        *float64 `json:"f1_at_threshold,omitempty"`
	BestF1               *float64 `json:"best_f1,omitempty"`
	BestF1Threshold      *float64 `json:"best_f1_threshold,omitempty"`
}

func (c evalCase) labels() []float64 {
	out := make([]float64, len(c.Labels))
	for i, l := range c.Labels {
		out[i] = math.NaN()
		if l != nil {
			out[i] = *l
		}
	}
	return out
}

func readEvalCases(t *testing.T, file string) []evalCase {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "evaluation", file))
	if err != nil {
		t.Fatal(err)
	}
	var cases []evalCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return cases
}

// exactROC returns sklearn's roc_auc_score in exact arithmetic: the
// trapezoids under the ROC curve through the points after each distinct
// score, highest first. It fails t unless the pairwise definition (ties
// 1/2) gives the same rational.
func exactROC(t *testing.T, labels, scores []float64) *big.Rat {
	t.Helper()
	var pos, neg int64
	for _, l := range labels {
		switch l {
		case 1:
			pos++
		case 0:
			neg++
		}
	}
	distinct := distinctScores(labels, scores)
	area := new(big.Rat)
	var prevTP, prevFP int64
	for _, s := range distinct {
		var tp, fp int64
		for i, l := range labels {
			if scores[i] >= s {
				switch l {
				case 1:
					tp++
				case 0:
					fp++
				}
			}
		}
		// (FPR_k − FPR_{k−1}) · (TPR_k + TPR_{k−1}) / 2
		trap := big.NewRat((fp-prevFP)*(tp+prevTP), 2*pos*neg)
		area.Add(area, trap)
		prevTP, prevFP = tp, fp
	}
	var twice int64 // 2 × (wins + ties/2)
	for i, li := range labels {
		if li != 1 {
			continue
		}
		for j, lj := range labels {
			if lj != 0 {
				continue
			}
			switch {
			case scores[i] > scores[j]:
				twice += 2
			case scores[i] == scores[j]:
				twice++
			}
		}
	}
	if pairs := big.NewRat(twice, 2*pos*neg); pairs.Cmp(area) != 0 {
		t.Fatalf("trapezoids %v and pairs %v disagree", area, pairs)
	}
	return area
}

// exactAP returns sklearn's average_precision_score in exact arithmetic:
// Σ (R_k − R_{k−1}) P_k over the distinct scores, highest first, each
// point counting every row scoring at least that score.
func exactAP(labels, scores []float64) *big.Rat {
	var pos int64
	for _, l := range labels {
		if l == 1 {
			pos++
		}
	}
	ap := new(big.Rat)
	var prevTP int64
	for _, s := range distinctScores(labels, scores) {
		var tp, n int64
		for i, l := range labels {
			if (l == 0 || l == 1) && scores[i] >= s {
				n++
				if l == 1 {
					tp++
				}
			}
		}
		// (tp − prevTP)/pos · tp/n
		ap.Add(ap, big.NewRat((tp-prevTP)*tp, pos*n))
		prevTP = tp
	}
	return ap
}

// distinctScores returns the distinct scores of labelled rows, highest
// first.
func distinctScores(labels, scores []float64) []float64 {
	var s []float64
	for i, l := range labels {
		if l == 0 || l == 1 {
			s = append(s, scores[i])
		}
	}
	slices.Sort(s)
	s = slices.Compact(s)
	slices.Reverse(s)
	return s
}

// bruteRest checks the metrics of ev other than the AUCs against their
// definitions, computed row by row.
func bruteRest(t *testing.T, name string, labels, scores []float64, threshold float64, ev Evaluation) {
	t.Helper()
	var pos, rows int
	for _, l := range labels {
		if l == 0 || l == 1 {
			rows++
			if l == 1 {
				pos++
			}
		}
	}
	// precision@n: each anomaly counts the probability that it is among
	// the n = pos highest when tied rows are ordered at random.
	var expected float64
	for i, l := range labels {
		if l != 1 {
			continue
		}
		above, tied := 0, 0
		for j, lj := range labels {
			if lj != 0 && lj != 1 {
				continue
			}
			switch {
			case scores[j] > scores[i]:
				above++
			case scores[j] == scores[i]:
				tied++
			}
		}
		expected += math.Max(0, math.Min(1, float64(pos-above)/float64(tied)))
	}
	if got, want := ev.PrecisionAtN, expected/float64(pos); math.Abs(got-want) > 1e-12 {
		t.Errorf("%s: precision@n %v, want %v", name, got, want)
	}
	// At the threshold.
	tp, flagged := 0, 0
	for i, l := range labels {
		if (l == 0 || l == 1) && scores[i] > threshold {
			flagged++
			if l == 1 {
				tp++
			}
		}
	}
	if ev.Flagged != flagged || ev.RecallAtThreshold != float64(tp)/float64(pos) {
		t.Errorf("%s: flagged %d recall %v, want %d and %d/%d", name, ev.Flagged, ev.RecallAtThreshold, flagged, tp, pos)
	}
	if flagged == 0 && !math.IsNaN(ev.PrecisionAtThreshold) || flagged > 0 && ev.PrecisionAtThreshold != float64(tp)/float64(flagged) {
		t.Errorf("%s: precision %v, want %d/%d", name, ev.PrecisionAtThreshold, tp, flagged)
	}
	prec, rec := float64(tp)/float64(flagged), float64(tp)/float64(pos)
	if want := 2 * prec * rec / (prec + rec); tp > 0 && math.Abs(ev.F1AtThreshold-want) > 1e-12 || tp == 0 && ev.F1AtThreshold != 0 {
		t.Errorf("%s: F1 %v, want %v", name, ev.F1AtThreshold, want)
	}
	// Best F1: flag every row scoring at least s, for every s; the highest
	// s wins ties; the threshold must flag exactly those rows.
	best, bestS := -1.0, 0.0
	for _, s := range distinctScores(labels, scores) {
		tp, n := 0, 0
		for i, l := range labels {
			if (l == 0 || l == 1) && scores[i] >= s {
				n++
				if l == 1 {
					tp++
				}
			}
		}
		if f1 := 2 * float64(tp) / float64(n+pos); f1 > best+1e-15 {
			best, bestS = f1, s
		}
	}
	if math.Abs(ev.BestF1-best) > 1e-12 {
		t.Errorf("%s: best F1 %v, want %v", name, ev.BestF1, best)
	}
	for i, l := range labels {
		if (l == 0 || l == 1) && (scores[i] > ev.BestF1Threshold) != (scores[i] >= bestS) {
			t.Errorf("%s: best-F1 threshold %v does not flag exactly the rows scoring at least %v (row %d scores %v)", name, ev.BestF1Threshold, bestS, i, scores[i])
			break
		}
	}
	if ev.Rows != rows || ev.Anomalies != pos {
		t.Errorf("%s: rows %d anomalies %d, want %d %d", name, ev.Rows, ev.Anomalies, rows, pos)
	}
}

// TestEvaluateFixtures: Evaluate matches the fixtures' expected values to
// 1e-9, and those are scikit-learn's exact values (see above). Catches:
// ties counted as wins or losses (all_tied, ties_across_classes),
// precision taken per row instead of per distinct score, unlabelled rows
// counted, a best-F1 threshold that flags one row too many or too few,
// precision@n rounding tied rows in or out.
func TestEvaluateFixtures(t *testing.T) {
	for _, file := range []string{"hand.json", "random.json"} {
		for _, c := range readEvalCases(t, file) {
			labels := c.labels()
			roc, _ := exactROC(t, labels, c.Scores).Float64()
			ap, _ := exactAP(labels, c.Scores).Float64()
			if math.Abs(roc-c.AUCROC) > 1e-15 || math.Abs(ap-c.AUCPR) > 1e-15 {
				t.Fatalf("%s/%s: the fixture says AUC-ROC %v AUC-PR %v, exact values %v %v", file, c.Name, c.AUCROC, c.AUCPR, roc, ap)
			}
			threshold := 0.0
			if c.Threshold != nil {
				threshold = *c.Threshold
			}
			ev, err := Evaluate(labels, c.Scores, threshold)
			if err != nil {
				t.Fatalf("%s/%s: %v", file, c.Name, err)
			}
			if math.Abs(ev.AUCROC-c.AUCROC) > 1e-9 || math.Abs(ev.AUCPR-c.AUCPR) > 1e-9 {
				t.Errorf("%s/%s: AUC-ROC %v AUC-PR %v, want %v %v", file, c.Name, ev.AUCROC, ev.AUCPR, c.AUCROC, c.AUCPR)
			}
			bruteRest(t, file+"/"+c.Name, labels, c.Scores, threshold, ev)
			checkHand(t, file+"/"+c.Name, c, ev)
		}
	}
}

// checkHand compares ev with the hand-derived values a case states.
func checkHand(t *testing.T, name string, c evalCase, ev Evaluation) {
	t.Helper()
	near := func(what string, got float64, want *float64) {
		if want != nil && math.Abs(got-*want) > 1e-9 {
			t.Errorf("%s: %s %v, want %v", name, what, got, *want)
		}
	}
	near("precision_at_n", ev.PrecisionAtN, c.PrecisionAtN)
	near("recall_at_threshold", ev.RecallAtThreshold, c.RecallAtThreshold)
	near("f1_at_threshold", ev.F1AtThreshold, c.F1AtThreshold)
	near("best_f1", ev.BestF1, c.BestF1)
	near("best_f1_threshold", ev.BestF1Threshold, c.BestF1Threshold)
	if c.RecallAtThreshold != nil { // the case states its threshold metrics
		if c.PrecisionAtThreshold == nil {
			if !math.IsNaN(ev.PrecisionAtThreshold) {
				t.Errorf("%s: precision_at_threshold %v, want NaN (nothing flagged)", name, ev.PrecisionAtThreshold)
			}
		} else {
			near("precision_at_threshold", ev.PrecisionAtThreshold, c.PrecisionAtThreshold)
		}
	}
}

// TestEvaluateErrors: one class only, no labelled row, a label other
// than 0/1 and mismatched lengths are errors of the documented kinds.
func TestEvaluateErrors(t *testing.T) {
	nan := math.NaN()
	for _, c := range []struct {
		labels, scores []float64
		kind           error
	}{
		{[]float64{1, 1}, []float64{1, 2}, ErrOneClass},
		{[]float64{0, 0, nan}, []float64{1, 2, 3}, ErrOneClass},
		{[]float64{nan}, []float64{1}, ErrOneClass},
		{nil, nil, ErrOneClass},
		{[]float64{1, 2, 0}, []float64{1, 2, 3}, ErrBadLabel},
		{[]float64{1, 0.5, 0}, []float64{1, 2, 3}, ErrBadLabel},
	} {
		if _, err := Evaluate(c.labels, c.scores, 0); !errors.Is(err, c.kind) {
			t.Errorf("Evaluate(%v, %v): %v, want %v", c.labels, c.scores, err, c.kind)
		}
	}
	if _, err := Evaluate([]float64{1, 0}, []float64{1}, 0); err == nil {
		t.Error("lengths 2 and 1: no error")
	}
}

// TestWriteEvaluationFixture rewrites random.json when run with
// -write-evaluation-fixture: 3,000 rows, seed 10, scores rounded to one
// decimal (many ties), 8 % anomalies shifted up by one, 5 % unlabelled,
// a few rows scoring the largest DOUBLE; expected values from exactROC
// and exactAP.
func TestWriteEvaluationFixture(t *testing.T) {
	if !*writeEvaluationFixture {
		t.Skip("run with -write-evaluation-fixture to rewrite testdata/evaluation/random.json")
	}
	rng := rand.New(rand.NewPCG(10, 0))
	const n = 3000
	c := evalCase{Name: "random_ties", Labels: make([]*float64, n), Scores: make([]float64, n)}
	for i := range n {
		l := 0.0
		if rng.Float64() < 0.08 {
			l = 1
		}
		s := math.Round((rng.NormFloat64()+l)*10) / 10
		if rng.Float64() < 0.002 {
			s = math.MaxFloat64
		}
		c.Scores[i] = s
		if rng.Float64() >= 0.05 {
			c.Labels[i] = &l
		}
	}
	labels := c.labels()
	c.AUCROC, _ = exactROC(t, labels, c.Scores).Float64()
	c.AUCPR, _ = exactAP(labels, c.Scores).Float64()
	th := 1.0
	c.Threshold = &th
	b, err := json.Marshal([]evalCase{c})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join("testdata", "evaluation", "random.json"), append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}
