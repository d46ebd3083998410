package detectors

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// This file explains a row's score: how much each feature contributed to
// it. The method depends on how the score is computed, never on a model
// of the model:
//
//   - A Scorer that implements Explainer attributes its score itself. The
//     reconstruction family (autoencoder, robust_autoencoder, vae,
//     randnet; autoencoders/explain_recon.go) attributes the per-feature squared
//     reconstruction error of the standardized row.
//   - Every other Scorer is explained by integrated gradients of its score
//     (explain_gradients.go), computed on the plain-Go scoring path.
//
// Model.Explain turns attributions into contributions, the same way for
// every method (see Explanation).

// Explainer is an optional capability of a Scorer, found by type
// assertion: per-feature attributions of the score of one standardized
// row, computed from the score's own structure. A Scorer without it is
// explained by integrated gradients (gradientExplainer), so every
// algorithm can be explained; implement Explainer only where the score
// decomposes over features more directly than its gradient says.
//
// Like ScoreRows, Attribute must be deterministic, must not depend on
// other rows, and must be safe for concurrent use (all mutable memory
// comes from scratch).
type Explainer interface {
	// ExplainMethod names the method (ExplainReconstruction,
	// ExplainIntegratedGradients).
	ExplainMethod() string
	// ExplainScratchLen is the length of the scratch slice Attribute needs.
	ExplainScratchLen() int
	// Attribute sets dst[j], for each of the len(x) features, to feature
	// j's attribution of the score of the standardized row x: larger in
	// magnitude for a feature that contributes more. Attributions may be
	// negative (a feature that lowers the score); Model.Explain ranks
	// features by magnitude. x is not modified.
	Attribute(x, dst, scratch []float64)
}

// The explanation methods (Explanation.Method).
const (
	// ExplainReconstruction: each feature's squared reconstruction error.
	ExplainReconstruction = "reconstruction_error"
	// ExplainIntegratedGradients: integrated gradients of the score from
	// the training mean (explain_gradients.go).
	ExplainIntegratedGradients = "integrated_gradients"
	// ExplainExtremeValues: the row scores MaxScore because of extreme
	// feature values, which share the contribution equally.
	ExplainExtremeValues = "extreme_values"
)

// Explanation is a row's score and each feature's contribution to it.
type Explanation struct {
	// Score is the row's score, bit-identical to ScoreRow's.
	Score float64
	// Method is how the contributions were computed (the model's
	// ExplainMethod, or ExplainExtremeValues).
	Method string
	// Features holds every feature once, by decreasing Contribution, ties
	// in training order.
	Features []FeatureContribution
}

// FeatureContribution is one feature's part in an Explanation.
type FeatureContribution struct {
	// Index is the feature's position in Model.Features.
	Index int
	// Name is Model.Features[Index].
	Name string
	// Value is the raw value given for the feature (NaN for NULL).
	Value float64
	// Contribution is in [0, 1]; the contributions of a row sum to 1 (up to
	// rounding). It is |a_j| / Σ_k |a_k| for the attributions a of the
	// method: a feature that lowers the score counts by its magnitude,
	// like one that raises it. If every attribution is 0, each feature gets
	// 1/d. If some attributions are not finite (the network's arithmetic
	// overflowed), those features share 1 equally and the others get 0;
	// so do the extreme features of a row that scores MaxScore because of
	// them (ExplainExtremeValues).
	Contribution float64
}

// ExplainMethod returns the method Explain uses for the model's rows
// (other than rows with extreme values).
func (m *Model) ExplainMethod() string { return m.explainer().ExplainMethod() }

// explainer returns the scorer's own Explainer, or integrated gradients.
func (m *Model) explainer() Explainer {
	if e, ok := m.scorer.(Explainer); ok {
		return e
	}
	return gradientExplainer{s: m.scorer, d: m.width()}
}

// Explain returns the score of row x and each feature's contribution to
// it. x holds raw feature values as for ScoreRow (NaN for NULL) and is not
// modified; a row of the wrong length gives ErrFeatureCount. The score is
// ScoreRow's, bit for bit, and the result is deterministic: the same
// model and row give the same Explanation, also after a MarshalBinary /
// UnmarshalModel round trip.
//
// A NULL feature is imputed as its training mean, as in scoring: it
// contributes 0 under integrated gradients (it is at the baseline) and its
// reconstruction error under ExplainReconstruction. A row with extreme
// values (see ScoreRow) is explained by them alone (ExplainExtremeValues).
//
// Explain allocates; its cost is that of scoring the row for
// ExplainReconstruction, and for integrated gradients over d features
// 2·d·igSteps row scores plus those of the refinement where the score
// bends along the path (explain_gradients.go).
func (m *Model) Explain(x []float64) (Explanation, error) {
	d := len(m.Features)
	score, err := m.ScoreRow(x)
	if err != nil {
		return Explanation{}, err
	}
	// Attributions are of the encoded columns; a feature's contribution
	// is the sum of its encoded columns' (encoding.go).
	w := m.width()
	z := make([]float64, w)
	m.encode(x, z)
	encoded := slices.Clone(z)
	attr := make([]float64, w)
	var method string
	if m.scale.transformRow(z) {
		method = ExplainExtremeValues
		for j, v := range encoded {
			one := []float64{v}
			if (scaler{mean: m.scale.mean[j : j+1], std: m.scale.std[j : j+1]}).transformRow(one) {
				attr[j] = math.Inf(1)
			}
		}
	} else {
		e := m.explainer()
		method = e.ExplainMethod()
		e.Attribute(z, attr, make([]float64, e.ExplainScratchLen()))
	}
	share := contributions(attr)
	if m.enc != nil {
		perFeature := make([]float64, d)
		m.enc.AggregateColumns(share, perFeature)
		share = perFeature
	}
	out := Explanation{Score: score, Method: method, Features: make([]FeatureContribution, d)}
	for j := range out.Features {
		out.Features[j] = FeatureContribution{Index: j, Name: m.Features[j], Value: x[j], Contribution: share[j]}
	}
	slices.SortStableFunc(out.Features, func(a, b FeatureContribution) int {
		return cmp.Compare(b.Contribution, a.Contribution)
	})
	return out, nil
}

// contributions normalizes attributions to contributions (see
// FeatureContribution.Contribution). attr is overwritten.
func contributions(attr []float64) []float64 {
	nonFinite := 0
	for _, a := range attr {
		if math.IsNaN(a) || math.IsInf(a, 0) {
			nonFinite++
		}
	}
	if nonFinite > 0 {
		for j, a := range attr {
			attr[j] = 0
			if math.IsNaN(a) || math.IsInf(a, 0) {
				attr[j] = 1 / float64(nonFinite)
			}
		}
		return attr
	}
	// Scaled by the largest magnitude first, so that the sum cannot
	// overflow.
	top := 0.0
	for j, a := range attr {
		attr[j] = math.Abs(a)
		top = max(top, attr[j])
	}
	if top == 0 {
		for j := range attr {
			attr[j] = 1 / float64(len(attr))
		}
		return attr
	}
	sum := 0.0
	for j := range attr {
		attr[j] /= top
		sum += attr[j]
	}
	for j := range attr {
		attr[j] /= sum
	}
	return attr
}

// String is a one-line rendering for logs and test failures.
func (e Explanation) String() string {
	s := fmt.Sprintf("score %v (%s):", e.Score, e.Method)
	for _, f := range e.Features {
		s += fmt.Sprintf(" %s=%v %.4f", f.Name, f.Value, f.Contribution)
	}
	return s
}
