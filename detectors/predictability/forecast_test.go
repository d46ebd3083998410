package predictability_test

import (
	"testing"
	"time"
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
