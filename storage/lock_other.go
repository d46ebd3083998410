//go:build !unix

package storage

import (
	"io"
	"os"
)

// lockDir opens path (creating it through fsys) without locking it: on
// this platform the data directory is not protected against a second
// process. Closing the returned file is all there is to unlock.
func lockDir(fsys fileSystem, path string) (io.Closer, error) {
	return fsys.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
}
