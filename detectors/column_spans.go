package detectors

import "math/rand/v2"

// ColumnSpan is where one user column's encoded values lie in the rows
// an algorithm sees: positions [Lo, Hi) of a standardized row, encoded as
// Kind (encoding.go). A categorical column's span is its one-hot: its K
// kept categories, then "other", then "unseen" (Hi−Lo = K+2); the
// position of a row's category is the only one of the span whose
// standardized value is positive (a one-hot position's training mean is
// below 1, and a position never 1 in training has mean 0 and std 1). A
// numeric, boolean or time column's first position holds its
// standardized value; further positions (missing indicator, cycles)
// follow it.
type ColumnSpan struct {
	Kind   ColumnKind
	Lo, Hi int
}

// ColumnIniter is implemented by algorithms that need to know which
// encoded positions form each user column (APE's entities: one per
// category of each categorical column). Fit calls InitColumns in place of
// Init, with one span per feature, in feature order, covering the d
// encoded positions in order. The algorithm keeps what it needs of cols
// in the State it returns, so that its Scorer, which sees only the State,
// works the same after UnmarshalModel. Init is still called by tests that
// build a graph without data; it must then behave as InitColumns with d
// numeric columns of one position each.
type ColumnIniter interface {
	InitColumns(cols []ColumnSpan, opts Options, rng *rand.Rand) (*State, error)
}

// NumericSpans returns the spans of d numeric columns of one position
// each: what a model without an Encoding (numeric and boolean features
// only, see row_sampler.go) trains on.
func NumericSpans(d int) []ColumnSpan {
	cols := make([]ColumnSpan, d)
	for j := range cols {
		cols[j] = ColumnSpan{Kind: KindNumeric, Lo: j, Hi: j + 1}
	}
	return cols
}

// columnSpans returns the spans of the d encoded positions of enc's
// columns (NumericSpans(d) if enc is nil).
func columnSpans(enc *Encoding, d int) []ColumnSpan {
	if enc == nil {
		return NumericSpans(d)
	}
	cols := make([]ColumnSpan, len(enc.cols))
	for j := range cols {
		lo, hi := enc.Span(j)
		cols[j] = ColumnSpan{Kind: enc.cols[j].Kind, Lo: lo, Hi: hi}
	}
	return cols
}

// initState is Fit's Init: InitColumns for a ColumnIniter, else Init.
func initState(a Algorithm, enc *Encoding, d int, o Options, rng *rand.Rand) (*State, error) {
	if ci, ok := a.(ColumnIniter); ok {
		return ci.InitColumns(columnSpans(enc, d), o, rng)
	}
	return a.Init(d, o, rng)
}
