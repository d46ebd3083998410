package engine_test

import (
	"fmt"
	"math"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
)

// TestEveryDetectorOverSQL trains every registered algorithm through
// CREATE DETECTOR (two epochs, with the label column so that weakly
// supervised ones have labelled anomalies), scores the table, restarts the
// server and checks the scores are bit-identical, and that a row scored
// alone equals its score in the full scan.
func TestEveryDetectorOverSQL(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	before := map[string]map[int64]float64{}
	for _, alg := range detectors.Algorithms() {
		if detectors.IsSequence(alg) {
			continue // scored over ordered rows, not by a plain anomaly_score
		}
		name := "d_" + alg
		mustExec(t, db, fmt.Sprintf("CREATE DETECTOR %s USING %s WITH (epochs = 2, seed = 3, label = 'label') AS SELECT f0, f1, f2, f3, f4, f5, label FROM thyroid", name, alg))
		scores := scoresByID(t, db, fmt.Sprintf("SELECT id, anomaly_score('%s', f0, f1, f2, f3, f4, f5) FROM thyroid", name))
		if len(scores) != 3772 {
			t.Fatalf("%s: %d scores", alg, len(scores))
		}
		for id, s := range scores {
			if math.IsNaN(s) || math.IsInf(s, 0) {
				t.Fatalf("%s: row %d scores %v", alg, id, s)
			}
		}
		one := queryFloat(t, db, fmt.Sprintf("SELECT anomaly_score('%s', f0, f1, f2, f3, f4, f5) FROM thyroid WHERE id = 1234", name))
		if math.Float64bits(one) != math.Float64bits(scores[1234]) {
			t.Fatalf("%s: row 1234 alone %v, in the scan %v", alg, one, scores[1234])
		}
		before[alg] = scores
	}
	ts.stop()
	ts2 := startServer(t, dir, true)
	db2 := ts2.open("examples")
	for alg, want := range before {
		got := scoresByID(t, db2, fmt.Sprintf("SELECT id, anomaly_score('d_%s', f0, f1, f2, f3, f4, f5) FROM thyroid", alg))
		for id, s := range want {
			if math.Float64bits(got[id]) != math.Float64bits(s) {
				t.Fatalf("%s: row %d after restart %v, before %v", alg, id, got[id], s)
			}
		}
	}
}
