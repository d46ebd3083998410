package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing f's dirty pages to disk
// now, without waiting (sync_file_range with SYNC_FILE_RANGE_WRITE), so
// that the fsync that makes f durable later (deferred_sync.go) finds its
// data written or under way and waits only for the journal. It guarantees
// nothing about durability and its error is ignored: the fsync decides.
// Files other than *os.File are left alone.
func startWriteback(f writableFile) {
	of, ok := f.(*os.File)
	if !ok {
		return
	}
	if rc, err := of.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			_ = unix.SyncFileRange(int(fd), 0, 0, unix.SYNC_FILE_RANGE_WRITE)
		})
	}
}
