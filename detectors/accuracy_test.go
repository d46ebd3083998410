package detectors

import "testing"

// Accuracy of deep_svdd with default options on ODDS benchmark data
// (testdata/*.csv.gz, label 1 = anomaly): stratified 70/30 split with split
// seed 42, trained on the 70% with labels hidden, AUC-ROC on the 30%.
//
// Measured (amd64, this implementation, default options):
//
//	         seed 0   seed 1   seed 2   mean
//	thyroid  0.9551   0.9283   0.9486   0.944
//	cardio   0.9254   0.8762   0.7899   0.864
//
// The floors sit two to three points below: seed 0 is asserted per
// dataset, and the three-seed mean. For comparison, 50 epochs at lr 1e-3
// (the generic Adam default) gives about 0.70 and 0.68: longer training
// lets the representation collapse towards c.
//
// These floors guard the quality of the defaults, not training: the
// untrained network (no optimizer step) scores 0.943 (seed 0) and 0.942
// (mean) on thyroid and 0.958 and 0.910 on cardio, as well as or better
// than the trained one. TestTrainingMatters is the test that training
// matters.
var accuracyFloors = []struct {
	name           string
	seed0, meanOf3 float64
}{
	{"thyroid", 0.93, 0.92},
	{"cardio", 0.90, 0.84},
}

func TestAccuracyDeepSVDD(t *testing.T) {
	for _, tc := range accuracyFloors {
		t.Run(tc.name, func(t *testing.T) {
			tb := readTable(t, tc.name)
			sum := 0.0
			for _, seed := range []string{"0", "1", "2"} {
				auc := splitAUC(t, "deep_svdd", tb, opts("seed", seed), false)
				if seed == "0" && auc < tc.seed0 {
					t.Errorf("%s seed 0: AUC %.4f below floor %.2f", tc.name, auc, tc.seed0)
				}
				sum += auc
			}
			mean := sum / 3
			t.Logf("%s mean AUC %.4f", tc.name, mean)
			if mean < tc.meanOf3 {
				t.Errorf("%s: mean AUC %.4f below floor %.2f", tc.name, mean, tc.meanOf3)
			}
		})
	}
}
