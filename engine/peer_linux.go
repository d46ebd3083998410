package engine

import "syscall"

// peerClosed reports whether the client closed the socket: a
// non-blocking peek reads end of file (or fails with other than "no data
// yet"). Pending bytes are left for the connection's reader.
func peerClosed(rc syscall.RawConn) bool {
	closed := false
	// Control, unlike Read, does not wait for the connection's reader.
	_ = rc.Control(func(fd uintptr) {
		var b [1]byte
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case err == syscall.EAGAIN || err == syscall.EINTR:
		case err != nil:
			closed = true
		case n == 0:
			closed = true
		}
	})
	return closed
}
