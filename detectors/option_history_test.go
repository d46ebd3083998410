package detectors

import (
	"bytes"
	"encoding/gob"
	"maps"
	"slices"
	"testing"
)

// historied is deep_svdd with one option added later: a model saved
// before it existed loads with 0, new ones default to 2.
type historied struct{ Algorithm }

func (h historied) Options() []Option {
	return append(h.Algorithm.Options(), IntOption("later_choice", "2", "test", 0, 9))
}

func (historied) LaterOptions() map[string]string { return map[string]string{"later_choice": "0"} }

// TestOptionHistory: an option an algorithm added after its models were
// first saved (OptionHistory) is filled in, at its LaterOptions value,
// when a file saved before it is loaded, and a file that lists it keeps
// its value. Catches old models refused (their options no longer equal
// the normalized ones) or loaded with the new default, which may judge
// differently (deeplog's end_top_g).
func TestOptionHistory(t *testing.T) {
	svdd, _, err := lookup("deep_svdd")
	if err != nil {
		t.Fatal(err)
	}
	Register("test_historied", historied{svdd})
	t.Cleanup(func() { // the registry's other tests list every algorithm
		registryMu.Lock()
		delete(registry, "test_historied")
		registryMu.Unlock()
	})
	tb := indexed(200, 3, 5)
	m := fitLabelled(t, "test_historied", tb, map[string]string{"epochs": "1", "hidden": "4"}, nil)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	back, err := UnmarshalModel(b)
	if err != nil || back.Options["later_choice"] != "2" {
		t.Fatalf("saved and loaded: later_choice %q (%v), want 2", back.Options["later_choice"], err)
	}
	old, err := UnmarshalModel(withoutOption(t, b, "later_choice"))
	if err != nil {
		t.Fatalf("a model saved before later_choice: %v", err)
	}
	if old.Options["later_choice"] != "0" {
		t.Fatalf("a model saved before later_choice loads with %q, want 0", old.Options["later_choice"])
	}
}

// TestPReNetOldModelsScoreSigned: a prenet model saved before its score
// option existed (the file lists no score) loads with the paper's signed
// score it was saved with, and scores every row as a model trained with
// score = 'signed'. Catches LaterOptions dropped (the model would load
// with the absolute default and score differently) or naming another
// value.
func TestPReNetOldModelsScoreSigned(t *testing.T) {
	checkOldModel(t, "prenet", synthetic(600, 3, 8), map[string]string{"epochs": "2", "seed": "3"}, "score", "signed")
}

// checkOldModel trains alg on tb with options o and option name set to
// the value want, saves it, strips name from the file as if it had been
// saved before the option existed, and checks that the file loads with
// name = want and scores every row of tb as the model saved with it.
func checkOldModel(t *testing.T, alg string, tb *table, o map[string]string, name, want string) {
	t.Helper()
	o = maps.Clone(o)
	o[name] = want
	m := fitSynthetic(t, alg, tb, o)
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	old, err := UnmarshalModel(withoutOption(t, b, name))
	if err != nil {
		t.Fatalf("a %s model saved before the %s option: %v", alg, name, err)
	}
	if old.Options[name] != want {
		t.Fatalf("it loads with %s %q, want %s", name, old.Options[name], want)
	}
	sWant, sGot := rowScores(t, m, tb), rowScores(t, old, tb)
	if i, ok := sameBits(sWant, sGot); !ok {
		t.Fatalf("row %d scores %v, the model as saved %v", i, sGot[i], sWant[i])
	}
}

// withoutOption returns the saved model b as a file written before the
// option name existed: the same file without that option.
func withoutOption(t *testing.T, b []byte, name string) []byte {
	t.Helper()
	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.Options = slices.DeleteFunc(f.Options, func(o fileOption) bool { return o.Name == name })
	return encodeModelFile(t, &f)
}

// TestFenceGANOldModelsTrainedOnePass: a fence_gan model saved before
// its min_steps option existed (the file lists none) loads with
// min_steps 0, the one pass over the rows an epoch it was trained with,
// not the floor of models trained since, and scores every row as
// before. Catches LaterOptions dropped (old models refused or shown with
// the new default) or naming another value.
func TestFenceGANOldModelsTrainedOnePass(t *testing.T) {
	checkOldModel(t, "fence_gan", synthetic(300, 3, 8), map[string]string{"epochs": "2", "seed": "3"}, "min_steps", "0")
}
