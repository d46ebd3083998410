package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
)

// TestNoteReadWithoutTransaction: scans outside a transaction (in-process
// use; the server's statements always have one, see
// TestDetectorTrainingSnapshots) record the snapshot they read, the
// current one and an AS OF one; a table never written records nothing,
// and names that are not plain identifiers are quoted. Catches: the
// recording left out of the scan paths without a transaction, and a
// list that cannot be split back into tables.
func TestNoteReadWithoutTransaction(t *testing.T) {
	tbl := newEditorTable(t)
	ctx, reads := recordReads(sql.NewEmptyContext())
	scan := func(st sql.Table) {
		parts, err := st.Partitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		parts.Close(ctx)
	}
	scan(tbl)
	if got := reads.String(); got != "" {
		t.Fatalf("a table never written recorded %q", got)
	}
	commitRows(t, tbl, sql.Row{int32(1), int32(0)})
	first := tbl.st.Snapshot()
	first.Release()
	commitRows(t, tbl, sql.Row{int32(2), int32(0)})
	scan(tbl)
	view, err := tbl.st.SnapshotByID(first.SnapshotID())
	if err != nil {
		t.Fatal(err)
	}
	old, err := newAsOfTable("d", tbl.st, view)
	if err != nil {
		t.Fatal(err)
	}
	scan(old)
	if rows := scanRows(t, old); len(rows) != 1 {
		t.Errorf("AS OF the first snapshot: %v, want one row", rows)
	}
	cur := tbl.st.Snapshot()
	defer cur.Release()
	ids := []string{fmt.Sprintf("d.t@%d", first.SnapshotID()), fmt.Sprintf("d.t@%d", cur.SnapshotID())}
	slices.Sort(ids)
	want := strings.Join(ids, ",")
	if got := reads.String(); got != want {
		t.Errorf("reads %q, want %q", got, want)
	}
	if got := qualify("my db", "t`x"); got != "`my db`.`t``x`" {
		t.Errorf("qualify: %s", got)
	}
}
