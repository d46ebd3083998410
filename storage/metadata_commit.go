package storage

// The metadata step of a commit, without reading the table back.
//
// iceberg-go's Hadoop catalog commits a table's new metadata in five
// steps: it finds the current version by listing the metadata directory
// and reads and parses that version's metadata JSON (loadTable), checks
// the commit's requirements against it, applies the updates, writes the
// new metadata to a temporary file and publishes it as v<N+1> through a
// claim file (a rename, a listing, a link), and writes the version hint.
// For a table of the store the first step repeats what the store holds:
// the store is the only writer of its directory (the directory lock) and
// commits a table with the table's write lock held, so Table.ice is the
// table's current metadata. Reading and parsing it back took about a
// third of the catalog's share of a single-row INSERT's commit, and the
// listings grow with the manifests in the directory.
//
// commitMetadata therefore checks the requirements against Table.ice,
// applies the updates with iceberg-go (table.UpdateTableMetadata, as the
// catalog does), writes the same file the catalog would and publishes it
// as the catalog does: linked without replacing to the version's claim,
// then to v<N+1>.metadata.json, so that a claim or a version that exists
// refuses the commit, and updates the version hint as the catalog does.
// Unlike the catalog it writes the hint's temporary file before the
// publication, so that one round of fsyncs makes it durable with the
// metadata file, and links the version and renames the hint into place
// under one fsync of the metadata directory (icebergFS.publishVersion): a
// commit waits for two rounds of fsyncs, not four.
// What is on disk afterwards is what hadoop.Catalog.CommitTable leaves,
// and the catalog loads it
// (TestMetadataCommitLoadsInTheCatalog). A table whose current metadata
// file is not named as the catalog names it, or whose new metadata is to
// be compressed, is committed by the catalog.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	icebergio "github.com/apache/iceberg-go/io"
	"github.com/apache/iceberg-go/table"
	"github.com/google/uuid"
)

// commitMetadata is hadoop.Catalog.CommitTable for t (see above): it
// commits updates on t.ice if reqs hold for it, and returns the new
// metadata and its location. Errors are the catalog's: a failed
// requirement or table.ErrCommitFailed (nothing was committed), or an
// I/O error (the outcome is unknown, see Table.commit).
func (t *Table) commitMetadata(ctx context.Context, reqs []table.Requirement, updates []table.Update) (table.Metadata, string, error) {
	cur := t.ice.MetadataLocation()
	slash := strings.LastIndexByte(cur, '/')
	m := hadoopVersionFile.FindStringSubmatch(cur[slash+1:])
	var version int
	var err error
	if m != nil {
		version, err = strconv.Atoi(m[1])
	}
	if slash < 0 || m == nil || err != nil {
		return t.store.cat.CommitTable(ctx, t.ident, reqs, updates)
	}
	base := t.ice.Metadata()
	for _, r := range reqs {
		if err := r.Validate(base); err != nil {
			return nil, "", err
		}
	}
	updated, err := table.UpdateTableMetadata(base, updates, cur)
	if err != nil {
		return nil, "", fmt.Errorf("hadoop catalog: failed to apply updates: %w", err)
	}
	switch {
	case updated.Location() != base.Location():
		return nil, "", errors.New("hadoop catalog: table location cannot be changed")
	case updated.Properties().Get(table.WriteMetadataLocationKey, "") != "":
		return nil, "", fmt.Errorf("hadoop catalog: %s property is not supported", table.WriteMetadataLocationKey)
	case updated.Properties().Get(table.MetadataCompressionKey, table.MetadataCompressionDefault) != table.MetadataCompressionCodecNone:
		return t.store.cat.CommitTable(ctx, t.ident, reqs, updates)
	}
	fsys, err := t.ice.FS(ctx)
	if err != nil {
		return nil, "", err
	}
	wfs, ok := fsys.(interface {
		icebergio.WriteFileIO
		icebergio.RenameNoReplaceIO
		// publishVersion is icebergFS.publishVersion.
		publishVersion(claim, version, hintTemp, hint string) error
	})
	if !ok {
		return t.store.cat.CommitTable(ctx, t.ident, reqs, updates)
	}
	dir := cur[:slash+1]
	next := dir + "v" + strconv.Itoa(version+1) + ".metadata.json"
	temp := dir + uuid.NewString() + ".metadata.json"
	if err := writeMetadataFile(wfs, temp, updated); err != nil {
		_ = wfs.Remove(temp)
		return nil, "", fmt.Errorf("hadoop catalog: failed to write table metadata: %w", err)
	}
	// The version hint, best effort as the catalog writes it: readers
	// (this catalog, Java's HadoopCatalog) check for newer versions. Its
	// temporary file is written now, so that the publication's round of
	// fsyncs makes it durable with the metadata file.
	hint := dir + uuid.NewString() + "-version-hint.temp"
	if err := wfs.WriteFile(hint, []byte(strconv.Itoa(version+1))); err != nil {
		_ = wfs.Remove(hint)
		hint = ""
	}
	fail := func(err error) (table.Metadata, string, error) {
		if hint != "" {
			_ = wfs.Remove(hint)
		}
		return nil, "", err
	}
	// Published as the catalog publishes it: the file is first linked to
	// the version's claim, which another writer of the Hadoop protocol
	// would hold while it commits the same version, then to the version.
	claim := next + ".claim"
	if err := wfs.RenameNoReplace(temp, claim); err != nil {
		_ = wfs.Remove(temp)
		if errors.Is(err, fs.ErrExist) {
			return fail(fmt.Errorf("%w: metadata version already claimed for table %s: %s", table.ErrCommitFailed, strings.Join(t.ident, "."), claim))
		}
		return fail(fmt.Errorf("hadoop catalog: failed to claim metadata version: %w", err))
	}
	if err := wfs.publishVersion(claim, next, hint, dir+"version-hint.text"); err != nil {
		_ = wfs.Remove(claim)
		if errors.Is(err, fs.ErrExist) {
			return fail(fmt.Errorf("%w: metadata file already exists for table %s: %s", table.ErrCommitFailed, strings.Join(t.ident, "."), next))
		}
		return fail(fmt.Errorf("hadoop catalog: failed to commit metadata file: %w", err))
	}
	return updated, next, nil
}

// writeMetadataFile writes meta as JSON to a new file at loc, as the
// catalog writes uncompressed metadata.
func writeMetadataFile(wfs icebergio.WriteFileIO, loc string, meta table.Metadata) error {
	out, err := wfs.Create(loc)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(out).Encode(meta); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}
