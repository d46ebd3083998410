package storage

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/catalog/hadoop"
	"github.com/apache/iceberg-go/table"
)

// Names of the entries of a data directory; see doc.go for the layout.
const (
	warehouseDirName = "warehouse"
	detectorsDirName = "detectors"
	trashDirName     = "trash"
	lockFileName     = "LOCK"
	cleanFileName    = "CLEAN"
)

// Options tunes a Store. The zero value (or a nil *Options) selects the
// defaults documented on each field.
type Options struct {
	// Allocator is used for every Arrow buffer the store allocates: batches
	// loaded from disk, converted and concatenated columns, and Parquet
	// encoding. Nil means memory.DefaultAllocator.
	Allocator memory.Allocator
	// NoSync skips fsync of data files, metadata files and directories.
	// Commits stay atomic against process crashes (kill -9) but not against
	// power loss or kernel crashes. Meant for tests and benchmarks.
	NoSync bool
	// SmallFileRows is the row count below which a data file counts as
	// small, at most half the rows of a file written full (see
	// TargetFileBytes and Table.smallRows). Small files at the end of a
	// table are merged with the rows of the next Append (see
	// Table.Append). Zero means 131072; negative disables merging.
	SmallFileRows int64
	// MergeFiles is the fewest data files (the new one included) that an
	// Append merges: while the small files it would merge with are fewer,
	// it writes a new file and commits it as a plain append, which costs
	// much less than a commit that replaces files. A stream of small
	// appends thus merges about once every MergeFiles appends, and leaves
	// at most MergeFiles-1 more files than merging every time would.
	// Zero means 8; 2 and less merge whenever there is a file to merge.
	MergeFiles int
	// MaxSnapshots is the number of Iceberg snapshots a table may keep before
	// a commit expires the older ones, deleting the files only they use.
	// Zero means 20.
	MaxSnapshots int
	// RetainSnapshots is the number of most recent snapshots kept when
	// snapshots are expired. Zero means 5; it is capped at MaxSnapshots.
	RetainSnapshots int
	// CacheBytes bounds the Arrow buffers of decoded data files the store
	// keeps in memory for later reads (see Data). Zero means a quarter of
	// the machine's physical memory (1 GiB when it cannot be known);
	// negative means none are kept: every read of a data file goes to
	// disk.
	CacheBytes int64
	// TargetFileBytes is the in-memory (Arrow) size of the rows of one
	// data file: a write starts a new file (and a cached read a new
	// segment) after about that many bytes of rows, whatever Parquet
	// compresses them to. Smaller files make an UPDATE or DELETE of a few
	// rows cheaper (it rewrites only the files it touches) and a cached
	// read finer; larger ones make fewer files. Zero means 4 MiB.
	TargetFileBytes int64
	// CopyOnWriteRows is the most rows the data files an UPDATE or DELETE
	// deletes rows from (Table.RewriteSegments) may hold together for
	// the change to rewrite them (copy-on-write) rather than record the
	// deleted rows in position delete files (merge-on-read, deletes.go):
	// rewriting a few thousand rows costs about what a delete file does,
	// and leaves nothing to compact. Zero means 1024; negative means
	// merge-on-read always.
	CopyOnWriteRows int64

	// fsys, if set, replaces the operating system for every change the
	// store makes to files (see fileSystem). Tests set it to simulate power
	// loss; nil means osFS.
	fsys fileSystem
}

func (o *Options) withDefaults() Options {
	var out Options
	if o != nil {
		out = *o
	}
	if out.Allocator == nil {
		out.Allocator = memory.DefaultAllocator
	}
	if out.fsys == nil {
		out.fsys = osFS{}
	}
	if out.SmallFileRows == 0 {
		out.SmallFileRows = 1 << 17
	}
	if out.MergeFiles == 0 {
		out.MergeFiles = 8
	}
	if out.MaxSnapshots <= 0 {
		out.MaxSnapshots = 20
	}
	if out.RetainSnapshots <= 0 {
		out.RetainSnapshots = 5
	}
	out.RetainSnapshots = min(out.RetainSnapshots, out.MaxSnapshots)
	switch {
	case out.CacheBytes == 0:
		out.CacheBytes = defaultCacheBytes()
	case out.CacheBytes < 0:
		out.CacheBytes = 0
	}
	if out.TargetFileBytes <= 0 {
		out.TargetFileBytes = 4 << 20
	}
	if out.CopyOnWriteRows == 0 {
		out.CopyOnWriteRows = 1024
	}
	return out
}

// Store is a set of databases, each holding Iceberg tables and detector
// models, kept under one data directory and mirrored in memory. A Store is
// safe for concurrent use. Only one Store (in any process) can have a data
// directory open at a time.
type Store struct {
	dir       string
	warehouse string
	detectors string
	trash     string
	opts      Options
	fs        fileSystem     // opts.fsys: every change to files goes through it
	fsToken   string         // propFS value under which the catalog finds fs
	syncs     *deferredSyncs // the fsyncs of files iceberg-go wrote, put off until their publication
	loc       *relocator     // maps paths under earlier roots of dir to dir (relocate.go)
	// unfinished holds, by "<db dir>/<table dir>", why a multi-table
	// commit could not be completed on a table at Open; it is loaded
	// damaged.
	unfinished map[string]error
	ctx        context.Context // carries opts.Allocator for Arrow compute and iceberg-go
	cat        *hadoop.Catalog
	lock       io.Closer
	cache      *batchCache      // decoded data files (segment.go)
	prefetch   prefetches       // read-aheads in flight (prefetch.go)
	readMem    memory.Allocator // decodes data files (read_memory.go)

	mu     sync.RWMutex
	dbs    map[string]*database // by key(name)
	closed bool

	detMu sync.Mutex // serializes detector file operations

	viewMu sync.Mutex // serializes view changes and guards database.views (views.go)
}

// database is one namespace of the catalog.
type database struct {
	name   string            // as created
	dir    string            // its directory under the warehouse and the detectors (dbDir)
	tables map[string]*Table // by key(name)
	views  map[string]View   // by key(name); nil until read (views.go)
}

// Open opens the data directory dataDir with default Options; see
// OpenWithOptions.
func Open(dataDir string) (*Store, error) { return OpenWithOptions(dataDir, nil) }

// OpenWithOptions opens (creating it if missing) the data directory dataDir,
// locks it against other processes, recovers from an unclean shutdown and
// reads every table's metadata (rows are read when first used, see Data).
//
// Recovery removes what an interrupted commit or drop can leave behind:
// Iceberg metadata version claims and temporary metadata files (which would
// otherwise block the next commit for a minute), directories of tables whose
// creation never completed, half-deleted dropped databases and tables, and
// temporary detector files. After an unclean shutdown it also deletes data
// files and manifests that no snapshot references (written by a commit that
// was interrupted). A table whose metadata cannot be read makes Open fail:
// the store never silently hides a table.
func OpenWithOptions(dataDir string, opts *Options) (_ *Store, err error) {
	o := opts.withDefaults()
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("storage: resolving %s: %w", dataDir, err)
	}
	if err := mkdirAll(o.fsys, dir, !o.NoSync); err != nil {
		return nil, fmt.Errorf("storage: creating data directory: %w", err)
	}
	lock, err := lockDir(o.fsys, filepath.Join(dir, lockFileName))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			_ = lock.Close()
		}
	}()
	s := &Store{
		dir:        dir,
		warehouse:  filepath.Join(dir, warehouseDirName),
		detectors:  filepath.Join(dir, detectorsDirName),
		trash:      filepath.Join(dir, trashDirName),
		opts:       o,
		cache:      newBatchCache(o.CacheBytes),
		fs:         o.fsys,
		ctx:        compute.WithAllocator(context.Background(), o.Allocator),
		readMem:    newReadMemory(o.Allocator),
		lock:       lock,
		dbs:        map[string]*database{},
		loc:        newRelocator(dir),
		unfinished: map[string]error{},
	}
	for _, d := range []string{s.warehouse, s.detectors, s.trash} {
		if err := s.mkdir(d); err != nil {
			return nil, fmt.Errorf("storage: creating %s: %w", d, err)
		}
	}
	if err := s.openRoots(); err != nil {
		return nil, err
	}
	s.syncs = newDeferredSyncs(s.fs)
	s.fsToken = registerIcebergFS(icebergFS{fsys: s.fs, noSync: o.NoSync, loc: s.loc, syncs: s.syncs})
	defer func() {
		if err != nil {
			unregisterIcebergFS(s.fsToken)
		}
	}()
	// iceberg-go sees the warehouse under icebergRoot (relocate.go).
	s.cat, err = hadoop.NewCatalog("anomalydb", filepath.Join(icebergRoot(s.dir), warehouseDirName), iceberg.Properties{propFS: s.fsToken})
	if err != nil {
		return nil, fmt.Errorf("storage: opening catalog: %w", err)
	}
	defer func() {
		if err != nil {
			_ = s.cat.Close()
			s.releaseAll()
		}
	}()

	cleanPath := filepath.Join(dir, cleanFileName)
	_, statErr := os.Stat(cleanPath)
	clean := statErr == nil
	if clean {
		// From now on a crash must be detectable as unclean.
		if err := s.fs.Remove(cleanPath); err != nil {
			return nil, fmt.Errorf("storage: %w", err)
		}
		if err := s.syncDir(dir); err != nil {
			return nil, err
		}
	}
	if err := s.removeCleanTemps(); err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if err := s.emptyTrash(); err != nil {
		return nil, err
	}
	if err := s.recoverMoves(); err != nil {
		return nil, err
	}
	if err := s.recoverTransactions(); err != nil {
		return nil, err
	}
	if err := s.loadDatabases(!clean); err != nil {
		return nil, err
	}
	if err := s.recoverDetectors(); err != nil {
		return nil, err
	}
	if err := s.recoverViews(); err != nil {
		return nil, err
	}
	return s, nil
}

// Close waits for in-flight writes, releases the store's references to
// table data, records a clean shutdown and unlocks the data directory.
// Data values obtained from Snapshot stay valid until released. Closing a
// closed Store is a no-op.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	s.prefetch.close()
	s.releaseAll()
	s.syncs.closeAll()
	errs := []error{s.cat.Close()}
	unregisterIcebergFS(s.fsToken)
	if err := writeFileAtomic(s.fs, filepath.Join(s.dir, cleanFileName), nil, s.opts.NoSync); err != nil {
		errs = append(errs, fmt.Errorf("storage: recording clean shutdown: %w", err))
	}
	errs = append(errs, s.lock.Close())
	return errors.Join(errs...)
}

// releaseAll detaches every table (waiting for its in-flight write) and
// drops the store's references to table data.
func (s *Store) releaseAll() {
	for _, d := range s.dbs {
		for _, t := range d.tables {
			t.detach(fmt.Errorf("%w: store closed", ErrClosed))
		}
	}
	s.cache.purge()
}

// syncDir fsyncs dir unless the store runs with NoSync.
func (s *Store) syncDir(dir string) error {
	if s.opts.NoSync {
		return nil
	}
	return s.fs.SyncDir(dir)
}

// mkdir creates dir (and parents), durably unless the store runs NoSync.
func (s *Store) mkdir(dir string) error { return mkdirAll(s.fs, dir, !s.opts.NoSync) }

// removeAllSync removes path and everything under it and, if path existed,
// fsyncs its parent directory, so the removal survives power loss. It is
// for removals that must not be undone by a power cut because something
// created later would otherwise find the old entries (see CreateDatabase).
func (s *Store) removeAllSync(path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err := s.fs.RemoveAll(path); err != nil {
		return err
	}
	return s.syncDir(filepath.Dir(path))
}

// Databases returns the database names, sorted case-insensitively.
func (s *Store) Databases() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	names := make([]string, 0, len(s.dbs))
	for _, d := range s.dbs {
		names = append(names, d.name)
	}
	sortNames(names)
	return names
}

func sortNames(names []string) {
	slices.SortFunc(names, func(a, b string) int {
		return cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a, b))
	})
}

// db returns the named database; s.mu must be held.
func (s *Store) db(name string) (*database, error) {
	if s.closed {
		return nil, ErrClosed
	}
	d, ok := s.dbs[key(name)]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrDatabaseNotFound, name)
	}
	return d, nil
}

// CreateDatabase creates an empty database (an Iceberg namespace: a
// directory under the warehouse). It returns ErrDatabaseExists if a database
// of that name, compared case-insensitively, exists.
//
// The database's directory is chosen once, here (see freshDir): its name
// when that is plain ASCII, else "d-" and random hex digits, with the name
// kept in the file dbNameFile inside it. Iceberg writes the directory
// name into its paths as a URL, so other characters would be escaped
// there but not on disk. The directory appears with its name file in
// place (it is prepared in the trash and renamed into the warehouse).
func (s *Store) CreateDatabase(name string) error {
	if err := validateName("database", name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if d, ok := s.dbs[key(name)]; ok {
		return fmt.Errorf("%w: %s", ErrDatabaseExists, d.name)
	}
	// Detectors of an earlier database of this name whose drop failed half
	// way must not reappear, not even after a power cut: their removal is
	// made durable before the new database is.
	dir, err := s.freshDir(s.warehouse, name, "d-")
	if err != nil {
		return fmt.Errorf("storage: creating database %s: %w", name, err)
	}
	if err := s.removeAllSync(filepath.Join(s.detectors, dir)); err != nil {
		return fmt.Errorf("storage: creating database %s: %w", name, err)
	}
	if err := s.makeDatabaseDir(name, dir); err != nil {
		return fmt.Errorf("storage: creating database %s: %w", name, err)
	}
	s.dbs[key(name)] = &database{name: name, dir: dir, tables: map[string]*Table{}}
	return nil
}

// dbNameFile is the file, in the directory of a database whose directory
// is not named after it, that holds its name.
const dbNameFile = ".anomalydb-name"

// makeDatabaseDir creates the warehouse directory dir of database name,
// durably: a plain directory when dir is the name, else one holding
// dbNameFile, prepared in the trash and renamed into place.
func (s *Store) makeDatabaseDir(name, dir string) error {
	if dir == name {
		if err := s.fs.Mkdir(filepath.Join(s.warehouse, dir), 0o755); err != nil {
			return err
		}
		return s.syncDir(s.warehouse)
	}
	tmp, err := mkdirTemp(s.fs, s.trash, "create-")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.fs, filepath.Join(tmp, dbNameFile), []byte(name), s.opts.NoSync); err != nil {
		_ = s.fs.RemoveAll(tmp)
		return err
	}
	if err := s.fs.Rename(tmp, filepath.Join(s.warehouse, dir)); err != nil {
		_ = s.fs.RemoveAll(tmp)
		return err
	}
	return errors.Join(s.syncDir(s.warehouse), s.syncDir(s.trash))
}

// dbDir is the warehouse directory of database d.
func (s *Store) dbDir(d *database) string { return filepath.Join(s.warehouse, d.dir) }

// DropDatabase drops a database with all its tables and detectors. The
// database directory is first renamed into the trash directory, so a crash
// can never leave some of its tables behind, and then deleted once no
// Data obtained from its tables is held (their reads follow the files
// into the trash); the next Open empties the trash anyway.
func (s *Store) DropDatabase(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.db(name)
	if err != nil {
		return err
	}
	// In lockTables' order, as CommitTables locks them.
	unlock := lockTables(slices.Collect(maps.Values(d.tables)))
	trashed, err := s.moveToTrash(s.warehouse, d.dir)
	if err != nil {
		unlock()
		return fmt.Errorf("storage: dropping database %s: %w", d.name, err)
	}
	s.detMu.Lock()
	detTrashed, detErr := s.moveToTrash(s.detectors, d.dir)
	s.detMu.Unlock()
	delete(s.dbs, key(d.name))
	from, to := s.dbDir(d), filepath.Join(trashed, d.dir)
	if trashed != "" {
		s.loc.move(from, to)
	}
	var left atomic.Int64 // tables whose readers are not done
	left.Store(int64(len(d.tables)) + 1)
	gone := func() {
		if left.Add(-1) == 0 && trashed != "" {
			_ = s.fs.RemoveAll(trashed)
			s.loc.unmove(from, to)
		}
	}
	for _, t := range d.tables {
		t.detachLocked(fmt.Errorf("%w: %s.%s was dropped", ErrTableNotFound, d.name, t.name))
		t.whenIdle(gone)
	}
	unlock()
	gone()
	if detTrashed != "" {
		_ = s.fs.RemoveAll(detTrashed)
	}
	if detErr != nil {
		// The tables are gone; orphaned detector files are removed by the
		// next Open.
		return fmt.Errorf("storage: dropping detectors of %s: %w", d.name, detErr)
	}
	return nil
}

// moveToTrash renames parent/name into a fresh directory under the trash
// and returns the new path ("" if parent/name does not exist). The rename
// is atomic; the caller deletes the returned path afterwards, and Open
// empties the trash if it crashed before doing so.
func (s *Store) moveToTrash(parent, name string) (string, error) {
	src := filepath.Join(parent, name)
	if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	bin, err := mkdirTemp(s.fs, s.trash, "drop-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(bin, name)
	if err := s.fs.Rename(src, dst); err != nil {
		_ = s.fs.Remove(bin)
		return "", err
	}
	// Files queued for fsync under src are no longer published by anyone.
	s.syncs.discard(src)
	// The drop has happened once the rename succeeded; a failing directory
	// fsync only weakens its durability against power loss, so it is not
	// reported as a failed drop.
	_ = s.syncDir(parent)
	return bin, nil
}

// emptyTrash deletes everything left in the trash directory.
func (s *Store) emptyTrash() error {
	ents, err := os.ReadDir(s.trash)
	if err != nil {
		return fmt.Errorf("storage: reading trash: %w", err)
	}
	for _, e := range ents {
		if err := s.fs.RemoveAll(filepath.Join(s.trash, e.Name())); err != nil {
			return fmt.Errorf("storage: emptying trash: %w", err)
		}
	}
	return nil
}

// Tables returns the names of the tables of database db, sorted
// case-insensitively.
func (s *Store) Tables(db string) ([]string, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(d.tables))
	for _, t := range d.tables {
		names = append(names, t.name)
	}
	sortNames(names)
	return names, nil
}

// Table returns the named table (names compare case-insensitively).
func (s *Store) Table(db, name string) (*Table, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, err := s.db(db)
	if err != nil {
		return nil, err
	}
	t, ok := d.tables[key(name)]
	if !ok {
		return nil, fmt.Errorf("%w: %s.%s", ErrTableNotFound, d.name, name)
	}
	return t, nil
}

// reservedProps are Iceberg table properties the store sets on every table.
// CreateTable rejects them, as well as any key starting with "anomalydb.",
// and Table.Properties hides them.
var reservedProps = map[string]string{
	// Keep the metadata directory bounded: delete metadata files that
	// drop out of the metadata log, and keep that log short.
	table.MetadataDeleteAfterCommitEnabledKey: "true",
	table.MetadataPreviousVersionsMaxKey:      "10",
	// Merge manifests on append so that many small appends do not make
	// the manifest list (and Open) grow without bound.
	table.ManifestMergeEnabledKey: "true",
	// Snappy rather than iceberg-go's zstd: faster to write and to read
	// for files about as large (BenchmarkDataFileEncoding, encoding.go).
	table.ParquetCompressionKey: "snappy",
}

const reservedPrefix = "anomalydb."

func isReservedProp(k string) bool {
	_, ok := reservedProps[k]
	return ok || strings.HasPrefix(k, reservedPrefix) || isEncodingProp(k)
}

// CreateTable creates an empty table with the given Arrow schema and table
// properties. Column types must be among those listed in doc.go; a NOT NULL
// (Nullable=false) field becomes a required Iceberg field. props are stored
// as Iceberg table properties and returned by Table.Properties; keys
// starting with "anomalydb." and the few Iceberg keys the store manages are
// rejected with ErrReservedProperty.
func (s *Store) CreateTable(db, name string, schema *arrow.Schema, props map[string]string) (*Table, error) {
	if err := validateName("table", name); err != nil {
		return nil, err
	}
	isc, enc, err := toIcebergSchema(schema)
	if err != nil {
		return nil, err
	}
	iprops := iceberg.Properties{}
	for k, v := range props {
		if isReservedProp(k) {
			return nil, fmt.Errorf("%w: %q", ErrReservedProperty, k)
		}
		iprops[k] = v
	}
	maps.Copy(iprops, reservedProps)
	withEncodingProps(iprops, schema)
	iprops[propArrowSchema] = enc
	iprops[propTableName] = name

	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.db(db)
	if err != nil {
		return nil, err
	}
	if t, ok := d.tables[key(name)]; ok {
		return nil, fmt.Errorf("%w: %s.%s", ErrTableExists, d.name, t.name)
	}
	if isView, err := s.hasView(d, name); err != nil || isView {
		return nil, cmp.Or(err, fmt.Errorf("%w: %s.%s is a view", ErrTableExists, d.name, name))
	}
	dir, err := s.tableDir(d, name)
	if err != nil {
		return nil, err
	}
	ice, err := s.cat.CreateTable(s.ctx, table.Identifier{d.dir, dir}, isc, catalog.WithProperties(iprops))
	if err != nil {
		if errors.Is(err, catalog.ErrTableAlreadyExists) {
			return nil, fmt.Errorf("%w: %s.%s (on disk)", ErrTableExists, d.name, name)
		}
		return nil, fmt.Errorf("storage: creating table %s.%s: %w", d.name, name, err)
	}
	// The table is durable: icebergFS created its directories with
	// mkdirAll (fsyncing each parent) and published the first metadata
	// version with fsyncs of the file and of the metadata directory.
	t, err := newTable(s, d, name, dir, ice)
	if err != nil {
		return nil, err
	}
	t.publish(newData(t.schema, nil))
	t.exact = true
	d.tables[key(name)] = t
	return t, nil
}

// DropTable drops a table: its directory is renamed into the trash
// directory (atomically) and then deleted, once no Data obtained from the
// table is held (until then their reads follow the files into the
// trash; the next Open empties the trash anyway). It waits for an
// in-flight write to the table. Later writes through the *Table fail
// with ErrTableNotFound.
func (s *Store) DropTable(db, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.db(db)
	if err != nil {
		return err
	}
	t, ok := d.tables[key(name)]
	if !ok {
		return fmt.Errorf("%w: %s.%s", ErrTableNotFound, d.name, name)
	}
	t.writeMu.Lock()
	trashed, err := s.moveToTrash(s.dbDir(d), t.dir())
	if err != nil {
		t.writeMu.Unlock()
		return fmt.Errorf("storage: dropping table %s.%s: %w", d.name, t.name, err)
	}
	delete(d.tables, key(name))
	from, to := filepath.Join(s.dbDir(d), t.dir()), filepath.Join(trashed, t.dir())
	if trashed != "" {
		s.loc.move(from, to)
	}
	t.detachLocked(fmt.Errorf("%w: %s.%s was dropped", ErrTableNotFound, d.name, t.name))
	t.whenIdle(func() {
		if trashed != "" {
			_ = s.fs.RemoveAll(trashed)
			s.loc.unmove(from, to)
		}
	})
	t.writeMu.Unlock()
	return nil
}
