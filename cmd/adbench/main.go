// Command adbench measures the accuracy of anomalydb's detectors on
// labelled tabular datasets with the ADBench protocol (Han et al.,
// NeurIPS 2022): for each dataset and seed, a stratified 70/30 split;
// training on the 70 % with the anomalies included and labels hidden;
// AUC-ROC and AUC-PR of the scores on the 30 %. Weakly supervised
// detectors see 10 % of the training anomalies labelled (the rest NULL).
//
//	go run ./cmd/adbench -detectors autoencoder,deep_svdd -json docs/accuracy/x.json
//	go run ./cmd/adbench -report docs/accuracy.md   # table from docs/accuracy/*.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	_ "github.com/anomalydb/anomalydb/detectors/all" // every algorithm
)

// Result is one detector run on one dataset with one seed.
type Result struct {
	Detector  string `json:"detector"`
	Dataset   string `json:"dataset"`
	Seed      int    `json:"seed"`
	TrainRows int    `json:"train_rows"`
	TestRows  int    `json:"test_rows"`
	Features  int    `json:"features"`
	Labelled  int    `json:"labelled_anomalies"`
	// LabelledShare is the share of the training anomalies labelled
	// (-labelled) when it is not the protocol's protocolLabelled; such
	// runs are reported in rows of their own.
	LabelledShare float64 `json:"labelled_share,omitempty"`
	// Bags and AnomalousBags count the training bags of a bag-protocol
	// run (-bags) of a detector that takes bags.
	Bags          int     `json:"bags,omitempty"`
	AnomalousBags int     `json:"anomalous_bags,omitempty"`
	AUCROC        float64 `json:"auc_roc"`
	AUCPR         float64 `json:"auc_pr"`
	TrainSeconds  float64 `json:"train_seconds"`
	Error         string  `json:"error,omitempty"`
}

func main() {
	dataDir := flag.String("data", "../shared/datasets", "directory of <name>.csv.gz datasets (features, then label)")
	dets := flag.String("detectors", "", "comma-separated detectors (default: every registered one)")
	sets := flag.String("datasets", "", "comma-separated dataset names (default: every *.csv.gz in -data)")
	bags := flag.Int("bags", 0, "bag protocol (bags.go): bags of this many training rows for detectors that take bags (mil_ranking); 0 for none")
	categorical := flag.Bool("categorical", false, "the datasets' feature columns are strings (../shared/datasets/categorical): read as string columns, encoded by the detectors")
	seeds := flag.String("seeds", "0,1,2", "comma-separated seeds")
	labelled := flag.Float64("labelled", protocolLabelled, "share of training anomalies labelled for weakly supervised detectors")
	extra := flag.String("opts", "", "extra detector options, k=v;k=v")
	jsonOut := flag.String("json", "", "write results as JSON to this file")
	report := flag.String("report", "", "write a Markdown report built from every JSON file in -results to this file")
	results := flag.String("results", "docs/accuracy", "directory of JSON results for -report")
	list := flag.Bool("list", false, "print the registered tabular detectors, one a line, and exit (with -categorical, those that take string columns; without, those that take numbers)")
	sequences := flag.Bool("sequences", false, "ordered-data mode (sequences.go): -data is the sequences directory")
	flag.Parse()

	if *list {
		for _, n := range detectors.Algorithms() {
			if !detectors.IsSequence(n) && (*categorical || !categoricalOnly[n]) {
				fmt.Println(n)
			}
		}
		return
	}

	if *report != "" && *jsonOut == "" && *dets == "" {
		if err := writeReport(*results, *report); err != nil {
			fail(err)
		}
		return
	}
	names := detectors.Algorithms()
	if *dets != "" {
		names = strings.Split(*dets, ",")
	}
	var seedList []int
	for _, s := range strings.Split(*seeds, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			fail(fmt.Errorf("bad seed %q", s))
		}
		seedList = append(seedList, n)
	}
	opts := map[string]string{}
	if *extra != "" {
		for _, kv := range strings.Split(*extra, ";") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				fail(fmt.Errorf("bad -opts entry %q", kv))
			}
			opts[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	if *sequences {
		var ds []string
		if *dets != "" {
			ds = names
		}
		out, err := runSequences(*dataDir, ds, seedList, opts)
		if err != nil {
			fail(err)
		}
		if *jsonOut != "" {
			writeJSON(*jsonOut, out)
		}
		return
	}
	files, err := datasetFiles(*dataDir, *sets)
	if err != nil {
		fail(err)
	}
	var out []Result
	for _, f := range files {
		load := load
		if *categorical {
			load = loadCategorical
		}
		ds, err := load(f)
		if err != nil {
			fail(err)
		}
		for _, det := range names {
			for _, seed := range seedList {
				r := run(det, ds, seed, *labelled, *bags, opts)
				out = append(out, r)
				status := fmt.Sprintf("AUC-ROC %.4f AUC-PR %.4f", r.AUCROC, r.AUCPR)
				if r.Error != "" {
					status = "error: " + r.Error
				}
				fmt.Fprintf(os.Stderr, "%-18s %-12s seed %d  %s  train %.1fs\n", det, ds.name, seed, status, r.TrainSeconds)
			}
		}
	}
	if *jsonOut != "" {
		b, _ := json.MarshalIndent(out, "", " ")
		if err := os.MkdirAll(filepath.Dir(*jsonOut), 0o755); err != nil {
			fail(err)
		}
		if err := os.WriteFile(*jsonOut, b, 0o644); err != nil {
			fail(err)
		}
	}
	if *report != "" {
		if err := writeReport(*results, *report); err != nil {
			fail(err)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "adbench:", err)
	os.Exit(1)
}

func datasetFiles(dir, names string) ([]string, error) {
	if names != "" {
		var out []string
		for _, n := range strings.Split(names, ",") {
			out = append(out, filepath.Join(dir, strings.TrimSpace(n)+".csv.gz"))
		}
		return out, nil
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.csv.gz"))
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no *.csv.gz in %s", dir)
	}
	sort.Strings(files)
	return files, err
}

// dataset is a labelled feature matrix, or a labelled table of string
// columns (cats, column by column; x then has no Data).
type dataset struct {
	name   string
	x      arrowio.Matrix
	labels []float64
	names  []string   // of the string columns
	cats   [][]string // cats[j][row]: the string columns, nil for a matrix
}

func load(path string) (*dataset, error) {
	csv, err := arrowio.ReadNumericCSV(memory.DefaultAllocator, path, 1<<16, false)
	if err != nil {
		return nil, err
	}
	defer csv.Release()
	label := csv.Schema.NumFields() - 1
	if csv.Schema.Field(label).Name != "label" {
		return nil, fmt.Errorf("%s: last column is %q, not label", path, csv.Schema.Field(label).Name)
	}
	features := make([]int, label)
	for i := range features {
		features[i] = i
	}
	x, labels, err := arrowio.FeatureMatrix(csv.Batches, features, label)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	name := strings.TrimSuffix(filepath.Base(path), ".csv.gz")
	return &dataset{name: name, x: x, labels: labels}, nil
}

// record builds an Arrow batch of the given rows: the features as float64
// columns f0…, and a label column when labels is not nil (NaN = NULL).
func record(x arrowio.Matrix, rows []int, labels []float64) arrow.RecordBatch {
	fields := make([]arrow.Field, 0, x.Cols+1)
	for j := 0; j < x.Cols; j++ {
		fields = append(fields, arrow.Field{Name: fmt.Sprintf("f%d", j), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	if labels != nil {
		fields = append(fields, arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer b.Release()
	for j := 0; j < x.Cols; j++ {
		fb := b.Field(j).(*array.Float64Builder)
		fb.Reserve(len(rows))
		for _, r := range rows {
			v := x.Data[r*x.Cols+j]
			if math.IsNaN(v) {
				fb.AppendNull()
			} else {
				fb.UnsafeAppend(v)
			}
		}
	}
	if labels != nil {
		appendLabels(b.Field(x.Cols).(*array.Float64Builder), labels)
	}
	return b.NewRecordBatch()
}

// appendLabels appends labels to lb, NaN as NULL.
func appendLabels(lb *array.Float64Builder, labels []float64) {
	for _, l := range labels {
		if math.IsNaN(l) {
			lb.AppendNull()
		} else {
			lb.Append(l)
		}
	}
}

// protocolLabelled is the protocol's share of the training anomalies
// labelled for detectors that use labels.
const protocolLabelled = 0.1

// weak reports whether a detector uses labels (then it gets the labelled
// share of the training anomalies).
func weak(det string) bool {
	use, err := detectors.UsesLabels(det)
	return err == nil && use != detectors.LabelsNone
}

// run measures det on ds's split of the seed: the protocol, with
// labelledShare of the training anomalies labelled for a detector that
// uses labels, and with bags > 0 the bag protocol (bags.go).
func run(det string, ds *dataset, seed int, labelledShare float64, bags int, extra map[string]string) Result {
	r := Result{Detector: det, Dataset: ds.name, Seed: seed, Features: ds.x.Cols}
	trainIdx, testIdx := detectors.StratifiedSplit(ds.labels, 0.7, uint64(seed))
	r.TrainRows, r.TestRows = len(trainIdx), len(testIdx)
	var trainLabels []float64
	var bagIDs []int64
	if bags > 0 {
		shuffleForBags(trainIdx, seed)
	}
	if bags > 0 && takesBags(det) {
		bagIDs, trainLabels, r.Bags, r.AnomalousBags = bagRows(ds.labels, trainIdx, bags)
	} else if weak(det) {
		rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
		var anomalies []int
		for i, row := range trainIdx {
			if ds.labels[row] == 1 {
				anomalies = append(anomalies, i)
			}
		}
		rng.Shuffle(len(anomalies), func(i, j int) { anomalies[i], anomalies[j] = anomalies[j], anomalies[i] })
		n := int(math.Ceil(labelledShare * float64(len(anomalies))))
		trainLabels = make([]float64, len(trainIdx))
		for i := range trainLabels {
			trainLabels[i] = math.NaN()
		}
		for _, i := range anomalies[:n] {
			trainLabels[i] = 1
		}
		r.Labelled = n
		if labelledShare != protocolLabelled {
			r.LabelledShare = labelledShare
		}
	}
	if det == baselineForest {
		return runForest(r, ds, trainIdx, testIdx)
	}
	var train arrow.RecordBatch
	features := make([]int, ds.x.Cols)
	for i := range features {
		features[i] = i
	}
	if ds.cats != nil {
		train = categoricalRecord(ds, trainIdx, trainLabels)
		features = varyingColumns(ds, trainIdx)
		r.Features = len(features)
	} else {
		train = record(ds.x, trainIdx, trainLabels)
	}
	var bagSet *detectors.Bags
	if bagIDs != nil {
		train = withBagColumn(train, bagIDs)
		var err error
		if bagSet, err = detectors.ReadBags([]arrow.RecordBatch{train}, int(train.NumCols())-1); err != nil {
			train.Release()
			r.Error = err.Error()
			return r
		}
	}
	defer train.Release()
	data := detectors.TrainingData{Batches: []arrow.RecordBatch{train}, Features: features, Label: -1, Bags: bagSet}
	if trainLabels != nil {
		data.Label = ds.x.Cols
	}
	opts := map[string]string{"seed": strconv.Itoa(seed)}
	for k, v := range extra {
		opts[k] = v
	}
	start := time.Now()
	m, err := detectors.Fit(context.Background(), det, opts, data)
	r.TrainSeconds = time.Since(start).Seconds()
	if err != nil {
		r.Error = err.Error()
		return r
	}
	testLabels := make([]float64, len(testIdx))
	for i, row := range testIdx {
		testLabels[i] = ds.labels[row]
	}
	var scores []float64
	if ds.cats != nil {
		test := categoricalRecord(ds, testIdx, nil)
		scores, err = m.ScoreBatch(test, features, nil)
		test.Release()
	} else {
		test := arrowio.Matrix{Rows: len(testIdx), Cols: ds.x.Cols, Data: make([]float64, len(testIdx)*ds.x.Cols)}
		for i, row := range testIdx {
			copy(test.Data[i*ds.x.Cols:(i+1)*ds.x.Cols], ds.x.Data[row*ds.x.Cols:(row+1)*ds.x.Cols])
		}
		scores, err = m.ScoreMatrix(test, nil)
	}
	if err != nil {
		r.Error = err.Error()
		return r
	}
	return measure(r, testLabels, scores)
}

// categoricalOnly are the detectors that refuse numeric features (ape
// takes string columns, numeric ones only bucketed by option): they are
// measured on the categorical tables only, and their README figure is
// their mean there.
var categoricalOnly = map[string]bool{"ape": true}

// baselineForest is the harness's isolation forest (iforest.go), run
// with -detectors iforest: on the features as they are, or one-hot for a
// categorical table.
const baselineForest = "iforest"

// runForest fills r with the isolation forest's accuracy on ds's split.
func runForest(r Result, ds *dataset, trainIdx, testIdx []int) Result {
	start := time.Now()
	var train, test []float64
	w := ds.x.Cols
	if ds.cats != nil {
		train, w = oneHot(ds, trainIdx, trainIdx)
		test, _ = oneHot(ds, trainIdx, testIdx)
	} else {
		pick := func(idx []int) []float64 {
			x := make([]float64, 0, len(idx)*w)
			for _, row := range idx {
				x = append(x, ds.x.Data[row*w:(row+1)*w]...)
			}
			return x
		}
		train, test = pick(trainIdx), pick(testIdx)
	}
	f := fitForest(train, len(trainIdx), w, uint64(r.Seed))
	r.TrainSeconds = time.Since(start).Seconds()
	scores := make([]float64, len(testIdx))
	labels := make([]float64, len(testIdx))
	for i, row := range testIdx {
		scores[i] = f.score(test[i*w : (i+1)*w])
		labels[i] = ds.labels[row]
	}
	return measure(r, labels, scores)
}

// measure sets r's AUC-ROC and AUC-PR of scores against labels.
func measure(r Result, testLabels, scores []float64) Result {
	var err error
	if r.AUCROC, err = detectors.AUC(testLabels, scores); err != nil {
		r.Error = err.Error()
		return r
	}
	if r.AUCPR, err = detectors.AveragePrecision(testLabels, scores); err != nil {
		r.Error = err.Error()
	}
	return r
}
