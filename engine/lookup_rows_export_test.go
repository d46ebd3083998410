package engine

import "github.com/anomalydb/anomalydb/storage"

// CacheStats returns the statistics of the server's store's cache of
// data files, for the tests of package engine_test.
func (s *Server) CacheStats() storage.CacheStats { return s.store.CacheStats() }
