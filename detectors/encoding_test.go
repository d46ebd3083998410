package detectors

import (
	"errors"
	"math"
	"slices"
	"testing"
)

// fitCategorical fits one categorical column on vals ("<NULL>" is NULL)
// and returns the encoding, the scaler and the remapped codes of vals.
func fitCategorical(t *testing.T, vals []string, max int) (*Encoding, scaler, []float64) {
	t.Helper()
	f, err := newEncodingFitter([]string{"c"}, []ColumnKind{KindCategorical}, EncodingOptions{MaxCategories: max})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]float64, len(vals))
	for i, v := range vals {
		ids[i] = f.addCategory(0, v, v == "<NULL>")
	}
	e, sc, remap, err := f.result()
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		ids[i] = remap[0][int(id)+1]
	}
	return e, sc, ids
}

// TestEncodingCategories checks the kept categories (most frequent first,
// NULL first among ties, then byte order), the codes of kept, other and
// unseen values, and their one-hot rows. It catches a wrong sort order or
// tie-break, "other" and "unseen" swapped, NULL not treated as a category
// and an off-by-one in the codes after NULL's.
func TestEncodingCategories(t *testing.T) {
	vals := []string{"b", "a", "b", "<NULL>", "c", "a", "b", "<NULL>", "d"}
	e, _, codes := fitCategorical(t, vals, 3)
	c := e.Columns()[0]
	// counts: b 3, a 2, NULL 2, c 1, d 1; kept: b, NULL, a.
	if !slices.Equal(c.Categories, []string{"b", "a"}) || c.NullCode != 1 || !slices.Equal(c.Others, []string{"c", "d"}) || c.NullOther {
		t.Fatalf("column %+v", c)
	}
	if e.Width() != 5 {
		t.Fatalf("width %d, want 3 kept + other + unseen", e.Width())
	}
	want := []float64{0, 2, 0, 1, 3, 2, 0, 1, 3}
	if !slices.Equal(codes, want) {
		t.Fatalf("training codes %v, want %v", codes, want)
	}
	for _, tc := range []struct {
		v    string
		null bool
		code float64
	}{{"b", false, 0}, {"", true, 1}, {"a", false, 2}, {"c", false, 3}, {"zz", false, 4}, {"B", false, 4}} {
		if got := e.Code(0, tc.v, tc.null); got != tc.code {
			t.Errorf("Code(%q, null=%v) = %v, want %v", tc.v, tc.null, got, tc.code)
		}
	}
	dst := make([]float64, e.Width())
	for code := range 5 {
		e.EncodeRow([]float64{float64(code)}, dst)
		for p, v := range dst {
			if want := b2f(p == code); v != want {
				t.Fatalf("code %d encodes as %v", code, dst)
			}
		}
	}
	e.EncodeRow([]float64{math.NaN()}, dst)
	if dst[4] != 1 {
		t.Fatalf("a NaN code encodes as %v, want unseen", dst)
	}
}

// TestEncodingNullNotKept: NULL seen in training but not among the kept
// values is "other"; never seen, "unseen". Catches NULL always mapped to
// one bucket.
func TestEncodingNullNotKept(t *testing.T) {
	e, _, _ := fitCategorical(t, []string{"x", "x", "y", "<NULL>"}, 1)
	if got := e.Code(0, "", true); got != 1 {
		t.Fatalf("NULL seen in training: code %v, want other (1)", got)
	}
	e, _, _ = fitCategorical(t, []string{"x", "y"}, 2)
	if got := e.Code(0, "", true); got != 3 {
		t.Fatalf("NULL never seen: code %v, want unseen (3)", got)
	}
}

// TestEncodingOneHotScaler: the scaler the fitter computes from counts for
// one-hot positions matches fitScaler on the explicit one-hot matrix.
// Catches a wrong mean or variance formula (p(1-p) vs p, n vs n-1).
func TestEncodingOneHotScaler(t *testing.T) {
	vals := []string{"b", "a", "b", "<NULL>", "c", "a", "b", "<NULL>", "d", "b"}
	e, sc, codes := fitCategorical(t, vals, 2)
	w := e.Width()
	x := make([]float64, len(codes)*w)
	for i, c := range codes {
		e.EncodeRow([]float64{c}, x[i*w:(i+1)*w])
	}
	want := fitScaler(x, len(codes), w)
	for j := range w {
		if math.Abs(sc.mean[j]-want.mean[j]) > 1e-12 || math.Abs(sc.std[j]-want.std[j]) > 1e-12 {
			t.Fatalf("position %d: mean %v std %v, want %v %v", j, sc.mean[j], sc.std[j], want.mean[j], want.std[j])
		}
	}
	if sc.std[w-1] != 1 || sc.mean[w-1] != 0 {
		t.Fatalf("unseen position: mean %v std %v, want 0 and 1", sc.mean[w-1], sc.std[w-1])
	}
}

// TestEncodingNumericUnchanged: numeric columns without options encode as
// themselves, and their scaler is bit-identical to fitScaler's: models of
// numeric columns must score as before encodings existed. Catches any
// change in the arithmetic of numeric statistics.
func TestEncodingNumericUnchanged(t *testing.T) {
	x := []float64{1.5, -2, 0.1, math.NaN(), 3e10, 7, 0.3, 0.7, math.Inf(1), 2}
	f, err := newEncodingFitter([]string{"a", "b"}, []ColumnKind{KindNumeric, KindNumeric}, EncodingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x {
		f.addValue(i%2, v)
	}
	e, sc, _, err := f.result()
	if err != nil {
		t.Fatal(err)
	}
	if !e.Identity() || e.Width() != 2 {
		t.Fatalf("numeric encoding not the identity (width %d)", e.Width())
	}
	want := fitScaler(x, 5, 2)
	for j := range 2 {
		if math.Float64bits(sc.mean[j]) != math.Float64bits(want.mean[j]) || math.Float64bits(sc.std[j]) != math.Float64bits(want.std[j]) {
			t.Fatalf("column %d: %v %v, want %v %v", j, sc.mean[j], sc.std[j], want.mean[j], want.std[j])
		}
	}
	dst := make([]float64, 2)
	e.EncodeRow(x[6:8], dst)
	if !slices.Equal(dst, x[6:8]) {
		t.Fatalf("encoded %v, want %v", dst, x[6:8])
	}
}

// TestEncodingMissingAndCyclic checks the missing indicator and the
// cyclic time columns on known instants. Catches a wrong epoch weekday,
// a day of week wrong for times before 1970, hour and day swapped, and an
// indicator not set for NULL.
func TestEncodingMissingAndCyclic(t *testing.T) {
	f, err := newEncodingFitter([]string{"ts"}, []ColumnKind{KindTime}, EncodingOptions{MissingIndicator: true, Cyclic: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []float64{0, 86400, math.NaN()} {
		f.addValue(0, v)
	}
	e, sc, _, err := f.result()
	if err != nil {
		t.Fatal(err)
	}
	if e.Width() != 6 || e.Identity() {
		t.Fatalf("width %d, want value + indicator + 4 cyclic", e.Width())
	}
	if math.Abs(sc.mean[1]-1.0/3) > 1e-15 {
		t.Fatalf("indicator mean %v, want 1/3", sc.mean[1])
	}
	dst := make([]float64, 6)
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-12 }
	for _, tc := range []struct {
		t         float64
		hour, dow float64
	}{
		{6 * 3600, 6, 4},                             // 1970-01-01 06:00, Thursday
		{3*86400 + 18*3600, 18, 0},                   // 1970-01-04 18:00, Sunday
		{-86400 + 12*3600, 12, 3},                    // 1969-12-31 12:00, Wednesday
		{1_700_000_000, 22 + 13.0/60 + 20.0/3600, 2}, // 2023-11-14 22:13:20 UTC, Tuesday
	} {
		e.EncodeRow([]float64{tc.t}, dst)
		hs, hc := math.Sincos(2 * math.Pi * tc.hour / 24)
		ds, dc := math.Sincos(2 * math.Pi * tc.dow / 7)
		if dst[0] != tc.t || dst[1] != 0 || !near(dst[2], hs) || !near(dst[3], hc) || !near(dst[4], ds) || !near(dst[5], dc) {
			t.Errorf("t=%v encodes as %v; want hour %v, day %v", tc.t, dst, tc.hour, tc.dow)
		}
	}
	e.EncodeRow([]float64{math.NaN()}, dst)
	if !math.IsNaN(dst[0]) || dst[1] != 1 || !math.IsNaN(dst[2]) {
		t.Fatalf("NULL encodes as %v", dst)
	}
}

// TestEncodingAggregate: attributions of a categorical column's one-hot
// positions are summed back to it. Catches spans off by one.
func TestEncodingAggregate(t *testing.T) {
	e, err := NewEncoding([]ColumnEncoding{
		{Name: "x", Kind: KindNumeric, NullCode: -1, Missing: true},
		{Name: "c", Kind: KindCategorical, Categories: []string{"p", "q"}, NullCode: -1},
		{Name: "b", Kind: KindBoolean, NullCode: -1},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Width() != 7 {
		t.Fatalf("width %d", e.Width())
	}
	dst := make([]float64, 3)
	e.AggregateColumns([]float64{1, 2, 10, 20, 30, 40, 100}, dst)
	if !slices.Equal(dst, []float64{3, 100, 100}) {
		t.Fatalf("aggregated %v", dst)
	}
}

// TestEncodingSingleValue: a string column with one value (or only NULL)
// on every training row is ErrSingleValue; two values, or one value and
// NULL, are not. Catches the check counting NULL out, or firing on two
// values.
func TestEncodingSingleValue(t *testing.T) {
	for _, tc := range []struct {
		vals []string
		bad  bool
	}{
		{[]string{"a", "a", "a"}, true},
		{[]string{"<NULL>", "<NULL>"}, true},
		{[]string{"a", "<NULL>", "a"}, false},
		{[]string{"a", "b"}, false},
	} {
		f, err := newEncodingFitter([]string{"c"}, []ColumnKind{KindCategorical}, EncodingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range tc.vals {
			f.addCategory(0, v, v == "<NULL>")
		}
		_, _, _, err = f.result()
		if bad := errors.Is(err, ErrSingleValue); bad != tc.bad {
			t.Errorf("%v: %v, want ErrSingleValue %v", tc.vals, err, tc.bad)
		}
	}
}

// TestEncodingBadInput: max_categories out of range is ErrBadOption, and
// inconsistent encodings (as from a damaged model file) are ErrBadModel.
func TestEncodingBadInput(t *testing.T) {
	for _, m := range []int{-1, MaxMaxCategories + 1} {
		if _, err := newEncodingFitter([]string{"c"}, []ColumnKind{KindCategorical}, EncodingOptions{MaxCategories: m}); !errors.Is(err, ErrBadOption) {
			t.Errorf("max_categories %d: %v, want ErrBadOption", m, err)
		}
	}
	for _, cols := range [][]ColumnEncoding{
		{{Name: "c", Kind: KindCategorical, Categories: []string{"a", "a"}, NullCode: -1}},
		{{Name: "c", Kind: KindCategorical, Categories: []string{"a"}, NullCode: 2}},
		{{Name: "x", Kind: KindNumeric, Categories: []string{"a"}, NullCode: -1}},
		{{Name: "x", Kind: KindBoolean, Cyclic: true, NullCode: -1}},
		{{Name: "x", Kind: 9, NullCode: -1}},
	} {
		if _, err := NewEncoding(cols); !errors.Is(err, ErrBadModel) {
			t.Errorf("%+v: %v, want ErrBadModel", cols, err)
		}
	}
}
