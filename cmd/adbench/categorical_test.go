package main

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCategoricalRunAndReport runs a detector and the isolation forest on
// cmc (a categorical table of ../shared/datasets/categorical, every value
// a string) as `make accuracy` does, and checks the report's section of
// the categorical tables: both rows, and each detector's difference to
// the forest's mean. The bugs it catches: string columns not reaching
// the detectors (an error, or the numeric reader refusing the file), a
// test split scored with the training rows' codes of another column
// order, the section missing or comparing with the wrong row.
func TestCategoricalRunAndReport(t *testing.T) {
	ds, err := loadCategorical("../../engine/testdata/cmc.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	if ds.x.Rows != 1473 || len(ds.cats) != 8 || ds.names[0] != "wifes_education" {
		t.Fatalf("cmc read as %d rows × %d columns, first %q; want 1473 × 8, wifes_education", ds.x.Rows, len(ds.cats), ds.names[0])
	}
	det := run("autoencoder", ds, 0, protocolLabelled, 0, map[string]string{"epochs": "3"})
	forest := run(baselineForest, ds, 0, protocolLabelled, 0, nil)
	for _, r := range []Result{det, forest} {
		if r.Error != "" || r.TestRows != 442 || !(r.AUCROC > 0 && r.AUCROC < 1) {
			t.Fatalf("%s on cmc: %d test rows, AUC-ROC %v, error %q", r.Detector, r.TestRows, r.AUCROC, r.Error)
		}
	}
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "categorical"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, rs := range map[string][]Result{
		"autoencoder.json":             {{Detector: "autoencoder", Dataset: "glass", AUCROC: 0.8}},
		"categorical/autoencoder.json": {det},
		"categorical/iforest.json":     {forest},
	} {
		b, _ := json.Marshal(rs)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "accuracy.md")
	if err := writeReport(dir, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	_, cat, ok := strings.Cut(report, "# Categorical tables")
	if !ok {
		t.Fatalf("report has no categorical section:\n%s", report)
	}
	verdict := "above"
	if det.AUCROC < forest.AUCROC {
		verdict = "below"
	}
	for _, want := range []string{
		fmt.Sprintf("| `autoencoder` | %.3f | **%.3f** | %+.3f | %s |", det.AUCROC, det.AUCROC, det.AUCROC-forest.AUCROC, verdict),
		fmt.Sprintf("| `iforest` | %.3f | **%.3f** | | |", forest.AUCROC, forest.AUCROC),
	} {
		if !strings.Contains(cat, want) {
			t.Errorf("categorical section lacks %q:\n%s", want, cat)
		}
	}
	if strings.Contains(cat, "glass") {
		t.Errorf("the numeric results leaked into the categorical section:\n%s", cat)
	}
}

// TestVaryingColumns: a column constant on the training rows is left
// out, whatever it holds on the other rows.
func TestVaryingColumns(t *testing.T) {
	ds := &dataset{cats: [][]string{{"a", "a", "a", "b"}, {"x", "y", "x", "x"}, {"u", "u", "u", "u"}}}
	if got := varyingColumns(ds, []int{0, 1, 2}); len(got) != 1 || got[0] != 1 {
		t.Fatalf("varying columns on rows 0-2: %v, want [1]", got)
	}
	if got := varyingColumns(ds, []int{2, 3}); len(got) != 1 || got[0] != 0 {
		t.Fatalf("varying columns on rows 2-3: %v, want [0]", got)
	}
}

// TestOneHot: a column's positions are the values of the training rows;
// a value only in the scored rows sets none.
func TestOneHot(t *testing.T) {
	ds := &dataset{cats: [][]string{{"a", "b", "a", "c"}, {"x", "x", "y", "x"}}}
	x, w := oneHot(ds, []int{0, 1, 2}, []int{0, 3})
	if w != 4 {
		t.Fatalf("width %d, want 4 (a, b; x, y)", w)
	}
	want := []float64{1, 0, 1, 0, 0, 0, 1, 0}
	for i := range want {
		if x[i] != want[i] {
			t.Fatalf("one-hot rows %v, want %v", x, want)
		}
	}
}

// TestIsolationForest checks c(n) against its closed form and that the
// forest scores far points above the bulk of a Gaussian cloud, and
// identically for one seed.
func TestIsolationForest(t *testing.T) {
	if c := avgPathLength(256); math.Abs(c-10.2448) > 1e-3 {
		t.Errorf("c(256) = %v, want 10.2448", c)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const rows, dims = 1000, 3
	x := make([]float64, rows*dims)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range 5 { // five rows far out
		for j := range dims {
			x[i*dims+j] = 5 + float64(i)
		}
	}
	f := fitForest(x, rows, dims, 7)
	g := fitForest(x, rows, dims, 7)
	var bulk []float64
	for i := 5; i < rows; i++ {
		bulk = append(bulk, f.score(x[i*dims:(i+1)*dims]))
	}
	for i := range 5 {
		s := f.score(x[i*dims : (i+1)*dims])
		if s != g.score(x[i*dims:(i+1)*dims]) {
			t.Fatalf("two forests of seed 7 score row %d differently", i)
		}
		above := 0
		for _, b := range bulk {
			if s > b {
				above++
			}
		}
		if above < len(bulk)*99/100 {
			t.Errorf("far row %d scores %.3f, above only %d of %d bulk rows", i, s, above, len(bulk))
		}
	}
}

// TestBagProtocol checks the bags of -bags: consecutive training rows,
// a bag anomalous iff it holds an anomaly, and that only a detector that
// takes bags is given them (mil_ranking trains on them; an autoencoder
// on the same rows records none). The bugs it catches: a bag labelled by
// its first row, bags not passed to mil_ranking (then it trains on its
// labelled rows alone and records no bags).
func TestBagProtocol(t *testing.T) {
	labels := []float64{0, 1, 0, 0, 0, 0, 0, 1, 0}
	ids, bl, bags, anomalous := bagRows(labels, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, 4)
	wantIDs := []int64{0, 0, 0, 0, 1, 1, 1, 1, 2}
	wantLabels := []float64{1, 1, 1, 1, 1, 1, 1, 1, 0}
	for i := range ids {
		if ids[i] != wantIDs[i] || bl[i] != wantLabels[i] {
			t.Fatalf("bags %v labels %v, want %v %v", ids, bl, wantIDs, wantLabels)
		}
	}
	if bags != 3 || anomalous != 2 {
		t.Fatalf("%d bags, %d anomalous; want 3, 2", bags, anomalous)
	}
	ds, err := loadCategorical("../../engine/testdata/cmc.csv.gz")
	if err != nil {
		t.Fatal(err)
	}
	// cmc's strings as numbers: its values are small integers.
	ds.x.Data = make([]float64, ds.x.Rows*ds.x.Cols)
	for j, col := range ds.cats {
		for i, v := range col {
			ds.x.Data[i*ds.x.Cols+j] = float64(len(v)) + float64(v[0])
		}
	}
	ds.cats = nil
	mil := run("mil_ranking", ds, 0, protocolLabelled, 8, map[string]string{"epochs": "2"})
	if mil.Error != "" || mil.Bags != 129 || mil.AnomalousBags == 0 || mil.AnomalousBags == mil.Bags {
		t.Fatalf("mil_ranking with bags of 8: %d bags, %d anomalous, error %q", mil.Bags, mil.AnomalousBags, mil.Error)
	}
	if ae := run("autoencoder", ds, 0, protocolLabelled, 8, map[string]string{"epochs": "2"}); ae.Error != "" || ae.Bags != 0 {
		t.Fatalf("autoencoder with bags of 8: %d bags, error %q", ae.Bags, ae.Error)
	}
}
