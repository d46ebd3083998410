// Package storage keeps anomalydb's databases, tables and detector models
// on disk, and every table's committed contents in memory as Arrow record
// batches.
//
// # Contract
//
// Each database is an Iceberg namespace and each table an Apache Iceberg
// (format v2) table of Parquet data files in a filesystem ("Hadoop")
// catalog, so other engines can read the same files. The SQL layer calls
// Store and Table only; it never sees Iceberg.
//
//   - Names of databases, tables and detectors are looked up
//     case-insensitively and displayed as created. Names unsafe as a path
//     segment are rejected with ErrInvalidName (see validateName).
//   - Table.Append, Table.Overwrite and Table.Rewrite each commit exactly one
//     Iceberg snapshot. After a crash at any moment (kill -9 included) the
//     next Open sees either the old or the new contents, never a mix and
//     never an error. The in-memory contents are swapped only after the
//     commit succeeded; a failed write changes nothing. Concurrent appends
//     (Append, AppendIf) to one table are group-committed: one snapshot
//     and one data file for all of them, each checked as if committed
//     alone after the ones before it, each returning once that snapshot is
//     durable (group.go).
//   - Table.UpdateProperties changes table properties (the SQL layer keeps
//     its column and index definitions there) as one Iceberg metadata
//     commit, with the same guarantees; it publishes a new Data that
//     carries the new properties (Data.Properties) and shares the rows.
//     Data.Extends tells whether newer contents start with older ones
//     (appends and property updates only), so that what was derived from
//     the older rows can be extended rather than rebuilt.
//   - Store.AlterTable commits one ALTER TABLE statement's change of a
//     table, columns, rows, properties and name, as one Iceberg commit
//     (ChangeColumns, RenameColumn, UpdateProperties and RenameTable are
//     its single-purpose forms); a move to another database is atomic
//     too (see "Atomicity and crash recovery").
//   - Store.CommitTables commits changes to several tables (each an
//     AppendIf or a Rewrite) atomically: after a crash or power loss at
//     any moment the next Open sees all of them or none. Every check and
//     rewrite function runs before anything is written, so one that fails
//     changes no table. A commit that writes one table costs what
//     AppendIf or Rewrite costs.
//   - Writes to one table are serialized; reads never wait for them.
//     Table.Snapshot returns an immutable, reference-counted *Data.
//     Snapshot followed by Overwrite is not atomic (an Append in between is
//     lost); Table.Rewrite runs such a read-modify-write under the table's
//     write lock and is what UPDATE and DELETE should use when writers can
//     be concurrent.
//   - Views (SaveView, DeleteView, View, Views) are named definitions the
//     store keeps as given, all of a database's in one file of its
//     namespace directory that every change replaces atomically and
//     durably; DropDatabase drops them with the tables. A view and a
//     table of one database never share a name (ErrTableExists).
//   - Errors are returned, not panicked; sentinel errors are in errors.go.
//
// # Ownership of Arrow memory
//
// Batches passed to Append and Overwrite stay owned by the caller; the
// table takes its own references (Retain) to what it keeps, so the caller
// may Release them as soon as the call returns. Table.Snapshot returns a
// *Data holding one reference for the caller, who must call Release once
// (defer d.Release()); its batches stay valid until then and must not be
// released or modified individually. The store's own allocations (loading,
// type conversion, concatenation, Parquet encoding) use Options.Allocator.
//
// # Types
//
// Arrow types map to Iceberg types as follows; the exact Arrow schema is
// also kept in the table property "anomalydb.arrow-schema", so data read
// back has the types it was written with:
//
//	int8, int16, int32          int
//	int64                       long
//	float32                     float
//	float64                     double
//	decimal128(p, s)            decimal(p, s)
//	string, large_string        string
//	binary, large_binary        binary
//	bool                        boolean
//	date32                      date
//	timestamp[us] (no zone)     timestamp
//	timestamp[us, zone]         timestamptz
//
// A field with Nullable=false becomes a required Iceberg field and must not
// hold NULLs. Field order and names (case preserved) are kept. Other types
// are rejected with ErrUnsupportedType.
//
// # On-disk layout
//
//	<dataDir>/LOCK                            flock'ed while a Store has the directory open
//	<dataDir>/CLEAN                           present only after a clean Close
//	<dataDir>/ROOTS                           every path the directory was opened at (relocate.go)
//	<dataDir>/warehouse/<db>/                 an Iceberg namespace: the database's name, or d-<hex>
//	<dataDir>/warehouse/<db>/.anomalydb-name  the name of a database in a d-<hex> directory
//	<dataDir>/warehouse/<db>/.anomalydb-views.json  the database's view definitions (views.go)
//	<dataDir>/warehouse/<db>/<table>/         the table's name, or t-<hex> (its name is a property)
//	<dataDir>/warehouse/<db>/<table>/metadata/vN.metadata.json     table metadata, one per commit
//	<dataDir>/warehouse/<db>/<table>/metadata/version-hint.text    best-effort hint for readers
//	<dataDir>/warehouse/<db>/<table>/metadata/snap-*.avro, *-m*.avro   manifest lists and manifests
//	<dataDir>/warehouse/<db>/<table>/data/*.parquet                data files
//	<dataDir>/detectors/<db>/<name>.model     detector models (opaque bytes)
//	<dataDir>/detectors/rename-<id>.json      intent of a move of a detector to another database (detector_rename.go)
//	<dataDir>/trash/                          dropped databases and tables being deleted
//	<dataDir>/txlog/<id>.json                 intent of a multi-table commit in progress
//	<dataDir>/txlog/move-<id>.json            intent of a move of a table to another database (move.go)
//
// The engine adds mysql.db (accounts and grants), server-cert.pem and
// server-key.pem (TLS) at the top of the data directory.
//
// Paths in Iceberg metadata are absolute. Every path the store or
// iceberg-go uses is resolved through the relocator (relocate.go), so a
// data directory copied or moved while stopped opens in its new place and
// never touches its old one.
//
// Another engine can read a table with any Hadoop-catalog implementation
// pointed at <dataDir>/warehouse, or directly from its latest
// vN.metadata.json. UPDATE and DELETE (Table.RewriteSegments) record
// deleted rows in Iceberg v2 position delete files (merge-on-read,
// deletes.go), which any Iceberg reader applies; Table.SnapshotFiles
// lists a snapshot's data files and delete files, and
// engine/duckdb_test.go reads them with DuckDB (an anti-join on the data
// file's path and the row position). Table.DataFiles lists the data
// files of a snapshot without delete files, which then hold exactly the
// table's rows.
//
// # Atomicity and crash recovery
//
// A write first writes its Parquet data files and then commits through
// iceberg-go: manifests and a manifest list are written, the new metadata
// is written to a temporary file, claimed as version N by a no-replace
// rename (hard link) to vN.metadata.json.claim, and published by a second
// no-replace link to vN.metadata.json. Readers, Open included, take the
// highest vN.metadata.json, so the commit point is that last link, which is
// atomic: before it the table is unchanged and everything written is
// unreferenced; after it the new snapshot is complete.
//
// A commit of several tables (Store.CommitTables) cannot use that commit
// point alone: the Hadoop catalog commits one table at a time (iceberg-go's
// MultiTableTransaction needs a catalog.TransactionalCatalog, which it is
// not). It takes the write locks of all the tables (in the order of their
// names, which DropDatabase uses too), runs every check and rewrite
// function, writes every table's data files, and then writes its intent,
// txlog/<id>.json: for each table its name, Iceberg table UUID, base
// snapshot and the data files the commit adds and removes. The intent is
// written to a temporary file, fsynced, renamed into place and its
// directory fsynced; that makes the commit certain. Then each table is
// committed as above, its snapshot summary carrying "anomalydb.txn" = <id>,
// and finally the intent is removed, durably, before the locks are
// released, and the new contents published. Open, before anything else
// reads the tables (and before unreferenced files are removed), completes
// every intent it finds: a table whose snapshots carry the id is
// committed; a table still at its base snapshot gets the recorded commit
// applied (nothing else can write while Open runs, so it cannot
// conflict); a table that no longer exists or has another UUID was
// dropped since and is skipped; any other table makes Open fail rather
// than guess. Then the intent is removed durably. A crash during that
// recovery is recovered the same way. An intent still under its
// temporary name, or one that cannot be read completely, was never
// published, so no table was committed: it is removed and its data files
// are unreferenced. If a table's commit fails in the process (an I/O
// error) after the intent is written, CommitTables returns an error, the
// tables refuse writes, and reopening the store completes the commit; if
// the first table's commit fails, the intent is removed durably and
// nothing changes. The intent is anomalydb's own: another engine reading
// the warehouse sees the tables' commits one after another.
//
// A table moved to another database (AlterTable with NewDB, RENAME TABLE
// a.t TO b.t) cannot keep its files, whose absolute paths name its
// database: it is written anew in the target database and its old
// directory moved to the trash, with a redo record of its own,
// txlog/move-<id>.json, written before the new table and marked
// committed once the new table is complete. Open, before the intents of
// multi-table commits, removes the new table of a move not committed and
// the old table of one committed (see move.go).
//
// A crash can leave debris that Open cleans up before anything else: a
// stale claim file (iceberg-go would refuse to commit version N for a
// minute), metadata and version-hint temporary files, a version hint one
// version behind (rewritten, so engines that trust the hint see the last
// commit), unreferenced data files and manifests (after an unclean
// shutdown, detected by the missing CLEAN marker), a table directory whose
// creation never completed, dropped databases and tables in the trash
// (drops rename into the trash first, so they are atomic too), detectors of
// databases that no longer exist, and temporary detector and views files. A detector
// saved under a differently cased name first sets the old file aside as
// .<old>.model.replaced; Open removes that file if the new one is in place
// and restores it otherwise. The LOCK file makes that cleanup safe: no
// other process can be writing.
//
// # Durability and the file-system seam
//
// Unless Options.NoSync is set, everything is written so that the commit
// order also holds across power loss, on a disk that keeps a file's
// contents only as of its last fsync and a directory entry only once the
// directory is fsynced: every file is fsynced before it is closed or
// renamed into place, and every directory is fsynced after entries are
// added to it (files, directories, renames, hard links) before the
// operation that added them returns; the trash, whose contents need not
// survive, is the exception. Files iceberg-go writes for a commit (data
// files, manifests, manifest lists, metadata) are the other: their fsyncs
// and their directories' are put off until the rename or link that
// publishes the commit, which makes them durable first, all at once
// (deferred_sync.go); a multi-table commit makes them durable before its
// intent names them. The version hint's temporary file is written before
// that publication too, and renamed into place under the same fsync of
// the metadata directory that publishes the version
// (metadata_commit.go). Removals are fsynced only where a removed
// entry coming back would be visible: dropped tables and databases (the
// directory they were renamed out of), deleted detectors, and detectors of
// a database that no longer exists (which a database created later under
// the same name would otherwise find), and intents of multi-table commits
// that are complete (later writes would make them impossible to
// complete), or that failed before committing any table. Removals of
// unreferenced files and of commit debris are not: they are removed again
// by the next Open.
//
// Every change the store makes to files goes through one small interface,
// fileSystem (fsutil.go): OpenFile for writing, Mkdir, Rename, Link,
// Remove, RemoveAll and SyncDir, plus Write, Sync and Close on the open
// file. Reads go to the os package. osFS is the production implementation.
// iceberg-go reaches it through icebergFS: iceberg-go's LocalFS never
// fsyncs and the Hadoop catalog takes its file system only from the IO
// registry, so this package re-registers the "file" scheme in its init
// with a factory that returns the icebergFS of the Store whose token the
// catalog property "anomalydb.fs" carries, and the unchanged LocalFS for
// catalogs without it. iceberg-go v0.7.0's Hadoop catalog and table code
// touch local files only through that IO.
//
// The seam exists for the power-loss test (powerloss_test.go): crashFS
// (crashfs_test.go) passes every operation to the OS and also records it
// in a strict model of what survives power loss, as in Pebble's strict
// MemFS and SQLite's crash tests. For each store operation (Append with
// and without merging, a first Append, one that expires snapshots,
// Overwrite, Rewrite, truncation, UpdateProperties, CommitTables of two
// tables, CreateTable, DropTable, CreateDatabase, DropDatabase,
// SaveDetector, DeleteDetector, RenameDetector, SaveView and DeleteView) the test
// materializes the disk as a power cut after every recorded file-system
// call would leave it, opens it with a normal Store, and requires exactly
// the old or the new contents (every row and property compared), the new
// contents once the operation has returned, no unreferenced files, a valid
// version hint, and the same result after a crash during or right after
// recovery. It checks that the model saw every change (nothing bypasses
// the seam). TestIcebergFSIsDurable checks the same contract for each
// mutating method icebergFS offers iceberg-go. Removing any fsync call of
// this package makes one of these tests fail, except the fsync inside
// osFS.SyncDir itself, the primitive the model takes on trust.
//
// # Files and snapshots over time
//
// An Append writes its rows to a new data file, except that small files at
// the end of the table are rewritten together with the new rows (same
// single snapshot) when they are comparable in size and at least
// Options.MergeFiles files would be merged, so a stream of small INSERTs
// leaves a logarithmic number of files (plus fewer than MergeFiles), and
// most of its commits are plain appends, which cost much less than a
// commit that replaces files. A change by RewriteSegments writes, per
// data file it deletes rows of, a position delete file, and its new rows
// to a new data file, as one row-delta snapshot, rewriting no data file
// (unless they hold at most Options.CopyOnWriteRows rows together: then
// it rewrites them). After such a commit, maintenance (compact.go)
// rewrites, in one commit of its own that changes no row and may change
// the row order, the data files of which CompactDeletedShare of the rows
// are deleted or that carry more than CompactDeleteFiles delete files,
// and merges the small data files UPDATEs left at the end of the table
// as appends merge theirs; every write that removes a data file removes
// its delete files with it. Once the snapshot has more than 16 delete
// manifests (one per row delta), maintenance rewrites their delete files,
// one per data file, into one manifest (delete_manifests.go). Manifests
// are merged on
// append (commit.manifest-merge.enabled). Once a table has more than
// Options.MaxSnapshots snapshots the older ones are expired and the files
// only they use are deleted; old metadata versions beyond the last ten are
// deleted after each commit.
//
// # Time travel
//
// Table.Snapshots lists the snapshots a table keeps; Table.SnapshotByID and
// Table.SnapshotAsOf resolve one (errors: ErrSnapshotNotFound,
// ErrSnapshotExpired, ErrNoSnapshotAsOf) and SnapshotView.Read reads its
// rows from its Parquet data files, in row order, with the Iceberg schema
// it was committed with. None of this waits for writes: the current
// metadata is also published through an atomic pointer. Expiry (maintain)
// is skipped while a Read holds the table's history lock and retried after
// the next commit, so files are never deleted under a reader. ChangeColumns
// records in the reserved property anomalydb.columns-seq the last sequence
// number before the change, so that a snapshot committed since is known to
// have exactly the current declared types (SnapshotView.Sources). Every
// published Data carries the id of the snapshot it holds (Data.SnapshotID).
package storage
