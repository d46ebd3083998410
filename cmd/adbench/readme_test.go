package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
)

// loadResults reads every committed result file of `make accuracy`, by
// detector: the protocol's runs only, not those with another share of
// labelled anomalies (LabelledShare).
func loadResults(t *testing.T) map[string][]Result {
	t.Helper()
	files, err := filepath.Glob("../../docs/accuracy/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no accuracy results: %v", err)
	}
	out := map[string][]Result{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rs []Result
		if err := json.Unmarshal(b, &rs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range rs {
			if r.LabelledShare == 0 {
				out[r.Detector] = append(out[r.Detector], r)
			}
		}
	}
	return out
}

// meanAUC is the README's figure: the mean over datasets of the mean over
// seeds, as writeReport computes it.
func meanAUC(rs []Result) float64 {
	by := map[string][]float64{}
	for _, r := range rs {
		if r.Error == "" {
			by[r.Dataset] = append(by[r.Dataset], r.AUCROC)
		}
	}
	var means []float64
	for _, v := range by {
		means = append(means, mean(v))
	}
	slices.Sort(means) // fixed summation order
	return mean(means)
}

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestREADMEAccuracyColumn checks that the README's mean AUC-ROC of every
// registered detector is the one its committed `make accuracy` results
// give, and that every detector has results for all 14 datasets and three
// seeds. A figure edited by hand, or results not regenerated after a
// change of defaults, fails it.
func TestREADMEAccuracyColumn(t *testing.T) {
	res := loadResults(t)
	row := regexp.MustCompile("(?m)^\\| `([a-z0-9_]+)` \\| [^|]+\\| [^|]+\\| (?:\\*\\*)?([01]\\.[0-9]{3})")
	stated := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(readme(t), -1) {
		stated[m[1]] = m[2]
	}
	for _, alg := range detectors.Algorithms() {
		if categoricalOnly[alg] {
			continue
		}
		if detectors.IsSequence(alg) {
			continue // the ordered-data mode (sequences.go)
		}
		rs := res[alg]
		if len(rs) != 14*3 {
			t.Errorf("%s: %d results in docs/accuracy, want 14 datasets × 3 seeds", alg, len(rs))
			continue
		}
		want := fmt.Sprintf("%.3f", meanAUC(rs))
		if stated[alg] != want {
			t.Errorf("README: %s mean AUC-ROC %q, docs/accuracy gives %s", alg, stated[alg], want)
		}
	}
}

// TestREADMESMTPTrainingTimes checks the README's sentence of training
// times on smtp ("`name` a–b s" for every detector) against the committed
// results: min and max over the seeds, one decimal.
func TestREADMESMTPTrainingTimes(t *testing.T) {
	res := loadResults(t)
	text := readme(t)
	start := strings.Index(text, "Training time on smtp")
	if start < 0 {
		t.Fatal("README has no smtp training times")
	}
	para := text[start:]
	para = para[:strings.Index(para, "\n\n")]
	item := regexp.MustCompile("`([a-z0-9_]+)`\\s+([0-9.]+)–([0-9.]+) s")
	got := map[string][2]string{}
	for _, m := range item.FindAllStringSubmatch(para, -1) {
		got[m[1]] = [2]string{m[2], m[3]}
	}
	for _, alg := range detectors.Algorithms() {
		if categoricalOnly[alg] || detectors.IsSequence(alg) {
			continue
		}
		var secs []float64
		for _, r := range res[alg] {
			if r.Dataset == "smtp" && r.Error == "" {
				secs = append(secs, r.TrainSeconds)
			}
		}
		if len(secs) == 0 {
			t.Errorf("%s: no smtp results", alg)
			continue
		}
		want := [2]string{fmt.Sprintf("%.1f", slices.Min(secs)), fmt.Sprintf("%.1f", slices.Max(secs))}
		if got[alg] != want {
			t.Errorf("README: %s on smtp %v s, docs/accuracy gives %v", alg, got[alg], want)
		}
	}
}

// TestREADMECategoricalOnly checks that the README's figure of each
// detector that takes string columns only (categoricalOnly) is its mean
// AUC-ROC over the categorical tables in its committed results
// (docs/accuracy/categorical), and that it has results for the six
// tables and three seeds.
func TestREADMECategoricalOnly(t *testing.T) {
	text := readme(t)
	for alg := range categoricalOnly {
		rs, err := readResults(filepath.Join("../../docs/accuracy/categorical", alg+".json"))
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != 6*3 {
			t.Errorf("%s: %d results in docs/accuracy/categorical, want 6 tables × 3 seeds", alg, len(rs))
			continue
		}
		want := fmt.Sprintf("%.3f on the six categorical tables", meanAUC(rs))
		row := regexp.MustCompile("(?m)^\\| `" + alg + "` \\|.*" + regexp.QuoteMeta(want))
		if !row.MatchString(text) {
			t.Errorf("README has no row of %s that says %q", alg, want)
		}
	}
}
