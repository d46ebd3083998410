package detectors

import (
	"fmt"
	"math"
)

// Fitting an Encoding on a stream of training rows.
//
// The fitter sees every row read (like the scaler's statistics in
// RowSampler), one value at a time, before the categories are known. So
// a categorical value is first given a provisional id, in order of first
// appearance, which the caller stores in its raw rows (the sample of
// RowSampler); result then freezes the encoding and returns the map from
// provisional ids to codes, which the caller applies to its stored rows.
//
// The scaler of the encoded columns is computed from the same stream:
//
//   - a numeric, boolean or time value: Welford's statistics of its finite
//     values, exactly as scalerOf has always done, so a detector of
//     numeric columns only gets bit-identically the scaler it got before
//     encodings existed;
//   - a missing indicator and a one-hot position (0/1 columns): from the
//     counts, mean p = c/n and m2 = c(1−p)² + (n−c)p², the population
//     variance n·p(1−p) of c ones among n rows;
//   - the cyclic columns: Welford's statistics of their finite values.
//
// scalerOf's rules then apply: a constant column (the "unseen" position is
// always 0 in training) gets std 1.

// fitColumn accumulates the statistics of one user column.
type fitColumn struct {
	name  string
	kind  ColumnKind
	rows  int64 // values added, NULL included
	nulls int64 // NULL values (NaN for the non-categorical kinds)
	stats colStats
	cyc   [4]colStats
	// categorical: provisional id i is vals[i] (or NULL if i == nullID).
	ids      map[string]int
	vals     []string
	counts   []int64
	nullID   int
	overflow int64 // values first met once maxTrackedValues were tracked
}

// encodingFitter fits an Encoding on a stream of rows. Not safe for
// concurrent use.
type encodingFitter struct {
	opts EncodingOptions
	cols []fitColumn
	buf  [4]float64
}

// newEncodingFitter returns a fitter for columns of the given names and
// kinds (same length). Errors wrap ErrBadOption (see EncodingOptions).
func newEncodingFitter(names []string, kinds []ColumnKind, o EncodingOptions) (*encodingFitter, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	f := &encodingFitter{opts: o, cols: make([]fitColumn, len(names))}
	for j := range names {
		f.cols[j] = fitColumn{name: names[j], kind: kinds[j], nullID: -1}
		if kinds[j] == KindCategorical {
			f.cols[j].ids = map[string]int{}
		}
	}
	return f, nil
}

// addValue adds the raw value v (NaN for NULL) of the non-categorical
// column j.
func (f *encodingFitter) addValue(j int, v float64) {
	c := &f.cols[j]
	c.rows++
	if math.IsNaN(v) {
		c.nulls++
	}
	c.stats.add(v)
	if c.kind == KindTime && f.opts.Cyclic {
		cyclic(v, f.buf[:])
		for i := range c.cyc {
			c.cyc[i].add(f.buf[i])
		}
	}
}

// addCategory adds the value v (NULL if null) of categorical column j and
// returns its provisional id, -1 for a value not tracked (see
// maxTrackedValues).
func (f *encodingFitter) addCategory(j int, v string, null bool) float64 {
	c := &f.cols[j]
	c.rows++
	if null {
		c.nulls++
		if c.nullID < 0 {
			c.nullID = len(c.vals)
			c.vals = append(c.vals, "")
			c.counts = append(c.counts, 0)
		}
		c.counts[c.nullID]++
		return float64(c.nullID)
	}
	id, ok := c.ids[v]
	if !ok {
		if len(c.vals) >= maxTrackedValues {
			c.overflow++
			return -1
		}
		id = len(c.vals)
		c.ids[v] = id
		c.vals = append(c.vals, v)
		c.counts = append(c.counts, 0)
	}
	c.counts[id]++
	return float64(id)
}

// result freezes the encoding and returns it, the scaler of its encoded
// columns, and remap: remap[j][id+1] is the code of provisional id id
// (−1 included) of categorical column j (nil for other columns). The
// fitter must not be used after. A categorical column with one value
// (or only NULL) on more than one row is ErrSingleValue.
func (f *encodingFitter) result() (*Encoding, scaler, [][]float64, error) {
	cols := make([]ColumnEncoding, len(f.cols))
	remap := make([][]float64, len(f.cols))
	for j := range f.cols {
		c := &f.cols[j]
		ce := ColumnEncoding{Name: c.name, Kind: c.kind, NullCode: -1}
		switch c.kind {
		case KindCategorical:
			if len(c.vals) == 1 && c.overflow == 0 && c.rows > 1 {
				v := "NULL"
				if c.nullID < 0 {
					v = "'" + c.vals[0] + "'"
				}
				return nil, scaler{}, nil, fmt.Errorf("%w: column %s is %s on all %d rows", ErrSingleValue, c.name, v, c.rows)
			}
			counts := make(map[string]int64, len(c.vals))
			for i, v := range c.vals {
				if i != c.nullID {
					counts[v] = c.counts[i]
				}
			}
			var nulls int64
			if c.nullID >= 0 {
				nulls = c.counts[c.nullID]
			}
			ce.Categories, ce.NullCode, ce.Others, ce.NullOther = rankCategories(counts, nulls, f.opts.maxCategories())
		default:
			ce.Missing = f.opts.MissingIndicator
			ce.Cyclic = c.kind == KindTime && f.opts.Cyclic
		}
		cols[j] = ce
	}
	e, err := NewEncoding(cols)
	if err != nil {
		return nil, scaler{}, nil, err
	}
	acc := make([]colStats, 0, e.Width())
	for j := range f.cols {
		c := &f.cols[j]
		if c.kind != KindCategorical {
			acc = append(acc, c.stats)
			if e.cols[j].Missing {
				acc = append(acc, binaryStats(c.nulls, c.rows))
			}
			if e.cols[j].Cyclic {
				acc = append(acc, c.cyc[:]...)
			}
			continue
		}
		lo, hi := e.Span(j)
		ones := make([]int64, hi-lo)
		m := make([]float64, len(c.vals)+1)
		m[0] = float64(hi - lo - 2) // untracked values are "other"
		ones[hi-lo-2] += c.overflow
		for id, v := range c.vals {
			code := e.Code(j, v, id == c.nullID)
			m[id+1] = code
			ones[int(code)] += c.counts[id]
		}
		remap[j] = m
		for _, n := range ones {
			acc = append(acc, binaryStats(n, c.rows))
		}
	}
	return e, scalerOf(acc), remap, nil
}

// binaryStats returns the statistics of a 0/1 column with ones ones among
// n rows.
func binaryStats(ones, n int64) colStats {
	if n == 0 {
		return colStats{}
	}
	p := float64(ones) / float64(n)
	return colStats{n: n, mean: p, m2: float64(ones)*(1-p)*(1-p) + float64(n-ones)*p*p}
}
