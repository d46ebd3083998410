package engine_test

import (
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
)

// TestDetectorOptionErrors checks, over SQL, the bad inputs of the
// detector families: options that do not apply, out-of-range values,
// bad label values and weak supervision without labelled anomalies. Each
// is a clear MySQL error that creates nothing.
func TestDetectorOptionErrors(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	mustExec(t, db, "CREATE TABLE lab (x DOUBLE, y DOUBLE, label INT)")
	mustExec(t, db, "INSERT INTO lab VALUES (1, 2, 0), (2, 3, 2), (3, 1, NULL)")
	mustExec(t, db, "CREATE TABLE unlab (x DOUBLE, y DOUBLE, label INT)")
	mustExec(t, db, "INSERT INTO unlab VALUES (1, 2, 0), (2, 3, NULL), (3, 1, 0), (4, 4, NULL)")
	known := map[string]bool{}
	for _, a := range detectors.Algorithms() {
		known[a] = true
	}
	cases := []struct {
		alg, query string
		code       uint16
	}{
		{"deep_svdd", "CREATE DETECTOR e USING deep_svdd WITH (label = 'label') AS SELECT x, y, label FROM lab", 1210},
		{"autoencoder", "CREATE DETECTOR e USING autoencoder WITH (nu = 0.1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocnn", "CREATE DETECTOR e USING ocnn WITH (nu = 1.5) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocnn", "CREATE DETECTOR e USING ocnn WITH (nu = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocnn", "CREATE DETECTOR e USING ocnn WITH (hidden = '16,8') AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocnn", "CREATE DETECTOR e USING ocnn WITH (gamma = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"deep_svdd", "CREATE DETECTOR e USING deep_svdd WITH (objective = 'soft-boundary', nu = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ae_knn", "CREATE DETECTOR e USING ae_knn WITH (k = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"randnet", "CREATE DETECTOR e USING randnet WITH (ensemble = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"deep_sad", "CREATE DETECTOR e USING deep_sad AS SELECT f0, f1 FROM thyroid", 1210},
		{"deep_sad", "CREATE DETECTOR e USING deep_sad WITH (label = 'label') AS SELECT x, y, label FROM unlab", 1210},
		{"dagmm", "CREATE DETECTOR e USING dagmm WITH (n_components = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (w_con = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (beta1 = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (nu = 0.1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"vae", "CREATE DETECTOR e USING vae WITH (w_adv = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fence_gan", "CREATE DETECTOR e USING fence_gan WITH (gamma = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fence_gan", "CREATE DETECTOR e USING fence_gan WITH (w_con = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (alpha = 0.5) AS SELECT f0, f1 FROM thyroid", 1210},
	}
	for _, c := range cases {
		if !known[c.alg] {
			t.Errorf("%s is not registered", c.alg)
			continue
		}
		expectErr(t, db, c.query, c.code)
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 0 {
		t.Fatalf("failed statements created detectors: %v", rows)
	}
}
