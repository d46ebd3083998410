package storage

// Keeping the delete manifests few under point UPDATE and DELETE.
//
// Each UPDATE or DELETE that writes position deletes (deletes.go) commits
// a row delta, which adds a manifest of its own holding its delete files:
// one manifest per statement. iceberg-go merges data manifests
// (manifests.go) but not delete manifests, and every later commit that
// replaces files (the merge of small appended files, a compaction, an
// UPDATE's copy-on-write) opens every manifest of the snapshot, data and
// delete alike, to find the files it removes. After 100 point writes on
// a table of 1M rows a merge of appended files opened 110 manifests (91
// of them delete manifests of one entry), about 70 ms, so a group commit
// of 16 INSERTs that merged took 90-230 ms.
//
// consolidateDeletes therefore rewrites the position delete files once
// the snapshot has more than maxManifests delete manifests: for each
// data file whose delete files it takes, one new delete file with all the
// file's deleted positions replaces them, all the new files in one
// manifest, in one commit of its own that changes no row
// (Transaction.ReplaceFilesWithDeleteFiles, Iceberg's rewrite of position
// delete files; anomalydb.maintenance = delete-files). Each new file keeps
// the data sequence number of the files it replaces (the largest), so it
// applies to exactly the rows they did. It takes the delete files of the
// manifests with fewer than maxManifests live entries, the ones point
// writes leave, unless that would still leave more than maxManifests
// delete manifests; then it takes them all. Only delete files that apply
// to one data file, as the store writes them, are rewritten (the
// referenced_data_file of a delete file loaded from the manifests is not
// kept by iceberg-go's scan planning, so the table's files tell).

import (
	"context"
	"slices"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"
)

// propDeleteFiles is the maintenance value of a rewrite of position delete
// files.
const propDeleteFiles = "delete-files"

// consolidateDeletes rewrites the position delete files of the current
// snapshot when it has more than maxManifests delete manifests (see
// above); t.writeMu must be held. It publishes the same rows. A failure
// changes nothing and is retried after the next write that adds deletes.
func (t *Table) consolidateDeletes(ctx context.Context) {
	if t.err != nil || !t.exact || t.data == nil {
		return
	}
	if _, files := t.deleteStats(); files <= maxManifests {
		return // fewer delete files than that: as many manifests at most
	}
	fsys, mans, ok := t.currentManifests(ctx, table.OpDelete, table.OpOverwrite, table.OpReplace) // manifests.go; not after appends
	if !ok {
		return
	}
	// Which manifests to take, from the manifest list's counts alone
	// (most writes stop here); their entries are read only for a rewrite.
	var dm, small []iceberg.ManifestFile
	for _, m := range mans {
		if m.ManifestContent() == iceberg.ManifestContentDeletes && liveFiles(m) > 0 {
			dm = append(dm, m)
			if liveFiles(m) < maxManifests {
				small = append(small, m)
			}
		}
	}
	if len(dm) <= maxManifests {
		return
	}
	take := dm
	if len(small) > 1 && len(dm)-len(small)+1 <= maxManifests {
		take = small
	}
	seq := map[string]int64{} // data sequence number of each live delete file
	taken := map[string]bool{}
	for _, m := range dm {
		entries, err := m.FetchEntries(fsys, true)
		if err != nil {
			return
		}
		took := slices.Contains(take, m)
		for _, e := range entries {
			if e.Status() == iceberg.EntryStatusDELETED {
				continue
			}
			seq[e.DataFile().FilePath()] = e.SequenceNum()
			if took {
				taken[e.DataFile().FilePath()] = true
			}
		}
	}

	// The data files whose delete files are taken: each gets one new
	// delete file with all its deleted positions, replacing all its
	// delete files (those of kept manifests too, so that it has one).
	var (
		removed   []iceberg.DataFile
		additions []table.DeleteFileAddition
		added     []iceberg.DataFile
		dels      = map[string]*posDeletes{}
	)
	fail := func() { t.removeDataFiles(added) }
	uses := map[string]int{} // data files each delete file applies to
	for _, f := range t.files {
		for _, df := range f.dels.deleteFiles() {
			uses[df.FilePath()]++
		}
	}
	for _, f := range t.files {
		files := f.dels.deleteFiles()
		if !slices.ContainsFunc(files, func(df iceberg.DataFile) bool { return taken[df.FilePath()] }) {
			continue
		}
		var maxSeq int64 = -1
		own := true
		for _, df := range files {
			s, ok := seq[df.FilePath()]
			if !ok || uses[df.FilePath()] != 1 {
				own = false
				break
			}
			maxSeq = max(maxSeq, s)
		}
		if !own || maxSeq < 0 {
			continue
		}
		ndf, err := t.writeDeleteFile(ctx, f.df, f.dels.positions())
		if err != nil {
			fail()
			return
		}
		added = append(added, ndf)
		removed = append(removed, files...)
		additions = append(additions, table.DeleteFileAddition{File: ndf, DataSequenceNumber: maxSeq})
		dels[f.df.FilePath()] = &posDeletes{files: []iceberg.DataFile{ndf}, pos: f.dels.positions()}
	}
	if len(added) == 0 {
		return
	}
	txn := t.ice.NewTransaction()
	if err := txn.ReplaceFilesWithDeleteFiles(ctx, nil, nil, removed, additions, iceberg.Properties{propMaintenance: propDeleteFiles}, table.WithoutAutoNameMapping()); err != nil {
		fail()
		return
	}
	if err := t.commit(ctx, txn, added); err != nil {
		return // commit removed the new files
	}
	for i, f := range t.files {
		if d, ok := dels[f.df.FilePath()]; ok {
			t.files[i].dels = d // same positions: the rows and their cache keys do not change
		}
	}
}

// liveFiles returns the number of live files (added or existing) the
// manifest list records for m.
func liveFiles(m iceberg.ManifestFile) int64 {
	return int64(max(m.AddedDataFiles(), 0)) + int64(max(m.ExistingDataFiles(), 0))
}
