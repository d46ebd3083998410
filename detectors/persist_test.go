package detectors

import (
	"encoding/binary"
	"errors"
	"testing"
)

// TestUnmarshalModelForgedShape: a saved ae_knn whose reference tensor
// claims 2^62+1 rows but holds one row of values is refused. Catches the
// shape check len(Data) == Rows*Cols, which the product's wrap-around
// passes (found by FuzzModelFields): the model loaded, and scoring it
// panicked reading reference rows past the data.
func TestUnmarshalModelForgedShape(t *testing.T) {
	files := fuzzModelFiles(t)
	var forged *modelFile
	for i := range files {
		if files[i].Algorithm == "ae_knn" {
			forged = &files[i]
		}
	}
	if forged == nil {
		t.Fatal("no ae_knn model")
	}
	found := false
	for i, ten := range forged.Tensors {
		if ten.Name == "ref" {
			if ten.Cols%4 != 0 {
				t.Fatalf("ref has %d columns: 2^62+1 rows would not wrap around to one row", ten.Cols)
			}
			forged.Tensors[i].Rows = 1<<62 + 1
			forged.Tensors[i].Data = ten.Data[:ten.Cols]
			found = true
		}
	}
	if !found {
		t.Fatal("ae_knn has no ref tensor")
	}
	if m, err := UnmarshalModel(encodeModelFile(t, forged)); !errors.Is(err, ErrBadModel) {
		t.Fatalf("forged ref rows: model %v, error %v; want ErrBadModel", m != nil, err)
	}
	for _, c := range []struct{ rows, cols, n int }{{2, 3, 6}, {1, 1, 1}} {
		if !validShape(c.rows, c.cols, c.n) {
			t.Errorf("validShape(%d, %d, %d) = false", c.rows, c.cols, c.n)
		}
	}
	for _, c := range []struct{ rows, cols, n int }{{1<<62 + 1, 4, 4}, {0, 3, 0}, {-1, -6, 6}, {2, 3, 7}, {4, 1, 2}} {
		if validShape(c.rows, c.cols, c.n) {
			t.Errorf("validShape(%d, %d, %d) = true", c.rows, c.cols, c.n)
		}
	}
}

// TestUnmarshalModelHugeLength: a file whose gob message claims 2^60
// bytes is ErrBadModel, and decoding it allocates almost nothing (no
// attempt to make room for the claimed length).
func TestUnmarshalModelHugeLength(t *testing.T) {
	b := binary.LittleEndian.AppendUint32([]byte(modelMagic), formatVersion)
	b = append(b, 0xF8, 0x10, 0, 0, 0, 0, 0, 0, 0) // gob: an 8-byte count, 2^60
	var err error
	if n := allocated(func() { _, err = UnmarshalModel(b) }); n > 1<<20 {
		t.Errorf("decoding allocated %d bytes", n)
	}
	if !errors.Is(err, ErrBadModel) {
		t.Fatalf("UnmarshalModel = %v, want ErrBadModel", err)
	}
}
