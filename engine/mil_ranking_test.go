package engine_test

import (
	"strings"
	"testing"
)

// TestMILRankingOverSQL trains mil_ranking through CREATE DETECTOR with
// WITH (bag = 'clip', label = 'lab') on the thyroid example cut into bags
// of 16 rows by id, a bag labelled 1 if and only if it holds an anomaly:
//
//   - bad bags are error 1210 (a bag whose rows have different labels, a
//     NULL label, a NULL bag, no normal bag, no anomalous bag, bag given
//     to another algorithm) or 1054 (bag naming a column that is not in
//     the SELECT), each saying what is wrong, and create nothing;
//   - the bag column is not a feature: the detector scores the six
//     features, and a call with the bag added is an error;
//   - SHOW CREATE DETECTOR keeps the bag option;
//   - trained on bag labels only, the anomalies score above the normal
//     rows on average (catches the bags' labels, or the bag column, lost
//     on the way to the core).
func TestMILRankingOverSQL(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	const feats = "f0, f1, f2, f3, f4, f5"
	mustExecAll(t, db,
		"CREATE TABLE bags (clip INT PRIMARY KEY, lab INT)",
		"INSERT INTO bags SELECT id DIV 16, MAX(label) FROM thyroid GROUP BY id DIV 16",
		"CREATE TABLE clips (id INT PRIMARY KEY, clip INT, "+strings.ReplaceAll(feats, ",", " DOUBLE,")+" DOUBLE, lab INT, label INT)",
		"INSERT INTO clips SELECT t.id, t.id DIV 16, "+feats+", b.lab, t.label FROM thyroid t JOIN bags b ON t.id DIV 16 = b.clip",
	)
	const sel = " AS SELECT clip, " + feats + ", lab FROM clips"
	const order = " ORDER BY clip, id"
	for _, c := range []struct {
		query string
		code  uint16
		says  string
	}{
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'video', label = 'lab')" + sel, 1054, "video"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'label') AS SELECT clip, " + feats + ", label FROM clips" + order, 1210, "same bag"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'l') AS SELECT clip, " + feats + ", CASE WHEN clip = 3 THEN NULL ELSE lab END AS l FROM clips" + order, 1210, "NULL label"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'c', label = 'lab') AS SELECT CASE WHEN id = 5 THEN NULL ELSE clip END AS c, " + feats + ", lab FROM clips" + order, 1210, "NULL bag"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'l') AS SELECT clip, " + feats + ", 1 AS l FROM clips", 1210, "normal bag"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'l') AS SELECT clip, " + feats + ", 0 AS l FROM clips", 1210, "labelled 1"},
		{"CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'lab', max_train_rows = 1000)" + sel, 1210, "max_train_rows"},
		{"CREATE DETECTOR m USING deep_svdd WITH (bag = 'clip')" + sel, 1210, "mil_ranking"},
	} {
		if msg := expectErr(t, db, c.query, c.code); !strings.Contains(msg, c.says) {
			t.Errorf("%q: message %q does not say %q", c.query, msg, c.says)
		}
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 0 {
		t.Fatalf("failed statements created detectors: %v", rows)
	}

	mustExec(t, db, "CREATE DETECTOR m USING mil_ranking WITH (bag = 'clip', label = 'lab', epochs = 10, seed = 1)"+sel+order)
	if got := queryRows(t, db, "SHOW CREATE DETECTOR m"); len(got) != 1 || !strings.Contains(strings.Join(got[0], " "), "bag") {
		t.Errorf("SHOW CREATE DETECTOR m = %v, want the bag option", got)
	}
	expectErr(t, db, "SELECT anomaly_score('m', clip, "+feats+") FROM clips LIMIT 1", 1582)
	mean := func(where string) float64 {
		return queryFloat(t, db, "SELECT AVG(anomaly_score('m', "+feats+")) FROM clips WHERE "+where)
	}
	normal, anomalies := mean("label = 0"), mean("label = 1")
	t.Logf("mean scores: normal %.3f, anomalies %.3f", normal, anomalies)
	if !(anomalies > normal+0.3) {
		t.Fatalf("mean scores: normal %.3f, anomalies %.3f", normal, anomalies)
	}
}
