package clustering

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"math"
	"strings"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

func TestDAGMMOptions(t *testing.T) {
	CheckOptionCases(t, "dagmm", []OptionCase{
		{Opts: nil, Want: nil},
		{Opts: Opts("n_components", "1", "lambda_energy", "0", "lambda_cov", "0", "est_hidden", "8,4", "hidden", "16,2"), Want: nil},
		{Opts: Opts("n_components", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("n_components", "two"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda_energy", "-0.1"), Want: detectors.ErrBadOption},
		{Opts: Opts("lambda_cov", "NaN"), Want: detectors.ErrBadOption},
		{Opts: Opts("est_hidden", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("components", "4"), Want: detectors.ErrUnknownOption},
	})
	d, err := detectors.OptionDefaults("dagmm")
	if err != nil {
		t.Fatal(err)
	}
	if d["n_components"] != "4" || d["lambda_energy"] != "1" || d["lambda_cov"] != "0.005" || d["hidden"] != "60,30,10,1" {
		t.Errorf("defaults %v", d)
	}
}

// TestDAGMMAccuracy is a quick smoke test on thyroid (one seed, fewer
// epochs than the default).
func TestDAGMMAccuracy(t *testing.T) {
	auc := SplitAUC(t, "dagmm", ReadTable(t, "thyroid"), Opts("epochs", "20"), false)
	if auc < 0.91 { // measured 0.9363 (untrained network 0.9397)
		t.Errorf("thyroid AUC %.4f < 0.91", auc)
	}
}

// TestGMMOpsGradients checks the analytic gradients of the SPD inverse,
// log-determinant and row log-sum-exp ops against central differences.
// The SPD ops read only the lower triangle, so the input is perturbed
// symmetrically and compared with g[i,j] + g[j,i].
func TestGMMOpsGradients(t *testing.T) {
	const n = 3
	a0 := []float64{2, 0.3, -0.2, 0.3, 1.5, 0.4, -0.2, 0.4, 1.2}
	c := []float64{0.5, -1, 2, 0.7, 0.1, -0.3, 1.1, 0.9, -0.6}
	build := func(f func(g *gorgonia.ExprGraph, a *gorgonia.Node) (*gorgonia.Node, error)) func(a []float64, grad bool) (float64, []float64) {
		return func(a []float64, grad bool) (float64, []float64) {
			g := gorgonia.NewGraph()
			an := detectors.MatrixNode(g, "a", n, n, append([]float64(nil), a...))
			loss, err := f(g, an)
			if err != nil {
				t.Fatal(err)
			}
			var vm gorgonia.VM
			if grad {
				if _, err := gorgonia.Grad(loss, an); err != nil {
					t.Fatal(err)
				}
				vm = gorgonia.NewTapeMachine(g, gorgonia.BindDualValues(an))
			} else {
				vm = gorgonia.NewTapeMachine(g)
			}
			defer vm.Close()
			if err := vm.RunAll(); err != nil {
				t.Fatal(err)
			}
			v := loss.Value().Data().(float64)
			if !grad {
				return v, nil
			}
			gv, err := an.Grad()
			if err != nil {
				t.Fatal(err)
			}
			return v, append([]float64(nil), gv.Data().([]float64)...)
		}
	}
	weighted := func(g *gorgonia.ExprGraph, x *gorgonia.Node) (*gorgonia.Node, error) {
		w := detectors.MatrixNode(g, "c", n, n, c)
		p, err := gorgonia.HadamardProd(x, w)
		if err != nil {
			return nil, err
		}
		return gorgonia.Sum(p)
	}
	cases := map[string]func(g *gorgonia.ExprGraph, a *gorgonia.Node) (*gorgonia.Node, error){
		"inverse": func(g *gorgonia.ExprGraph, a *gorgonia.Node) (*gorgonia.Node, error) {
			inv, err := detectors.SPDInverse(a)
			if err != nil {
				return nil, err
			}
			return weighted(g, inv)
		},
		"logdet": func(g *gorgonia.ExprGraph, a *gorgonia.Node) (*gorgonia.Node, error) {
			ld, err := detectors.SPDLogDet(a)
			if err != nil {
				return nil, err
			}
			return gorgonia.Mul(ld, gorgonia.NewConstant(1.7))
		},
	}
	for name, f := range cases {
		eval := build(f)
		_, grad := eval(a0, true)
		const h = 1e-6
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				up, dn := append([]float64(nil), a0...), append([]float64(nil), a0...)
				up[i*n+j] += h
				dn[i*n+j] -= h
				if i != j {
					up[j*n+i] += h
					dn[j*n+i] -= h
				}
				fu, _ := eval(up, false)
				fd, _ := eval(dn, false)
				num := (fu - fd) / (2 * h)
				ana := grad[i*n+j]
				if i != j {
					ana += grad[j*n+i]
				}
				if math.Abs(num-ana) > 1e-6*math.Max(1, math.Abs(num)) {
					t.Errorf("%s: d/dA[%d,%d] analytic %v, numeric %v", name, i, j, ana, num)
				}
			}
		}
	}
	// Row log-sum-exp on a 3×3 matrix: every entry perturbed alone.
	eval := build(func(g *gorgonia.ExprGraph, a *gorgonia.Node) (*gorgonia.Node, error) {
		l, err := detectors.RowLogSumExp(a)
		if err != nil {
			return nil, err
		}
		w := gorgonia.NewVector(g, gorgonia.Float64, gorgonia.WithShape(n), gorgonia.WithName("w"), gorgonia.WithValue(dgTensorOf([]float64{1, -2, 0.5})))
		p, err := gorgonia.HadamardProd(l, w)
		if err != nil {
			return nil, err
		}
		return gorgonia.Sum(p)
	})
	_, grad := eval(c, true)
	for i := range c {
		const h = 1e-6
		up, dn := append([]float64(nil), c...), append([]float64(nil), c...)
		up[i] += h
		dn[i] -= h
		fu, _ := eval(up, false)
		fd, _ := eval(dn, false)
		if num := (fu - fd) / (2 * h); math.Abs(num-grad[i]) > 1e-6 {
			t.Errorf("lse: d/dx[%d] analytic %v, numeric %v", i, grad[i], num)
		}
	}
}

func TestSPDOpsRejectIndefinite(t *testing.T) {
	g := gorgonia.NewGraph()
	a := detectors.MatrixNode(g, "a", 2, 2, []float64{1, 2, 2, 1})
	inv, err := detectors.SPDInverse(a)
	if err != nil {
		t.Fatal(err)
	}
	vm := gorgonia.NewTapeMachine(g)
	defer vm.Close()
	// gorgonia wraps op errors without Unwrap, so check the text.
	if err := vm.RunAll(); err == nil || !strings.Contains(err.Error(), "not positive definite") {
		t.Fatalf("indefinite matrix: got %v (value %v), want a positive definiteness error", err, inv.Value())
	}
}

func dgTensorOf(v []float64) gorgonia.Value {
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))
}
