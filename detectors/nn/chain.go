package nn

import (
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Chain and its steps write gorgonia expressions as pipelines, and Must
// collects the first error of many constructions (DAGMM, AE-1SVM).

// Chain applies each step to the result of the previous one, stopping at
// the first error; it keeps long gorgonia expressions readable.
func Chain(n *gorgonia.Node, steps ...func(*gorgonia.Node) (*gorgonia.Node, error)) (*gorgonia.Node, error) {
	var err error
	for _, s := range steps {
		if n, err = s(n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// AddC is a Chain step adding the constant v.
func AddC(v float64) func(*gorgonia.Node) (*gorgonia.Node, error) {
	return func(n *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Add(n, gorgonia.NewConstant(v)) }
}

// MulC is a Chain step multiplying by the constant v.
func MulC(v float64) func(*gorgonia.Node) (*gorgonia.Node, error) {
	return func(n *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Mul(n, gorgonia.NewConstant(v)) }
}

// Column is a Chain step reshaping a vector of rows values to a
// rows × 1 column.
func Column(rows int) func(*gorgonia.Node) (*gorgonia.Node, error) {
	return func(n *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Reshape(n, tensor.Shape{rows, 1}) }
}

// Must records the first error of a sequence of graph constructions:
// wrap each construction in N and check Err once at the end (or before a
// value is used as anything but another construction's input).
type Must struct{ Err error }

// N returns n, or nil once any construction has failed; it records err
// if it is the first error.
func (m *Must) N(n *gorgonia.Node, err error) *gorgonia.Node {
	if m.Err == nil && err != nil {
		m.Err = err
	}
	if m.Err != nil {
		return nil
	}
	return n
}

// Sum1 is a Chain step summing each row of a matrix (axis 1).
func Sum1(n *gorgonia.Node) (*gorgonia.Node, error) { return gorgonia.Sum(n, 1) }
