package detectors

import (
	"slices"
	"testing"
)

// TestColumnSpans: the spans a ColumnIniter gets are each column's
// encoded positions, in order, with its kind (a categorical column's K
// kept values + other + unseen, a numeric one's value then its missing
// indicator); without an encoding, one numeric position per feature.
// The bugs it catches: spans off by one, kinds of another column, the
// extra positions of a numeric column left out.
func TestColumnSpans(t *testing.T) {
	enc, err := NewEncoding([]ColumnEncoding{
		{Name: "city", Kind: KindCategorical, Categories: []string{"a", "b", "c"}, NullCode: -1},
		{Name: "x", Kind: KindNumeric, NullCode: -1, Missing: true},
		{Name: "ok", Kind: KindCategorical, Categories: []string{"y"}, NullCode: 0},
		{Name: "t", Kind: KindTime, NullCode: -1, Cyclic: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []ColumnSpan{
		{Kind: KindCategorical, Lo: 0, Hi: 5},
		{Kind: KindNumeric, Lo: 5, Hi: 7},
		{Kind: KindCategorical, Lo: 7, Hi: 11},
		{Kind: KindTime, Lo: 11, Hi: 16},
	}
	if got := columnSpans(enc, enc.Width()); !slices.Equal(got, want) {
		t.Fatalf("spans %v, want %v", got, want)
	}
	if got := columnSpans(nil, 2); !slices.Equal(got, []ColumnSpan{{KindNumeric, 0, 1}, {KindNumeric, 1, 2}}) {
		t.Fatalf("spans without an encoding %v", got)
	}
}
