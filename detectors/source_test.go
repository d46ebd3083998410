package detectors

import (
	"bytes"
	"context"
	"encoding/gob"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestModelSource: Fit keeps TrainingData.Source as Model.Source, a save
// and load keeps it, a file without it (as saved before it existed)
// loads with "", and a reader that does not know the field still decodes
// a new file. Catches: Source dropped by Fit, MarshalBinary or
// UnmarshalModel, and a format change that older files cannot take.
func TestModelSource(t *testing.T) {
	data := synthetic(64, 3, 1)
	bs := data.LabelledBatches(memory.DefaultAllocator, 64, nil)
	defer releaseAll(bs)
	o := map[string]string{"epochs": "1", "seed": "1", "hidden": "4"}
	const src = "db.t@1234,`my db`.u@5"
	m, err := Fit(context.Background(), "autoencoder", o, TrainingData{Batches: bs, Features: data.Features(), Label: -1, Source: src})
	if err != nil {
		t.Fatal(err)
	}
	if m.Source != src {
		t.Fatalf("Fit: Source %q, want %q", m.Source, src)
	}
	b, err := m.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := UnmarshalModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Source != src {
		t.Fatalf("loaded: Source %q, want %q", m2.Source, src)
	}

	// An older reader: a struct without Source decodes the new file.
	var old struct {
		Algorithm    string
		TrainingRows int
	}
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&old); err != nil || old.Algorithm != "autoencoder" || old.TrainingRows != 64 {
		t.Fatalf("decoding without Source: %+v, %v", old, err)
	}
	// An older file: gob writes no field for "", so this is its bytes.
	var f modelFile
	if err := gob.NewDecoder(bytes.NewReader(b[len(modelMagic)+4:])).Decode(&f); err != nil {
		t.Fatal(err)
	}
	f.Source = ""
	m3, err := UnmarshalModel(encodeModelFile(t, &f))
	if err != nil {
		t.Fatalf("file without Source: %v", err)
	}
	if m3.Source != "" {
		t.Fatalf("file without Source: Source %q", m3.Source)
	}
}
