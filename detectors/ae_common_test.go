package detectors

import (
	"errors"
	"testing"
)

// optionCase is one option set and the error it must give (nil: valid).
type optionCase struct {
	opts map[string]string
	want error
}

func checkOptionCases(t *testing.T, alg string, cases []optionCase) {
	t.Helper()
	for _, c := range cases {
		err := ValidateOptions(alg, c.opts)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("%s %v: got %v, want %v", alg, c.opts, err, c.want)
		}
	}
}

func TestNewAENetMirrors(t *testing.T) {
	n := newAENet("x.", 7, []int{5, 3, 2})
	want := []int{7, 5, 3, 2, 3, 5, 7}
	if len(n.Sizes) != len(want) {
		t.Fatalf("sizes %v, want %v", n.Sizes, want)
	}
	for i := range want {
		if n.Sizes[i] != want[i] {
			t.Fatalf("sizes %v, want %v", n.Sizes, want)
		}
	}
	if e := n.encoder(); len(e.Sizes) != 4 || e.Sizes[3] != 2 || e.Output != aeActivation {
		t.Fatalf("encoder %+v", e.MLP)
	}
}
