package detectors

import (
	"fmt"
	"slices"
)

// LabelUse says how an algorithm uses the label column of its training
// data (1 anomaly, 0 normal, NULL unknown).
type LabelUse uint8

const (
	// LabelsNone: the algorithm is unsupervised and ignores labels (they
	// are still validated).
	LabelsNone LabelUse = iota
	// LabelsOptional: the algorithm uses labels when there are some and
	// also trains without any.
	LabelsOptional
	// LabelsRequired: the algorithm is weakly supervised; Fit fails with
	// ErrNoLabelledAnomaly unless at least one row is labelled 1.
	LabelsRequired
)

// String returns "none", "optional" or "required".
func (u LabelUse) String() string {
	switch u {
	case LabelsNone:
		return "none"
	case LabelsOptional:
		return "optional"
	case LabelsRequired:
		return "required"
	}
	return fmt.Sprintf("LabelUse(%d)", uint8(u))
}

// LabelUser is implemented by algorithms that learn from labels (weakly
// or semi-supervised ones, such as Deep SAD). Algorithms that do not
// implement it are LabelsNone.
type LabelUser interface {
	Labels() LabelUse
}

// labelUse returns a's use of labels.
func labelUse(a Algorithm) LabelUse {
	if u, ok := a.(LabelUser); ok {
		return u.Labels()
	}
	return LabelsNone
}

// UsesLabels reports how the named algorithm uses a label column, so that
// callers (the SQL layer, benchmark harnesses) can tell weakly supervised
// algorithms apart. Errors: ErrUnknownAlgorithm.
func UsesLabels(algorithm string) (LabelUse, error) {
	a, _, err := lookup(algorithm)
	if err != nil {
		return LabelsNone, err
	}
	return labelUse(a), nil
}

// checkLabels enforces LabelsRequired: labels (nil without a label
// column) must contain at least one 1.
func checkLabels(name string, a Algorithm, labels []float64) error {
	if labelUse(a) != LabelsRequired {
		return nil
	}
	if slices.Contains(labels, 1) {
		return nil
	}
	if labels == nil {
		return fmt.Errorf("%w: algorithm %s is weakly supervised and needs a label column (1 anomaly, 0 normal, NULL unknown)", ErrNoLabelledAnomaly, name)
	}
	return fmt.Errorf("%w: algorithm %s is weakly supervised and needs at least one row labelled 1", ErrNoLabelledAnomaly, name)
}
