package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
)

// TestReportLabelledShareRow: runs with another share of labelled
// anomalies (-labelled 0.01) get a row of their own, "`devnet` (1 %
// labels)", with their own mean and target, and do not change the
// protocol's row. The bugs it catches: the two kinds of runs averaged in
// one row (the report then shows one devnet row, mean 0.700), or the
// share not recorded in the results.
func TestReportLabelledShareRow(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, rs []Result) {
		b, err := json.Marshal(rs)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	protocol := Result{Detector: "devnet", Dataset: "glass", AUCROC: 0.9, Labelled: 1}
	ds := &dataset{name: "glass", x: arrowio.Matrix{Rows: 20, Cols: 2, Data: make([]float64, 40)}, labels: make([]float64, 20)}
	for i := range ds.x.Data {
		ds.x.Data[i] = float64(i * i % 7)
	}
	for i := 0; i < 20; i += 4 {
		ds.labels[i] = 1
	}
	onePct := run("devnet", ds, 0, 0.01, 0, map[string]string{"epochs": "1", "steps": "1"})
	if onePct.LabelledShare != 0.01 || onePct.Error != "" {
		t.Fatalf("run with -labelled 0.01: share %v, error %q", onePct.LabelledShare, onePct.Error)
	}
	if r := run("devnet", ds, 0, protocolLabelled, 0, map[string]string{"epochs": "1", "steps": "1"}); r.LabelledShare != 0 {
		t.Fatalf("protocol run records share %v", r.LabelledShare)
	}
	onePct.AUCROC = 0.5
	write("devnet.json", []Result{protocol})
	write("devnet_1pct.json", []Result{onePct})
	out := filepath.Join(dir, "accuracy.md")
	if err := writeReport(dir, out); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	report := string(b)
	for _, want := range []string{
		"| `devnet` | 0.900 | **0.900** | ≥ 0.91 (ADBench DevNet (10 % labels) 0.909) | **below** |",
		"| `devnet` (1 % labels) | 0.500 | **0.500** | ≥ 0.84 (ADBench DevNet (1 % labels) 0.837) | **below** |",
	} {
		if !strings.Contains(report, want) {
			t.Errorf("report lacks the row %q:\n%s", want, report)
		}
	}
}
