package detectors

import (
	"fmt"
	"sort"
)

// AveragePrecision returns the area under the precision-recall curve of
// scores (higher = more anomalous) against labels (1 = anomaly, 0 =
// normal), as the step-wise sum Σ (R_k − R_{k−1})·P_k over the distinct
// score thresholds from the highest down (tied scores enter together), the
// definition scikit-learn's average_precision_score and ADBench use. Rows
// whose label is NaN are ignored. It is an error if the lengths differ, a
// label is not 0, 1 or NaN, a score is NaN, or there is no anomaly.
func AveragePrecision(labels, scores []float64) (float64, error) {
	idx, positives, err := labelledRows("AveragePrecision", labels, scores)
	if err != nil {
		return 0, err
	}
	if positives == 0 {
		return 0, fmt.Errorf("detectors: AveragePrecision: no anomalies")
	}
	sort.SliceStable(idx, func(a, b int) bool { return scores[idx[a]] > scores[idx[b]] })
	ap, tp, seen, prevRecall := 0.0, 0, 0, 0.0
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			if labels[idx[j]] == 1 {
				tp++
			}
			j++
		}
		seen += j - i
		recall := float64(tp) / float64(positives)
		ap += (recall - prevRecall) * float64(tp) / float64(seen)
		prevRecall = recall
		i = j
	}
	return ap, nil
}
