//go:build !linux

package engine

import "net"

// peerGone reports false: outside Linux a client's disconnection does
// not stop its statement (stmt_guard.go).
func peerGone(net.Conn) bool { return false }
