package detectors

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/anomalydb/anomalydb/arrowio"
	"gorgonia.org/gorgonia"
)

// Learned embeddings of categorical columns (categorical = 'embedding',
// issue 12, part 1).
//
// With the option, a categorical column is not given to the algorithm as
// its one-hot positions but as a learned vector of embedding_dim values
// per category, trained with the detector's own loss:
//
//   - Stage E. Before the algorithm's own training, one run of the
//     training template (embedding_epochs epochs, no validation) trains
//     the embedding tables together
//     with the algorithm's network on the algorithm's objective: its
//     pretraining objective if it pretrains (Deep SVDD's autoencoder,
//     say), else its Graph (for an adversarial algorithm the objective
//     its validation watches) on its own mini-batches if it samples them
//     (samplingStage), after Prepare on rows embedded with the initial
//     tables if it has one; else on shuffled mini-batches. The input of
//     that graph is the row with the raw one-hot positions; the graph
//     multiplies each column's one-hot block by its whitened table.
//   - Then the tables are frozen (no longer Trainable) and the training
//     rows are embedded once; everything after (pretraining, Prepare, the
//     algorithm's training, Finish, the threshold) runs on embedded rows,
//     the network continuing from stage E's weights. Scoring embeds a row
//     the same way before the algorithm's Scorer (embeddingScorer).
//
// A learned input can collapse: a reconstruction or distance loss is
// smallest when every category has the same vector, or when the vectors
// lie on one line (an autoencoder's embedding of chess_krkopt's files,
// only scaled per dimension, kept one direction: singular values 2.0,
// 0.14, 0.004, 0). So a table E is used whitened under the training
// frequencies p of its rows: Ẽ's columns are those of E − μ (μ the
// p-weighted mean row) made orthonormal in the p-weighted inner product
// ⟨a, b⟩ = Σ_k p_k a_k b_k, by Gram–Schmidt in column order. Over the
// training rows the embedded values of a column then have mean 0,
// variance 1 and no correlation with each other, like standardized
// independent columns, whatever the loss does to E: the loss chooses
// the directions, not their scale or rank. That needs at most n − 1
// dimensions for n trained positions (the centred rows span no more), so
// embedding_dim is capped at the kept values less one (at least 1). (The
// one-hot positions of such a column are not standardized: the scaler
// keeps them as 0 and 1.)
//
// A position with no training row (unseen, and other when every training
// value was kept) gets no gradient; a value that falls in it embeds as
// the training category of lowest frequency (the first such in position
// order), the one the detector learned as least typical.

// embeddingPrefix begins the names of the state tensors of the embedding
// tables: input_embedding.<feature>, and input_embedding.<feature>.freq
// for the training frequencies of its positions.
const embeddingPrefix = "input_embedding."

// embeddingEps keeps the whitening finite for a table whose columns are
// linearly dependent.
const embeddingEps = 1e-12

// inputEmbedding is the layout of the embedded rows of a model with
// categorical = 'embedding': each user column's span of the full
// (one-hot) row and of the embedded row.
//
// A sequence detector's rows are windows of steps (sequence.go), each
// step a row's encoded values and a pad flag: its layout (windowed) has
// the spans of every step, a step's categorical spans sharing their
// column's table.
type inputEmbedding struct {
	full, width int
	step        int          // the embedded width of one row: the algorithm's d
	spans       []ColumnSpan // of the full row, one per user column (and step)
	out         []int        // embedded position of each span's first value
	dim         []int        // embedded width of each span
	names       []string     // table tensor of each categorical span, else ""
}

// embeddingWidth is the embedding width of a categorical column of kept
// training values: embedding_dim opt if given, else round(1.6·n^0.56)
// for the n = kept + 1 positions that may have training rows (the rule of
// thumb of fastai's tabular models), at most kept − 1 (see the comment at
// the top) and at least 1.
func embeddingWidth(kept, opt int) int {
	w := opt
	if w <= 0 {
		w = int(math.Round(1.6 * math.Pow(float64(kept+1), 0.56)))
	}
	return max(1, min(w, kept-1))
}

// newInputEmbedding returns the embedding layout of a model with options
// o over encoding enc, or nil when o does not ask for embeddings or no
// column is categorical.
func newInputEmbedding(enc *Encoding, o Options) *inputEmbedding {
	if enc == nil || o.get("categorical") != "embedding" {
		return nil
	}
	spans := columnSpans(enc, enc.Width())
	e := &inputEmbedding{full: enc.Width(), spans: spans}
	any := false
	for j, s := range spans {
		e.out = append(e.out, e.width)
		d, name := s.Hi-s.Lo, ""
		if s.Kind == KindCategorical {
			any = true
			d = embeddingWidth(s.Hi-s.Lo-2, o.Int("embedding_dim"))
			name = embeddingPrefix + strconv.Itoa(j)
		}
		e.dim = append(e.dim, d)
		e.names = append(e.names, name)
		e.width += d
	}
	if !any {
		return nil
	}
	e.step = e.width
	return e
}

// windowed returns the layout of window rows of steps steps of e's rows,
// each followed by its pad flag (sequence.go's windowRow).
func (e *inputEmbedding) windowed(steps int) *inputEmbedding {
	wd := &inputEmbedding{full: steps * (e.full + 1), width: steps * (e.width + 1), step: e.width}
	for s := 0; s < steps; s++ {
		in, out := s*(e.full+1), s*(e.width+1)
		for j, sp := range e.spans {
			wd.spans = append(wd.spans, ColumnSpan{Kind: sp.Kind, Lo: in + sp.Lo, Hi: in + sp.Hi})
			wd.out = append(wd.out, out+e.out[j])
			wd.dim = append(wd.dim, e.dim[j])
			wd.names = append(wd.names, e.names[j])
		}
		wd.spans = append(wd.spans, ColumnSpan{Kind: KindNumeric, Lo: in + e.full, Hi: in + e.full + 1}) // the pad flag
		wd.out = append(wd.out, out+e.width)
		wd.dim = append(wd.dim, 1)
		wd.names = append(wd.names, "")
	}
	return wd
}

// takeFrequencies moves the statistics of the categorical positions out
// of sc, the scaler of e's rows (not windows): it returns each table's
// training frequencies (the one-hot means), by name, and sets those
// positions to mean 0, scale 1, so that the rows the graph of stage E
// and the scorer see hold raw one-hot values.
func (e *inputEmbedding) takeFrequencies(sc scaler) map[string][]float64 {
	freq := map[string][]float64{}
	for j, s := range e.spans {
		if e.names[j] == "" {
			continue
		}
		freq[e.names[j]] = append([]float64(nil), sc.mean[s.Lo:s.Hi]...)
		for k := s.Lo; k < s.Hi; k++ {
			sc.mean[k], sc.std[k] = 0, 1
		}
	}
	return freq
}

// addTables adds the tables to st, trainable, drawn from N(0, 1) with rng,
// and the frequencies freq (from takeFrequencies) beside them.
func (e *inputEmbedding) addTables(st *State, freq map[string][]float64, rng *rand.Rand) {
	for j, s := range e.spans {
		if e.names[j] == "" || st.Get(e.names[j]) != nil {
			continue
		}
		t := st.Add(e.names[j], s.Hi-s.Lo, e.dim[j], true)
		for i := range t.Data {
			t.Data[i] = rng.NormFloat64()
		}
		copy(st.Add(e.names[j]+".freq", 1, s.Hi-s.Lo, false).Data, freq[e.names[j]])
	}
}

// tables returns each categorical span's normalized table (nil for the
// other spans) from st, rows of positions without training rows replaced
// by the least frequent trained position's. A missing tensor or one of
// the wrong shape wraps ErrBadModel.
func (e *inputEmbedding) tables(st *State) ([][]float64, error) {
	out := make([][]float64, len(e.spans))
	done := map[string][]float64{}
	for j, s := range e.spans {
		if e.names[j] == "" {
			continue
		}
		if t, ok := done[e.names[j]]; ok {
			out[j] = t
			continue
		}
		k, w := s.Hi-s.Lo, e.dim[j]
		t, f := st.Get(e.names[j]), st.Get(e.names[j]+".freq")
		if t == nil || f == nil || t.Rows != k || t.Cols != w || f.Rows != 1 || f.Cols != k {
			return nil, fmt.Errorf("%w: embedding table of feature %d missing or not %d×%d", ErrBadModel, j, k, w)
		}
		out[j] = normalizedTable(t.Data, f.Data, k, w)
		done[e.names[j]] = out[j]
	}
	return out, nil
}

// normalizedTable returns Ẽ, the whitened k × w table E under the
// frequencies p of its rows (see the comment at the top; the arithmetic
// of graph's), with the rows of positions of frequency 0 replaced by the
// row of the least frequent position above 0.
func normalizedTable(table, p []float64, k, w int) []float64 {
	out := make([]float64, k*w)
	rare := -1
	for i, q := range p {
		if q > 0 && (rare < 0 || q < p[rare]) {
			rare = i
		}
	}
	dot := func(a, b int) float64 { // ⟨column a, column b⟩ of out
		s := 0.0
		for i := 0; i < k; i++ {
			s += p[i] * out[i*w+a] * out[i*w+b]
		}
		return s
	}
	for c := 0; c < w; c++ {
		mu := 0.0
		for i := 0; i < k; i++ {
			mu += p[i] * table[i*w+c]
		}
		for i := 0; i < k; i++ {
			out[i*w+c] = table[i*w+c] - mu
		}
		for b := 0; b < c; b++ { // modified Gram–Schmidt
			d := dot(c, b)
			for i := 0; i < k; i++ {
				out[i*w+c] -= out[i*w+b] * d
			}
		}
		n := math.Sqrt(dot(c, c) + embeddingEps)
		for i := 0; i < k; i++ {
			out[i*w+c] /= n
		}
	}
	if rare >= 0 {
		for i, q := range p {
			if q <= 0 {
				copy(out[i*w:(i+1)*w], out[rare*w:(rare+1)*w])
			}
		}
	}
	return out
}

// embedRow writes the embedded row of the full row x (standardized
// numeric positions, raw one-hot positions) to dst, with the normalized
// tables tab. A categorical span with no position set (a window's pad
// step) embeds as zeros, as x·M does in the graph.
func (e *inputEmbedding) embedRow(tab [][]float64, x, dst []float64) {
	for j, s := range e.spans {
		o := e.out[j]
		if tab[j] == nil {
			copy(dst[o:o+s.Hi-s.Lo], x[s.Lo:s.Hi])
			continue
		}
		w, hot := e.dim[j], -1
		for k := s.Lo; k < s.Hi; k++ {
			if x[k] > 0.5 {
				hot = k - s.Lo
				break
			}
		}
		if hot < 0 {
			clear(dst[o : o+w])
			continue
		}
		copy(dst[o:o+w], tab[j][hot*w:(hot+1)*w])
	}
}

// embedMatrix returns the embedded rows of x with st's tables.
func (e *inputEmbedding) embedMatrix(st *State, x arrowio.Matrix) (arrowio.Matrix, error) {
	tab, err := e.tables(st)
	if err != nil {
		return arrowio.Matrix{}, err
	}
	out := arrowio.Matrix{Rows: x.Rows, Cols: e.width, Data: make([]float64, x.Rows*e.width)}
	for i := 0; i < x.Rows; i++ {
		e.embedRow(tab, x.Data[i*e.full:(i+1)*e.full], out.Data[i*e.width:(i+1)*e.width])
	}
	return out, nil
}

// graph returns the embedded mini-batch of b's full rows x: x·M, where
// the full × width matrix M places each numeric position in its embedded
// column and each categorical column's normalized table in its rows and
// columns, so that a row's embedded values are its numeric values and
// the table rows of its categories.
func (e *inputEmbedding) graph(b *Graph, x *gorgonia.Node) (*gorgonia.Node, error) {
	g := b.G
	place := make([]float64, e.full*e.width) // the numeric positions
	for j, s := range e.spans {
		if e.names[j] == "" {
			for k := s.Lo; k < s.Hi; k++ {
				place[k*e.width+e.out[j]+k-s.Lo] = 1
			}
		}
	}
	m := matrixNode(g, "embed_numeric", e.full, e.width, place)
	tables := map[string]*gorgonia.Node{} // whitened, once per column
	for j, s := range e.spans {
		if e.names[j] == "" {
			continue
		}
		k, w := s.Hi-s.Lo, e.dim[j]
		norm := tables[e.names[j]]
		if norm == nil {
			var err error
			if norm, err = whitened(g, e.names[j], b.Param(e.names[j]), b.Param(e.names[j]+".freq"), k, w); err != nil {
				return nil, err
			}
			tables[e.names[j]] = norm
		}
		// rows: full × k, 1 where full position s.Lo+i is table row i;
		// cols: w × width, 1 where table column c is embedded column out+c.
		rows := make([]float64, e.full*k)
		for i := 0; i < k; i++ {
			rows[(s.Lo+i)*k+i] = 1
		}
		cols := make([]float64, w*e.width)
		for c := 0; c < w; c++ {
			cols[c*e.width+e.out[j]+c] = 1
		}
		block, err := MatMul(gorgonia.Must(MatMul(matrixNode(g, fmt.Sprintf("%s.rows%d", e.names[j], j), e.full, k, rows), norm)),
			matrixNode(g, fmt.Sprintf("%s.cols%d", e.names[j], j), w, e.width, cols))
		if err != nil {
			return nil, err
		}
		if m, err = gorgonia.Add(m, block); err != nil {
			return nil, err
		}
	}
	return MatMul(x, m)
}

// whitened is normalizedTable's Ẽ (without the replaced rows) of the
// k × w table node tab and the 1 × k frequencies p, as graph nodes named
// after name: column by column, the centred column less its p-weighted
// projections on the columns before it, divided by its p-weighted norm.
func whitened(g *gorgonia.ExprGraph, name string, tab, p *gorgonia.Node, k, w int) (*gorgonia.Node, error) {
	must := gorgonia.Must
	one := make([]float64, k)
	for i := range one {
		one[i] = 1
	}
	ones := matrixNode(g, name+".ones", k, 1, one)
	dot := func(a, b *gorgonia.Node) *gorgonia.Node { // 1 × 1
		return must(MatMul(p, must(gorgonia.HadamardProd(a, b))))
	}
	c := must(gorgonia.Sub(tab, must(MatMul(ones, must(MatMul(p, tab)))))) // centred
	cols := make([]*gorgonia.Node, w)
	var out *gorgonia.Node
	for i := range cols {
		sel := make([]float64, w)
		sel[i] = 1
		v := must(MatMul(c, matrixNode(g, fmt.Sprintf("%s.sel%d", name, i), w, 1, sel))) // k × 1
		for _, u := range cols[:i] {
			v = must(gorgonia.Sub(v, must(MatMul(u, dot(v, u)))))
		}
		n := must(gorgonia.Sqrt(must(gorgonia.Add(dot(v, v), gorgonia.NewConstant(embeddingEps)))))
		cols[i] = must(gorgonia.HadamardDiv(v, must(MatMul(ones, n))))
		placed := must(MatMul(cols[i], matrixNode(g, fmt.Sprintf("%s.put%d", name, i), 1, w, sel)))
		if out == nil {
			out = placed
		} else {
			out = must(gorgonia.Add(out, placed))
		}
	}
	return out, nil
}

// checkEmbedding refuses categorical = 'embedding' for algorithms that
// have their own categorical representation (ape, deeplog) and for
// EmbeddingRefusers.
func checkEmbedding(name string, a Algorithm, o Options) error {
	if o.get("categorical") != "embedding" {
		return nil
	}
	if _, ok := a.(ColumnIniter); ok {
		return fmt.Errorf("%w: categorical = 'embedding' is not available for %s, which learns its own embedding of every category", ErrBadOption, name)
	}
	if sa, ok := a.(SequenceAlgorithm); ok && sa.KeyOption() != "" {
		return fmt.Errorf("%w: categorical = 'embedding' is not available for %s, which models its key column itself", ErrBadOption, name)
	}
	if r, ok := a.(EmbeddingRefuser); ok {
		return fmt.Errorf("%w: categorical = 'embedding' is not available for %s: %s", ErrBadOption, name, r.RefuseEmbedding())
	}
	return nil
}

// trainEmbedding is stage E (see the comment at the top): it trains the
// tables in st, with the network, on the full rows x, then freezes them.
// Prepare is run first, on rows embedded with the initial tables, when
// the stage E objective is the algorithm's Graph; it reports whether it
// was.
func (e *inputEmbedding) train(ctx context.Context, a Algorithm, st *State, x arrowio.Matrix, labels []float64, o Options, rng *rand.Rand) (prepared bool, err error) {
	var g Grapher = graphFunc(a.Graph)
	if p, ok := a.(Pretrainer); ok && p.PretrainEpochs(o) > 0 {
		g = graphFunc(p.PretrainGraph)
	} else {
		xe, err := e.embedMatrix(st, x)
		if err != nil {
			return false, err
		}
		if p, ok := a.(Preparer); ok {
			if err := p.Prepare(st, xe, o); err != nil {
				return false, err
			}
			prepared = true
		}
		if s, ok := a.(BatchSampler); ok { // pairs (prenet), balanced batches (devnet), …
			g = samplingStage{graph: a.Graph, sampler: s, xe: xe}
		}
	}
	eo := o.Clone()
	eo["epochs"] = strconv.Itoa(o.Int("embedding_epochs"))
	eo["validation"] = "0"
	st.front = e
	err = train(ctx, g, st, x.Data, x.Rows, x.Cols, labels, eo, rng)
	st.front = nil
	for _, n := range e.names {
		if t := st.Get(n); t != nil {
			t.Trainable = false
		}
	}
	return prepared, err
}

// samplingStage is stage E's Grapher for an algorithm with its own
// mini-batches (BatchSampler): its objective needs their layout (prenet's
// pairs, devnet's balanced batches). The sampler is given the rows
// embedded with the initial tables, the width its state is sized for (a
// sampler may keep rows: prenet's reference rows, which the algorithm's
// own training draws again from the final embedding); the indices it
// draws pick the full rows stage E trains on.
type samplingStage struct {
	graph   func(*Graph) (Objective, error)
	sampler BatchSampler
	xe      arrowio.Matrix
}

func (g samplingStage) Graph(b *Graph) (Objective, error) { return g.graph(b) }

func (g samplingStage) NewBatches(st *State, _ arrowio.Matrix, labels []float64, o Options, rng *rand.Rand) (Batches, error) {
	return g.sampler.NewBatches(st, g.xe, labels, o, rng)
}

// EmbeddingRefuser is implemented by algorithms whose objective only
// their own training loop (a Driver) can form, so that stage E cannot
// train an embedding with it: mil_ranking's bags, sdor's pseudo-labels.
// RefuseEmbedding says why, for the error of categorical = 'embedding'.
type EmbeddingRefuser interface {
	RefuseEmbedding() string
}

// detach removes the tables and their frequencies from st and returns
// them: after stage E the algorithm works on embedded rows and its state
// is its own (a Finish that keeps only its scoring tensors, say); Fit
// appends them again at the end.
func (e *inputEmbedding) detach(st *State) []*Tensor {
	var out []*Tensor
	st.Tensors = slices.DeleteFunc(st.Tensors, func(t *Tensor) bool {
		if strings.HasPrefix(t.Name, embeddingPrefix) {
			out = append(out, t)
			return true
		}
		return false
	})
	return out
}

// embeddingScorer is the Scorer of a model with embeddings: it embeds
// each full row and scores the embedded rows with the algorithm's
// Scorer, chunk by chunk (a row's score does not depend on the chunk).
type embeddingScorer struct {
	e     *inputEmbedding
	tab   [][]float64
	inner Scorer
}

// embeddingChunk is how many rows embeddingScorer embeds at a time.
const embeddingChunk = 64

func newEmbeddingScorer(e *inputEmbedding, st *State, inner Scorer) (*embeddingScorer, error) {
	tab, err := e.tables(st)
	if err != nil {
		return nil, err
	}
	return &embeddingScorer{e: e, tab: tab, inner: inner}, nil
}

func (s *embeddingScorer) ScratchLen() int { return embeddingChunk*s.e.width + s.inner.ScratchLen() }

func (s *embeddingScorer) ScoreRows(x, dst, scratch []float64) {
	full, w := s.e.full, s.e.width
	emb, rest := scratch[:embeddingChunk*w], scratch[embeddingChunk*w:]
	for lo := 0; lo < len(dst); lo += embeddingChunk {
		hi := min(lo+embeddingChunk, len(dst))
		for i := lo; i < hi; i++ {
			s.e.embedRow(s.tab, x[i*full:(i+1)*full], emb[(i-lo)*w:(i-lo+1)*w])
		}
		s.inner.ScoreRows(emb[:(hi-lo)*w], dst[lo:hi], rest)
	}
}

// explainer is the algorithm's explainer of embedded rows.
func (s *embeddingScorer) explainer() Explainer {
	if e, ok := s.inner.(Explainer); ok {
		return e
	}
	return gradientExplainer{s: s.inner, d: s.e.width}
}

// ExplainMethod implements Explainer: the algorithm's method, applied to
// the embedded row.
func (s *embeddingScorer) ExplainMethod() string { return s.explainer().ExplainMethod() }

func (s *embeddingScorer) ExplainScratchLen() int {
	return 2*s.e.width + s.explainer().ExplainScratchLen()
}

// Attribute implements Explainer: the attributions of the embedded row,
// a categorical column's magnitudes summed over its embedded values and
// given to the position of its category (the others 0), so that a
// feature's contribution is the sum of its embedded values' (as a one-hot
// column's is the sum of its positions').
func (s *embeddingScorer) Attribute(x, dst, scratch []float64) {
	w := s.e.width
	emb, attr := scratch[:w], scratch[w:2*w]
	s.e.embedRow(s.tab, x, emb)
	s.explainer().Attribute(emb, attr, scratch[2*w:])
	for j, sp := range s.e.spans {
		o := s.e.out[j]
		if s.tab[j] == nil {
			copy(dst[sp.Lo:sp.Hi], attr[o:o+sp.Hi-sp.Lo])
			continue
		}
		sum := 0.0
		for _, a := range attr[o : o+s.e.dim[j]] {
			sum += math.Abs(a)
		}
		for k := sp.Lo; k < sp.Hi; k++ {
			dst[k] = 0
			if x[k] > 0.5 {
				dst[k], sum = sum, 0
			}
		}
		if sum != 0 { // no position hot (cannot happen for an encoded row)
			dst[sp.Lo] = sum
		}
	}
}

// DescribeEncoding is DESCRIBE DETECTOR's line for feature j of a model
// with an Encoding (nil otherwise: ""): the column's Describe, with
// "embedding (w dimensions): " in place of "one-hot: " for a column
// learned as an embedding ("1 dimension" for one).
func (m *Model) DescribeEncoding(j int) string {
	if m.enc == nil {
		return ""
	}
	d := m.enc.cols[j].Describe()
	if e := newInputEmbedding(m.enc, m.opts); e != nil && e.names[j] != "" {
		unit := "dimensions"
		if e.dim[j] == 1 {
			unit = "dimension"
		}
		return fmt.Sprintf("embedding (%d %s): %s", e.dim[j], unit, strings.TrimPrefix(d, "one-hot: "))
	}
	return d
}
