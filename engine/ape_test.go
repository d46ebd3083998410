package engine_test

import (
	"strings"
	"testing"
)

// TestAPEOverSQL trains ape on the string columns of a real categorical
// table over SQL, as a user would, and checks: every row scores the same
// in a scan and alone with its values as literals; a value never seen in
// training is not an error and scores as the column's rarest training
// value does in the same row; numeric columns are accepted once bucketed
// (bins); after a restart the scores are bit-identical (the columns'
// spans live in the saved model). Bugs caught: the spans not kept in the
// state (a restarted model would not know its columns), an unseen value's
// embedding left untrained, bins not applied.
func TestAPEOverSQL(t *testing.T) {
	dir, ts, db := startCMC(t)
	cols := strings.Join(cmcColumns, ", ")
	mustExec(t, db, "CREATE DETECTOR a USING ape WITH (epochs = 5, seed = 1) AS SELECT "+cols+" FROM cmc")
	scan := scanCMC(t, db, "a", 20)
	// wifes_religion has two values; its rarer is the one of fewer rows.
	counts := queryRows(t, db, "SELECT wifes_religion, COUNT(*) AS n FROM cmc GROUP BY wifes_religion ORDER BY n, wifes_religion")
	rarest := counts[0][0]
	first := scan[0]
	withValue := func(v string) string {
		vals := append([]string(nil), first[3:]...)
		vals[2] = v
		return queryRows(t, db, "SELECT anomaly_score('a', '"+strings.Join(vals, "', '")+"')")[0][0]
	}
	if unseen, rare := withValue("never seen"), withValue(rarest); unseen != rare {
		t.Fatalf("an unseen religion scores %s, the rarest one (%s) %s", unseen, rarest, rare)
	}
	mustExec(t, db, "CREATE DETECTOR b USING ape WITH (epochs = 2, bins = 4) AS SELECT wifes_education, id FROM cmc")
	if n := len(queryRows(t, db, "SELECT anomaly_score('b', wifes_education, id) FROM cmc")); n != 1473 {
		t.Fatalf("bucketed detector scored %d rows", n)
	}
	sameAfterRestart(t, ts, dir, "a", scan)
}
