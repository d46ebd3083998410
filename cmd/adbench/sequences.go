package main

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/detectors"
)

// The ordered-data mode (-sequences): the sequence detectors on the data
// of ../shared/datasets/sequences (its README gives provenance and
// caveats), with baselines computed by the same harness in the same run.
//
//   - NAB series (nab/*.csv.gz but nab_multi): lstm_forecast and
//     gru_forecast are trained on each series' rows in file order with
//     their default options and the labels hidden (an unsupervised user's
//     protocol: the series is all there is, its anomalies included), and
//     every row is scored; AUC-ROC over the window labels (`label`). The
//     baseline rolling_zscore scores a row |x − μ|/σ over the 48 rows
//     before it (population σ; 0 for a row with fewer than 2 rows before
//     it; a row differing from a constant history scores +Inf).
//   - HDFS sessions: deeplog is trained on the split = train sessions
//     (each session a partition, in seq order) with option key =
//     'log_key' and its defaults; a test session is anomalous if any of
//     its steps is (the top-g rule); session-level precision, recall and
//     F1 over split = test. The baseline unseen_key flags a session that
//     has a key never seen in training.

// SeqResult is one run of the ordered-data mode.
type SeqResult struct {
	Detector     string  `json:"detector"`
	Dataset      string  `json:"dataset"`
	Seed         int     `json:"seed"`
	Rows         int     `json:"rows"`
	AUCROC       float64 `json:"auc_roc,omitempty"`
	Precision    float64 `json:"precision,omitempty"`
	Recall       float64 `json:"recall,omitempty"`
	F1           float64 `json:"f1,omitempty"`
	TrainSeconds float64 `json:"train_seconds"`
	Error        string  `json:"error,omitempty"`
}

// readCSV reads a gzipped CSV with a header into its columns by name.
func readCSV(path string) (map[string][]string, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, 0, err
	}
	r := csv.NewReader(gz)
	head, err := r.Read()
	if err != nil {
		return nil, 0, err
	}
	cols := map[string][]string{}
	n := 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		for j, h := range head {
			cols[h] = append(cols[h], rec[j])
		}
		n++
	}
	return cols, n, nil
}

func floats(s []string) ([]float64, error) {
	x := make([]float64, len(s))
	for i, v := range s {
		var err error
		if x[i], err = strconv.ParseFloat(v, 64); err != nil {
			return nil, err
		}
	}
	return x, nil
}

// rollingZ is the rolling z-score baseline over the previous k rows.
func rollingZ(x []float64, k int) []float64 {
	s := make([]float64, len(x))
	for t := range x {
		lo := max(0, t-k)
		if t-lo < 2 {
			continue
		}
		var mean float64
		for _, v := range x[lo:t] {
			mean += v
		}
		mean /= float64(t - lo)
		var ss float64
		for _, v := range x[lo:t] {
			ss += (v - mean) * (v - mean)
		}
		sd := math.Sqrt(ss / float64(t-lo))
		d := math.Abs(x[t] - mean)
		switch {
		case sd > 0:
			s[t] = d / sd
		case d > 0:
			s[t] = math.MaxFloat64
		}
	}
	return s
}

func floatRecord(name string, x []float64) arrow.RecordBatch {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(x, nil)
	a := b.NewArray()
	b.Release()
	defer a.Release()
	return array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: name, Type: arrow.PrimitiveTypes.Float64}}, nil), []arrow.Array{a}, int64(len(x)))
}

// runSequences runs the ordered-data mode over dir.
func runSequences(dir string, dets []string, seeds []int, extra map[string]string) ([]SeqResult, error) {
	var out []SeqResult
	files, err := filepath.Glob(filepath.Join(dir, "nab", "*.csv.gz"))
	if err != nil {
		return nil, err
	}
	want := func(d string) bool {
		for _, x := range dets {
			if x == d {
				return true
			}
		}
		return len(dets) == 0
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".csv.gz")
		if name == "nab_multi" {
			continue
		}
		cols, n, err := readCSV(f)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		x, err := floats(cols["value"])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		labels, err := floats(cols["label"])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		auc, err := detectors.AUC(labels, rollingZ(x, 48))
		r := SeqResult{Detector: "rolling_zscore", Dataset: name, Rows: n, AUCROC: auc}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
		logSeq(r)
		for _, det := range []string{"lstm_forecast", "gru_forecast"} {
			if !want(det) {
				continue
			}
			for _, seed := range seeds {
				r := SeqResult{Detector: det, Dataset: name, Seed: seed, Rows: n}
				opts := map[string]string{"seed": strconv.Itoa(seed)}
				for k, v := range extra {
					opts[k] = v
				}
				rec := floatRecord("value", x)
				start := time.Now()
				m, err := detectors.FitSequence(context.Background(), det, opts, detectors.SequenceData{
					TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1},
				})
				r.TrainSeconds = time.Since(start).Seconds()
				var s []float64
				if err == nil {
					s, err = m.ScoreSequence(x, 0, nil)
				}
				if err == nil {
					r.AUCROC, err = detectors.AUC(labels, s)
				}
				rec.Release()
				if err != nil {
					r.Error = err.Error()
				}
				out = append(out, r)
				logSeq(r)
			}
		}
	}
	if want("deeplog") {
		rs, err := runHDFS(filepath.Join(dir, "hdfs_sessions.csv.gz"), seeds, extra)
		if err != nil {
			return nil, err
		}
		out = append(out, rs...)
	}
	return out, nil
}

// sequenceReport appends the ordered-data section built from the results
// in path (written by -sequences -json) to b; nothing if there is no file.
func sequenceReport(b *strings.Builder, path string) error {
	raw, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var rs []SeqResult
	if err := json.Unmarshal(raw, &rs); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b.WriteString(sequenceTables(rs))
	return nil
}

// sequenceTables is the Markdown of the ordered-data results: AUC-ROC
// per NAB series and detector (mean over seeds), the mean over series,
// and the HDFS session-level figures.
func sequenceTables(rs []SeqResult) string {
	var b strings.Builder
	var dets, sets []string
	cell := map[[2]string][]float64{}
	for _, r := range rs {
		if r.Dataset == "hdfs_sessions" || r.Error != "" {
			continue
		}
		k := [2]string{r.Detector, r.Dataset}
		if !slices.Contains(dets, r.Detector) {
			dets = append(dets, r.Detector)
		}
		if !slices.Contains(sets, r.Dataset) {
			sets = append(sets, r.Dataset)
		}
		cell[k] = append(cell[k], r.AUCROC)
	}
	b.WriteString("\n## Ordered data (adbench -sequences)\n\n")
	b.WriteString("NAB series: AUC-ROC over the window labels, each detector trained on the whole series with its labels hidden (mean over seeds).\n\n| series |")
	for _, d := range dets {
		fmt.Fprintf(&b, " `%s` |", d)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(dets)) + "\n")
	means := make([]float64, len(dets))
	for _, s := range sets {
		fmt.Fprintf(&b, "| %s |", s)
		for i, d := range dets {
			m := mean(cell[[2]string{d, s}])
			means[i] += m / float64(len(sets))
			fmt.Fprintf(&b, " %.3f |", m)
		}
		b.WriteString("\n")
	}
	b.WriteString("| **mean** |")
	for _, m := range means {
		fmt.Fprintf(&b, " **%.3f** |", m)
	}
	b.WriteString("\n\nHDFS sessions (train on split = train, judge the test sessions): session-level precision, recall, F1.\n\n| detector | seed | precision | recall | F1 | train s |\n|---|---|---|---|---|---|\n")
	for _, r := range rs {
		if r.Dataset != "hdfs_sessions" {
			continue
		}
		if r.Error != "" {
			fmt.Fprintf(&b, "| `%s` | %d | error: %s | | | |\n", r.Detector, r.Seed, r.Error)
			continue
		}
		fmt.Fprintf(&b, "| `%s` | %d | %.4f | %.4f | %.4f | %.0f |\n", r.Detector, r.Seed, r.Precision, r.Recall, r.F1, r.TrainSeconds)
	}
	return b.String()
}

// writeJSON writes v as indented JSON to path.
func writeJSON(path string, v any) {
	b, _ := json.MarshalIndent(v, "", " ")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		fail(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		fail(err)
	}
}

// summarize prints each detector's mean AUC-ROC over the NAB series
// (its runs over seeds averaged first) and its HDFS figures.
func summarize(rs []SeqResult) {
	type acc struct {
		sum float64
		n   int
	}
	means := map[string]*acc{}
	var order []string
	for _, r := range rs {
		if r.Error != "" || r.Dataset == "hdfs_sessions" {
			continue
		}
		a := means[r.Detector]
		if a == nil {
			a = &acc{}
			means[r.Detector] = a
			order = append(order, r.Detector)
		}
		a.sum += r.AUCROC
		a.n++
	}
	for _, d := range order {
		fmt.Fprintf(os.Stderr, "mean AUC-ROC over NAB  %-15s %.4f (%d runs)\n", d, means[d].sum/float64(means[d].n), means[d].n)
	}
}

func logSeq(r SeqResult) {
	status := fmt.Sprintf("AUC-ROC %.4f", r.AUCROC)
	if r.F1 != 0 || r.Precision != 0 {
		status = fmt.Sprintf("P %.4f R %.4f F1 %.4f", r.Precision, r.Recall, r.F1)
	}
	if r.Error != "" {
		status = "error: " + r.Error
	}
	fmt.Fprintf(os.Stderr, "%-15s %-38s seed %d  %s  train %.1fs\n", r.Detector, r.Dataset, r.Seed, status, r.TrainSeconds)
}

// runHDFS runs deeplog and the unseen-key rule on the HDFS sessions.
func runHDFS(path string, seeds []int, extra map[string]string) ([]SeqResult, error) {
	cols, n, err := readCSV(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	type session struct {
		keys  []string
		label bool
		train bool
	}
	var sessions []*session
	for i := 0; i < n; i++ {
		if i == 0 || cols["session_id"][i] != cols["session_id"][i-1] {
			sessions = append(sessions, &session{label: cols["label"][i] == "1", train: cols["split"][i] == "train"})
		}
		s := sessions[len(sessions)-1]
		s.keys = append(s.keys, cols["log_key"][i])
	}
	if lim, _ := strconv.Atoi(os.Getenv("ADBENCH_HDFS_TRAIN_SESSIONS")); lim > 0 { // for quick trials only
		kept := sessions[:0]
		for _, s := range sessions {
			if !s.train || lim > 0 {
				kept = append(kept, s)
				if s.train {
					lim--
				}
			}
		}
		sessions = kept
	}
	seen := map[string]bool{}
	b := array.NewInt64Builder(memory.DefaultAllocator)
	var starts []int
	rows := 0
	for _, s := range sessions {
		if !s.train {
			continue
		}
		starts = append(starts, rows)
		for _, k := range s.keys {
			seen[k] = true
			v, err := strconv.ParseInt(k, 10, 64)
			if err != nil {
				return nil, err
			}
			b.Append(v)
			rows++
		}
	}
	arr := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "log_key", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{arr}, int64(rows))
	arr.Release()
	defer rec.Release()

	prf := func(r *SeqResult, flag func(*session) (bool, error)) error {
		var tp, fp, fn float64
		for _, s := range sessions {
			if s.train {
				continue
			}
			f, err := flag(s)
			if err != nil {
				return err
			}
			switch {
			case f && s.label:
				tp++
			case f:
				fp++
			case s.label:
				fn++
			}
		}
		r.Precision, r.Recall = tp/(tp+fp), tp/(tp+fn)
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
		return nil
	}
	var out []SeqResult
	base := SeqResult{Detector: "unseen_key", Dataset: "hdfs_sessions", Rows: rows}
	_ = prf(&base, func(s *session) (bool, error) {
		for _, k := range s.keys {
			if !seen[k] {
				return true, nil
			}
		}
		return false, nil
	})
	out = append(out, base)
	logSeq(base)
	for _, seed := range seeds {
		r := SeqResult{Detector: "deeplog", Dataset: "hdfs_sessions", Seed: seed, Rows: rows}
		opts := map[string]string{"seed": strconv.Itoa(seed), "key": "log_key"}
		for k, v := range extra {
			opts[k] = v
		}
		start := time.Now()
		m, err := detectors.FitSequence(context.Background(), "deeplog", opts, detectors.SequenceData{
			TrainingData: detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0}, Label: -1},
			Starts:       starts,
		})
		r.TrainSeconds = time.Since(start).Seconds()
		if err == nil {
			enc := m.Encoding()
			// A session's verdict is a function of its key sequence:
			// identical sessions (most of them) are judged once.
			verdict := map[string]bool{}
			err = prf(&r, func(s *session) (bool, error) {
				id := strings.Join(s.keys, " ")
				if v, ok := verdict[id]; ok {
					return v, nil
				}
				x := make([]float64, len(s.keys))
				for i, k := range s.keys {
					x[i] = enc.Code(0, k, false)
				}
				v, err := m.AnomalousSequence(x)
				verdict[id] = v
				return v, err
			})
		}
		if err != nil {
			r.Error = err.Error()
		}
		out = append(out, r)
		logSeq(r)
	}
	return out, nil
}
