// Command mileval measures mil_ranking (detectors/ranking/mil.go) on bags
// built from the labelled tabular datasets, since no bag-labelled table
// is shipped. For each dataset and seed:
//
//  1. a stratified 70/30 split of the rows (detectors.StratifiedSplit,
//     the seed);
//
//  2. the training rows shuffled with the seed and cut into bags of -bag
//     (16) consecutive rows, a bag labelled 1 if and only if it contains
//     an anomaly, 0 otherwise: the only labels mil_ranking sees;
//
//  3. mil_ranking (its defaults, the seed) trained on those bags, every
//     row of a bag carrying the bag's label, the rows in bag order;
//
//  4. the unsupervised baseline, an autoencoder whose encoder has
//     mil_ranking's hidden widths (64,32), trained on the same rows
//     without labels;
//
//  5. both scored row by row on the 30 %: AUC-ROC and AUC-PR against the
//     row labels.
//
//     go run ./cmd/mileval -data ../shared/datasets -out docs/accuracy/mil_ranking_bags.md
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	_ "github.com/anomalydb/anomalydb/detectors/all"
)

func main() {
	dataDir := flag.String("data", "../shared/datasets", "directory of <name>.csv.gz datasets (features, then label)")
	sets := flag.String("datasets", "", "comma-separated dataset names (default: every *.csv.gz in -data)")
	seeds := flag.String("seeds", "0,1,2", "comma-separated seeds")
	bag := flag.Int("bag", 16, "rows per bag")
	out := flag.String("out", "", "write the Markdown table to this file (default: stdout only)")
	extra := flag.String("opts", "", "extra mil_ranking options, k=v;k=v")
	flag.Parse()
	milOpts := map[string]string{}
	if *extra != "" {
		for _, kv := range strings.Split(*extra, ";") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fail(fmt.Errorf("bad -opts entry %q", kv))
			}
			milOpts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}

	files, err := filepath.Glob(filepath.Join(*dataDir, "*.csv.gz"))
	if err != nil || len(files) == 0 {
		fail(fmt.Errorf("no datasets in %s (%v)", *dataDir, err))
	}
	if *sets != "" {
		files = nil
		for _, s := range strings.Split(*sets, ",") {
			files = append(files, filepath.Join(*dataDir, strings.TrimSpace(s)+".csv.gz"))
		}
	}
	var seedList []int
	for _, s := range strings.Split(*seeds, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(fmt.Errorf("bad seed %q", s))
		}
		seedList = append(seedList, n)
	}
	var b strings.Builder
	b.WriteString(header)
	fmt.Fprintf(&b, "| dataset | bags (anomalous) | mil_ranking AUC-ROC | autoencoder AUC-ROC | mil_ranking AUC-PR | autoencoder AUC-PR | mil_ranking train s |\n|---|---|---|---|---|---|---|\n")
	var sumMil, sumAE float64
	n := 0
	for _, f := range files {
		x, labels, err := load(f)
		if err != nil {
			fail(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".csv.gz")
		var r [5]float64
		bags, anomalous, runs := 0, 0, 0
		for _, seed := range seedList {
			res, err := evaluate(x, labels, *bag, seed, milOpts)
			if errors.Is(err, detectors.ErrBadBag) {
				// Every bag anomalous: nothing to rank against.
				fmt.Fprintf(os.Stderr, "%-12s seed %d: %v\n", name, seed, err)
				continue
			}
			if err != nil {
				fail(fmt.Errorf("%s seed %d: %w", name, seed, err))
			}
			runs++
			fmt.Fprintf(os.Stderr, "%-12s seed %d: mil_ranking %.4f, autoencoder %.4f (%d bags, %d anomalous, %.1fs)\n",
				name, seed, res.milROC, res.aeROC, res.bags, res.anomalous, res.seconds)
			r[0] += res.milROC
			r[1] += res.aeROC
			r[2] += res.milPR
			r[3] += res.aePR
			r[4] += res.seconds
			bags, anomalous = res.bags, res.anomalous
		}
		if runs == 0 {
			fmt.Fprintf(&b, "| %s | every bag anomalous | | | | | |\n", name)
			continue
		}
		k := float64(runs)
		if runs < len(seedList) {
			name += fmt.Sprintf(" (%d of %d seeds: the others had no normal bag)", runs, len(seedList))
		}
		fmt.Fprintf(&b, "| %s | %d (%d) | %.3f | %.3f | %.3f | %.3f | %.1f |\n", name, bags, anomalous, r[0]/k, r[1]/k, r[2]/k, r[3]/k, r[4]/k)
		sumMil += r[0] / k
		sumAE += r[1] / k
		n++
	}
	fmt.Fprintf(&b, "| **mean** | | **%.3f** | **%.3f** | | | |\n", sumMil/float64(n), sumAE/float64(n))
	fmt.Print(b.String())
	if *out != "" {
		if err := os.WriteFile(*out, []byte(b.String()), 0o644); err != nil {
			fail(err)
		}
	}
}

// header explains the table (the package comment's protocol).
const header = `# mil_ranking on bags of rows

Written by ` + "`go run ./cmd/mileval`" + ` (` + "`make accuracy`" + `). No bag-labelled table is
shipped, so bags are built from the labelled tables: for each dataset and
seed 0-2, a stratified 70/30 split; the training rows shuffled with the
seed and cut into bags of 16 consecutive rows, a bag labelled 1 if and
only if it holds an anomaly (the only labels mil_ranking sees); mil_ranking
with its defaults trained on those bags; an autoencoder with the same
hidden widths (64,32) trained on the same rows without labels; both scored
row by row on the 30 %. Means over the seeds that had a normal bag (a seed
whose bags all hold an anomaly cannot be trained on); bags (anomalous) of
the last such seed.

`

type result struct {
	milROC, aeROC, milPR, aePR float64
	bags, anomalous            int
	seconds                    float64
}

// evaluate runs the protocol (see the package comment) once.
func evaluate(x arrowio.Matrix, labels []float64, size, seed int, milOpts map[string]string) (result, error) {
	var res result
	trainIdx, testIdx := detectors.StratifiedSplit(labels, 0.7, uint64(seed))
	rng := rand.New(rand.NewPCG(uint64(seed), 0xb465))
	rng.Shuffle(len(trainIdx), func(i, j int) { trainIdx[i], trainIdx[j] = trainIdx[j], trainIdx[i] })
	ids := make([]int64, len(trainIdx))
	bagLabels := make([]float64, len(trainIdx))
	for lo := 0; lo < len(trainIdx); lo += size {
		hi := min(lo+size, len(trainIdx))
		y := 0.0
		for _, r := range trainIdx[lo:hi] {
			y = max(y, labels[r])
		}
		for i := lo; i < hi; i++ {
			ids[i], bagLabels[i] = int64(lo/size), y
		}
		res.bags++
		res.anomalous += int(y)
	}
	opts := map[string]string{"seed": strconv.Itoa(seed)}
	for k, v := range milOpts {
		opts[k] = v
	}
	start := time.Now()
	rec := record(x, trainIdx, bagLabels, ids)
	defer rec.Release()
	bags, err := detectors.ReadBags([]arrow.RecordBatch{rec}, x.Cols+1)
	if err != nil {
		return res, err
	}
	features := make([]int, x.Cols)
	for j := range features {
		features[j] = j
	}
	mil, err := detectors.Fit(context.Background(), "mil_ranking", opts,
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: x.Cols, Bags: bags})
	if err != nil {
		return res, err
	}
	res.seconds = time.Since(start).Seconds()
	opts = map[string]string{"seed": strconv.Itoa(seed), "hidden": "64,32"}
	ae, err := detectors.Fit(context.Background(), "autoencoder", opts,
		detectors.TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: -1})
	if err != nil {
		return res, err
	}
	test := make([]float64, len(testIdx)*x.Cols)
	truth := make([]float64, len(testIdx))
	for i, r := range testIdx {
		copy(test[i*x.Cols:(i+1)*x.Cols], x.Row(r))
		truth[i] = labels[r]
	}
	score := func(m *detectors.Model) (roc, pr float64, err error) {
		s := make([]float64, len(testIdx))
		for i := range s {
			if s[i], err = m.ScoreRow(test[i*x.Cols : (i+1)*x.Cols]); err != nil {
				return 0, 0, err
			}
		}
		if roc, err = detectors.AUC(truth, s); err != nil {
			return 0, 0, err
		}
		pr, err = detectors.AveragePrecision(truth, s)
		return roc, pr, err
	}
	if res.milROC, res.milPR, err = score(mil); err != nil {
		return res, err
	}
	res.aeROC, res.aePR, err = score(ae)
	return res, err
}

// load reads a dataset: features, then a label column.
func load(path string) (arrowio.Matrix, []float64, error) {
	csv, err := arrowio.ReadNumericCSV(memory.DefaultAllocator, path, 1<<16, false)
	if err != nil {
		return arrowio.Matrix{}, nil, err
	}
	defer csv.Release()
	label := csv.Schema.NumFields() - 1
	features := make([]int, label)
	for i := range features {
		features[i] = i
	}
	return arrowio.FeatureMatrix(csv.Batches, features, label)
}

// record builds an Arrow batch of rows of x: the features f0…, the bag
// label and the bag id.
func record(x arrowio.Matrix, rows []int, labels []float64, ids []int64) arrow.RecordBatch {
	fields := make([]arrow.Field, 0, x.Cols+2)
	for j := 0; j < x.Cols; j++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", j), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64},
		arrow.Field{Name: "bag", Type: arrow.PrimitiveTypes.Int64})
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for j := 0; j < x.Cols; j++ {
		fb := b.Field(j).(*array.Float64Builder)
		for _, r := range rows {
			if v := x.Data[r*x.Cols+j]; math.IsNaN(v) {
				fb.AppendNull()
			} else {
				fb.Append(v)
			}
		}
	}
	b.Field(x.Cols).(*array.Float64Builder).AppendValues(labels, nil)
	b.Field(x.Cols+1).(*array.Int64Builder).AppendValues(ids, nil)
	return b.NewRecordBatch()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "mileval:", err)
	os.Exit(1)
}
