package detectors

import (
	"strings"
	"testing"
)

// TestOptionVariants runs the conformance checks that do not depend on
// defaults (batch = row, save → load, graph = kernel, reproducible) on
// non-default variants of the algorithms: objectives, pretraining,
// validation.
func TestOptionVariants(t *testing.T) {
	tb := synthetic(6000, 5, 21)
	// floor is the synthetic AUC floor, about two points under the
	// measured AUC in the comment.
	for _, tc := range []struct {
		alg   string
		opts  map[string]string
		floor float64
	}{
		{"deep_svdd", opts("objective", "soft-boundary", "nu", "0.2"), 0.97},          // 0.9936
		{"deep_svdd", opts("pretrain_epochs", "2"), 0.97},                             // 0.9941
		{"deep_svdd", opts("validation", "0.2", "patience", "2"), 0.97},               // 0.9933
		{"deep_sad", opts("pretrain_epochs", "0", "eta", "2"), 0.98},                  // 1.0000
		{"deep_sad", opts("validation", "0.3", "pretrain_epochs", "5"), 0.97},         // 0.9997
		{"ocnn", opts("pretrain_epochs", "2", "encoder", "8,4", "hidden", "6"), 0.97}, // 0.9914
		{"ocnn", opts("hidden", "8", "nu", "0.1", "gamma", "0.5"), 0.92},              // 0.9454
		{"devnet", opts("epochs", "50", "validation", "0.2", "patience", "3"), 0.92},  // 0.9409
		{"devnet", opts("epochs", "50", "score", "deviation"), 0.98},                  // 1.0000
		{"devnet", opts("epochs", "50", "hidden", ""), 0.92},                          // 0.9453 (linear)
		{"prenet", opts("epochs", "5", "hidden", "16", "score", "signed"), 0.81},      // 0.8300 (the paper's signed score)
	} {
		o := opts("epochs", "3", "seed", "4")
		if tc.alg != "ocnn" {
			o["hidden"] = "16,8"
		}
		for k, v := range tc.opts {
			o[k] = v
		}
		t.Run(tc.alg, func(t *testing.T) {
			m := fitSynthetic(t, tc.alg, tb, o)
			scores := rowScores(t, m, tb)
			if i, ok := sameBits(scores, rowScores(t, fitSynthetic(t, tc.alg, tb, o), tb)); !ok {
				t.Fatalf("%v: second run differs at row %d", tc.opts, i)
			}
			checkRoundtrip(t, m, tb, scores)
			for _, tn := range m.state.Tensors {
				if strings.HasPrefix(tn.Name, PretrainOnly) {
					t.Fatalf("%v: the pretraining decoder %s is in the model", tc.opts, tn.Name)
				}
			}
			checkBatchScores(t, m, tb, scores)
			t.Run("graph_vs_kernel", func(t *testing.T) { checkGraphScores(t, m, tb) })
			auc, err := AUC(tb.Labels, scores)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%v: synthetic AUC %.4f", tc.opts, auc)
			if auc < tc.floor {
				t.Fatalf("%v: synthetic AUC %.4f < %.2f", tc.opts, auc, tc.floor)
			}
		})
	}
}
