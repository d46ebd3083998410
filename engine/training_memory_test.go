package engine_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestMaxTrainingMemory: with --max-training-memory 2M the real binary
// refuses, with 1210 and before training, a CREATE DETECTOR whose
// estimated working memory is larger (a 1024-wide autoencoder), creates
// nothing, and still trains a small one. Catches: the flag not reaching
// the trainings (the default bound of a quarter of the machine's memory
// lets the wide network train).
func TestMaxTrainingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	p := startProc(t, buildBinary(t), t.TempDir(), "--max-training-memory", "2M")
	db := openDSN(t, "root:@tcp("+p.addr+")/")
	mustExecAll(t, db, "CREATE DATABASE m", "CREATE TABLE m.t (id INT PRIMARY KEY, a DOUBLE, b DOUBLE, c DOUBLE)")
	var vals []string
	for i := 0; i < 300; i++ {
		vals = append(vals, fmt.Sprintf("(%d, %d, %d, %d)", i, i%7, i%11, i%13))
	}
	mustExec(t, db, "INSERT INTO m.t VALUES "+strings.Join(vals, ","))
	expectErr(t, db, "CREATE DETECTOR m.wide USING autoencoder WITH (hidden = '1024,1024', epochs = 1) AS SELECT a, b, c FROM m.t", 1210)
	mustExec(t, db, "CREATE DETECTOR m.small USING autoencoder WITH (hidden = '4', epochs = 1) AS SELECT a, b, c FROM m.t")
	expectRows(t, db, "SELECT COUNT(*) FROM m.t WHERE anomaly_score('m.small', a, b, c) IS NOT NULL", [][]string{r("300")})
	expectErr(t, db, "SELECT anomaly_score('m.wide', a, b, c) FROM m.t", 1305)
}
