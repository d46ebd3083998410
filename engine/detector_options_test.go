package engine_test

import (
	"strings"
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
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (cycle = false) AS SELECT f0, f1 FROM thyroid", 1210},
		{"alad", "CREATE DETECTOR e USING alad WITH (cycle = 'maybe') AS SELECT f0, f1 FROM thyroid", 1210},
		{"alad", "CREATE DETECTOR e USING alad WITH (latent = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"alad", "CREATE DETECTOR e USING alad WITH (w_con = 50) AS SELECT f0, f1 FROM thyroid", 1210},
		{"vae", "CREATE DETECTOR e USING vae WITH (w_adv = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fence_gan", "CREATE DETECTOR e USING fence_gan WITH (gamma = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fence_gan", "CREATE DETECTOR e USING fence_gan WITH (w_con = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocan", "CREATE DETECTOR e USING ocan WITH (ent_weight = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocan", "CREATE DETECTOR e USING ocan WITH (pretrain_epochs = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ocan", "CREATE DETECTOR e USING ocan WITH (gamma = 0.5) AS SELECT f0, f1 FROM thyroid", 1210},
		{"alocc", "CREATE DETECTOR e USING alocc WITH (sigma = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"alocc", "CREATE DETECTOR e USING alocc WITH (score = 'd_g_z') AS SELECT f0, f1 FROM thyroid", 1210},
		{"alocc", "CREATE DETECTOR e USING alocc WITH (gamma = 0.5) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (alpha = 0.5) AS SELECT f0, f1 FROM thyroid", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet AS SELECT f0, f1 FROM thyroid", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (label = 'label') AS SELECT x, y, label FROM unlab", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (label = 'label') AS SELECT x, y, 1 AS label FROM unlab", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (label = 'label', margin = 1000) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (label = 'label', ensemble_size = 0) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (label = 'label', batch_size = 3) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"anogan", "CREATE DETECTOR e USING anogan WITH (search_steps = -1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"anogan", "CREATE DETECTOR e USING anogan WITH (kappa = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fast_anogan", "CREATE DETECTOR e USING fast_anogan WITH (n_critic = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"fast_anogan", "CREATE DETECTOR e USING fast_anogan WITH (search_steps = 10) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ganomaly", "CREATE DETECTOR e USING ganomaly WITH (search_steps = 10) AS SELECT f0, f1 FROM thyroid", 1210},
		{"devnet", "CREATE DETECTOR e USING devnet AS SELECT f0, f1 FROM thyroid", 1210},
		{"devnet", "CREATE DETECTOR e USING devnet WITH (eta = 1, label = 'label') AS SELECT f0, f1, label FROM thyroid", 1210},
		{"devnet", "CREATE DETECTOR e USING devnet WITH (margin = 0, label = 'label') AS SELECT f0, f1, label FROM thyroid", 1210},
		{"devnet", "CREATE DETECTOR e USING devnet WITH (batch_size = 1, label = 'label') AS SELECT f0, f1, label FROM thyroid", 1210},
		{"devnet", "CREATE DETECTOR e USING devnet WITH (score = 'signed', label = 'label') AS SELECT f0, f1, label FROM thyroid", 1210},
		{"sdor", "CREATE DETECTOR e USING sdor WITH (margin = 1000) AS SELECT f0, f1 FROM thyroid", 1210},
		{"sdor", "CREATE DETECTOR e USING sdor WITH (anomaly_share = 0.6, normal_share = 0.6) AS SELECT f0, f1 FROM thyroid", 1210},
		{"sdor", "CREATE DETECTOR e USING sdor WITH (anomaly_target = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"sdor", "CREATE DETECTOR e USING sdor WITH (iterations = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"goad", "CREATE DETECTOR e USING goad WITH (transforms = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"goad", "CREATE DETECTOR e USING goad WITH (nu = 0.1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"neutral", "CREATE DETECTOR e USING neutral WITH (transforms = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"neutral", "CREATE DETECTOR e USING neutral WITH (temperature = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"neutral", "CREATE DETECTOR e USING neutral WITH (transform = 'affine') AS SELECT f0, f1 FROM thyroid", 1210},
		{"neutral", "CREATE DETECTOR e USING neutral WITH (lambda = 0.1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"mil_ranking", "CREATE DETECTOR e USING mil_ranking WITH (label = 'label', batch_size = 3) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"mil_ranking", "CREATE DETECTOR e USING mil_ranking WITH (label = 'label', segments = 0) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"mil_ranking", "CREATE DETECTOR e USING mil_ranking WITH (label = 'label', validation = 0.2) AS SELECT f0, f1, label FROM thyroid", 1210},
		{"mil_ranking", "CREATE DETECTOR e USING mil_ranking AS SELECT f0, f1 FROM thyroid", 1210},
		{"prenet", "CREATE DETECTOR e USING prenet WITH (bag = 'f0', label = 'label') AS SELECT f0, f1, label FROM thyroid", 1210},
		{"ape", "CREATE DETECTOR e USING ape WITH (bins = 1) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ape", "CREATE DETECTOR e USING ape WITH (dim = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"ape", "CREATE DETECTOR e USING ape WITH (hidden = '8') AS SELECT f0, f1 FROM thyroid", 1210},
		{"ape", "CREATE DETECTOR e USING ape WITH (bins = 4097) AS SELECT f0, f1 FROM thyroid", 1210},
		// The encoding options every algorithm takes (Feature types).
		{"autoencoder", "CREATE DETECTOR e USING autoencoder WITH (max_categories = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"deep_svdd", "CREATE DETECTOR e USING deep_svdd WITH (max_categories = 4097) AS SELECT f0, f1 FROM thyroid", 1210},
		{"goad", "CREATE DETECTOR e USING goad WITH (missing_indicator = 'sometimes') AS SELECT f0, f1 FROM thyroid", 1210},
		{"dagmm", "CREATE DETECTOR e USING dagmm WITH (time_cycles = 2) AS SELECT f0, f1 FROM thyroid", 1210},
		// The sequence detectors (detectors/predictability).
		{"lstm_forecast", "CREATE DETECTOR e USING lstm_forecast WITH (window = 0) AS SELECT f0, f1 FROM thyroid", 1210},
		{"gru_forecast", "CREATE DETECTOR e USING gru_forecast WITH (horizon = 513) AS SELECT f0, f1 FROM thyroid", 1210},
		{"gru_forecast", "CREATE DETECTOR e USING gru_forecast WITH (top_g = 3) AS SELECT f0, f1 FROM thyroid", 1210},
		{"deeplog", "CREATE DETECTOR e USING deeplog WITH (top_g = 0, key = 'f0') AS SELECT f0 FROM thyroid", 1210},
		{"deeplog", "CREATE DETECTOR e USING deeplog AS SELECT f0 FROM thyroid", 1210},
		// A sequence detector without order_by (its training rows would
		// have no order).
		{"lstm_forecast", "CREATE DETECTOR e USING lstm_forecast AS SELECT f0, f1 FROM thyroid", 1210},
	}
	for _, c := range cases {
		if !known[c.alg] {
			t.Errorf("%s is not registered", c.alg)
			continue
		}
		expectErr(t, db, c.query, c.code)
	}
	// Rows labelled 0 and NULL only: devnet (like deep_sad) says what it
	// lacks.
	for _, alg := range []string{"deep_sad", "devnet"} {
		msg := expectErr(t, db, "CREATE DETECTOR e USING "+alg+" WITH (label = 'label') AS SELECT x, y, label FROM unlab", 1210)
		if !strings.Contains(msg, "no labelled anomaly") || !strings.Contains(msg, "labelled 1") {
			t.Errorf("%s without a row labelled 1: %q does not say it needs one", alg, msg)
		}
	}
	// ape models categorical values: a numeric feature, a boolean or a
	// date without bins is refused, naming the option that buckets it.
	for _, q := range []string{
		"SELECT f0, f1 FROM thyroid",
		"SELECT CAST(x AS CHAR) AS xs, y > 2 AS big FROM unlab",
		"SELECT CAST(x AS CHAR) AS xs, DATE '2024-01-01' + INTERVAL x DAY AS d FROM unlab",
	} {
		msg := expectErr(t, db, "CREATE DETECTOR e USING ape AS "+q, 1210)
		if !strings.Contains(msg, "categorical") || !strings.Contains(msg, "bins") {
			t.Errorf("ape over %s: %q does not say it needs categorical columns or bins", q, msg)
		}
	}
	if rows := queryRows(t, db, "SHOW DETECTORS"); len(rows) != 0 {
		t.Fatalf("failed statements created detectors: %v", rows)
	}
}
