package detectors

import (
	"bytes"
	"encoding/gob"
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
	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.Options = slices.DeleteFunc(f.Options, func(o fileOption) bool { return o.Name == "later_choice" })
	old, err := UnmarshalModel(encodeModelFile(t, &f))
	if err != nil {
		t.Fatalf("a model saved before later_choice: %v", err)
	}
	if old.Options["later_choice"] != "0" {
		t.Fatalf("a model saved before later_choice loads with %q, want 0", old.Options["later_choice"])
	}
}
