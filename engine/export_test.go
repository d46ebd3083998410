package engine

import (
	"context"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/transform"

	"github.com/anomalydb/anomalydb/storage"
)

// SetSpillBytes sets how many bytes of packed rows a transaction holds per
// table before staging them to data files (insert_log.go), for the tests
// of package engine_test, and returns the function that restores it.
func SetSpillBytes(n int64) (restore func()) {
	old := spillBytes
	spillBytes = n
	return func() { spillBytes = old }
}

// CacheStats returns the statistics of the server's cache of decoded data
// files, for the tests of package engine_test.
func (s *Server) CacheStats() storage.CacheStats { return s.store.CacheStats() }

// SegmentBounds returns the bounds of column col in each data file of
// table db.name's current contents (ok false where unknown), for the
// tests of package engine_test.
func (s *Server) SegmentBounds(db, name string, col int) ([]storage.Bounds, error) {
	t, err := s.store.Table(db, name)
	if err != nil {
		return nil, err
	}
	d := t.Snapshot()
	defer d.Release()
	out := make([]storage.Bounds, d.NumSegments())
	for i := range out {
		out[i], _ = d.SegmentBounds(i, col)
	}
	return out, nil
}

// PrunedColumns analyzes query q (as root, in database db) and returns,
// for each projection or aggregation in its plan, the names of the
// columns of the filter's rows below it that pruneBelow keeps (nil for
// a node it leaves alone), in plan order; for the tests of package
// engine_test.
func (s *Server) PrunedColumns(db, q string) ([][]string, error) {
	ctx := sql.NewContext(context.Background(), sql.WithSession(sql.NewBaseSessionWithClientServer("", sql.Client{User: "root", Address: "localhost"}, 1)))
	ctx.SetCurrentDatabase(db)
	n, err := s.engine.AnalyzeQuery(ctx, q)
	if err != nil {
		return nil, err
	}
	var out [][]string
	transform.Inspect(n, func(n sql.Node) bool {
		switch n.(type) {
		case *plan.GroupBy, *plan.Project:
			var kept []string
			if pn := pruneBelow(n, nil); pn != nil {
				f := pn.Children()[0].(*prunedFilter)
				kept = []string{}
				for i, col := range f.Schema() {
					if f.keep[i] {
						kept = append(kept, col.Name)
					}
				}
			}
			out = append(out, kept)
		}
		return true
	})
	return out, nil
}
