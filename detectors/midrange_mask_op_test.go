package detectors

import (
	"slices"
	"testing"

	"gorgonia.org/gorgonia"
)

// TestAboveMidrange: 1 strictly above (max + min) / 2, else 0, through
// the op's Do (a gorgonia tape machine) and through its training kernel.
// Bugs caught: >= instead of > (the value 2 at the midpoint), the mean
// instead of the midrange (mean 2.6 would drop 3), min or max taken
// wrongly.
func TestAboveMidrange(t *testing.T) {
	x := []float64{0, 2, 3, 10, 4, -6, 1}
	want := []float64{0, 0, 1, 1, 1, 0, 0} // midrange (10 − 6) / 2 = 2
	g := gorgonia.NewGraph()
	mask, err := AboveMidrange(MatrixNode(g, "x", len(x), 1, x))
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		t.Fatal(err)
	}
	if got := mask.Value().Data().([]float64); !slices.Equal(got, want) {
		t.Errorf("Do: %v, want %v", got, want)
	}
	p, err := compileProgram(mask)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.run(); err != nil {
		t.Fatal(err)
	}
	if got := p.value(mask); !slices.Equal(got, want) {
		t.Errorf("kernel: %v, want %v", got, want)
	}
}
