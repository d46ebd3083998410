package engine

// SetSpillBytes sets how many bytes of packed rows a transaction holds per
// table before staging them to data files (insert_log.go), for the tests
// of package engine_test, and returns the function that restores it.
func SetSpillBytes(n int64) (restore func()) {
	old := spillBytes
	spillBytes = n
	return func() { spillBytes = old }
}
