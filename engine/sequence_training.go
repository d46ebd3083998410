package engine

import (
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/rowexec"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"

	"github.com/anomalydb/anomalydb/detectors"
)

// Sequence detectors (detectors/sequence.go) train on ordered rows.
// CREATE DETECTOR takes two engine options for them, kept in the
// detector's recipe (SHOW CREATE DETECTOR shows them, detect_anomalies
// reads them back) and never seen by the core's option checks:
//
//   - order_by (required): a column of the SELECT that orders the rows;
//   - partition_by (optional): a column of the SELECT whose values split
//     the rows into independent sequences (a host, a session).
//
// The features are the SELECT's other columns. The training rows are the
// SELECT's, sorted by (partition_by, order_by) with the columns' SQL
// types' order (a stable sort: rows with equal keys keep the SELECT's
// order), and a NULL order key is an error (1048).

// Engine option names of sequence detectors.
const (
	optOrderBy     = "order_by"
	optPartitionBy = "partition_by"
)

// codeBadNull is MySQL's ER_BAD_NULL_ERROR.
const codeBadNull = 1048

// sequenceOptions are the engine options of a sequence detector; orderBy
// is "" for any other detector.
type sequenceOptions struct {
	orderBy, partitionBy string
}

// takeSequenceOptions removes order_by and partition_by from opts (the
// options given to the core) and checks them against the algorithm: a
// sequence algorithm needs order_by and takes no label, any other takes
// neither option (1210).
func takeSequenceOptions(algorithm string, opts map[string]string, label string) (sequenceOptions, error) {
	seq := sequenceOptions{orderBy: opts[optOrderBy], partitionBy: opts[optPartitionBy]}
	_, hasOrder := opts[optOrderBy]
	_, hasPart := opts[optPartitionBy]
	delete(opts, optOrderBy)
	delete(opts, optPartitionBy)
	if !detectors.IsSequence(algorithm) {
		if _, err := detectors.OptionDefaults(algorithm); err != nil {
			return seq, nil // an unknown algorithm: ValidateOptions reports it (1286)
		}
		if hasOrder || hasPart {
			name := optOrderBy
			if !hasOrder {
				name = optPartitionBy
			}
			return seq, errWrongArguments("CREATE DETECTOR: %s is only for sequence algorithms (%s); %s scores each row alone", name, strings.Join(sequenceAlgorithms(), ", "), algorithm)
		}
		return seq, nil
	}
	if err := detectors.ValidateOptions(algorithm, opts); err != nil {
		return seq, nil // the caller reports bad options first
	}
	switch {
	case seq.orderBy == "":
		return seq, errWrongArguments("CREATE DETECTOR: %s is a sequence algorithm: name the column that orders the rows with WITH (order_by = 'col')", algorithm)
	case hasPart && seq.partitionBy == "":
		return seq, errWrongArguments("CREATE DETECTOR: partition_by must name a column")
	case label != "":
		return seq, errWrongArguments("CREATE DETECTOR: %s is unsupervised: it takes no label", algorithm)
	case strings.EqualFold(seq.orderBy, seq.partitionBy):
		return seq, errWrongArguments("CREATE DETECTOR: order_by and partition_by name the same column '%s'", seq.orderBy)
	}
	return seq, nil
}

// sequenceAlgorithms lists the registered sequence algorithms.
func sequenceAlgorithms() []string {
	var out []string
	for _, a := range detectors.Algorithms() {
		if detectors.IsSequence(a) {
			out = append(out, a)
		}
	}
	return out
}

// recipeSequence returns the sequence options of a model, from its
// recipe (orderBy "" for a detector that is not a sequence detector).
func recipeSequence(m *detectors.Model) sequenceOptions {
	var seq sequenceOptions
	if _, ok := m.Sequence(); !ok || m.Recipe == nil {
		return seq
	}
	for _, o := range m.Recipe.Options {
		switch o.Name {
		case optOrderBy:
			seq.orderBy = o.Value
		case optPartitionBy:
			seq.partitionBy = o.Value
		}
	}
	return seq
}

// sequenceColumns locates the order and partition columns of seq in sch
// (partition −1 without one): 1054 for a name that is not a column, 1210
// for a column whose values cannot order rows (JSON, BLOB, geometry).
func sequenceColumns(sch sql.Schema, seq sequenceOptions) (order, part int, err error) {
	find := func(name, opt string) (int, error) {
		for i, c := range sch {
			if strings.EqualFold(c.Name, name) {
				if t := c.Type; types.IsJSON(t) || types.IsBlobType(t) || types.IsGeometry(t) {
					return -1, errWrongArguments("%s = '%s': column '%s' has type %s, which cannot order or partition rows", opt, name, c.Name, t)
				}
				return i, nil
			}
		}
		return -1, errBadField(name, opt)
	}
	if order, err = find(seq.orderBy, optOrderBy); err != nil {
		return -1, -1, err
	}
	part = -1
	if seq.partitionBy != "" {
		if part, err = find(seq.partitionBy, optPartitionBy); err != nil {
			return -1, -1, err
		}
	}
	return order, part, nil
}

// sortSequenceRows sorts rows stably by (column part, column order)
// (part −1: by order alone) with the columns' types' order, and returns
// the indexes where each partition starts. A NULL order key is an error
// (1048), named by what.
func sortSequenceRows(ctx *sql.Context, sch sql.Schema, rows []sql.Row, order, part int, what string) ([]int, error) {
	for i, r := range rows {
		if r[order] == nil {
			return nil, mysql.NewSQLError(codeBadNull, "23000", "Column '%s' cannot be null: it orders the rows of %s (row %d is NULL)", sch[order].Name, what, i+1)
		}
	}
	var cmpErr error
	cmp := func(c int, a, b sql.Row) int {
		v, err := sch[c].Type.Compare(ctx, a[c], b[c])
		if err != nil && cmpErr == nil {
			cmpErr = err
		}
		return v
	}
	sort.SliceStable(rows, func(i, j int) bool {
		if part >= 0 {
			if c := cmp(part, rows[i], rows[j]); c != 0 {
				return c < 0
			}
		}
		return cmp(order, rows[i], rows[j]) < 0
	})
	if cmpErr != nil {
		return nil, cmpErr
	}
	starts := []int{0}
	if part >= 0 {
		for i := 1; i < len(rows); i++ {
			if cmp(part, rows[i-1], rows[i]) != 0 {
				starts = append(starts, i)
			}
		}
	}
	return starts, cmpErr
}

// maxTrainRows is the max_train_rows option of a training (its default
// if not given).
func maxTrainRows(algorithm string, opts map[string]string) int {
	v, ok := opts["max_train_rows"]
	if !ok {
		d, err := detectors.OptionDefaults(algorithm)
		if err != nil {
			return 0
		}
		v = d["max_train_rows"]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return n
}

// sequenceTrainingData runs the training SELECT plan of a sequence
// detector and returns its rows ordered and partitioned by seq as Arrow
// batches of the feature columns (the SELECT's other columns) with the
// partitions' starts. It reads at most maxRows + 1 rows (FitSequence
// refuses more than maxRows). The caller releases the batches.
func sequenceTrainingData(ctx *sql.Context, plan sql.Node, seq sequenceOptions, maxRows int) (detectors.SequenceData, error) {
	var data detectors.SequenceData
	data.Label = -1
	sch := plan.Schema()
	order, part, err := sequenceColumns(sch, seq)
	if err != nil {
		return data, err
	}
	var cols []int // the SELECT columns of the features
	var fields []arrow.Field
	var fsch sql.Schema
	for i, c := range sch {
		if i == order || i == part {
			continue
		}
		if err := checkFeatureType(c); err != nil {
			return data, err
		}
		at, err := arrowType(c.Type)
		if err != nil {
			at = arrow.BinaryTypes.String // ENUM and SET travel as text
		}
		cols = append(cols, i)
		fields = append(fields, arrow.Field{Name: c.Name, Type: at, Nullable: true})
		fsch = append(fsch, c)
		data.Features = append(data.Features, len(data.Features))
		data.FeatureNames = append(data.FeatureNames, c.Name)
	}
	if len(cols) == 0 {
		return data, errWrongArguments("CREATE DETECTOR: the SELECT has no feature column besides %s%s", optOrderBy, map[bool]string{true: " and " + optPartitionBy}[part >= 0])
	}
	iter, err := rowexec.DefaultBuilder.Build(ctx, plan, nil)
	if err != nil {
		return data, err
	}
	defer iter.Close(ctx)
	var rows []sql.Row
	for {
		row, err := iter.Next(ctx)
		if err == io.EOF {
			break
		}
		if err != nil {
			return data, err
		}
		rows = append(rows, row)
		if maxRows > 0 && len(rows) > maxRows {
			break
		}
		if len(rows)%(64*1024) == 0 {
			if err := checkMemory(); err != nil { // memory_limit.go: the rows are held to be sorted
				return data, err
			}
		}
	}
	if len(rows) == 0 {
		return data, detectors.ErrNoRows
	}
	starts, err := sortSequenceRows(ctx, sch, rows, order, part, "the training SELECT")
	if err != nil {
		return data, err
	}
	data.Starts = starts
	schema := arrow.NewSchema(fields, nil)
	for lo := 0; lo < len(rows); lo += trainingBatchRows {
		hi := min(lo+trainingBatchRows, len(rows))
		block := make([]sql.Row, hi-lo)
		for i, r := range rows[lo:hi] {
			fr := make(sql.Row, len(cols))
			for k, c := range cols {
				fr[k] = r[c]
			}
			block[i] = fr
			rows[lo+i] = nil
		}
		rec, err := rowsToRecord(memory.DefaultAllocator, schema, stringify(fsch, block, fields))
		if err != nil {
			releaseBatches(data.Batches)
			return data, err
		}
		data.Batches = append(data.Batches, rec)
	}
	return data, nil
}

// releaseBatches releases record batches.
func releaseBatches(bs []arrow.RecordBatch) {
	for _, b := range bs {
		b.Release()
	}
}

// fitSequence reads the training rows of a sequence detector (plan, the
// training SELECT) and trains it.
func (s *detectorService) fitSequence(ctx *sql.Context, n *createDetectorNode, tr *training, plan sql.Node, opts map[string]string, seq sequenceOptions, source func() string) (*detectors.Model, error) {
	data, err := sequenceTrainingData(ctx, plan, seq, maxTrainRows(n.algorithm, opts))
	if err != nil {
		return nil, s.translate(n.algorithm, err)
	}
	defer releaseBatches(data.Batches)
	lim := s.limits
	data.Limits = &lim
	data.Source = source()
	data.Recipe = n.recipe() // SHOW CREATE DETECTOR (detector_meta.go)
	tr.readDone(data.TrainingData, data.Source)
	rows := 0
	for _, b := range data.Batches {
		rows += int(b.NumRows())
	}
	tr.mu.Lock()
	tr.rows, tr.rowsRead = rows, int64(rows)
	tr.mu.Unlock()
	data.OnEpoch = tr.onEpoch
	m, err := detectors.FitSequence(ctx, n.algorithm, opts, data)
	if err != nil {
		return nil, s.translate(n.algorithm, err)
	}
	return m, nil
}
