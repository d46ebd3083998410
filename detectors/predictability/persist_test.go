package predictability_test

import (
	"bytes"
	"testing"

	"github.com/anomalydb/anomalydb/detectors"
	"github.com/anomalydb/anomalydb/detectors/internal/testtable"
)

// TestSequencePersistRoundTrip: a saved and loaded sequence model (each
// algorithm) is still a sequence model with the same spec, marshals to
// the same bytes, scores bit-identically and refuses ScoreRow. Catches a
// state tensor or option that is not saved (the residual scales, top_g,
// the key's encoding).
func TestSequencePersistRoundTrip(t *testing.T) {
	ms := map[string]*detectors.Model{
		"lstm_forecast": fitSeq(t, "lstm_forecast", smallOpts(), nil, []string{"v"}, sine(200, 1)),
		"gru_forecast":  fitSeq(t, "gru_forecast", smallOpts(), nil, []string{"v"}, sine(200, 1)),
	}
	o := deeplogOpts()
	o["epochs"] = "3"
	ms["deeplog"] = fitDeepLog(t, o)
	for alg, m := range ms {
		b, err := m.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := detectors.UnmarshalModel(b)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		b2, _ := m2.MarshalBinary()
		if !bytes.Equal(b, b2) {
			t.Errorf("%s: marshal -> unmarshal -> marshal changes the bytes", alg)
		}
		s1, _ := m.Sequence()
		s2, ok := m2.Sequence()
		if !ok || s1 != s2 {
			t.Errorf("%s: spec %+v after loading, %+v before", alg, s2, s1)
		}
		var x []float64
		if alg == "deeplog" {
			keys, _ := cycleSessions(2)
			x = codes(m, append(keys, "zz", "b")...)
		} else {
			x = sine(80, 9)
		}
		a, err := m.ScoreSequence(x, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		c, err := m2.ScoreSequence(x, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		if i, ok := testtable.SameBits(a, c); !ok {
			t.Errorf("%s: row %d scores %v after loading, %v before", alg, i, c[i], a[i])
		}
		va, _ := m.SequenceVerdicts(x, 0, nil)
		vc, _ := m2.SequenceVerdicts(x, 0, nil)
		for i := range va {
			if va[i] != vc[i] {
				t.Errorf("%s: step %d verdict %v after loading, %v before", alg, i, vc[i], va[i])
			}
		}
		if _, err := m2.ScoreRow(x[:1]); err == nil {
			t.Errorf("%s: loaded model accepts ScoreRow", alg)
		}
	}
}
