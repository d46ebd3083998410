package engine

import (
	"fmt"
	"io"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/expression"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"gonum.org/v1/gonum/mat"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/functions"
)

// detectAnomalies is the table function detect_anomalies('detector',
// 'input'): every row of the input (a table, a view or a SELECT, see
// planInput) with its columns, then anomaly_score DOUBLE,
// anomaly_percentile DOUBLE and is_anomaly BOOLEAN, the values of those
// functions for the row. The detector's features are the input's columns
// of the same names (in any order; other columns are passed through).
//
// Scores are anomaly_score's bit for bit: the values are converted as
// anomaly_score converts its arguments (functions.FeatureValue) or read
// from the table's Arrow columns where that gives the same DOUBLE, and
// scored by detectors.Model.ScoreMatrix or ScoreBatch, which equal
// ScoreRow. The input streams: rows are scored a block at a time (64
// rows, growing to 8,192, as batchScoring does, so that a small LIMIT
// scores few rows), and only one block and one Arrow batch of a stored
// table are held at once.
type detectAnomalies struct {
	tableFunctionNode
	input *tableInput // nil for the prototype tableFunctions returns
}

var (
	_ sql.TableFunction = (*detectAnomalies)(nil)
	_ sql.ExecSourceRel = (*detectAnomalies)(nil)
)

// Columns detect_anomalies adds to its input's.
const (
	colScore      = "anomaly_score"
	colPercentile = "anomaly_percentile"
	colIsAnomaly  = "is_anomaly"
)

const detectAnomaliesName = "detect_anomalies"

// Name implements sql.Nameable.
func (n *detectAnomalies) Name() string { return detectAnomaliesName }

// NewInstance implements sql.TableFunction: it checks the arguments,
// plans the input, and, unless the detector is a ? of a statement being
// prepared, looks the detector up (1305 unknown, 1142 without SELECT on
// its database) and finds its features among the input's columns (1054).
// The input cannot be a ?: the result's columns are the input's.
func (n *detectAnomalies) NewInstance(ctx *sql.Context, db sql.Database, args []sql.Expression) (sql.Node, error) {
	if len(args) != 2 {
		return nil, errTableFunctionArgs(detectAnomaliesName, "a detector name and an input (a table name or a SELECT)", len(args))
	}
	ref, refParam, err := stringArg(ctx, detectAnomaliesName, 1, args[0])
	if err != nil {
		return nil, err
	}
	text, textParam, err := stringArg(ctx, detectAnomaliesName, 2, args[1])
	if err != nil {
		return nil, err
	}
	if textParam {
		return nil, errWrongArguments("%s: the input (argument 2) cannot be a ? placeholder: the result's columns are the input's; write the table name or the SELECT in the statement", detectAnomaliesName)
	}
	in, err := planInput(ctx, n.svc, detectAnomaliesName, text)
	if err != nil {
		return nil, err
	}
	if err := checkColumnNames(in.schema(), colScore, colPercentile, colIsAnomaly); err != nil {
		return nil, err
	}
	if !refParam {
		m, err := n.svc.Lookup(ctx, ref)
		if err != nil {
			return nil, err
		}
		if _, err := featureColumns(detectAnomaliesName, m, in.schema()); err != nil {
			return nil, err
		}
		if _, seq := m.Sequence(); seq {
			if _, _, err := sequenceInputColumns(detectAnomaliesName, m, in.schema()); err != nil { // detect_sequence.go
				return nil, err
			}
		}
	}
	return &detectAnomalies{tableFunctionNode: tableFunctionNode{svc: n.svc, db: db, args: args}, input: in}, nil
}

// Schema implements sql.Node: the input's columns, then anomaly_score,
// anomaly_percentile (NULL for a detector saved without its training
// scores' distribution) and is_anomaly.
func (n *detectAnomalies) Schema() sql.Schema {
	if n.input == nil {
		return nil
	}
	in := n.input.schema()
	sch := make(sql.Schema, 0, len(in)+3)
	for _, c := range in {
		sch = append(sch, &sql.Column{Name: c.Name, Type: c.Type, Nullable: c.Nullable, Source: detectAnomaliesName, DatabaseSource: n.dbName()})
	}
	return append(sch,
		&sql.Column{Name: colScore, Type: types.Float64, Source: detectAnomaliesName, DatabaseSource: n.dbName()},
		&sql.Column{Name: colPercentile, Type: types.Float64, Nullable: true, Source: detectAnomaliesName, DatabaseSource: n.dbName()},
		&sql.Column{Name: colIsAnomaly, Type: types.Boolean, Source: detectAnomaliesName, DatabaseSource: n.dbName()},
	)
}

func (n *detectAnomalies) dbName() string {
	if n.db == nil {
		return ""
	}
	return n.db.Name()
}

// RowIter implements sql.ExecSourceRel. The detector is looked up again:
// the statement uses the detector as it is when it runs.
func (n *detectAnomalies) RowIter(ctx *sql.Context, _ sql.Row) (sql.RowIter, error) {
	ref, param, err := stringArg(ctx, detectAnomaliesName, 1, n.args[0])
	if err != nil {
		return nil, err
	}
	if param {
		return nil, errWrongArguments("%s: no value for the ? of argument 1", detectAnomaliesName)
	}
	m, err := n.svc.Lookup(ctx, ref)
	if err != nil {
		return nil, err
	}
	feats, err := featureColumns(detectAnomaliesName, m, n.input.schema())
	if err != nil {
		return nil, err
	}
	if !m.HasScoreDistribution() {
		ctx.Warn(mysql.ERNotSupportedYet, "%s: DETECTOR %s was saved by an older anomalydb, without the distribution of its training scores: anomaly_percentile is NULL; create it again", detectAnomaliesName, ref)
	}
	if _, seq := m.Sequence(); seq {
		return newSequenceRows(ctx, n.svc, n.input, m, feats, detectAnomaliesName) // detect_sequence.go
	}
	return newScoredRows(ctx, n.svc, n.input, m, feats, detectAnomaliesName)
}

// Resolved implements sql.Resolvable.
func (n *detectAnomalies) Resolved() bool { return true }

// String implements fmt.Stringer.
func (n *detectAnomalies) String() string {
	return fmt.Sprintf("%s(%s, %s)", detectAnomaliesName, n.args[0], n.args[1])
}

// WithChildren implements sql.Node.
func (n *detectAnomalies) WithChildren(children ...sql.Node) (sql.Node, error) {
	return withNoChildren(n, children)
}

// WithExpressions implements sql.Expressioner.
func (n *detectAnomalies) WithExpressions(exprs ...sql.Expression) (sql.Node, error) {
	if len(exprs) != len(n.args) {
		return nil, sql.ErrInvalidChildrenNumber.New(n, len(exprs), len(n.args))
	}
	c := *n
	c.args = exprs
	return &c, nil
}

// WithDatabase implements sql.Databaser.
func (n *detectAnomalies) WithDatabase(db sql.Database) (sql.Node, error) {
	c := *n
	c.db = db
	return &c, nil
}

// scoredRows iterates over the rows of an input, each followed by its
// score, percentile and flag. It reads the input a block at a time:
// straight from the Arrow batches of a stored table when the input is a
// plain scan of one (arrowBlocks), else from the input's row iterator
// (rowBlocks).
type scoredRows struct {
	fn     string // the table function, for errors
	m      *detectors.Model
	sch    sql.Schema // the input's columns
	feats  []int      // the input columns of the features, in the detector's order
	hasPct bool       // m has its distribution: percentiles are not NULL

	src interface {
		// next scores the next block of at most size rows into s.block.
		next(ctx *sql.Context, s *scoredRows, size int) error
		Close(*sql.Context) error
	}
	size  int // of the next block
	block []sql.Row
	i     int // the next row of block

	x      []float64 // scratch: a block's feature values, row-major
	scores []float64
}

var _ sql.RowIter = (*scoredRows)(nil)

// newScoredRows returns the scored rows of in with detector m, whose
// features are the input columns feats; fn names the table function in
// errors.
func newScoredRows(ctx *sql.Context, svc *detectorService, in *tableInput, m *detectors.Model, feats []int, fn string) (*scoredRows, error) {
	s := &scoredRows{fn: fn, m: m, sch: in.schema(), feats: feats, hasPct: m.HasScoreDistribution(), size: firstScoreBlock}
	if src, ok := scanOf(in.plan); ok {
		parts, err := src.table.Partitions(ctx)
		if err != nil {
			return nil, err
		}
		s.src = &arrowBlocks{scan: src, parts: parts, featCols: src.featureColumns(feats)}
		return s, nil
	}
	it, err := svc.engine.Analyzer.ExecBuilder.Build(ctx, in.plan, nil)
	if err != nil {
		return nil, err
	}
	s.src = &rowBlocks{child: it}
	return s, nil
}

// Next implements sql.RowIter.
func (s *scoredRows) Next(ctx *sql.Context) (sql.Row, error) {
	for s.i >= len(s.block) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s.block, s.i = s.block[:0], 0
		if err := s.src.next(ctx, s, s.size); err != nil {
			return nil, err
		}
		s.size = min(s.size*4, maxScoreBlock)
	}
	row := s.block[s.i]
	s.block[s.i] = nil // the caller owns it from here
	s.i++
	return row, nil
}

// Close implements sql.RowIter.
func (s *scoredRows) Close(ctx *sql.Context) error {
	s.block = nil
	return s.src.Close(ctx)
}

// scoreValues scores rows (input rows) from their SQL values, converted
// as anomaly_score converts its arguments, into s.scores.
func (s *scoredRows) scoreValues(rows []sql.Row) error {
	d := len(s.feats)
	n := len(rows)
	if cap(s.x) < n*d {
		s.x = make([]float64, n*d)
	}
	x := s.x[:n*d]
	for i, row := range rows {
		for j, c := range s.feats {
			f, ok := functions.ModelFeatureValue(s.m, j, row[c])
			if !ok {
				return s.errNotNumeric(c, row[c])
			}
			x[i*d+j] = f
		}
	}
	if n == 0 {
		s.scores = s.scores[:0]
		return nil
	}
	var err error
	s.scores, err = s.m.ScoreMatrix(mat.NewDense(n, d, x), s.scores)
	return err
}

func (s *scoredRows) errNotNumeric(col int, v interface{}) error {
	text := fmt.Sprint(v)
	if b, ok := v.([]byte); ok {
		text = string(b)
	}
	return errNotNumeric("Incorrect DOUBLE value: '%s' for column '%s' of %s (features must be numeric)", text, s.sch[col].Name, s.fn)
}

// values returns the percentile (nil without a distribution) and flag of
// score.
func (s *scoredRows) values(score float64) (pct interface{}, flag int8) {
	if s.hasPct {
		p, _ := s.m.Percentile(score) // no error: the distribution is there
		pct = p
	}
	if s.m.IsAnomaly(score) {
		flag = 1
	}
	return pct, flag
}

// appendScored appends to s.block each of rows followed by its score
// (s.scores, in order), percentile and flag.
func (s *scoredRows) appendScored(rows []sql.Row) {
	w := len(s.sch)
	for i, row := range rows {
		out := make(sql.Row, w+3)
		copy(out, row)
		pct, flag := s.values(s.scores[i])
		out[w], out[w+1], out[w+2] = s.scores[i], pct, flag
		s.block = append(s.block, out)
	}
}

// rowBlocks reads the input from its row iterator.
type rowBlocks struct {
	child sql.RowIter
	rows  []sql.Row
	done  bool
}

func (r *rowBlocks) next(ctx *sql.Context, s *scoredRows, size int) error {
	if r.done {
		return io.EOF
	}
	r.rows = r.rows[:0]
	for len(r.rows) < size {
		row, err := r.child.Next(ctx)
		if err == io.EOF {
			r.done = true
			break
		}
		if err != nil {
			return err
		}
		r.rows = append(r.rows, row)
	}
	if len(r.rows) == 0 {
		return io.EOF
	}
	if err := s.scoreValues(r.rows); err != nil {
		return err
	}
	s.appendScored(r.rows)
	clear(r.rows)
	return nil
}

func (r *rowBlocks) Close(ctx *sql.Context) error { return r.child.Close(ctx) }

// scan is an input that is a plain scan of a stored table: every row of
// it, some of its columns.
type scan struct {
	table scanSource
	cols  []int // the batch column of each input column
}

// scanOf returns the scan an analyzed input plan is, if it is one: the
// table (or a table AS OF a snapshot), possibly under a projection of its
// columns (SELECT b, a AS x FROM t), with no filter, order or limit.
func scanOf(n sql.Node) (scan, bool) {
	n = unwrapAlias(n)
	var fields []sql.Expression
	if p, ok := n.(*plan.Project); ok {
		fields = p.Projections
		n = unwrapAlias(p.Child)
	}
	rt, ok := n.(*plan.ResolvedTable)
	if !ok {
		return scan{}, false
	}
	src, ok := rt.UnderlyingTable().(scanSource)
	if !ok {
		return scan{}, false
	}
	cols := src.columns()
	if fields == nil {
		return scan{table: src, cols: cols}, true
	}
	out := make([]int, len(fields))
	for i, f := range fields {
		if a, ok := f.(*expression.Alias); ok {
			f = a.Child
		}
		gf, ok := f.(*expression.GetField)
		if !ok || gf.Index() < 0 || gf.Index() >= len(cols) {
			return scan{}, false
		}
		out[i] = cols[gf.Index()]
	}
	return scan{table: src, cols: out}, true
}

// featureColumns returns the batch columns of the input columns feats
// when every one is stored as a number whose DOUBLE is its SQL value's
// (exactDouble), so that the detector can read them from the batch; nil
// otherwise.
func (sc scan) featureColumns(feats []int) []int {
	out := make([]int, len(feats))
	for j, c := range feats {
		out[j] = sc.cols[c]
		if !exactDouble(sc.table.fullSchema()[out[j]].Type) {
			return nil
		}
	}
	return out
}

// arrowBlocks reads a stored table's committed Arrow batches one at a
// time (and a transaction's rows not yet committed), making SQL rows only
// of the rows scored.
type arrowBlocks struct {
	scan     scan
	parts    sql.PartitionIter
	featCols []int // batch columns of the features; nil: score from SQL values

	rec   arrow.RecordBatch // the current batch
	lo    int               // its first row not yet returned
	maker rowMaker
	rows  []sql.Row // scratch
}

func (a *arrowBlocks) next(ctx *sql.Context, s *scoredRows, size int) error {
	for a.rec == nil || a.lo >= int(a.rec.NumRows()) {
		p, err := a.parts.Next(ctx)
		if err != nil {
			return err // io.EOF at the end
		}
		switch p := p.(type) {
		case *rowsPartition:
			// A transaction's own rows, not in Arrow form yet.
			return a.pending(s, p.rows)
		case *batchPartition:
			rec, err := p.batch()
			if err != nil {
				return err
			}
			a.release()
			a.rec, a.lo = rec, 0
			a.maker = newRowMaker(a.scan.table.fullSchema(), a.scan.cols, rec)
		default:
			return fmt.Errorf("unexpected partition %T", p)
		}
	}
	lo := a.lo
	hi := min(lo+size, int(a.rec.NumRows()))
	a.lo = hi
	if a.featCols == nil {
		a.rows = a.rows[:0]
		for i := lo; i < hi; i++ {
			a.rows = append(a.rows, a.maker.row(i))
		}
		if err := s.scoreValues(a.rows); err != nil {
			return err
		}
		s.appendScored(a.rows)
		clear(a.rows)
		return nil
	}
	slice := a.rec.NewSlice(int64(lo), int64(hi))
	defer slice.Release()
	var err error
	if s.scores, err = s.m.ScoreBatch(slice, a.featCols, s.scores); err != nil {
		return err
	}
	w := len(a.scan.cols)
	for i := lo; i < hi; i++ {
		// The row and its two DOUBLEs in one array of words, as rowMaker
		// boxes a row's own (row_maker.go).
		row := make(sql.Row, w+3)
		words := make([]uint64, a.maker.words+2)
		a.maker.fill(i, row, words)
		score := s.scores[i-lo]
		pct, flag := s.values(score)
		words[a.maker.words] = math.Float64bits(score)
		row[w] = boxAt(float64Type, unsafe.Pointer(&words[a.maker.words]))
		if pct != nil {
			words[a.maker.words+1] = math.Float64bits(pct.(float64))
			row[w+1] = boxAt(float64Type, unsafe.Pointer(&words[a.maker.words+1]))
		}
		row[w+2] = flag
		s.block = append(s.block, row)
	}
	return nil
}

// pending scores a transaction's rows (full-schema rows) from their SQL
// values.
func (a *arrowBlocks) pending(s *scoredRows, rows []sql.Row) error {
	a.rows = a.rows[:0]
	for _, r := range rows {
		out := make(sql.Row, len(a.scan.cols))
		for j, c := range a.scan.cols {
			out[j] = r[c]
		}
		a.rows = append(a.rows, out)
	}
	if err := s.scoreValues(a.rows); err != nil {
		return err
	}
	s.appendScored(a.rows)
	clear(a.rows)
	return nil
}

// release drops the current batch.
func (a *arrowBlocks) release() {
	if a.rec != nil {
		a.rec.Release()
		a.rec = nil
	}
}

func (a *arrowBlocks) Close(ctx *sql.Context) error {
	a.release()
	return a.parts.Close(ctx)
}
