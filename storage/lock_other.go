//go:build !unix

package storage

import "os"

// lockDir opens path without locking it: on this platform the data
// directory is not protected against a second process.
func lockDir(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
}

// unlockDir closes a file opened by lockDir.
func unlockDir(f *os.File) error { return f.Close() }
