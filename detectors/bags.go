package detectors

import (
	"context"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// Bags of rows, for multiple-instance learning (detectors/ranking's
// mil_ranking): the training rows are grouped into bags by a bag column
// that is not a feature, and the label column gives each bag's label.
//
// The bag column is read next to the training rows by a BagReader (or
// ReadBags), in the training query's order, and handed to Fit as
// TrainingData.Bags. Fit checks, for an algorithm that is a BagUser:
//
//   - every row of a bag carries its bag's label: 1 (an anomalous bag)
//     or 0 (a normal bag); a NULL label, or two rows of one bag with
//     different labels, is ErrBadBag;
//   - there is an anomalous bag (else ErrNoLabelledAnomaly) and a normal
//     bag (else ErrBadBag);
//   - bags are trained on whole: if the training query has more rows than
//     max_train_rows (so that Fit would train on a sample of its rows), it
//     fails with ErrBadBag, which says to raise max_train_rows, rather
//     than train on bags that lost rows (an anomalous bag that lost its
//     anomalies would teach the ranking the opposite of its label).
//
// The rows of a bag keep the training query's order: that order (write
// ORDER BY in the training SELECT) is the order within a bag, for
// algorithms that use one (mil_ranking's smoothness term). Bags given to
// an algorithm that is not a BagUser are ErrBadOption.

// Bags holds the bag of every row of a training query, in its order.
type Bags struct {
	ids []int32 // per row read: a dense id, in order of first appearance
	n   int     // distinct bags
}

// Rows is the number of rows whose bag was read.
func (b *Bags) Rows() int { return len(b.ids) }

// Count is the number of distinct bags.
func (b *Bags) Count() int { return b.n }

// BagReader reads the bag column of a training query, batch by batch,
// next to a RowSampler reading its features and label. Create it with
// NewBagReader, call Add for every batch in order, then Result once.
type BagReader struct {
	col  int
	seen map[string]int32
	out  Bags
}

// NewBagReader returns a reader of the bag ids in column col of the
// batches it is given. Any column type whose values have a text form
// (numbers, strings, dates) can hold bag ids; two rows are in the same bag
// when their values are equal.
func NewBagReader(col int) *BagReader {
	return &BagReader{col: col, seen: map[string]int32{}}
}

// Add reads the bag of every row of rec, in order. A NULL bag is
// ErrBadBag. rec is neither retained nor released.
func (r *BagReader) Add(rec arrow.RecordBatch) error {
	if r.col < 0 || r.col >= int(rec.NumCols()) {
		return fmt.Errorf("detectors: bag column index %d out of range [0, %d)", r.col, rec.NumCols())
	}
	c := rec.Column(r.col)
	for i := range c.Len() {
		if c.IsNull(i) {
			return fmt.Errorf("%w: row %d has a NULL bag (column %q)", ErrBadBag, len(r.out.ids)+1, rec.Schema().Field(r.col).Name)
		}
		v := c.ValueStr(i)
		id, ok := r.seen[v]
		if !ok {
			id = int32(len(r.seen))
			r.seen[v] = id
		}
		r.out.ids = append(r.out.ids, id)
	}
	return nil
}

// Result returns the bags read; the reader must not be used after.
func (r *BagReader) Result() *Bags {
	r.out.n = len(r.seen)
	r.seen = nil
	return &r.out
}

// ReadBags reads the bag column col of batches (a TrainingData.Batches
// caller's BagReader).
func ReadBags(batches []arrow.RecordBatch, col int) (*Bags, error) {
	r := NewBagReader(col)
	for _, b := range batches {
		if err := r.Add(b); err != nil {
			return nil, err
		}
	}
	return r.Result(), nil
}

// BagUser is implemented by algorithms that learn from bags of rows
// (multiple-instance learning). Fit gives such an algorithm, if it is a
// Driver, the bags through Trainer.Bags.
type BagUser interface {
	// UsesBags reports that the algorithm accepts TrainingData.Bags.
	UsesBags() bool
}

// UsesBags reports whether the named algorithm learns from bags of rows
// (TrainingData.Bags), so that callers can refuse a bag column for the
// others. Errors: ErrUnknownAlgorithm.
func UsesBags(algorithm string) (bool, error) {
	a, _, err := lookup(algorithm)
	if err != nil {
		return false, err
	}
	return usesBags(a), nil
}

func usesBags(a Algorithm) bool {
	u, ok := a.(BagUser)
	return ok && u.UsesBags()
}

// BagSet is the bags of the rows Fit trains on, for a BagUser's Driver.
type BagSet struct {
	// Rows lists, per bag, its rows (indices into the training matrix) in
	// the training query's order.
	Rows [][]int
	// Anomalous tells, per bag, whether it is labelled 1.
	Anomalous []bool
}

type bagsKey struct{}

// Bags returns the bags of the training rows, or nil when Fit was given
// none (TrainingData.Bags).
func (t *Trainer) Bags() *BagSet {
	b, _ := t.ctx.Value(bagsKey{}).(*BagSet)
	return b
}

// withBags checks bags against the sample and the labels Fit trains on
// (see the comment at the top of this file) and returns ctx carrying the
// bags for Trainer.Bags; without bags, ctx itself.
func withBags(ctx context.Context, name string, a Algorithm, bags *Bags, sample *Sample) (context.Context, error) {
	if bags == nil {
		return ctx, nil
	}
	if !usesBags(a) {
		return nil, fmt.Errorf("%w: algorithm %s does not use a bag column", ErrBadOption, name)
	}
	if int64(bags.Rows()) != sample.RowsRead {
		return nil, fmt.Errorf("detectors: %d bag ids for %d training rows", bags.Rows(), sample.RowsRead)
	}
	if int64(sample.X.Rows) != sample.RowsRead {
		return nil, fmt.Errorf("%w: %s trains on whole bags, and the training query has %d rows, more than max_train_rows = %d: raise max_train_rows or train on fewer rows",
			ErrBadBag, name, sample.RowsRead, sample.limit)
	}
	labels := sample.Labels
	if labels == nil {
		return nil, fmt.Errorf("%w: algorithm %s needs a label column giving each bag's label (1 anomalous, 0 normal)", ErrNoLabelledAnomaly, name)
	}
	set := &BagSet{Rows: make([][]int, bags.n), Anomalous: make([]bool, bags.n)}
	normal := false
	for i, id := range bags.ids {
		l := labels[i]
		if math.IsNaN(l) {
			return nil, fmt.Errorf("%w: row %d has a NULL label; every row of a bag carries its bag's label, 1 (anomalous) or 0 (normal)", ErrBadBag, i+1)
		}
		rows := set.Rows[id]
		if len(rows) > 0 && set.Anomalous[id] != (l == 1) {
			return nil, fmt.Errorf("%w: rows %d and %d are in the same bag with labels %v and %v; every row of a bag carries its bag's label", ErrBadBag, rows[0]+1, i+1, labels[rows[0]], l)
		}
		set.Anomalous[id] = l == 1
		normal = normal || l == 0
		set.Rows[id] = append(rows, i)
	}
	if !normal {
		return nil, fmt.Errorf("%w: algorithm %s needs a normal bag (labelled 0) besides the anomalous ones", ErrBadBag, name)
	}
	return context.WithValue(ctx, bagsKey{}, set), nil
}
