package detectors

import "fmt"

// Tensor is one named row-major float64 matrix of a model's learned state.
type Tensor struct {
	Name       string
	Rows, Cols int
	// Trainable tensors are updated by the optimizer; the others are
	// constants during training (set by Init, Prepare or Finish).
	Trainable bool
	Data      []float64
}

// At returns element (i, j).
func (t *Tensor) At(i, j int) float64 { return t.Data[i*t.Cols+j] }

// State is the learned state of one model: an ordered list of named
// tensors. It is the unit of persistence; an algorithm's Scorer is a pure
// function of its State and Options.
type State struct {
	Tensors []*Tensor

	// front is set while stage E trains the input embedding
	// (input_embedding.go): graphs over the state then take full rows.
	front *inputEmbedding
}

// Add appends a zero tensor and returns it. It panics on a duplicate name
// or a non-positive shape (programming errors).
func (s *State) Add(name string, rows, cols int, trainable bool) *Tensor {
	if s.Get(name) != nil {
		panic("detectors: duplicate state tensor " + name)
	}
	if rows < 1 || cols < 1 {
		panic(fmt.Sprintf("detectors: tensor %s has shape %dx%d", name, rows, cols))
	}
	t := &Tensor{Name: name, Rows: rows, Cols: cols, Trainable: trainable, Data: make([]float64, rows*cols)}
	s.Tensors = append(s.Tensors, t)
	return t
}

// Get returns the tensor called name, or nil.
func (s *State) Get(name string) *Tensor {
	for _, t := range s.Tensors {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Lookup returns the tensor called name with the given shape, or an error
// wrapping ErrBadModel if it is missing or has another shape. Scorers use
// it to validate state that may come from a file.
func (s *State) Lookup(name string, rows, cols int) (*Tensor, error) {
	t := s.Get(name)
	if t == nil {
		return nil, fmt.Errorf("%w: missing tensor %s", ErrBadModel, name)
	}
	if t.Rows != rows || t.Cols != cols || len(t.Data) != rows*cols {
		return nil, fmt.Errorf("%w: tensor %s is %dx%d (%d values), want %dx%d", ErrBadModel, name, t.Rows, t.Cols, len(t.Data), rows, cols)
	}
	return t, nil
}

// Clone returns a deep copy of s.
func (s *State) Clone() *State {
	c := &State{Tensors: make([]*Tensor, len(s.Tensors))}
	for i, t := range s.Tensors {
		u := *t
		u.Data = append([]float64(nil), t.Data...)
		c.Tensors[i] = &u
	}
	return c
}
