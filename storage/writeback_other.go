//go:build !linux

package storage

// startWriteback does nothing where sync_file_range is not available
// (see writeback_linux.go).
func startWriteback(writableFile) {}
