package engine

// Which snapshots a training read: CREATE DETECTOR runs its SELECT with a
// recorder in the context, every scan of a stored table notes the
// snapshot id of the contents it reads (the current ones, a transaction's
// base, or an AS OF snapshot), and the detector keeps the list
// ("db.t@<snapshot id>,…", SHOW DETECTORS' training_snapshots), so that
// the same training can be repeated on exactly the same rows with
// SELECT … FROM t AS OF <snapshot id>.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/dolthub/go-mysql-server/sql"

	"github.com/anomalydb/anomalydb/storage"
)

// scanSource is a stored table whose scans read whole committed Arrow
// batches: the current contents (*table) or an old snapshot
// (*asOfTable). directTrainingData hands such batches to training as
// they are.
type scanSource interface {
	sql.Table
	// fullSchema is the schema of the batches' columns.
	fullSchema() sql.Schema
	// columns are the positions in fullSchema of the columns scans
	// return (a projection).
	columns() []int
	// snapshot returns the contents a scan reads; the caller must
	// Release them.
	snapshot() (*storage.Data, error)
	// qualifiedName is "db.table" as noteRead records it.
	qualifiedName() string
}

var _ scanSource = (*table)(nil)

// fullSchema implements scanSource.
func (t *table) fullSchema() sql.Schema { return t.schema.Schema }

// qualifiedName implements scanSource.
func (t *table) qualifiedName() string { return qualify(t.db, t.Name()) }

// qualify joins a database and a table name, quoting a name with
// backquotes unless it is made of letters, digits, '_' and '$' only.
func qualify(db, name string) string {
	return quoteIfNeeded(db) + "." + quoteIfNeeded(name)
}

func quoteIfNeeded(s string) string {
	plain := s != ""
	for _, r := range s {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			plain = false
			break
		}
	}
	if plain {
		return s
	}
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// tableReads collects the snapshots the scans of one statement read. It
// is safe for concurrent use (scans may run in parallel).
type tableReads struct {
	mu   sync.Mutex
	seen map[string]bool // "db.t@id"
}

type tableReadsKey struct{}

// recordReads returns a context whose scans of stored tables note what
// they read in the returned tableReads.
func recordReads(ctx *sql.Context) (*sql.Context, *tableReads) {
	r := &tableReads{seen: map[string]bool{}}
	return ctx.WithContext(context.WithValue(ctx.Context, tableReadsKey{}, r)), r
}

// noteRead records, if ctx carries a recorder (recordReads), that a scan
// of src read the contents d. Contents of a table never written (no
// snapshot) are not recorded.
func noteRead(ctx context.Context, src scanSource, d *storage.Data) {
	if ctx == nil || d == nil || d.SnapshotID() < 0 {
		return
	}
	r, _ := ctx.Value(tableReadsKey{}).(*tableReads)
	if r == nil {
		return
	}
	r.mu.Lock()
	r.seen[fmt.Sprintf("%s@%d", src.qualifiedName(), d.SnapshotID())] = true
	r.mu.Unlock()
}

// String lists the snapshots read, "db.t@id", sorted and comma
// separated; "" for none.
func (r *tableReads) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.seen))
	for k := range r.seen {
		out = append(out, k)
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
