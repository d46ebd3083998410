package nn

import "testing"

func TestNewAENetMirrors(t *testing.T) {
	n := NewAENet("x.", 7, []int{5, 3, 2})
	want := []int{7, 5, 3, 2, 3, 5, 7}
	if len(n.Sizes) != len(want) {
		t.Fatalf("sizes %v, want %v", n.Sizes, want)
	}
	for i := range want {
		if n.Sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", n.Sizes, want)
		}
	}
	if e := n.Encoder(); len(e.Sizes) != 4 || e.Sizes[3] != 2 || e.Output != AEActivation {
		t.Fatalf("encoder %+v", e.MLP)
	}
}
