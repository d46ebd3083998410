package engine_test

import (
	"math"
	"strings"
	"testing"
)

// TestPReNetOverSQL trains prenet through CREATE DETECTOR on the thyroid
// example with a tenth of its anomalies labelled:
//
//   - without a labelled anomaly (no label column, or labels all NULL or
//     0), and with every row labelled 1 (no unlabelled rows to pair
//     with), CREATE DETECTOR is error 1210 saying so, and creates
//     nothing;
//   - rows labelled 0 and rows labelled NULL are both unlabelled, as the
//     paper's U: the two detectors score every row bit for bit alike
//     (catches a 0 label taken as something else than unlabelled);
//   - the labelled anomalies, and the unlabelled ones too, score above
//     the normal rows on average.
func TestPReNetOverSQL(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	const feats = "f0, f1, f2, f3, f4, f5"
	const some = "CASE WHEN label = 1 AND id % 10 = 0 THEN 1 END" // NULL otherwise
	for _, c := range []struct{ query, says string }{
		{"CREATE DETECTOR p USING prenet AS SELECT " + feats + " FROM thyroid", "no labelled anomaly"},
		{"CREATE DETECTOR p USING prenet WITH (label = 'lab') AS SELECT " + feats + ", CASE WHEN label = 1 THEN NULL ELSE 0 END AS lab FROM thyroid", "no labelled anomaly"},
		{"CREATE DETECTOR p USING prenet WITH (label = 'lab') AS SELECT " + feats + ", 1 AS lab FROM thyroid", "unlabelled rows"},
	} {
		if msg := expectErr(t, db, c.query, 1210); !strings.Contains(msg, c.says) {
			t.Errorf("%q: message %q does not say %q", c.query, msg, c.says)
		}
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 0 {
		t.Fatalf("failed statements created detectors: %v", rows)
	}

	const opts = "label = 'lab', epochs = 5, seed = 2"
	mustExec(t, db, "CREATE DETECTOR p_null USING prenet WITH ("+opts+") AS SELECT "+feats+", "+some+" AS lab FROM thyroid")
	mustExec(t, db, "CREATE DETECTOR p_zero USING prenet WITH ("+opts+") AS SELECT "+feats+", COALESCE("+some+", 0) AS lab FROM thyroid")
	null := scoresByID(t, db, "SELECT id, anomaly_score('p_null', "+feats+") FROM thyroid")
	zero := scoresByID(t, db, "SELECT id, anomaly_score('p_zero', "+feats+") FROM thyroid")
	if len(null) != 3772 {
		t.Fatalf("%d scores", len(null))
	}
	for id, s := range null {
		if math.Float64bits(zero[id]) != math.Float64bits(s) {
			t.Fatalf("row %d: %v with NULL labels, %v with 0 labels", id, s, zero[id])
		}
	}
	mean := func(where string) float64 {
		return queryFloat(t, db, "SELECT AVG(anomaly_score('p_null', "+feats+")) FROM thyroid WHERE "+where)
	}
	normal, labelled, unlabelled := mean("label = 0"), mean("label = 1 AND id % 10 = 0"), mean("label = 1 AND id % 10 <> 0")
	t.Logf("mean scores: normal %.3f, labelled anomalies %.3f, unlabelled anomalies %.3f", normal, labelled, unlabelled)
	if !(labelled > normal+1) || !(unlabelled > normal+1) {
		t.Fatalf("mean scores: normal %.3f, labelled anomalies %.3f, unlabelled anomalies %.3f", normal, labelled, unlabelled)
	}
}
