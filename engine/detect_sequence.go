package engine

import (
	"io"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/functions"
)

// detect_anomalies (and evaluate_detector) on a sequence detector
// (detectors/sequence.go).
//
// The input is ordered and partitioned as the detector was trained: by
// the columns named by its order_by and partition_by options (read back
// from its recipe), which the input must have (1054), with a NULL order
// key an error (1048). The rows come out in that order, partition after
// partition, each with the score ScoreSequence gives it from the rows
// before it in its partition, its percentile and is_anomaly
// (SequenceVerdicts): the same values as anomaly_score(...) OVER
// (PARTITION BY p ORDER BY o) on the same rows. The whole input is read
// and sorted before the first row comes out (an input is not known to be
// in order); the rows are scored one partition at a time, in blocks (64
// rows, growing to maxScoreBlock) each given its Span rows of context, so that
// a LIMIT scores little more than the rows it returns.

// sequenceInputColumns locates the order and partition columns of the
// sequence detector m in the input columns sch (see sequenceColumns).
func sequenceInputColumns(fn string, m *detectors.Model, sch sql.Schema) (order, part int, err error) {
	seq := recipeSequence(m)
	if seq.orderBy == "" {
		return -1, -1, errWrongArguments("%s: the sequence detector has no order_by in its recipe; create it again", fn)
	}
	return sequenceColumns(sch, seq)
}

// sequenceRows is detect_anomalies' row iterator for a sequence detector.
type sequenceRows struct {
	fn     string // the table function, for errors
	m      *detectors.Model
	span   int
	sch    sql.Schema // the input's columns
	feats  []int
	hasPct bool

	rows   []sql.Row // every input row, sorted
	starts []int     // of the partitions in rows, then len(rows)
	p      int       // the current partition
	lo     int       // the next row of rows to score
	size   int       // of the next block
	block  []sql.Row // scored rows not yet returned
	i      int

	x      []float64
	scores []float64
	flags  []bool
}

var _ sql.RowIter = (*sequenceRows)(nil)

// newSequenceRows reads and sorts the input of the table function fn
// (detect_anomalies, evaluate_detector) for the sequence detector m,
// whose features are the input columns feats.
func newSequenceRows(ctx *sql.Context, svc *detectorService, in *tableInput, m *detectors.Model, feats []int, fn string) (*sequenceRows, error) {
	spec, _ := m.Sequence()
	sch := in.schema()
	order, part, err := sequenceInputColumns(fn, m, sch)
	if err != nil {
		return nil, err
	}
	it, err := svc.engine.Analyzer.ExecBuilder.Build(ctx, in.plan, nil)
	if err != nil {
		return nil, err
	}
	defer it.Close(ctx)
	var rows []sql.Row
	for {
		row, err := it.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
		if len(rows)%(64*1024) == 0 {
			if err := checkMemory(); err != nil { // memory_limit.go: the rows are held to be sorted
				return nil, err
			}
		}
	}
	s := &sequenceRows{fn: fn, size: firstScoreBlock, m: m, span: spec.Span, sch: sch, feats: feats, hasPct: m.HasScoreDistribution(), rows: rows}
	if len(rows) > 0 {
		starts, err := sortSequenceRows(ctx, sch, rows, order, part, fn+"'s input")
		if err != nil {
			return nil, err
		}
		s.starts = append(starts, len(rows))
	}
	return s, nil
}

// Next implements sql.RowIter.
func (s *sequenceRows) Next(ctx *sql.Context) (sql.Row, error) {
	for s.i >= len(s.block) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := s.score(); err != nil {
			return nil, err
		}
	}
	row := s.block[s.i]
	s.block[s.i] = nil
	s.i++
	return row, nil
}

// score scores the next block of rows: at most s.size rows of the
// current partition (64, growing to maxScoreBlock, as scoredRows'
// blocks), given the (at most span) rows before them in it.
func (s *sequenceRows) score() error {
	if s.p+1 >= len(s.starts) {
		return io.EOF
	}
	pStart, pEnd := s.starts[s.p], s.starts[s.p+1]
	lo := max(s.lo, pStart)
	hi := min(lo+s.size, pEnd)
	s.size = min(s.size*4, maxScoreBlock)
	from := max(pStart, lo-s.span)
	d := len(s.feats)
	n := hi - from
	if cap(s.x) < n*d {
		s.x = make([]float64, n*d)
	}
	x := s.x[:n*d]
	for i, row := range s.rows[from:hi] {
		for j, c := range s.feats {
			f, ok := functions.ModelFeatureValue(s.m, j, row[c])
			if !ok {
				return (&scoredRows{fn: s.fn, sch: s.sch}).errNotNumeric(c, row[c])
			}
			x[i*d+j] = f
		}
	}
	var err error
	if s.scores, s.flags, err = s.m.ScoreSequenceVerdicts(x, lo-from, s.scores, s.flags); err != nil {
		return err
	}
	s.block, s.i = s.block[:0], 0
	w := len(s.sch)
	for t := lo; t < hi; t++ {
		out := make(sql.Row, w+3)
		copy(out, s.rows[t])
		score := s.scores[t-lo]
		var pct interface{}
		if s.hasPct {
			p, _ := s.m.Percentile(score)
			pct = p
		}
		var flag int8
		if s.flags[t-lo] {
			flag = 1
		}
		out[w], out[w+1], out[w+2] = score, pct, flag
		s.block = append(s.block, out)
	}
	// The rows no later block reads: all of a finished partition, else
	// those before the next block's context.
	done := hi - s.span
	if hi == pEnd {
		done = hi
		s.p++
	}
	clear(s.rows[from:max(from, done)])
	s.lo = hi
	return nil
}

// Close implements sql.RowIter.
func (s *sequenceRows) Close(*sql.Context) error {
	s.rows, s.block = nil, nil
	return nil
}
