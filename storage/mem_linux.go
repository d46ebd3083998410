package storage

import "syscall"

// defaultCacheBytes is a quarter of the physical memory, or 1 GiB when
// it cannot be read.
func defaultCacheBytes() int64 {
	var si syscall.Sysinfo_t
	if err := syscall.Sysinfo(&si); err != nil || si.Totalram == 0 {
		return 1 << 30
	}
	return int64(si.Totalram) * int64(si.Unit) / 4
}
