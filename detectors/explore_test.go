package detectors

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestExplore(t *testing.T) {
	if os.Getenv("EXPLORE") == "" {
		t.Skip()
	}
	for _, name := range strings.Split(os.Getenv("EXPLORE"), ",") {
		tb := readTable(t, name)
		tr, te := StratifiedSplit(tb.labels, 0.7, 42)
		train, test := tb.subset(tr), tb.subset(te)
		mem := memory.NewGoAllocator()
		bs := train.batches(mem, 1000, false)
		o := map[string]string{}
		for _, kv := range strings.Fields(os.Getenv("OPTS")) {
			p := strings.SplitN(kv, "=", 2)
			o[p[0]] = p[1]
		}
		for _, seed := range []string{"0", "1", "2"} {
			o["seed"] = seed
			start := time.Now()
			m, err := Fit(context.Background(), "deep_svdd", o, TrainingData{Batches: bs, Features: train.features(), Label: -1})
			if err != nil {
				t.Fatal(err)
			}
			scores := make([]float64, test.rows)
			for i := range scores {
				scores[i], _ = m.ScoreRow(test.x[i*test.cols : (i+1)*test.cols])
			}
			auc, _ := AUC(test.labels, scores)
			t.Logf("%s seed %s: AUC %.4f  (%.2fs) thr %.4g", name, seed, auc, time.Since(start).Seconds(), m.Threshold)
		}
	}
}
