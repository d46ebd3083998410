//go:build !linux

package engine

// physicalMemory is unknown outside Linux.
func physicalMemory() int64 { return 0 }
