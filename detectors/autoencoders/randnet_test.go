package autoencoders

import (
	"github.com/anomalydb/anomalydb/detectors"
	. "github.com/anomalydb/anomalydb/detectors/internal/dettest"
	"math"
	"testing"

	"gorgonia.org/gorgonia"
)

func TestRandNetOptions(t *testing.T) {
	CheckOptionCases(t, "randnet", []OptionCase{
		{Opts: Opts("ensemble", "1"), Want: nil},
		{Opts: Opts("ensemble", "0"), Want: detectors.ErrBadOption},
		{Opts: Opts("ensemble", "-3"), Want: detectors.ErrBadOption},
		{Opts: Opts("dropout", "0.2"), Want: detectors.ErrUnknownOption},
	})
}

func TestRandNetSample(t *testing.T) {
	if n := randNetSample(0, 1, 100); n != 100 {
		t.Fatalf("single member gets %d of 100 rows", n)
	}
	prev := 0
	for m := 0; m < 10; m++ {
		n := randNetSample(m, 10, 100000)
		if n < prev {
			t.Fatalf("sample sizes shrink: member %d gets %d < %d", m, n, prev)
		}
		prev = n
	}
	if prev != 100000 || randNetSample(0, 10, 100000) > 100000/16 {
		t.Fatalf("sizes from %d to %d", randNetSample(0, 10, 100000), prev)
	}
	if n := randNetSample(0, 10, 100); n != 100 {
		t.Fatalf("small data: member 0 gets %d of 100 rows", n)
	}
}

// TestRandNetMasks checks that the dropped connections stay zero through
// training, that every unit keeps an input, and that the members differ.
func TestRandNetMasks(t *testing.T) {
	tb := Synthetic(800, 5, 2)
	m := FitSynthetic(t, "randnet", tb, Opts("epochs", "2", "ensemble", "3", "hidden", "6,3"))
	a := randNet{}
	same := true
	for k := 0; k < 3; k++ {
		n := a.member(k, tb.Cols, detectors.Options(m.Options))
		for l := 0; l+1 < len(n.Sizes); l++ {
			in, out := n.Sizes[l], n.Sizes[l+1]
			w, mask := m.Weights().Get(n.WeightName(l)), m.Weights().Get(n.MaskName(l))
			other := m.Weights().Get(a.member((k+1)%3, tb.Cols, detectors.Options(m.Options)).MaskName(l))
			for j := 0; j < out; j++ {
				kept := 0.0
				for i := 0; i < in; i++ {
					kept += mask.At(i, j)
					if mask.At(i, j) == 0 && w.At(i, j) != 0 {
						t.Fatalf("member %d layer %d: dropped weight (%d,%d) is %v", k, l, i, j, w.At(i, j))
					}
				}
				if kept == 0 {
					t.Fatalf("member %d layer %d: unit %d has no input", k, l, j)
				}
			}
			for i := range mask.Data {
				same = same && mask.Data[i] == other.Data[i]
			}
		}
		if st := m.Weights().Get(n.Prefix + "stats"); !(st.Data[1] > 0) {
			t.Fatalf("member %d stats %v", k, st.Data)
		}
	}
	if same {
		t.Fatal("members have identical masks")
	}
}

func TestRandNetAccuracy(t *testing.T) {
	// Measured 0.9498 (untrained network 0.9640).
	if auc, _ := SplitModelAUC(t, "randnet", ReadTable(t, "thyroid"), Opts("ensemble", "5", "epochs", "20"), false); auc < 0.92 {
		t.Errorf("thyroid AUC %.4f < 0.92", auc)
	}
}

// TestRandNetMemberGraph checks each member's plain-Go reconstruction
// error against its gorgonia graph (the ensemble's median has no graph).
func TestRandNetMemberGraph(t *testing.T) {
	tb := Synthetic(600, 5, 3)
	m := FitSynthetic(t, "randnet", tb, Opts("epochs", "2", "ensemble", "2", "hidden", "6,3"))
	z := append([]float64(nil), tb.X...)
	m.Standardize(z)
	for k := 0; k < 2; k++ {
		n := randNet{}.member(k, tb.Cols, detectors.Options(m.Options))
		b := detectors.NewGraph(m.Weights(), tb.Rows, tb.Cols, detectors.Options(m.Options))
		obj, err := randNetMember{n}.Graph(b)
		if err != nil {
			t.Fatal(err)
		}
		copy(b.Input(), z)
		vm := gorgonia.NewTapeMachine(b.G.SubgraphRoots(obj.Scores))
		if err := vm.RunAll(); err != nil {
			t.Fatal(err)
		}
		graph := obj.Scores.Value().Data().([]float64)
		vm.Close()
		s, err := n.Scorer(m.Weights())
		if err != nil {
			t.Fatal(err)
		}
		kern := make([]float64, tb.Rows)
		s.ScoreRows(z, kern, make([]float64, s.ScratchLen()))
		for i := range kern {
			if d := math.Abs(graph[i]-kern[i]) / math.Max(1, math.Abs(graph[i])); d > 1e-9 {
				t.Fatalf("member %d row %d: graph %v, kernel %v", k, i, graph[i], kern[i])
			}
		}
	}
}
