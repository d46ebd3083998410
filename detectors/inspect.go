package detectors

// This file lets the tests of the algorithm families, which live outside
// this package, look inside a trained model: its tensors, its
// standardization, and the training graph built on its tensors. Nothing
// here changes a model.

// Weights returns the tensors m scores with, as training left them. They
// are m's own, not a copy: the caller must not change them.
func (m *Model) Weights() *State { return m.state }

// Standardize standardizes the row-major rows x of m's features in place,
// as training does before the network sees them (NULL (NaN) and extreme
// values become 0).
func (m *Model) Standardize(x []float64) { m.scale.transform(x) }

// NewGraph returns the training template's graph for a mini-batch of rows
// standardized rows of dims features, its parameters reading the tensors
// of st in place; an algorithm's Grapher builds its objective on it. Fill
// the mini-batch through Input.
func NewGraph(st *State, rows, dims int, opts Options) *Graph {
	return newGraph(st, rows, dims, opts)
}

// Input returns the rows × dims row-major values node X reads: writing
// them sets the mini-batch of the graph's next run.
func (b *Graph) Input() []float64 { return b.xData }
