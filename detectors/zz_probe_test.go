package detectors

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"gonum.org/v1/gonum/mat"
)

func TestZZProbe(t *testing.T) {
	f, _ := os.Open("../../shared/datasets/categorical/" + os.Getenv("DS") + ".csv.gz")
	z, _ := gzip.NewReader(f)
	recs, _ := csv.NewReader(z).ReadAll()
	hdr := recs[0]
	nf := len(hdr) - 1
	var fields []arrow.Field
	for _, h := range hdr[:nf] {
		fields = append(fields, arrow.Field{Name: h, Type: arrow.BinaryTypes.String})
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	for _, r := range recs[1:] {
		if r[nf] == "1" {
			continue
		}
		for j := 0; j < nf; j++ {
			b.Field(j).(*array.StringBuilder).Append(r[j])
		}
	}
	rec := b.NewRecordBatch()
	feats := make([]int, nf)
	for j := range feats {
		feats[j] = j
	}
	m, err := Fit(context.Background(), os.Getenv("ALG"), map[string]string{"categorical": "embedding", "seed": "0"}, TrainingData{Batches: []arrow.RecordBatch{rec}, Features: feats, Label: -1})
	if err != nil {
		t.Fatal(err)
	}
	sc := m.scorer.(*embeddingScorer)
	for j := range sc.tab {
		if sc.tab[j] == nil {
			continue
		}
		p := m.state.Get(embeddingPrefix + fmt.Sprint(j) + ".freq").Data
		k, w := len(p), sc.e.dim[j]
		a := mat.NewDense(k, w, nil)
		for i := 0; i < k; i++ {
			for c := 0; c < w; c++ {
				a.Set(i, c, math.Sqrt(p[i])*sc.tab[j][i*w+c])
			}
		}
		var svd mat.SVD
		svd.Factorize(a, mat.SVDNone)
		t.Logf("col %d k=%d w=%d sv=%.3f", j, k, w, svd.Values(nil))
	}
}
