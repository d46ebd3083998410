//go:build !linux

package engine

import "net"

// peerGone reports false: outside Linux a TLS client's disconnection is
// not watched (see watchClientGone).
func peerGone(net.Conn) bool { return false }
