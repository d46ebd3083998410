package detectors

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gorgonia.org/gorgonia"
)

// withLabel returns rec with a label column appended: 1 on the rows whose
// merchant is "z" (the rare category of mixedRecord), 0 on the others.
func withLabel(t *testing.T, rec arrow.RecordBatch) arrow.RecordBatch {
	t.Helper()
	lb := array.NewFloat64Builder(memory.NewGoAllocator())
	defer lb.Release()
	for i := 0; i < int(rec.NumRows()); i++ {
		v, null := categoryValue(rec.Column(1), i)
		lb.Append(b2f(!null && v == "z"))
	}
	label := lb.NewArray()
	defer label.Release()
	fields := append(rec.Schema().Fields(), arrow.Field{Name: "label", Type: arrow.PrimitiveTypes.Float64})
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), append(rec.Columns(), label), rec.NumRows())
}

// fitEmbedded trains alg with categorical = 'embedding' on rec (features
// 0-3; the label column 4 for algorithms that use labels).
func fitEmbedded(t *testing.T, alg string, rec arrow.RecordBatch, o map[string]string) *Model {
	t.Helper()
	label := -1
	if use, err := UsesLabels(alg); err != nil {
		t.Fatal(err)
	} else if use != LabelsNone {
		label = 4
	}
	o["categorical"] = "embedding"
	m, err := Fit(context.Background(), alg, o, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1, 2, 3}, Label: label})
	if err != nil {
		t.Fatalf("%s: %v", alg, err)
	}
	return m
}

// savedAndLoaded returns m written with MarshalBinary and read back.
func savedAndLoaded(t *testing.T, m *Model) *Model {
	t.Helper()
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalModel(b)
	if err != nil {
		t.Fatalf("%s: %v", m.Algorithm, err)
	}
	return back
}

// TestEmbeddingConformance trains every algorithm that accepts it with
// categorical = 'embedding' on a table with a string column and checks
// the detector contract: rows score the same alone (ScoreRow, raw values)
// as in a batch of Arrow columns, bit for bit, including a value never
// seen in training; the model is saved and loaded with bit-identical
// scores; the merchant's table (input_embedding.1) is in the model,
// frozen; ape and deeplog, which model categories themselves, and sdor
// and mil_ranking, whose objectives only their own loops form, refuse
// the option (the other sequence detectors: TestEmbeddingSequence). Bugs caught:
// a scorer that embeds rows differently alone and in a batch (a chunk
// stride), the tables not saved or not found on load, an algorithm whose
// Finish drops them, the option accepted where it means nothing.
func TestEmbeddingConformance(t *testing.T) {
	rec := mixedRecord(t, 600, 1, []string{"acme", "bolt", "core"})
	defer rec.Release()
	train := withLabel(t, rec)
	defer train.Release()
	test := mixedRecord(t, 150, 2, []string{"acme", "bolt", "never-seen"})
	defer test.Release()
	for _, alg := range Algorithms() {
		o := conformanceOptsFor(alg)
		o["embedding_epochs"] = "2"
		if alg == "ape" || alg == "deeplog" || alg == "sdor" || alg == "mil_ranking" {
			o["categorical"] = "embedding"
			if err := ValidateOptions(alg, o); !errors.Is(err, ErrBadOption) {
				t.Errorf("%s accepts categorical = 'embedding': %v", alg, err)
			}
			continue
		}
		if IsSequence(alg) { // TestEmbeddingSequence
			continue
		}
		m := fitEmbedded(t, alg, train, o)
		if tb := m.state.Get(embeddingPrefix + "1"); tb == nil || tb.Trainable || tb.Rows != 7 {
			t.Fatalf("%s: merchant's table %+v", alg, tb)
		}
		batch, err := m.ScoreBatch(test, []int{0, 1, 2, 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rawRows(m, test) {
			s, err := m.ScoreRow(r)
			if err != nil {
				t.Fatal(err)
			}
			if math.Float64bits(s) != math.Float64bits(batch[i]) {
				t.Fatalf("%s: row %d scores %v alone, %v in a batch", alg, i, s, batch[i])
			}
		}
		back := savedAndLoaded(t, m)
		again, err := back.ScoreBatch(test, []int{0, 1, 2, 3}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch {
			if math.Float64bits(again[i]) != math.Float64bits(batch[i]) {
				t.Fatalf("%s: row %d scores %v after loading, %v before", alg, i, again[i], batch[i])
			}
		}
	}
}

// TestEmbeddingIsLearnedAndNormalized checks what the embedding promises
// on an autoencoder: the tables are trained by stage E (more epochs give
// other tables from the same seeded start), over the training rows the
// embedded values of the merchant have mean 0, variance 1 and no
// correlation (the whitening by the training frequencies), the embedded
// row is narrower than the one-hot row, and a value never seen in
// training scores exactly as the rarest training category ("z") does.
// Bugs caught: the tables left at their random start (a constant in the
// graph), frequencies not those of the training rows (uniform weights,
// or the positions shifted by one), dimensions scaled but not
// orthogonalized, an unseen value given its untrained random vector.
func TestEmbeddingIsLearnedAndNormalized(t *testing.T) {
	rec := mixedRecord(t, 2000, 5, []string{"acme", "bolt", "core", "dyne"})
	defer rec.Release()
	fit := func(epochs string) *Model {
		return fitEmbedded(t, "autoencoder", rec, map[string]string{"epochs": "2", "seed": "4", "hidden": "8,4", "embedding_epochs": epochs})
	}
	one, five := fit("1"), fit("5")
	a, b := one.state.Get(embeddingPrefix+"1").Data, five.state.Get(embeddingPrefix+"1").Data
	same := true
	for i := range a {
		same = same && a[i] == b[i]
	}
	if same {
		t.Fatal("the merchant's table is the same after 1 and 5 epochs of stage E: it is not trained")
	}

	m := five
	sc := m.scorer.(*embeddingScorer)
	if sc.e.width >= m.width() {
		t.Fatalf("embedded width %d, one-hot width %d", sc.e.width, m.width())
	}
	lo, w := sc.e.out[1], sc.e.dim[1]
	if w != 5 { // 6 kept values (4 names, NULL, "z"): round(1.6·7^0.56) = 5, at most 6 − 1
		t.Fatalf("merchant embedded in %d dimensions, want 5", w)
	}
	raw := rawRows(m, rec)
	full := make([]float64, m.width())
	emb := make([]float64, sc.e.width)
	sum, prod := make([]float64, w), make([]float64, w*w)
	for _, r := range raw {
		m.encode(r, full)
		m.scale.transformRow(full)
		sc.e.embedRow(sc.tab, full, emb)
		for c := 0; c < w; c++ {
			sum[c] += emb[lo+c]
			for d := 0; d < w; d++ {
				prod[c*w+d] += emb[lo+c] * emb[lo+d]
			}
		}
	}
	n := float64(len(raw))
	for c := 0; c < w; c++ {
		if mean := sum[c] / n; math.Abs(mean) > 1e-9 {
			t.Fatalf("embedded merchant value %d has mean %v over the training rows, want 0", c, mean)
		}
		for d := 0; d < w; d++ {
			cov := prod[c*w+d]/n - sum[c]*sum[d]/(n*n)
			if want := b2f(c == d); math.Abs(cov-want) > 1e-9 {
				t.Fatalf("embedded merchant values %d and %d have covariance %v over the training rows, want %v", c, d, cov, want)
			}
		}
	}

	row := append([]float64(nil), raw[0]...)
	row[1] = m.Encoding().Code(1, "z", false)
	rare, err := m.ScoreRow(row)
	if err != nil {
		t.Fatal(err)
	}
	row[1] = m.Encoding().Code(1, "never-seen", false)
	unseen, err := m.ScoreRow(row)
	if err != nil {
		t.Fatal(err)
	}
	if math.Float64bits(rare) != math.Float64bits(unseen) {
		t.Fatalf("an unseen merchant scores %v, the rarest training merchant %v", unseen, rare)
	}
	row[1] = m.Encoding().Code(1, "acme", false)
	if common, _ := m.ScoreRow(row); common == rare {
		t.Fatalf("the commonest and the rarest merchant score alike (%v)", common)
	}
}

// TestEmbeddingExplainAndDescribe: explanations of a model with
// embeddings speak in the user's columns (one contribution per feature,
// summing to 1, with the score of ScoreRow), and DESCRIBE DETECTOR's line
// of an embedded column names its width. Bugs caught: attributions of the
// embedded values given to the wrong feature (the explanation's length or
// sum off), the one-hot description shown for an embedded column.
func TestEmbeddingExplainAndDescribe(t *testing.T) {
	rec := mixedRecord(t, 600, 1, []string{"acme", "bolt", "core"})
	defer rec.Release()
	for _, alg := range []string{"autoencoder", "deep_svdd"} {
		m := fitEmbedded(t, alg, rec, map[string]string{"epochs": "2", "seed": "4", "hidden": "8,4", "embedding_dim": "3"})
		for _, r := range rawRows(m, rec)[:20] {
			ex, err := m.Explain(r)
			if err != nil {
				t.Fatal(err)
			}
			s, _ := m.ScoreRow(r)
			total := 0.0
			for _, f := range ex.Features {
				total += f.Contribution
			}
			if len(ex.Features) != 4 || math.Abs(total-1) > 1e-9 || ex.Score != s {
				t.Fatalf("%s: explanation %+v (score %v)", alg, ex, s)
			}
			// Each feature's share of the magnitudes of the attributions
			// of its embedded values.
			sc := m.scorer.(*embeddingScorer)
			z := make([]float64, m.width())
			m.encode(r, z)
			m.scale.transformRow(z)
			emb, attr := make([]float64, sc.e.width), make([]float64, sc.e.width)
			sc.e.embedRow(sc.tab, z, emb)
			ie := sc.explainer()
			ie.Attribute(emb, attr, make([]float64, ie.ExplainScratchLen()))
			want, all := make([]float64, 4), 0.0
			for j := range want {
				for _, a := range attr[sc.e.out[j] : sc.e.out[j]+sc.e.dim[j]] {
					want[j] += math.Abs(a)
				}
				all += want[j]
			}
			for _, f := range ex.Features {
				if math.Abs(f.Contribution-want[f.Index]/all) > 1e-9 {
					t.Fatalf("%s: %s contributes %v, its embedded values' share is %v", alg, f.Name, f.Contribution, want[f.Index]/all)
				}
			}
		}
		if d := m.DescribeEncoding(1); d != "embedding (3 dimensions): 5 values + other + unseen ('core', 'bolt', 'acme', NULL, 'z')" {
			t.Fatalf("%s: merchant described as %q", alg, d)
		}
		if d := m.DescribeEncoding(0); d != "numeric" {
			t.Fatalf("%s: amount described as %q", alg, d)
		}
	}
}

// TestWhitenedGraphMatchesScoring: the whitening stage E trains through
// (the graph, compiled as training compiles it) computes the table the
// scorer uses (normalizedTable), so the embedding trained is the one
// scored with. Bugs caught: the graph and the plain-Go arithmetic
// drifting apart (classical against modified Gram–Schmidt, a missing
// centring, unweighted inner products in one of them).
func TestWhitenedGraphMatchesScoring(t *testing.T) {
	const k, w = 7, 4
	rng := rand.New(rand.NewPCG(3, 9))
	table, p := make([]float64, k*w), make([]float64, k)
	for i := range table {
		table[i] = rng.NormFloat64()
	}
	total := 0.0
	for i := range p {
		p[i] = rng.Float64() + 0.01
		total += p[i]
	}
	for i := range p {
		p[i] /= total
	}
	g := gorgonia.NewGraph()
	out, err := whitened(g, "t", matrixNode(g, "table", k, w, table), matrixNode(g, "p", 1, k, p), k, w)
	if err != nil {
		t.Fatal(err)
	}
	prog, err := compileProgram(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := prog.run(); err != nil {
		t.Fatal(err)
	}
	got, want := prog.value(out), normalizedTable(table, p, k, w)
	for i := range want {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Fatalf("element %d: graph %v, scorer %v", i, got[i], want[i])
		}
	}
}

// TestEmbeddingSequence trains the forecasters with categorical =
// 'embedding' on ordered rows with a number and a string column (two
// partitions) and checks: each step of a window row embeds as its row
// does alone, the pad steps before a partition's start as zeros with
// their flag; the partitions score the same from Arrow columns as from
// raw rows, bit for bit; a saved model scores bit-identically after
// loading. Bugs caught: window steps embedded at the wrong offsets (a
// step's pad flag counted in the next step), a pad step embedded as the
// first category, a table per step instead of one per column (the
// model cannot be loaded), the windowed layout lost on load.
func TestEmbeddingSequence(t *testing.T) {
	const n = 300
	r := rand.New(rand.NewPCG(8, 1))
	fb, sb := array.NewFloat64Builder(memory.NewGoAllocator()), array.NewStringBuilder(memory.NewGoAllocator())
	for i := 0; i < n; i++ {
		fb.Append(math.Sin(float64(i)/5) + 0.1*r.NormFloat64())
		switch {
		case i%97 == 50:
			sb.Append("fault")
		default:
			sb.Append([]string{"idle", "busy", "peak"}[i%3])
		}
	}
	fa, sa := fb.NewArray(), sb.NewArray()
	fb.Release()
	sb.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "v", Type: fa.DataType()}, {Name: "state", Type: sa.DataType()}}, nil), []arrow.Array{fa, sa}, n)
	fa.Release()
	sa.Release()
	defer rec.Release()
	starts := []int{0, 120}
	for _, alg := range []string{"lstm_forecast", "gru_forecast"} {
		o := map[string]string{"window": "4", "hidden": "8", "epochs": "2", "seed": "2", "categorical": "embedding", "embedding_epochs": "2"}
		m, err := FitSequence(context.Background(), alg, o, SequenceData{
			TrainingData: TrainingData{Batches: []arrow.RecordBatch{rec}, Features: []int{0, 1}, Label: -1}, Starts: starts})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if tb := m.state.Get(embeddingPrefix + "1"); tb == nil || tb.Trainable {
			t.Fatalf("%s: state's table %+v", alg, tb)
		}
		sc := m.scorer.(*embeddingScorer)
		base := newInputEmbedding(m.enc, m.opts)
		btab, err := base.tables(m.state)
		if err != nil {
			t.Fatal(err)
		}
		raw, z := standardizedRows(t, m, rec, []int{0, 1})
		w := m.width()
		span := m.alg.(SequenceAlgorithm).Span(m.opts)
		win := make([]float64, sc.e.full)
		emb := make([]float64, sc.e.width)
		one := make([]float64, base.width)
		for _, i := range []int{0, 2, 130} { // partition 0 (two pad steps, none) and 1
			lo := starts[0]
			if i >= starts[1] {
				lo = starts[1]
			}
			windowRow(z[lo*w:], w, i-lo, span, win)
			sc.e.embedRow(sc.tab, win, emb)
			for s := 0; s <= span; s++ {
				got := emb[s*(base.width+1) : (s+1)*(base.width+1)]
				row := i - span + s
				if row < lo { // a pad step
					for c, v := range got {
						if want := b2f(c == base.width); v != want {
							t.Fatalf("%s: window of row %d, pad step %d, value %d is %v, want %v", alg, i, s, c, v, want)
						}
					}
					continue
				}
				base.embedRow(btab, z[row*w:(row+1)*w], one)
				for c, v := range one {
					if got[c] != v {
						t.Fatalf("%s: window of row %d, step %d (row %d), value %d is %v, %v alone", alg, i, s, row, c, got[c], v)
					}
				}
				if got[base.width] != 0 {
					t.Fatalf("%s: window of row %d, step %d has pad flag %v", alg, i, s, got[base.width])
				}
			}
		}
		batch, err := m.ScoreSequenceBatch(rec, []int{0, 1}, starts, nil)
		if err != nil {
			t.Fatal(err)
		}
		for p, lo := range starts {
			hi := n
			if p+1 < len(starts) {
				hi = starts[p+1]
			}
			alone, err := m.ScoreSequence(raw[2*lo:2*hi], 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			if i, ok := sameBits(alone, batch[lo:hi]); !ok {
				t.Fatalf("%s: partition %d row %d scores %v from raw rows, %v from Arrow", alg, p, i, alone[i], batch[lo+i])
			}
		}
		back := savedAndLoaded(t, m)
		again, err := back.ScoreSequenceBatch(rec, []int{0, 1}, starts, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := sameBits(again, batch); !ok {
			t.Fatalf("%s: row %d scores %v after loading, %v before", alg, i, again[i], batch[i])
		}
	}
}

// sampledAE is the autoencoder with a mini-batch sampler that records
// the width of the rows it is given.
type sampledAE struct {
	Algorithm
	widths *[]int
}

func (s sampledAE) NewBatches(st *State, x arrowio.Matrix, labels []float64, o Options, rng *rand.Rand) (Batches, error) {
	*s.widths = append(*s.widths, x.Cols)
	n := x.Rows
	return Batches{Rows: 8, Steps: 3, Draw: func(idx []int, rng *rand.Rand) {
		for k := range idx {
			idx[k] = rng.IntN(n)
		}
	}}, nil
}

// TestEmbeddingStageUsesTheSampler: stage E trains an algorithm that
// samples its own mini-batches (prenet's pairs, devnet's balanced
// batches) on those mini-batches, its sampler given the embedded rows,
// as its own training does. Bug caught: stage E on plain shuffled rows,
// which for prenet are not pairs at all.
func TestEmbeddingStageUsesTheSampler(t *testing.T) {
	ae, _, err := lookup("autoencoder")
	if err != nil {
		t.Fatal(err)
	}
	var widths []int
	Register("test_sampled", sampledAE{ae, &widths})
	t.Cleanup(func() { // the registry's other tests list every algorithm
		registryMu.Lock()
		delete(registry, "test_sampled")
		registryMu.Unlock()
	})
	rec := mixedRecord(t, 300, 1, []string{"acme", "bolt", "core"})
	defer rec.Release()
	m := fitEmbedded(t, "test_sampled", rec, map[string]string{"epochs": "1", "hidden": "4", "embedding_epochs": "1"})
	w := m.scorer.(*embeddingScorer).e.width
	if len(widths) != 2 || widths[0] != w || widths[1] != w {
		t.Fatalf("the sampler was given rows of widths %v, want %d for stage E and %d for the training", widths, w, w)
	}
}

// TestEmbeddingCosts: categorical = 'embedding' changes nothing for a
// detector without string features (the same scores, bit for bit), and
// with one it trains embedding_epochs epochs more, logged and planned
// (README's claims). Bugs caught: the embedding stage run, or the rows
// re-standardized, where there is no categorical column; its epochs
// missing from the training log or from its plan.
func TestEmbeddingCosts(t *testing.T) {
	rec := mixedRecord(t, 400, 3, []string{"acme", "bolt"})
	defer rec.Release()
	fit := func(features []int, more ...string) *Model {
		o := opts(append([]string{"epochs", "3", "seed", "4", "hidden", "8,4"}, more...)...)
		m, err := Fit(context.Background(), "autoencoder", o, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: features, Label: -1})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	numeric := []int{0, 2, 3}
	plain, embedded := fit(numeric), fit(numeric, "categorical", "embedding")
	a, err := plain.ScoreBatch(rec, numeric, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := embedded.ScoreBatch(rec, numeric, nil)
	if err != nil {
		t.Fatal(err)
	}
	if i, ok := sameBits(a, b); !ok {
		t.Fatalf("without string features, row %d scores %v with categorical = 'embedding', %v without", i, b[i], a[i])
	}
	m := fit([]int{0, 1, 2, 3}, "categorical", "embedding", "embedding_epochs", "4")
	if l := m.TrainingLog; l.PlannedEpochs != 7 || l.EpochsRun != 7 {
		t.Fatalf("training log: %d epochs planned, %d run; want 3 + 4 of the embedding stage", l.PlannedEpochs, l.EpochsRun)
	}
}
