package detectors

import "math"

// gradientExplainer is the Explainer of every Scorer that has none of its
// own: integrated gradients (Sundararajan, Taly & Yan, "Axiomatic
// Attribution for Deep Networks", ICML 2017) of the score f on the
// plain-Go scoring path,
//
//	a_j = (x_j − b_j) · ∫₀¹ ∂f/∂x_j (b + α(x − b)) dα,
//
// from the baseline b = 0, the training mean of every feature after
// standardisation (a row of means is the most ordinary row there is), so
// that a feature at its mean, or NULL (imputed as the mean), gets 0. The
// attributions add up to f(x) − f(b) (completeness), which is what makes
// them a decomposition of how much more anomalous x is than the mean row.
//
//   - The integral is the midpoint rule over igSteps points
//     α = (s + ½)/igSteps, refined where the score bends. Completeness,
//     the method's own axiom, is the error estimate. If the attributions
//     add up to f(x) − f(0) within igTol of it, they are kept (bit for
//     bit those of the plain rule). Otherwise the score is evaluated at
//     every α_s = s/igSteps, and each interval [a, b] of width w whose
//     midpoint's gradient does not account for the score's change across
//     it, |w·∇f(m·x)·x − (f(b·x) − f(a·x))| above igTol/igSteps times the
//     score's total variation along the path Σ|f(α_{s+1}x) − f(α_s x)|,
//     is halved, and each half checked the same way, at most igMaxDepth
//     times (down to width 1/(igSteps·2^igMaxDepth)). The points thereby
//     go where the score bends within an interval: close to the mean row
//     for a score that changes most there (neutral), at a change of
//     nearest neighbour (ae_knn).
//   - The partial derivatives are central finite differences of the
//     Scorer itself, (f(p + h·e_j) − f(p − h·e_j)) / (2h) with
//     h = igRelStep·max(1, |p_j|) standard deviations (divided by the
//     distance actually representable between the two points). The score
//     is thereby differentiated as it is computed, whatever its
//     algorithm: through k-NN and LeSiNN searches, mixture energies and
//     normalizations alike, with no per-algorithm backward pass. Where the
//     score has a kink (ReLU, a change of nearest neighbour) the quotient
//     is the mean of the slopes on either side.
//
// Every evaluation is a ScoreRows call on fixed points in a fixed order,
// so the result is deterministic and, by the Scorer contract (batch
// independence), does not depend on how the points are grouped into
// calls. The cost is 2·d·igSteps + 2 row scores where the plain rule is
// complete; where it is not, igSteps − 1 more along the path, and 2·d + 1
// per refined half-interval, at most 2·d·igSteps·(2^(igMaxDepth+1) − 2)
// more if every interval is refined to the last level.
type gradientExplainer struct {
	s Scorer
	d int
}

const (
	// igSteps is the number of points of the plain rule. Over 64 points
	// the attributions of the rows of TestExplain added up to f(x) − f(0)
	// within 3 % for every registered algorithm but neutral (within
	// 0.1 % for deep_svdd, deep_sad, goad, ocnn, rdp and ae_1svm; ae_knn
	// 2.4 %); with 32 points dagmm was 13 % off. neutral's score changes
	// most within a fraction of a standard deviation of the mean row
	// (detectors/selfsupervised/neutral.go): 64 points were 9–25 % off,
	// 1,024 uniform points 0.7 %. With refinement (igTol 1e-2,
	// igMaxDepth 4) every algorithm but sdor is within 1.2 % on those
	// rows (neutral 0.9–1.2 % over seeds 1–3, ae_knn 0.9 %), at 2 row
	// scores more than the plain rule for most, 1.8–2 times its row
	// scores for ae_knn and 2.5–3.8 times for neutral (BenchmarkExplain's
	// rows, 5 and 20 features).
	igSteps = 64
	// igMaxDepth is how often an interval may be halved (to 1,024 points
	// per unit of α where the score bends throughout).
	igMaxDepth = 4
	// igTol is the completeness error the plain rule may leave, relative
	// to f(x) − f(0), and a refined interval, relative to 1/igSteps of the
	// score's total variation along the path.
	igTol = 1e-2
	// igRelStep is the finite-difference step relative to max(1, |p_j|).
	igRelStep = 1e-4
	// igChunk bounds how many features are differentiated per ScoreRows
	// call (2·igChunk rows), which bounds the scratch for wide rows.
	igChunk = 32
)

var _ Explainer = gradientExplainer{}

// ExplainMethod implements Explainer.
func (g gradientExplainer) ExplainMethod() string { return ExplainIntegratedGradients }

// ExplainScratchLen implements Explainer: the scorer's scratch, the
// perturbed points (2·chunk rows of d), their scores and the steps, the
// igSteps gradients of the uniform rule, the scores along the path
// (igSteps+1) and a gradient per level of refinement (igMaxDepth rows of
// d).
func (g gradientExplainer) ExplainScratchLen() int {
	c := min(g.d, igChunk)
	return g.s.ScratchLen() + 2*c*g.d + 2*c + c + igSteps*g.d + igSteps + 1 + igMaxDepth*g.d
}

// igScratch is the scratch of one Attribute call.
type igScratch struct {
	score       []float64 // the scorer's
	pts         []float64 // 2·chunk rows of d
	vals, width []float64 // 2·chunk, chunk
	grads       []float64 // a gradient of d per level of refinement
}

// Attribute implements Explainer.
func (g gradientExplainer) Attribute(x, dst, scratch []float64) {
	d := g.d
	c := min(d, igChunk)
	var sc igScratch
	sc.score, scratch = scratch[:g.s.ScratchLen()], scratch[g.s.ScratchLen():]
	sc.pts, scratch = scratch[:2*c*d], scratch[2*c*d:]
	sc.vals, sc.width, scratch = scratch[:2*c], scratch[2*c:3*c], scratch[3*c:]
	base, scratch := scratch[:igSteps*d], scratch[igSteps*d:]
	path, scratch := scratch[:igSteps+1], scratch[igSteps+1:]
	sc.grads = scratch[:igMaxDepth*d]
	// The midpoint rule over igSteps points.
	clear(dst)
	for step := 0; step < igSteps; step++ {
		grad := base[step*d : (step+1)*d]
		g.gradient(x, (float64(step)+0.5)/igSteps, grad, &sc)
		for j, v := range grad {
			dst[j] += v
		}
	}
	// Completeness: refine only if the attributions miss f(x) − f(0) by
	// more than igTol of it.
	path[0], path[igSteps] = g.scoreAt(x, 0, &sc), g.scoreAt(x, 1, &sc)
	diff := path[igSteps] - path[0]
	if math.Abs(dotRow(x[:d], dst)/igSteps-diff) > igTol*math.Abs(diff) {
		variation := 0.0
		for s := 1; s <= igSteps; s++ {
			if s < igSteps {
				path[s] = g.scoreAt(x, float64(s)/igSteps, &sc)
			}
			variation += math.Abs(path[s] - path[s-1])
		}
		tol := igTol * variation / igSteps
		clear(dst)
		for step := 0; step < igSteps; step++ {
			grad := base[step*d : (step+1)*d]
			if math.Abs(dotRow(x[:d], grad)/igSteps-(path[step+1]-path[step])) <= tol {
				for j, v := range grad {
					dst[j] += v
				}
				continue
			}
			lo, hi := float64(step)/igSteps, float64(step+1)/igSteps
			g.refine(x, dst, lo, hi, path[step], path[step+1], 1, tol, &sc)
		}
	}
	for j, v := range x[:d] {
		dst[j] *= v / igSteps // (x_j − 0) times the mean gradient
	}
}

// dotRow returns Σ a_j·b_j.
func dotRow(a, b []float64) float64 {
	s := 0.0
	for j, v := range a {
		s += v * b[j]
	}
	return s
}

// scoreAt returns f(α·x).
func (g gradientExplainer) scoreAt(x []float64, alpha float64, sc *igScratch) float64 {
	p := sc.pts[:g.d]
	for i, v := range x[:g.d] {
		p[i] = alpha * v
	}
	g.s.ScoreRows(p, sc.vals[:1], sc.score)
	return sc.vals[0]
}

// refine adds to dst the integral over [lo, hi], whose midpoint gradient
// failed the completeness check, as its two halves (at refinement level
// depth): see interval. flo and fhi are the scores at lo and hi.
func (g gradientExplainer) refine(x, dst []float64, lo, hi, flo, fhi float64, depth int, tol float64, sc *igScratch) {
	mid := lo + (hi-lo)/2
	fm := g.scoreAt(x, mid, sc)
	g.interval(x, dst, lo, mid, flo, fm, depth, tol, sc)
	g.interval(x, dst, mid, hi, fm, fhi, depth, tol, sc)
}

// interval adds to dst the gradient at the midpoint of [lo, hi] (at
// refinement level depth ≥ 1) times 2^−depth, its weight among the
// igSteps unit intervals, or, if that gradient does not account for the
// score's change fhi − flo across the interval within tol and depth <
// igMaxDepth, refines it further.
func (g gradientExplainer) interval(x, dst []float64, lo, hi, flo, fhi float64, depth int, tol float64, sc *igScratch) {
	d := g.d
	mid := lo + (hi-lo)/2
	grad := sc.grads[(depth-1)*d : depth*d]
	g.gradient(x, mid, grad, sc)
	if depth < igMaxDepth && !(math.Abs((hi-lo)*dotRow(x[:d], grad)-(fhi-flo)) <= tol) {
		g.refine(x, dst, lo, hi, flo, fhi, depth+1, tol, sc)
		return
	}
	weight := math.Ldexp(1, -depth)
	for j, v := range grad {
		dst[j] += v * weight
	}
}

// gradient sets grad to the central-difference gradient of the score at
// α·x.
func (g gradientExplainer) gradient(x []float64, alpha float64, grad []float64, sc *igScratch) {
	d := g.d
	c := min(d, igChunk)
	pts, vals, width := sc.pts, sc.vals, sc.width
	for lo := 0; lo < d; lo += c {
		hi := min(lo+c, d)
		n := hi - lo
		for k := 0; k < n; k++ {
			j := lo + k
			plus, minus := pts[2*k*d:(2*k+1)*d], pts[(2*k+1)*d:(2*k+2)*d]
			for i, v := range x[:d] {
				plus[i] = alpha * v
			}
			copy(minus, plus)
			p := plus[j]
			h := igRelStep * max(1, math.Abs(p))
			plus[j], minus[j] = p+h, p-h
			width[k] = plus[j] - minus[j]
		}
		g.s.ScoreRows(pts[:2*n*d], vals[:2*n], sc.score)
		for k := 0; k < n; k++ {
			grad[lo+k] = (vals[2*k] - vals[2*k+1]) / width[k]
		}
	}
}
