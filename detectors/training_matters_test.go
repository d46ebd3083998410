package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// curve returns n rows of d >= 6 features, a fraction 0.1 of them
// anomalies (label 1). A normal row is a point of a closed curve,
// h(t) = (cos t, sin t, cos 2t, sin 2t, cos 3t, sin 3t) for t uniform on
// [0, 2π), rotated into d dimensions by a fixed random orthonormal map R
// and blurred by Gaussian noise of std 0.05. An anomaly draws each
// coordinate of h from its own t: the same marginal distributions, off
// the curve. Normal rows and anomalies have the same mean (0) and
// covariance (R·Rᵀ/2 + 0.05²·I), so neither a row's norm nor any linear
// projection tells them apart: a detector has to learn the curve, which
// a random network does not know.
func curve(n, d int, seed uint64) *table {
	const m = 6 // coordinates of h
	rng := rand.New(rand.NewPCG(seed, 0x6d616e69))
	// R: d × m with orthonormal columns (Gram–Schmidt of normal draws).
	r := make([][]float64, m)
	for k := range r {
		r[k] = make([]float64, d)
		for j := range r[k] {
			r[k][j] = rng.NormFloat64()
		}
		for p := 0; p < k; p++ {
			dot := 0.0
			for j := range r[k] {
				dot += r[k][j] * r[p][j]
			}
			for j := range r[k] {
				r[k][j] -= dot * r[p][j]
			}
		}
		norm := 0.0
		for _, v := range r[k] {
			norm += v * v
		}
		for j := range r[k] {
			r[k][j] /= math.Sqrt(norm)
		}
	}
	tb := &table{Rows: n, Cols: d}
	for j := 0; j < d; j++ {
		tb.Names = append(tb.Names, fmt.Sprintf("f%d", j))
	}
	h := make([]float64, m)
	for i := 0; i < n; i++ {
		anomaly := rng.Float64() < 0.1
		t := 2 * math.Pi * rng.Float64()
		for k := range h {
			if anomaly {
				t = 2 * math.Pi * rng.Float64()
			}
			f := float64(k/2 + 1)
			if k%2 == 0 {
				h[k] = math.Cos(f * t)
			} else {
				h[k] = math.Sin(f * t)
			}
		}
		for j := 0; j < d; j++ {
			v := 0.05 * rng.NormFloat64()
			for k := range h {
				v += r[k][j] * h[k]
			}
			tb.X = append(tb.X, v)
		}
		l := 0.0
		if anomaly {
			l = 1
		}
		tb.Labels = append(tb.Labels, l)
	}
	return tb
}

// fitProbed trains alg on tb like fitLabelled, with probe p in Fit's
// context.
func fitProbed(t *testing.T, alg string, tb *table, o map[string]string, labels []float64, p *trainProbe) *Model {
	t.Helper()
	mem := checkedMem(t)
	label := -1
	if labels != nil {
		label = tb.Cols
	}
	bs := tb.LabelledBatches(mem, 1000, labels)
	defer releaseAll(bs)
	m, err := Fit(withTrainProbe(context.Background(), p), alg, o, TrainingData{Batches: bs, Features: tb.Features(), Label: label})
	if err != nil {
		t.Fatalf("%s: Fit: %v", alg, err)
	}
	return m
}

// trainingCase is how TestTrainingMatters trains one algorithm: on which
// data, with which options, and how much better than its untrained
// network it must be.
type trainingCase struct {
	// data is "curve" (curve(2000, 10, 1)) or a file of ../testdata.
	data string
	// opts are the options of both fits (always with seed 1).
	opts map[string]string
	// runs is the number of runs of the training template one Fit makes:
	// pretraining, ensemble members, outer iterations each count one.
	runs int
	// aucGain is the least AUC-ROC on the held-out rows by which the
	// trained model must beat the untrained one.
	aucGain float64
	// lossDrop is the least relative fall, (untrained − trained) /
	// |untrained|, of every run's last-epoch mean loss.
	lossDrop float64
}

// trainingCases has one entry per registered algorithm; the test fails
// for an algorithm without one. The options keep each pair of fits to
// about half a second. Where a file of testdata replaces the curve,
// training gained little or nothing on the curve: ae_1svm detects its
// anomalies neither trained nor untrained (AUC about 0.5); a k-NN
// distance in a random representation wide enough to keep the inputs'
// distances detects them untrained (ae_knn, repen: narrowed here to 3
// and 4 coordinates, on cardio); and OC-NN starts from a kernel density
// estimate, which training refines (here from a deliberately narrow
// kernel, gamma 2, that training widens); sdor's gain on the curve
// (0.09-0.18) is smaller than on cardio, where its untrained network, a
// random function of the row, ranks anomalies at chance or worse.
//
// Measured (amd64, seed 1): held-out AUC-ROC trained / untrained and the
// gain; the smallest gain over model seeds 1-2 × curve seeds 1-2 (curve)
// or model seeds 1-3 (testdata); the smallest relative fall of a run's
// loss. Each stated aucGain is at most half that smallest gain, each
// lossDrop at most half the measured fall.
//
//	algorithm           data     trained/untrained  gain   smallest  loss fall
//	ae_1svm             cardio   0.886 / 0.653      0.233  0.233     0.925
//	ae_knn              cardio   0.769 / 0.564      0.204  0.182     0.677
//	ape (bins 10)       curve    0.988 / 0.538      0.450  (seed 1 only)  0.127
//	autoencoder         curve    0.845 / 0.502      0.343  0.303     0.846
//	dagmm               curve    0.896 / 0.652      0.244  0.167     1.167
//	deep_sad            curve    0.946 / 0.672      0.274  0.274     0.769
//	deep_svdd           curve    1.000 / 0.512      0.489  0.476     0.928
//	fence_gan           thyroid  0.900 / 0.414      0.487  (seed 1 only)  0.394
//	alocc               curve    0.933 / 0.505      0.428  0.428 (model seeds 1-2)  0.849
//	ganomaly            curve    0.993 / 0.482      0.512  0.452     0.928
//	alad                cardio   0.882 / 0.879      0.002  -         0.139
//	anogan              thyroid  0.912 / 0.865      0.047  -         0.106
//	fast_anogan         curve    0.645 / 0.496      0.150  -         0.574
//	devnet              cardio   0.941 / 0.555      0.386  0.232     0.605
//	goad                curve    0.833 / 0.512      0.321  0.261     0.717
//	neutral             curve    0.980 / 0.558      0.423  0.336     0.279
//	ocan                thyroid  0.816 / 0.605      0.212  (seed 1 only)  0.687
//	ocnn                thyroid  0.939 / 0.855      0.085  0.070     0.444
//	prenet              cardio   0.942 / 0.572      0.370  0.353     0.630
//	mil_ranking         cardio   0.984 / 0.334      0.651  (seed 1 only)  0.710
//	randnet             curve    0.894 / 0.527      0.367  0.356     0.643
//	rdp                 curve    0.963 / 0.534      0.428  0.363     0.925
//	repen               cardio   0.874 / 0.791      0.084  0.084     0.112
//	robust_autoencoder  curve    0.986 / 0.502      0.484  0.484     0.650
//	sdor                cardio   0.866 / 0.247      0.619  0.356     0.910
//	vae                 curve    0.728 / 0.515      0.213  0.145     0.864
//
// alad is the exception to the AUC gain: its score, an L1 distance
// between a discriminator's random features of (x, x) and (x, G(E(x))),
// already ranks these rows about as well untrained (thyroid 0.905,
// cardio 0.879, seed 1) as trained (0.857-0.891, 0.882), on curve
// neither does (0.48-0.51); its case holds it to the loss fall only
// (aucGain -0.02 tolerates the measured +0.002).
var trainingCases = map[string]trainingCase{
	"ae_1svm":            {"cardio", opts("epochs", "10", "lr", "0.003", "rff_dim", "64"), 1, 0.10, 0.45},
	"ae_knn":             {"cardio", opts("epochs", "10", "lr", "0.003", "hidden", "32,3"), 1, 0.09, 0.3},
	"ape":                {"curve", opts("bins", "10"), 1, 0.2, 0.06},
	"autoencoder":        {"curve", opts("epochs", "10"), 1, 0.15, 0.4},
	"dagmm":              {"curve", opts("epochs", "10"), 1, 0.08, 0.5},
	"deep_sad":           {"curve", opts("epochs", "5", "pretrain_epochs", "3"), 2, 0.13, 0.35},
	"deep_svdd":          {"curve", opts("epochs", "20", "lr", "0.001", "pretrain_epochs", "5"), 2, 0.2, 0.45},
	"fence_gan":          {"thyroid", opts(), 1, 0.24, 0.19},
	"alocc":              {"curve", opts("epochs", "10"), 1, 0.2, 0.4},
	"ganomaly":           {"curve", opts("epochs", "20", "lr", "0.001"), 1, 0.2, 0.45},
	"anogan":             {"thyroid", opts("epochs", "5", "search_steps", "20"), 1, 0.02, 0.05},
	"fast_anogan":        {"curve", opts("epochs", "10", "encoder_epochs", "10"), 2, 0.05, 0.25},
	"alad":               {"cardio", opts("epochs", "10", "lr", "0.0003"), 1, -0.02, 0.06},
	"devnet":             {"cardio", opts("epochs", "10"), 1, 0.11, 0.3},
	"goad":               {"curve", opts("epochs", "10", "transforms", "16", "trans_dim", "16", "hidden", "32,16"), 1, 0.13, 0.35},
	"neutral":            {"curve", opts("epochs", "10"), 1, 0.16, 0.14},
	"ocan":               {"thyroid", opts(), 2, 0.1, 0.3},
	"ocnn":               {"thyroid", opts("epochs", "8", "lr", "0.005", "hidden", "64", "gamma", "2"), 1, 0.03, 0.2},
	"prenet":             {"cardio", opts("epochs", "10"), 1, 0.17, 0.3},
	"mil_ranking":        {"cardio", opts("epochs", "10"), 1, 0.3, 0.35},
	"randnet":            {"curve", opts("epochs", "5", "lr", "0.003", "ensemble", "3"), 3, 0.17, 0.3},
	"rdp":                {"curve", opts("epochs", "10", "lr", "0.003", "hidden", "32"), 1, 0.18, 0.45},
	"repen":              {"cardio", opts("epochs", "5", "rep_dim", "4"), 1, 0.04, 0.05},
	"robust_autoencoder": {"curve", opts("epochs", "10"), 5, 0.2, 0.3},
	"sdor":               {"cardio", opts("epochs", "10", "iterations", "2"), 2, 0.17, 0.45},
	"vae":                {"curve", opts("epochs", "10", "lr", "0.003", "latent", "2"), 1, 0.07, 0.4},
}

// TestTrainingMatters checks, for every registered algorithm, that
// training is what makes it a detector: each algorithm is fitted twice
// with the same options and seed, once normally and once with the
// optimizer steps skipped (trainProbe.freeze: its untrained network,
// everything else identical), and
//
//   - the trained model's AUC-ROC on held-out rows beats the untrained
//     one's by at least the case's aucGain, and
//   - every run of the training template (pretraining, ensemble members,
//     outer iterations: as many as the case says, so a Driver or
//     Pretrainer that bypasses the template fails) ends with a mean
//     mini-batch loss lower than the untrained network's in its last
//     epoch, by at least the fraction lossDrop.
//
// Bugs it catches: disabling the optimizer step (solver.Step in
// train.go), a zero learning rate, or any other one-line change after
// which the weights never move: then both fits are identical and every
// algorithm fails both checks. Also a Pretrainer or Driver that skips
// runs (pretraining never run, an ensemble training one member): the
// number of runs differs.
func TestTrainingMatters(t *testing.T) {
	for alg := range trainingCases {
		if _, _, err := lookup(alg); err != nil {
			t.Errorf("trainingCases has an entry for %s, which is not registered", alg)
		}
	}
	tables := map[string]*table{}
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			if IsSequence(alg) {
				t.Skip("a sequence detector: detectors/predictability tests it")
			}
			c, ok := trainingCases[alg]
			if !ok {
				t.Fatalf("no entry in trainingCases for %s: add its data, options and margins", alg)
			}
			tb := tables[c.data]
			if tb == nil {
				if c.data == "curve" {
					tb = curve(2000, 10, 1)
				} else {
					tb = readTable(t, c.data)
				}
				tables[c.data] = tb
			}
			trainIdx, testIdx := StratifiedSplit(tb.Labels, 0.7, 42)
			train, test := tb.Subset(trainIdx), tb.Subset(testIdx)
			var labels []float64
			if use, err := UsesLabels(alg); err != nil {
				t.Fatal(err)
			} else if use != LabelsNone {
				labels = weakLabels(train)
			}
			o := opts("seed", "1")
			for k, v := range c.opts {
				o[k] = v
			}
			var auc [2]float64
			var probes [2]trainProbe
			for i, freeze := range []bool{false, true} {
				probes[i].freeze = freeze
				m := fitProbed(t, alg, train, o, labels, &probes[i])
				var err error
				if auc[i], err = AUC(test.Labels, rowScores(t, m, test)); err != nil {
					t.Fatal(err)
				}
			}
			trained, untrained := probes[0].runs, probes[1].runs
			t.Logf("%s on %s: held-out AUC trained %.4f, untrained %.4f, gain %.4f", alg, c.data, auc[0], auc[1], auc[0]-auc[1])
			if gain := auc[0] - auc[1]; !(gain >= c.aucGain) {
				t.Errorf("training gains %.4f AUC (trained %.4f, untrained %.4f), want at least %.2f", gain, auc[0], auc[1], c.aucGain)
			}
			if len(trained) != c.runs || len(untrained) != c.runs {
				t.Fatalf("%d and %d runs of the training template, want %d", len(trained), len(untrained), c.runs)
			}
			for r := range trained {
				if len(trained[r]) == 0 || len(trained[r]) != len(untrained[r]) {
					t.Fatalf("run %d: %d and %d epochs", r, len(trained[r]), len(untrained[r]))
				}
				lt, lu := trained[r][len(trained[r])-1], untrained[r][len(untrained[r])-1]
				drop := (lu - lt) / math.Abs(lu)
				t.Logf("run %d: last-epoch loss trained %.4g, untrained %.4g, relative fall %.3f", r, lt, lu, drop)
				if !(drop >= c.lossDrop) {
					t.Errorf("run %d: loss falls by %.3f of the untrained %.4g (trained %.4g), want at least %.2f", r, drop, lu, lt, c.lossDrop)
				}
			}
		})
	}
}
