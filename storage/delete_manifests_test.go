package storage

import (
	"slices"
	"testing"

	"github.com/apache/iceberg-go"
)

// deleteManifests returns the number of delete manifests of tbl's current
// snapshot and its maintenance property ("" for none).
func deleteManifests(t *testing.T, tbl *Table) (int, string) {
	t.Helper()
	n, snap := countManifests(t, tbl, iceberg.ManifestContentDeletes) // manifests_test.go
	return n, snap.Summary.Properties[propMaintenance]
}

// TestPointDeletesKeepFewDeleteManifests deletes one row at a time, 60
// times, spread over the data files of a table of 400,000 rows (each a
// point DELETE's row delta, which adds a delete manifest of its own):
// the delete manifests stay at most maxManifests plus the one the last
// write added, rewrites of the delete files happen and change no row,
// every data file then has one delete file, and the rows are what the
// deletes left, before and after a reopen (so the new delete files apply
// to the rows the old ones did, in Iceberg's scan planning too); then
// the same for 30 more deletes after the reopen, whose delete files are
// those loaded from the manifests. Bugs
// caught: no rewrite (one delete manifest per write, growing), a rewrite
// that loses the positions of a delete file, keeps a replaced delete
// file in the table's files (it then counts twice and is deleted with
// its snapshot), gives the new file a sequence number that makes it
// apply to nothing, or takes loaded delete files for another writer's.
func TestPointDeletesKeepFewDeleteManifests(t *testing.T) {
	mem, dir, s, tbl, want, n := manyFilesTable(t) // manifests_test.go
	// deletes deletes one row at a time, count times, and checks the
	// delete manifests and the rewrites as above.
	deletes := func(phase string, tbl *Table, count int) {
		t.Helper()
		rewrites, most := 0, 0
		for w := range count {
			i := (w * 7) % n
			var first int64
			for j := range i {
				first += segRows(tbl, j)
			}
			d := tbl.Snapshot()
			gone := idsOf(t, d)[first+int64(w%5)]
			d.Release()
			want = slices.DeleteFunc(want, func(id int64) bool { return id == gone })
			deleteRows(t, tbl, map[int][]int64{i: {int64(w % 5)}}, nil)
			m, maint := deleteManifests(t, tbl)
			most = max(most, m)
			if maint == propDeleteFiles {
				rewrites++
				_, dels := pathsOf(tbl)
				for data, files := range dels {
					if len(files) != 1 {
						t.Fatalf("%s: after a rewrite of the delete files, %s has %d of them", phase, data, len(files))
					}
				}
			}
		}
		t.Logf("%s: %d rewrites of the delete files; at most %d delete manifests", phase, rewrites, most)
		if most > maxManifests+1 {
			t.Errorf("%s: up to %d delete manifests after single-row deletes, want at most %d", phase, most, maxManifests+1)
		}
		if rewrites == 0 {
			t.Errorf("%s: no rewrite of the delete files after %d single-row deletes", phase, count)
		}
	}
	check := func(when string, tbl *Table) {
		t.Helper()
		d := tbl.Snapshot()
		defer d.Release()
		got := idsOf(t, d)
		slices.Sort(got)
		w := slices.Sorted(slices.Values(want))
		if !slices.Equal(got, w) {
			t.Fatalf("%s: %d rows, want %d", when, len(got), len(w))
		}
	}
	deletes("first store", tbl, 60)
	check("after the deletes", tbl)
	must(t, s.Close())
	s = segmentStore(t, dir, mem, -1)
	tbl, err := s.Table("db", "t")
	must(t, err)
	check("after a reopen", tbl)
	// The delete files are now those loaded from the manifests.
	deletes("after a reopen", tbl, 30)
	check("after more deletes", tbl)
	must(t, s.Close())
	s = segmentStore(t, dir, mem, -1)
	defer s.Close()
	tbl, err = s.Table("db", "t")
	must(t, err)
	check("after a second reopen", tbl)
}
