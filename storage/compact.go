package storage

// Compaction of position deletes. Merge-on-read makes a write cheap and
// every later read of the file a little dearer: its delete files are
// read when the table is loaded, its deleted rows are still decoded and
// then dropped, and a point read maps row numbers past them. So once a
// data file carries enough deletes, maintenance rewrites it
// (copy-on-write): its live rows go to a new data file, and the data
// file and its delete files leave the snapshot, in one commit of its own
// that changes no row (the snapshot summary says so: anomalydb.maintenance
// = compaction). The same commit merges the small data files that
// UPDATEs leave at the end of the table (their new rows), as appends
// merge theirs (Table.mergePlan).

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
)

const (
	// CompactDeletedShare is the share of a data file's rows that, once
	// deleted, makes maintenance rewrite the file without them: from
	// then on a scan decodes more than 1/(1-share) times the rows it
	// returns.
	CompactDeletedShare = 0.25
	// CompactDeleteFiles is the number of delete files a data file may
	// carry (one per UPDATE or DELETE that touched it) before
	// maintenance rewrites it: each is read when the table is loaded.
	CompactDeleteFiles = 8
	// propMaintenance is the snapshot summary property of a commit that
	// changes no row (its value says which maintenance).
	propMaintenance = "anomalydb.maintenance"
)

// needsCompaction reports whether maintenance rewrites data file f.
func needsCompaction(f fileInfo) bool {
	if f.dels == nil {
		return false
	}
	return float64(f.dels.count()) >= CompactDeletedShare*float64(f.df.Count()) || len(f.dels.files) > CompactDeleteFiles
}

// trailingMerge returns how many data files at the end of the table
// (the last one included) maintenance merges: small ones, walking back
// from the last as Table.mergePlan does for an append of the last
// file's rows, if that makes at least Options.MergeFiles files; else 0.
func (t *Table) trailingMerge() int {
	n := len(t.files)
	small := t.smallRows()
	if n == 0 || small < 0 {
		return 0
	}
	last := t.files[n-1].rows
	if last >= small {
		return 0
	}
	k, _ := t.mergeWalk(n-2, max(last, 1), t.files[n-1].df.FileSizeBytes())
	k++ // the last file
	if k < t.store.opts.MergeFiles {
		return 0
	}
	return k
}

// compact rewrites the data files that need it (needsCompaction, and
// after a row delta that added rows, the trailing small files of
// trailingMerge) as one commit, and
// publishes the same rows in the new files; t.writeMu must be held. A
// failure changes nothing and is retried after the next write.
func (t *Table) compact(ctx context.Context) {
	if t.err != nil || !t.exact || t.data == nil {
		return
	}
	var chosen []fileInfo
	n := len(t.files)
	k := 0
	if t.updateFiles {
		k = t.trailingMerge()
	}
	t.updateFiles = false
	for i, f := range t.files {
		if i >= n-k || needsCompaction(f) {
			chosen = append(chosen, f)
		}
	}
	if len(chosen) == 0 {
		return
	}
	st, err := t.stageCompaction(ctx, chosen)
	if err != nil {
		return
	}
	if err := st.commit(iceberg.Properties{propMaintenance: "compaction"}); err != nil {
		return
	}
	st.publish()
}

// stageCompaction writes the live rows of files (data files of the
// table) to new data files; t.writeMu must be held.
func (t *Table) stageCompaction(ctx context.Context, files []fileInfo) (*staged, error) {
	kept, of := t.splitSegments(files)
	var toWrite []arrow.RecordBatch
	for _, i := range of {
		b, err := t.data.Segment(i)
		if err != nil {
			releaseBatches(toWrite)
			return nil, err
		}
		toWrite = append(toWrite, b)
	}
	added, err := t.writeFiles(ctx, toWrite)
	if err != nil {
		releaseBatches(toWrite)
		return nil, fmt.Errorf("storage: compacting %s.%s: %w", t.db, t.name, err)
	}
	replaced, delRemoved := filesOf(files)
	prefix := newSegmentData(t.schema, nil)
	prefix.segs = kept
	return &staged{t: t, replaced: replaced, delRemoved: delRemoved, added: added, written: toWrite,
		prefix: prefix.sharedSegments(), exact: true}, nil
}

// deleteStats sums, over the data files of the current snapshot, the
// rows deleted by position delete files and the delete files.
func (t *Table) deleteStats() (rows int64, files int) {
	for _, f := range t.files {
		rows += f.dels.count()
		files += len(f.dels.deleteFiles())
	}
	return rows, files
}
