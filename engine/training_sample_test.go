package engine_test

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
)

// TestCreateDetectorMaxTrainRows trains over TCP on examples.thyroid
// (3,772 rows) with WITH (max_train_rows = 1000):
//
//   - SHOW DETECTORS reports training_rows 1000 and rows_read 3772, and
//     so does it after a restart; CREATE DETECTOR's affected rows are the
//     rows trained on;
//   - the same statement again (same seed) scores every row
//     bit-identically, and so does the same rows read through the SQL
//     engine (a WHERE that keeps every row) instead of straight from the
//     table's batches: both paths stream into the same sample;
//   - another seed scores differently;
//   - deep_sad with a single row labelled 1 among the 3,772 trains on
//     100 rows: the labelled anomaly is kept (a uniform sample of 100
//     would lose it 97 % of the time and fail with 1210);
//   - bad values of max_train_rows are 1210 and create nothing.
//
// Bugs caught: a path that does not sample (training_rows 3772), a
// sample not seeded by the seed option or drawn from a non-seeded
// generator (different scores for the same statement), the two paths
// sampling differently, rows_read lost or not persisted, labelled
// anomalies sampled like other rows, and a missing bound on the option.
func TestCreateDetectorMaxTrainRows(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, true)
	db := ts.open("examples")
	if n := queryInt(t, db, "SELECT COUNT(*) FROM thyroid WHERE f0 > -1e300"); n != 3772 {
		t.Fatalf("thyroid has %d rows with f0 > -1e300, want all 3772", n)
	}
	create := func(name, opts, from string) int64 {
		t.Helper()
		res := mustExec(t, db, "CREATE DETECTOR "+name+" USING deep_svdd WITH (epochs = 1, hidden = '8', "+opts+") AS SELECT "+thyroidFeatures+" FROM "+from)
		n, err := res.RowsAffected()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := create("s1", "max_train_rows = 1000, seed = 1", "thyroid"); n != 1000 {
		t.Errorf("CREATE DETECTOR s1: %d rows affected, want 1000 (the rows trained on)", n)
	}
	create("s2", "max_train_rows = 1000, seed = 1", "thyroid")
	create("viaSQL", "max_train_rows = 1000, seed = 1", "thyroid WHERE f0 > -1e300")
	create("seed2", "max_train_rows = 1000, seed = 2", "thyroid")
	create("all", "seed = 1", "thyroid")

	shown := func() map[string][2]string {
		t.Helper()
		out := map[string][2]string{}
		for _, r := range queryRows(t, db, "SHOW DETECTORS") {
			out[r[0]] = [2]string{r[3], r[7]} // training_rows, rows_read
		}
		return out
	}
	want := map[string][2]string{
		"s1": {"1000", "3772"}, "s2": {"1000", "3772"}, "viaSQL": {"1000", "3772"},
		"seed2": {"1000", "3772"}, "all": {"3772", "3772"},
	}
	if got := shown(); !reflect.DeepEqual(got, want) {
		t.Fatalf("SHOW DETECTORS (training_rows, rows_read) %v, want %v", got, want)
	}

	scores := func(name string) map[int64]float64 {
		return scoresByID(t, db, fmt.Sprintf("SELECT id, anomaly_score('%s', %s) FROM thyroid", name, thyroidFeatures))
	}
	s1 := scores("s1")
	if len(s1) != 3772 {
		t.Fatalf("%d scores", len(s1))
	}
	for _, other := range []string{"s2", "viaSQL"} {
		for id, s := range scores(other) {
			if math.Float64bits(s) != math.Float64bits(s1[id]) {
				t.Fatalf("row %d: s1 scores %v, %s (same seed, same rows) %v", id, s1[id], other, s)
			}
		}
	}
	differ := 0
	for id, s := range scores("seed2") {
		if s != s1[id] {
			differ++
		}
	}
	if differ == 0 {
		t.Error("seed = 2 scores every row as seed = 1 does")
	}

	// One labelled anomaly, kept in a sample of 100.
	mustExec(t, db, "CREATE DETECTOR sad USING deep_sad WITH (label = 'lab', max_train_rows = 100, epochs = 1, pretrain_epochs = 1, hidden = '8,4', seed = 3) "+
		"AS SELECT "+thyroidFeatures+", CASE WHEN id = (SELECT MIN(id) FROM thyroid WHERE label = 1) THEN 1 END AS lab FROM thyroid")
	if got := shown()["sad"]; got != [2]string{"100", "3772"} {
		t.Errorf("deep_sad: training_rows, rows_read = %v, want 100 of 3772", got)
	}

	for _, v := range []string{"0", "-1", "1000000001", "1.5", "'many'", "''"} {
		msg := expectErr(t, db, "CREATE DETECTOR bad USING deep_svdd WITH (max_train_rows = "+v+") AS SELECT f0 FROM thyroid", 1210)
		if !strings.Contains(msg, "max_train_rows") {
			t.Errorf("max_train_rows = %s: message %q does not name the option", v, msg)
		}
	}
	before := shown()
	if _, ok := before["bad"]; ok {
		t.Fatal("a refused CREATE DETECTOR created its detector")
	}

	ts.stop()
	ts = startServer(t, dir, true)
	db = ts.open("examples")
	if got := shown(); !reflect.DeepEqual(got, before) {
		t.Fatalf("after a restart SHOW DETECTORS (training_rows, rows_read) %v, before %v", got, before)
	}
}
