//go:build unix

package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockDir takes an exclusive advisory lock (flock) on path, creating it
// through fsys if needed, and returns the open lock file; closing it
// releases the lock. The kernel drops the lock when the process dies, even
// by kill -9, so a crashed process never leaves the directory locked.
func lockDir(fsys fileSystem, path string) (io.Closer, error) {
	f, err := fsys.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	fd, ok := f.(interface{ Fd() uintptr })
	if !ok {
		_ = f.Close()
		return nil, fmt.Errorf("storage: cannot lock %s: %T has no file descriptor", path, f)
	}
	if err := syscall.Flock(int(fd.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked by another process or Store", ErrLocked, path)
		}
		return nil, fmt.Errorf("storage: locking %s: %w", path, err)
	}
	return f, nil // closing the file releases the flock
}
