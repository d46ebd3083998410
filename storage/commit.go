package storage

// One table's commit without iceberg-go's client-side conflict
// validators.
//
// iceberg-go's Transaction.Commit runs, before it hands the commit to
// the catalog, the validators its snapshot producers registered. One of
// them, RowDelta's check that every data file a position delete names
// is still live (validateDataFilesExist), decodes every data manifest of
// the table on every commit, including a first attempt whose base is
// the catalog's current snapshot, where no concurrent commit can exist
// to check against. Its cost grows with the table (1.6 ms a change at
// 1M rows, 3.5 ms at 3M), and it is the part of a point UPDATE or DELETE
// that did.
//
// Here that check can never fail: the store is the only writer of its
// tables (the directory lock), it commits a table with the table's
// write lock held, and it builds a position delete only for a data file
// of the snapshot it commits on. The commit's requirements (the
// branch's snapshot id, the table's uuid) are still checked, and a commit
// whose next metadata version exists is refused with ErrCommitFailed, so
// a commit never lands on a base it was not built for. That metadata step
// is the store's too (commitMetadata, metadata_commit.go): the Hadoop
// catalog's commit without reading back the metadata the store holds.

import (
	"context"
	"errors"
	"io/fs"
	"slices"

	"github.com/apache/iceberg-go"
	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
)

// commitTxn commits txn, a transaction on t.ice, as Transaction.Commit
// does on its first attempt but without the producers' validators, its
// metadata step by commitMetadata (see above), and returns the committed
// table. A transaction with nothing to commit returns t.ice. Errors are the catalog's, as Transaction.Commit
// returns them (ErrCommitFailed or a failed requirement: nothing was
// committed; anything else: the outcome is unknown, see Table.commit). As
// Transaction.Commit does, a commit that landed runs the updates' post-
// commit hooks (an expiry's file deletions) and removes the metadata
// files that fell out of the table's metadata log; their errors come
// back with the committed table.
func (t *Table) commitTxn(ctx context.Context, txn *table.Transaction) (*table.Table, error) {
	tc, err := txn.TableCommit()
	if err != nil {
		return nil, err
	}
	if len(tc.Updates) == 0 {
		txn.MarkCommitted()
		return t.ice, nil
	}
	meta, loc, err := t.commitMetadata(ctx, tc.Requirements, tc.Updates)
	if err != nil {
		return nil, err
	}
	txn.MarkCommitted()
	nt := table.New(slices.Clone(tc.Identifier), meta, loc, icebergio.LoadFSFunc(iceberg.Properties{propFS: t.store.fsToken}, loc), t.store.cat)
	var errs []error
	for _, u := range tc.Updates {
		errs = append(errs, u.PostCommit(ctx, t.ice, nt))
	}
	errs = append(errs, t.removeOldMetadata(ctx, nt))
	return nt, errors.Join(errs...)
}

// removeOldMetadata removes the metadata files of t.ice's metadata log
// that nt's log no longer lists, when nt's properties ask for it
// (write.metadata.delete-after-commit.enabled, on for the store's
// tables), as Transaction.Commit does. A file already gone is not an
// error.
func (t *Table) removeOldMetadata(ctx context.Context, nt *table.Table) error {
	if !nt.Properties().GetBool(table.MetadataDeleteAfterCommitEnabledKey, table.MetadataDeleteAfterCommitEnabledDefault) {
		return nil
	}
	kept := map[string]bool{}
	for e := range nt.Metadata().PreviousFiles() {
		kept[e.MetadataFile] = true
	}
	fsys, err := nt.FS(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for e := range t.ice.Metadata().PreviousFiles() {
		if kept[e.MetadataFile] {
			continue
		}
		if err := fsys.Remove(e.MetadataFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
