//go:build !linux

package storage

// defaultCacheBytes is 1 GiB where the physical memory is not read.
func defaultCacheBytes() int64 { return 1 << 30 }
