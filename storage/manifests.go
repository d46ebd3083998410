package storage

// Keeping the manifest list short under UPDATE and DELETE.
//
// An append merges small manifests (commit.manifest-merge.enabled), but
// iceberg-go's overwrite, which UPDATE and DELETE commit through
// (RewriteSegments, copy-on-write per data file), does not: each one
// keeps the manifest of the file it added, so after many writes a table
// has about one manifest per data file. Every later overwrite opens every
// manifest twice (to check the files it replaces, then to filter them),
// and opening one costs about 0.15 ms (its Avro schema is parsed), so a
// single-row UPDATE of a 10M-row table spent most of its time there.
// After an overwrite leaves more than maxManifests data manifests,
// compactManifests merges them (RewriteManifests: a metadata-only
// "replace" snapshot with the same rows).

import (
	"context"
	"slices"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// maxManifests is the number of data manifests an overwrite may leave
// before they are merged.
const maxManifests = 16

// compactManifests merges the data manifests of the current snapshot when
// it is an overwrite that left more than maxManifests of them; t.writeMu
// must be held. It publishes the new snapshot with the same segments. A
// failure changes nothing and is retried after the next overwrite.
func (t *Table) compactManifests(ctx context.Context) {
	if t.err != nil {
		return
	}
	_, mans, ok := t.currentManifests(ctx, table.OpOverwrite)
	if !ok {
		return
	}
	data := 0
	for _, m := range mans {
		if m.ManifestContent() == iceberg.ManifestContentData {
			data++
		}
	}
	if data <= maxManifests {
		return
	}
	txn := t.ice.NewTransaction()
	res, err := txn.RewriteManifests(ctx)
	if err != nil || res.IsNoOp() {
		return
	}
	if err := t.commit(ctx, txn, nil); err != nil {
		return
	}
	t.publish(newSegmentData(t.schema, t.data.sharedSegments()).extend(t.data))
}

// currentManifests returns the table's file system and the manifests of
// its current snapshot, if that snapshot's operation is one of ops; ok
// is false otherwise, and if they cannot be read.
func (t *Table) currentManifests(ctx context.Context, ops ...table.Operation) (fsys icebergio.IO, mans []iceberg.ManifestFile, ok bool) {
	snap := t.ice.CurrentSnapshot()
	if snap == nil || snap.Summary == nil || !slices.Contains(ops, snap.Summary.Operation) {
		return nil, nil, false
	}
	fsys, err := t.ice.FS(ctx)
	if err != nil {
		return nil, nil, false
	}
	mans, err = snap.Manifests(fsys)
	return fsys, mans, err == nil
}
