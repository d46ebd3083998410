package engine

import "github.com/anomalydb/anomalydb/storage"

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
