package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Mixed-type features: the encoding stage (issue 12, part 1).
//
// Every detector computes on a dense float64 matrix. A feature column of
// the user's table is turned into one or more encoded columns by a
// ColumnEncoding that is fitted on the training rows and frozen in the
// model, like the z-scores of the scaler, which then standardises the
// encoded columns; the algorithms see only the encoded width and are
// unchanged.
//
// There are two representations of a row:
//
//   - raw: one float64 per user column, what ScoreRow-like entry points
//     take. A numeric column holds its value, a boolean 0 or 1, a date or
//     time its seconds since 1970-01-01 00:00:00 UTC; NaN is NULL. A
//     categorical column holds its category code (Encoding.Code): never
//     NaN, NULL is a category of its own.
//   - encoded: Encoding.Width() values, what the scaler and the algorithm
//     get (EncodeRow). Per kind:
//
//     numeric, boolean: the value (NaN for NULL, which the scaler imputes
//     as the training mean), then, with the missing indicator, 1 for NULL
//     and 0 otherwise;
//     time: the seconds, then the missing indicator if any, then, with the
//     cyclic option, sin and cos of the hour of day (2π·h/24, h the
//     fractional UTC hour) and of the day of week (2π·d/7, d = 0 on
//     Sunday), NaN for NULL;
//     categorical: one-hot over K+2 positions: the K categories kept (the
//     max_categories most frequent training values, NULL included), then
//     "other" (a training value not kept), then "unseen" (a value never
//     met in training, which is not an error).
//
// The arithmetic of an encoded value depends only on the raw value and the
// frozen encoding, never on other rows, so a row scores the same alone and
// in any batch.

// ColumnKind is how a user column is encoded.
type ColumnKind uint8

// The column kinds.
const (
	KindNumeric     ColumnKind = iota // integers, floats, decimals
	KindBoolean                       // BOOLEAN: 0 or 1
	KindTime                          // DATE, DATETIME, TIMESTAMP: seconds since epoch
	KindCategorical                   // CHAR, VARCHAR, TEXT, ENUM: one-hot
)

// String returns the kind's name as DESCRIBE DETECTOR shows it.
func (k ColumnKind) String() string {
	switch k {
	case KindNumeric:
		return "numeric"
	case KindBoolean:
		return "boolean"
	case KindTime:
		return "time"
	case KindCategorical:
		return "one-hot"
	}
	return fmt.Sprintf("kind(%d)", k)
}

// Encoding option bounds.
const (
	// DefaultMaxCategories is the default of max_categories.
	DefaultMaxCategories = 64
	// MaxMaxCategories is the largest max_categories accepted: one-hot
	// columns of more values are wider than any network here is sized
	// for, and such a column is an identifier, not a category.
	MaxMaxCategories = 4096
	// maxTrackedValues is how many distinct values of a categorical
	// column the fitter counts exactly; values first met after that many
	// are counted as "other" in training and score as "unseen" (a column
	// with that many values is an identifier, see MaxMaxCategories).
	maxTrackedValues = 1 << 16
)

// EncodingOptions are the options of the encoding stage, the same for
// every column of a detector.
type EncodingOptions struct {
	// MaxCategories is how many of a categorical column's most frequent
	// training values get a one-hot position of their own (1 to
	// MaxMaxCategories; 0 means DefaultMaxCategories).
	MaxCategories int
	// MissingIndicator adds a 0/1 "was NULL" column after every numeric,
	// boolean and time column.
	MissingIndicator bool
	// Cyclic adds sin/cos of the hour of day and of the day of week after
	// every time column.
	Cyclic bool
}

// check validates o, with an error wrapping ErrBadOption.
func (o EncodingOptions) check() error {
	if o.MaxCategories < 0 || o.MaxCategories > MaxMaxCategories {
		return fmt.Errorf("%w: max_categories must be between 1 and %d, got %d", ErrBadOption, MaxMaxCategories, o.MaxCategories)
	}
	return nil
}

func (o EncodingOptions) maxCategories() int {
	if o.MaxCategories == 0 {
		return DefaultMaxCategories
	}
	return o.MaxCategories
}

// ColumnEncoding is the frozen encoding of one user column. Its fields
// must not be modified after it is part of an Encoding.
type ColumnEncoding struct {
	Name string
	Kind ColumnKind
	// Categories are the categorical values kept, most frequent first
	// (ties: NULL first, then by byte order), excluding NULL; NullCode is
	// NULL's code if NULL was kept, else -1.
	Categories []string
	NullCode   int
	// Others are the training values counted but not kept (byte order);
	// NullOther is true if NULL occurred in training but was not kept.
	Others    []string
	NullOther bool
	// Missing: a missing indicator follows the value (not categorical).
	Missing bool
	// Cyclic: hour-of-day and day-of-week sin/cos follow (time only).
	Cyclic bool
}

// kept is the number of kept categories, NULL included.
func (c *ColumnEncoding) kept() int {
	if c.NullCode >= 0 {
		return len(c.Categories) + 1
	}
	return len(c.Categories)
}

// Width is the number of encoded columns of c.
func (c *ColumnEncoding) Width() int {
	if c.Kind == KindCategorical {
		return c.kept() + 2
	}
	w := 1
	if c.Missing {
		w++
	}
	if c.Kind == KindTime && c.Cyclic {
		w += 4
	}
	return w
}

// Describe is a one-line description of c for DESCRIBE DETECTOR:
// "numeric", "boolean", "time" (with "+ missing indicator" and "+ hour
// and weekday cycles" as they apply), or for a categorical column
// "one-hot: n values + other + unseen" followed by the kept values in
// order, NULL as NULL, quoted with single quotes.
func (c *ColumnEncoding) Describe() string {
	if c.Kind != KindCategorical {
		s := c.Kind.String()
		if c.Missing {
			s += " + missing indicator"
		}
		if c.Cyclic {
			s += " + hour and weekday cycles"
		}
		return s
	}
	var b strings.Builder
	fmt.Fprintf(&b, "one-hot: %d values + other + unseen (", c.kept())
	vals := c.Categories
	for i := 0; i < c.kept(); i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		if i == c.NullCode {
			b.WriteString("NULL")
			continue
		}
		b.WriteString("'" + strings.ReplaceAll(vals[0], "'", "''") + "'")
		vals = vals[1:]
	}
	b.WriteString(")")
	return b.String()
}

// Encoding is the frozen encoding of a detector's feature columns, in
// feature order. It is safe for concurrent use; build it with NewEncoding
// (or by fitting).
type Encoding struct {
	cols   []ColumnEncoding
	start  []int // encoded position of column j's first value; start[len(cols)] = Width
	codes  []map[string]int
	others []map[string]bool
}

// NewEncoding checks cols and returns their encoding. Errors wrap
// ErrBadModel: it is what a model file is checked with.
func NewEncoding(cols []ColumnEncoding) (*Encoding, error) {
	e := &Encoding{cols: cols, start: make([]int, len(cols)+1), codes: make([]map[string]int, len(cols)), others: make([]map[string]bool, len(cols))}
	for j := range cols {
		c := &cols[j]
		if c.Kind > KindCategorical {
			return nil, fmt.Errorf("%w: column %q of unknown kind %d", ErrBadModel, c.Name, c.Kind)
		}
		if c.Kind == KindCategorical {
			if c.Missing || c.Cyclic || c.kept() > MaxMaxCategories || c.NullCode < -1 || c.NullCode > len(c.Categories) {
				return nil, fmt.Errorf("%w: categorical column %q", ErrBadModel, c.Name)
			}
			e.codes[j] = make(map[string]int, len(c.Categories))
			for i, v := range c.Categories {
				code := i
				if c.NullCode >= 0 && i >= c.NullCode {
					code++
				}
				if _, dup := e.codes[j][v]; dup {
					return nil, fmt.Errorf("%w: categorical column %q repeats %q", ErrBadModel, c.Name, v)
				}
				e.codes[j][v] = code
			}
			e.others[j] = make(map[string]bool, len(c.Others))
			for _, v := range c.Others {
				e.others[j][v] = true
			}
		} else if len(c.Categories) > 0 || len(c.Others) > 0 || c.NullOther || c.NullCode != -1 || (c.Cyclic && c.Kind != KindTime) {
			return nil, fmt.Errorf("%w: %s column %q with categorical fields", ErrBadModel, c.Kind, c.Name)
		}
		e.start[j+1] = e.start[j] + c.Width()
	}
	return e, nil
}

// Columns returns the user columns' encodings; the result must not be
// modified.
func (e *Encoding) Columns() []ColumnEncoding { return e.cols }

// Width is the number of encoded columns.
func (e *Encoding) Width() int { return e.start[len(e.cols)] }

// Span returns the encoded positions [lo, hi) of user column j.
func (e *Encoding) Span(j int) (lo, hi int) { return e.start[j], e.start[j+1] }

// Identity reports whether the encoding is one numeric column per
// feature with no extra columns: raw and encoded rows are the same, as
// for every model saved before encodings existed.
func (e *Encoding) Identity() bool {
	for j := range e.cols {
		if c := &e.cols[j]; c.Kind != KindNumeric || c.Missing {
			return false
		}
	}
	return true
}

// Code returns the raw value of categorical column j for the string v (or
// NULL if null): the code of v's category, of "other", or of "unseen".
// It panics if j is not categorical (a programmer error).
func (e *Encoding) Code(j int, v string, null bool) float64 {
	c := &e.cols[j]
	if c.Kind != KindCategorical {
		panic(fmt.Sprintf("detectors: Code of %s column %q", c.Kind, c.Name))
	}
	k := c.kept()
	switch {
	case null && c.NullCode >= 0:
		return float64(c.NullCode)
	case null && c.NullOther:
		return float64(k)
	case null:
		return float64(k + 1)
	}
	if code, ok := e.codes[j][v]; ok {
		return float64(code)
	}
	if e.others[j][v] {
		return float64(k)
	}
	return float64(k + 1)
}

// Hour and day lengths for the cyclic time encodings.
const (
	secondsPerDay  = 86400
	secondsPerHour = 3600
)

// EncodeRow writes the encoding of the raw row raw (one value per user
// column, see the comment at the top of the file) into dst, which must
// have Width() values. A categorical code that is not an integer in range
// (a caller's mistake) encodes as "unseen".
func (e *Encoding) EncodeRow(raw, dst []float64) {
	for j := range e.cols {
		c := &e.cols[j]
		v := raw[j]
		out := dst[e.start[j]:e.start[j+1]]
		if c.Kind == KindCategorical {
			clear(out)
			k := int(v)
			if !(v >= 0 && v < float64(len(out))) || float64(k) != v {
				k = len(out) - 1
			}
			out[k] = 1
			continue
		}
		out[0] = v
		p := 1
		if c.Missing {
			out[p] = 0
			if math.IsNaN(v) {
				out[p] = 1
			}
			p++
		}
		if c.Kind == KindTime && c.Cyclic {
			cyclic(v, out[p:p+4])
		}
	}
}

// cyclic writes sin and cos of the hour of day and of the day of week of
// t (seconds since epoch, UTC) into dst[:4]; NaN (NULL) and ±Inf give NaN.
func cyclic(t float64, dst []float64) {
	if math.IsNaN(t) || math.IsInf(t, 0) {
		for i := range dst[:4] {
			dst[i] = math.NaN()
		}
		return
	}
	days := math.Floor(t / secondsPerDay)
	hour := (t - days*secondsPerDay) / secondsPerHour // in [0, 24)
	dow := math.Mod(days+4, 7)                        // 1970-01-01 was a Thursday (4)
	if dow < 0 {
		dow += 7
	}
	dst[0], dst[1] = math.Sincos(2 * math.Pi * hour / 24)
	dst[2], dst[3] = math.Sincos(2 * math.Pi * dow / 7)
}

// AggregateColumns sums per-encoded-position values (attributions, as
// anomaly_explain reports them) into one value per user column: dst[j] is
// the sum over column j's span of enc. dst must have one value per user
// column.
func (e *Encoding) AggregateColumns(enc, dst []float64) {
	for j := range e.cols {
		s := 0.0
		for _, v := range enc[e.start[j]:e.start[j+1]] {
			s += v
		}
		dst[j] = s
	}
}

// rankCategories returns the categories kept out of counts (value →
// training count) and nulls (NULL's count, 0 if none): the max most
// frequent, ties broken by NULL first, then byte order. It returns the
// kept values without NULL, NULL's code (or -1) and the other values.
func rankCategories(counts map[string]int64, nulls int64, max int) (kept []string, nullCode int, others []string, nullOther bool) {
	type cand struct {
		v    string
		null bool
		n    int64
	}
	all := make([]cand, 0, len(counts)+1)
	for v, n := range counts {
		all = append(all, cand{v: v, n: n})
	}
	if nulls > 0 {
		all = append(all, cand{null: true, n: nulls})
	}
	slices.SortFunc(all, func(a, b cand) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		if a.null != b.null {
			if a.null {
				return -1
			}
			return 1
		}
		return cmp.Compare(a.v, b.v)
	})
	nullCode = -1
	for i, c := range all {
		switch {
		case i < max && c.null:
			nullCode = i
		case i < max:
			kept = append(kept, c.v)
		case c.null:
			nullOther = true
		default:
			others = append(others, c.v)
		}
	}
	slices.Sort(others)
	return kept, nullCode, others, nullOther
}
