package engine

import (
	"net"
	"time"

	"github.com/dolthub/go-mysql-server/sql"
)

// A statement whose client goes away is cancelled. go-mysql-server
// watches the client's socket while a statement runs, but only when the
// connection is plain TCP; over TLS (tls.go) the connection is a
// tls.Conn, which it does not look into. watchClientGone watches those:
// once a second, whether the peer has closed the socket (peerGone, by
// the TCP state, without reading the TLS stream), and cancels the
// statement as KILL QUERY does.

// clientGonePoll is how often watchClientGone looks at the socket.
const clientGonePoll = time.Second

// watchClientGone cancels connection id's statement through procs as
// soon as the client behind raw has closed its end; it watches until
// stop is called.
func watchClientGone(raw net.Conn, id uint32, procs sql.ProcessList) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(clientGonePoll)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				if peerGone(raw) {
					procs.Kill(id)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}
