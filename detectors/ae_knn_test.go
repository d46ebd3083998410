package detectors

import "testing"

func TestAEKNNOptions(t *testing.T) {
	checkOptionCases(t, "ae_knn", []optionCase{
		{opts("k", "1", "max_reference", "1", "dropout", "0.1", "noise", "0.2"), nil},
		{opts("k", "0"), ErrBadOption},
		{opts("max_reference", "0"), ErrBadOption},
		{opts("k", "2.5"), ErrBadOption},
		{opts("kk", "3"), ErrUnknownOption},
	})
}

func TestReferenceRows(t *testing.T) {
	all := referenceRows(5, 10, 1)
	if len(all) != 5 || all[4] != 4 {
		t.Fatalf("all rows: %v", all)
	}
	a, b := referenceRows(1000, 50, 7), referenceRows(1000, 50, 7)
	if len(a) != 50 {
		t.Fatalf("%d rows", len(a))
	}
	for i := range a {
		if a[i] != b[i] || i > 0 && a[i] <= a[i-1] {
			t.Fatalf("not a seeded sorted sample: %v", a)
		}
	}
}

func TestAEKNNReference(t *testing.T) {
	// A reference set smaller than k: the scorer uses all of it.
	tb := synthetic(6000, 5, 5) // checkBatchScores needs 6000 rows × 5
	m := fitSynthetic(t, "ae_knn", tb, opts("epochs", "1", "max_reference", "7", "k", "10", "hidden", "8,3"))
	ref := m.state.Get("ref")
	if ref == nil || ref.Rows != 7 || ref.Cols != 3 {
		t.Fatalf("reference tensor %+v", ref)
	}
	checkBatchScores(t, m, tb, rowScores(t, m, tb))
}

func TestAEKNNAccuracy(t *testing.T) {
	// Measured 0.9652 (untrained network 0.9571).
	if auc, _ := splitModelAUC(t, "ae_knn", readTable(t, "thyroid"), nil, false); auc < 0.94 {
		t.Errorf("thyroid AUC %.4f < 0.94", auc)
	}
}
