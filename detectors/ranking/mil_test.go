package ranking

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/anomalydb/anomalydb/detectors"
	_ "github.com/anomalydb/anomalydb/detectors/autoencoders" // the unsupervised baseline
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestMILRankingOptions(t *testing.T) {
	CheckOptionCases(t, "mil_ranking", []OptionCase{
		{Opts: Opts("batch_size", "4", "segments", "8", "steps", "3", "smoothness", "0", "sparsity", "0", "dropout", "0", "hidden", "16"), Want: nil},
		{Opts: Opts("hidden", ""), Want: detectors.ErrBadOption},
		{Opts: Opts("batch_size", "7"), Want: detectors.ErrBadOption}, // not pairs of bags
		{Opts: Opts("batch_size", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("segments", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("dropout", "1"), Want: detectors.ErrBadOption},
		{Opts: Opts("smoothness", "-1"), Want: detectors.ErrBadOption},
		{Opts: Opts("validation", "0.2"), Want: detectors.ErrBadOption},
		{Opts: Opts("ensemble_size", "3"), Want: detectors.ErrUnknownOption}, // prenet's
	})
	if u, err := detectors.UsesLabels("mil_ranking"); err != nil || u != detectors.LabelsRequired {
		t.Errorf("UsesLabels(mil_ranking) = %v, %v", u, err)
	}
	if b, err := detectors.UsesBags("mil_ranking"); err != nil || !b {
		t.Errorf("UsesBags(mil_ranking) = %v, %v", b, err)
	}
	if b, err := detectors.UsesBags("prenet"); err != nil || b {
		t.Errorf("UsesBags(prenet) = %v, %v", b, err)
	}
}

// TestMILBagDraws checks a mini-batch's layout: batch_size/2 distinct
// anomalous bags then as many distinct normal ones, each as segments
// instances that stay in the bag's order and cover its segments (a bag of
// 10 rows seen as 4 instances: one row of each of rows 0-1, 2-4, 5-6,
// 7-9), and a bag shorter than segments stretched over them. It catches
// the halves swapped, a bag drawn twice in a mini-batch, instances out of
// order or from another bag.
func TestMILBagDraws(t *testing.T) {
	// Bags 0-2 anomalous (rows 0-29), 3-5 normal (rows 30-59); bag 5 has
	// 2 rows.
	bags := &detectors.BagSet{}
	row := 0
	for k := range 6 {
		n := 10
		if k == 5 {
			n = 2
		}
		var rows []int
		for range n {
			rows = append(rows, row)
			row++
		}
		bags.Rows = append(bags.Rows, rows)
		bags.Anomalous = append(bags.Anomalous, k < 3)
	}
	g := &milGraph{segments: 4, bags: bags.Rows, anomalous: []int{0, 1, 2}, normal: []int{3, 4, 5}}
	o := NormalizedOptions(t, "mil_ranking", Opts("batch_size", "4", "steps", "2"))
	b, err := g.NewBatches(nil, arrowio.Matrix{}, nil, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b.Rows != 16 || b.Steps != 2 {
		t.Fatalf("%d rows × %d steps, want 16 × 2", b.Rows, b.Steps)
	}
	bagOf := func(r int) int {
		for k, rows := range bags.Rows {
			if r >= rows[0] && r <= rows[len(rows)-1] {
				return k
			}
		}
		return -1
	}
	idx := make([]int, b.Rows)
	rng := rand.New(rand.NewPCG(1, 2))
	stretched := false
	for range 50 {
		b.Draw(idx, rng)
		seen := map[int]bool{}
		for k := range 4 {
			inst := idx[k*4 : (k+1)*4]
			bag := bagOf(inst[0])
			if seen[bag] || (k < 2) != bags.Anomalous[bag] {
				t.Fatalf("mini-batch bag %d is bag %d (anomalous %v), bags so far %v", k, bag, bags.Anomalous[bag], seen)
			}
			seen[bag] = true
			rows := bags.Rows[bag]
			for j, r := range inst {
				if bagOf(r) != bag {
					t.Fatalf("instances %v mix bags", inst)
				}
				n := len(rows)
				lo, hi := j*n/4, max((j+1)*n/4, j*n/4+1)
				if pos := r - rows[0]; pos < lo || pos >= hi {
					t.Fatalf("bag %d instance %d is its row %d, want one of rows %d-%d", bag, j, pos, lo, hi-1)
				}
			}
			if bag == 5 {
				stretched = true
			}
		}
	}
	if !stretched {
		t.Fatal("the short normal bag was never drawn")
	}
}

// bagTable is the evaluation protocol's bags over tb's rows: the rows
// shuffled with seed and cut into bags of size consecutive rows, a bag
// anomalous iff it holds an anomaly. It returns the rows in bag order,
// each row's bag, and each row's bag label.
func bagTable(tb *Table, size int, seed uint64) (*Table, []int64, []float64) {
	perm := rand.New(rand.NewPCG(seed, 3)).Perm(tb.Rows)
	out := tb.Subset(perm)
	ids := make([]int64, out.Rows)
	labels := make([]float64, out.Rows)
	for lo := 0; lo < out.Rows; lo += size {
		hi := min(lo+size, out.Rows)
		y := 0.0
		for i := lo; i < hi; i++ {
			y = max(y, out.Labels[i])
		}
		for i := lo; i < hi; i++ {
			ids[i], labels[i] = int64(lo/size), y
		}
	}
	return out, ids, labels
}

// bagsOf reads bag ids through a BagReader, from an Int64 column.
func bagsOf(t *testing.T, ids []int64) *detectors.Bags {
	t.Helper()
	mem := CheckedMem(t)
	b := array.NewInt64Builder(mem)
	b.AppendValues(ids, nil)
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "bag", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, int64(len(ids)))
	col.Release()
	defer rec.Release()
	bags, err := detectors.ReadBags([]arrow.RecordBatch{rec}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return bags
}

// fitBags trains alg on tb with the bag ids and row labels given.
func fitBags(alg string, tb *Table, o map[string]string, ids []int64, labels []float64, t *testing.T) (*detectors.Model, error) {
	t.Helper()
	bs := tb.LabelledBatches(memory.DefaultAllocator, 1000, labels)
	defer ReleaseAll(bs)
	data := detectors.TrainingData{Batches: bs, Features: tb.Features(), Label: -1}
	if labels != nil {
		data.Label = tb.Cols
	}
	if ids != nil {
		data.Bags = bagsOf(t, ids)
	}
	return detectors.Fit(context.Background(), alg, o, data)
}

// milBagsAUC runs the evaluation protocol (milRanking's doc comment) on
// tb: bags of 16 of the stratified 70 % (seed 42) for training,
// row-level AUC-ROC on the 30 %; with alg "autoencoder" the same rows
// without labels or bags.
func milBagsAUC(t *testing.T, alg string, tb *Table, o map[string]string) float64 {
	t.Helper()
	trainIdx, testIdx := detectors.StratifiedSplit(tb.Labels, 0.7, 42)
	train, ids, labels := bagTable(tb.Subset(trainIdx), 16, 42)
	test := tb.Subset(testIdx)
	if alg != "mil_ranking" {
		ids, labels = nil, nil
	}
	m, err := fitBags(alg, train, o, ids, labels, t)
	if err != nil {
		t.Fatal(err)
	}
	auc, err := detectors.AUC(test.Labels, RowScores(t, m, test))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s %v: AUC %.4f (%.2fs)", alg, o, auc, m.TrainSeconds)
	return auc
}

// TestMILRankingBags is the quick version of the evaluation protocol on
// thyroid: mil_ranking trained on bags of 16 rows with bag labels only
// must rank the held-out rows better than an autoencoder of the same
// widths trained on the same rows, and well. It fails if the ranking
// term of the loss is dropped (the penalties alone push every score
// down and teach nothing about anomalies), if the hinge's bags are
// swapped (the ranking is inverted), or if the bags' labels are ignored.
func TestMILRankingBags(t *testing.T) {
	tb := ReadTable(t, "thyroid")
	o := Opts("epochs", "20", "seed", "1")
	mil := milBagsAUC(t, "mil_ranking", tb, o)
	ae := milBagsAUC(t, "autoencoder", tb, Opts("epochs", "20", "seed", "1", "hidden", "64,32"))
	if mil < 0.9 || mil < ae+0.05 {
		t.Fatalf("mil_ranking AUC %.4f, autoencoder %.4f: want at least 0.9 and 0.05 above", mil, ae)
	}
}

// TestMILRankingBagErrors: bags a MIL detector cannot train on are
// refused with ErrBadBag (or ErrNoLabelledAnomaly): a NULL label, two
// labels in one bag, no normal bag, no anomalous bag, a query larger than
// max_train_rows; and bags given to an algorithm that does not use them
// are ErrBadOption. It catches any of these checks left out.
func TestMILRankingBagErrors(t *testing.T) {
	tb := Synthetic(64, 3, 1)
	ids := make([]int64, tb.Rows)
	labels := make([]float64, tb.Rows)
	for i := range ids {
		ids[i] = int64(i / 8)
		labels[i] = float64(ids[i] % 2)
	}
	o := Opts("epochs", "1", "steps", "2", "batch_size", "4")
	with := func(f func(l []float64)) []float64 {
		l := append([]float64(nil), labels...)
		f(l)
		return l
	}
	for _, c := range []struct {
		name   string
		alg    string
		o      map[string]string
		labels []float64
		want   error
	}{
		{"good", "mil_ranking", o, labels, nil},
		{"NULL label", "mil_ranking", o, with(func(l []float64) { l[9] = math.NaN() }), detectors.ErrBadBag},
		{"mixed bag", "mil_ranking", o, with(func(l []float64) { l[10] = 0 }), detectors.ErrBadBag},
		{"no normal bag", "mil_ranking", o, with(func(l []float64) {
			clear(l)
			for i := range l {
				l[i] = 1
			}
		}), detectors.ErrBadBag},
		{"no anomalous bag", "mil_ranking", o, with(func(l []float64) { clear(l) }), detectors.ErrNoLabelledAnomaly},
		{"sampled", "mil_ranking", Opts("epochs", "1", "max_train_rows", "63"), labels, detectors.ErrBadBag},
		{"not a bag user", "prenet", Opts("epochs", "1"), labels, detectors.ErrBadOption},
	} {
		_, err := fitBags(c.alg, tb, c.o, ids, c.labels, t)
		if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
		// Sampling would also make the bags' labels disagree: the error
		// must name the cause.
		if c.name == "sampled" && (err == nil || !strings.Contains(err.Error(), "max_train_rows")) {
			t.Errorf("%s: %v does not say max_train_rows", c.name, err)
		}
	}
	// A NULL bag.
	mem := CheckedMem(t)
	b := array.NewInt64Builder(mem)
	b.AppendValues([]int64{1, 2}, nil)
	b.AppendNull()
	col := b.NewArray()
	b.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "bag", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil), []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	if _, err := detectors.ReadBags([]arrow.RecordBatch{rec}, 0); !errors.Is(err, detectors.ErrBadBag) {
		t.Errorf("NULL bag: %v, want ErrBadBag", err)
	}
}
