package detectors

import (
	"math/rand/v2"
	"testing"

	"github.com/anomalydb/anomalydb/arrowio"
)

// badSampler returns an invalid schedule.
type badSampler struct{ Algorithm }

func (badSampler) NewBatches(*State, arrowio.Matrix, []float64, Options, *rand.Rand) (Batches, error) {
	return Batches{Rows: 0, Steps: 1}, nil
}

func TestCustomBatches(t *testing.T) {
	x := make([]float64, 10*2)
	if b, err := customBatches(deepSVDD{}, nil, x, 10, 2, nil, nil, nil); b != nil || err != nil {
		t.Fatalf("deep_svdd: %v, %v; want no sampler", b, err)
	}
	if _, err := customBatches(badSampler{}, nil, x, 10, 2, nil, nil, nil); err == nil {
		t.Fatal("a sampler of 0-row batches was accepted")
	}
	o, err := normalizeOptions("repen", registered("repen"), opts("batch_size", "4", "steps", "3"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := customBatches(registered("repen"), nil, x, 10, 2, nil, o, rand.New(rand.NewPCG(1, 1)))
	if err != nil || b.Rows != 12 || b.Steps != 3 || len(b.draw(rand.New(rand.NewPCG(2, 2)))) != 12 {
		t.Fatalf("repen: %+v, %v", b, err)
	}
}
