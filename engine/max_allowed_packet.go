package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/dolthub/vitess/go/mysql"
	"github.com/sirupsen/logrus"
)

// max_allowed_packet, with MySQL 8's semantics.
//
// @@max_allowed_packet bounds what one statement may bring into the
// server: a packet from a client (a statement, with the 16 MB packets
// of a longer statement counted together; a prepared statement; a chunk
// of a LOAD DATA LOCAL file) of max_allowed_packet bytes or more (the
// command byte counted, as MySQL counts it) is refused before it is
// buffered, with error 1153 (ER_NET_PACKET_TOO_LARGE), and the server
// then closes the connection, as MySQL does (clients reconnect: the mysql
// CLI on its own, database/sql with its next connection). A string
// function whose result would be longer returns NULL with warning 1301
// (ER_WARN_ALLOWED_PACKET_OVERFLOWED) instead of building it
// (packet_functions.go), and LOAD_FILE returns NULL for a longer file.
//
// The default is MySQL 8's, 64 MiB; the range 1 KiB to 1 GiB. SET GLOBAL
// applies to connections made afterwards; the session value is the
// global value when the connection was made and is read-only (1621).
//
// The limit on packets is enforced by packetLimitConn, below vitess's
// buffered reader. The client's first packet (the handshake response,
// read by vitess from the socket itself) is not checked: vitess reads
// it only if it fits in one packet (16 MB). With TLS the packets would
// have to be checked above the TLS layer.

const (
	// DefaultMaxAllowedPacket is MySQL 8's default max_allowed_packet.
	DefaultMaxAllowedPacket = 64 << 20
	// MinMaxAllowedPacket and MaxMaxAllowedPacket bound max_allowed_packet,
	// as in MySQL.
	MinMaxAllowedPacket = 1 << 10
	MaxMaxAllowedPacket = 1 << 30
)

// errReadOnlySession is MySQL's error 1621 (ER_VARIABLE_IS_READONLY) for
// SET SESSION max_allowed_packet.
var errReadOnlySession = mysql.NewSQLError(1621, mysql.SSUnknownSQLState,
	"SESSION variable 'max_allowed_packet' is read-only. Use SET GLOBAL to assign the value")

// maxAllowedPacketVariable is @@max_allowed_packet with the default def
// (bytes, within [MinMaxAllowedPacket, MaxMaxAllowedPacket]).
func maxAllowedPacketVariable(def int64) sql.SystemVariable {
	return &sql.MysqlSystemVariable{
		Name:    "max_allowed_packet",
		Scope:   sql.GetMysqlScope(sql.SystemVariableScope_Both),
		Dynamic: true,
		Type:    types.NewSystemUintType("max_allowed_packet", MinMaxAllowedPacket, MaxMaxAllowedPacket),
		Default: def,
		NotifyChanged: func(_ *sql.Context, scope sql.SystemVariableScope, _ sql.SystemVarValue) error {
			if scope.IsSessionOnly() {
				return errReadOnlySession
			}
			return nil
		},
	}
}

// validMaxAllowedPacket checks a value for max_allowed_packet given at
// start (Config.MaxAllowedPacket, --max-allowed-packet).
func validMaxAllowedPacket(n int64) error {
	if n < MinMaxAllowedPacket || n > MaxMaxAllowedPacket {
		return fmt.Errorf("max_allowed_packet %d is out of range [%d, %d]", n, MinMaxAllowedPacket, MaxMaxAllowedPacket)
	}
	return nil
}

// packetBytes reads a value of max_allowed_packet: the default is an
// int64, a value that SET gave a uint64.
func packetBytes(v interface{}) (int64, bool) {
	switch n := v.(type) {
	case int64:
		return n, true
	case uint64:
		return int64(min(n, MaxMaxAllowedPacket)), true
	}
	return 0, false
}

// maxAllowedPacket is the session's max_allowed_packet, which bounds the
// results of its string functions; the default if the session has none.
func maxAllowedPacket(ctx *sql.Context) int64 {
	if ctx != nil && ctx.Session != nil {
		if v, err := ctx.Session.GetSessionVariable(ctx, "max_allowed_packet"); err == nil {
			if n, ok := packetBytes(v); ok {
				return n
			}
		}
	}
	return DefaultMaxAllowedPacket
}

// globalMaxAllowedPacket is @@GLOBAL.max_allowed_packet, which a new
// connection takes.
func globalMaxAllowedPacket() int64 {
	if _, v, ok := sql.SystemVariables.GetGlobal("max_allowed_packet"); ok {
		if n, ok := packetBytes(v); ok {
			return n
		}
	}
	return DefaultMaxAllowedPacket
}

// packetLimitListener hands out connections whose client packets are
// checked against max_allowed_packet as it is when they are accepted.
type packetLimitListener struct {
	net.Listener
}

// Accept implements net.Listener.
func (l packetLimitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &packetLimitConn{Conn: c, limit: globalMaxAllowedPacket()}, nil
}

// drainLimit bounds how much of a refused packet packetLimitConn reads
// and discards, so that the client, done sending, reads the error: past
// it the connection is closed without one.
const drainLimit = MaxMaxAllowedPacket

// errPacketTooLarge is the text of MySQL's error 1153.
const errPacketTooLarge = "Got a packet bigger than 'max_allowed_packet' bytes"

// packetLimitConn passes the client's bytes through unchanged while it
// follows their packet framing, until a packet (its 16 MB pieces
// counted together) is limit bytes long or longer. From that packet on nothing
// more is passed: the bytes before it are, then the rest of the packet
// is read and discarded, error 1153 is written to the client, and Read
// reports io.EOF, on which vitess closes the connection quietly. The
// refused packet is never buffered. A packetLimitConn must start reading
// at the start of a packet.
type packetLimitConn struct {
	net.Conn
	limit int64

	buf     []byte // read from Conn and not yet returned
	ok      int    // buf[:ok] has been checked and may be returned
	body    int    // payload bytes of the current packet not yet checked
	total   int64  // payload bytes of the current logical packet so far
	more    bool   // the current packet is 0xffffff long: the logical packet goes on
	refused bool   // buf[ok:] starts with the header of a packet over the limit
	err     error  // returned once the checked bytes are
}

// Read implements net.Conn.
func (c *packetLimitConn) Read(p []byte) (int, error) {
	for {
		if c.ok > 0 {
			n := copy(p, c.buf[:c.ok])
			c.buf, c.ok = c.buf[n:], c.ok-n
			return n, nil
		}
		if c.err != nil {
			return 0, c.err
		}
		if c.refused {
			c.refuse()
			continue
		}
		if len(c.buf) == 0 && c.body > 0 {
			// The rest of a packet within the limit: no need to copy it.
			if len(p) > c.body {
				p = p[:c.body]
			}
			n, err := c.Conn.Read(p)
			c.body -= n
			return n, err
		}
		if c.check() {
			continue
		}
		var chunk [4096]byte
		n, err := c.Conn.Read(chunk[:])
		c.buf = append(c.buf, chunk[:n]...)
		if err != nil {
			c.check()
			// What follows the checked bytes is an incomplete header: it
			// is handed over as it is, then the error.
			if !c.refused {
				c.ok = len(c.buf)
			}
			c.err = err
		}
	}
}

// check moves ok over the packet bytes of buf that are within the limit
// and reports whether it moved; it stops at an incomplete header and at
// the header of a packet over the limit (setting refused).
func (c *packetLimitConn) check() bool {
	start := c.ok
	for !c.refused {
		rest := c.buf[c.ok:]
		if c.body > 0 {
			k := min(c.body, len(rest))
			c.ok, c.body = c.ok+k, c.body-k
			if c.body > 0 {
				break
			}
			continue
		}
		if len(rest) < packetHeader {
			break
		}
		n := int(rest[0]) | int(rest[1])<<8 | int(rest[2])<<16
		total := int64(n)
		if c.more {
			total += c.total
		}
		if total >= c.limit { // MySQL: a packet of max_allowed_packet bytes is too large
			c.refused = true
			break
		}
		c.total, c.more = total, n == maxPayload
		c.ok, c.body = c.ok+packetHeader, n
	}
	return c.ok > start
}

// refuse handles the packet over the limit at the start of buf: it reads
// and discards the rest of it, writes error 1153 and ends the
// connection's input.
func (c *packetLimitConn) refuse() {
	c.err = io.EOF
	size, seq, err := c.discard()
	if err != nil {
		logrus.Infof("connection from %s: a packet over max_allowed_packet (%d), not read to its end (%v): connection closed", c.RemoteAddr(), c.limit, err)
		return
	}
	logrus.Infof("connection from %s: refused a packet of %d bytes over max_allowed_packet (%d): error 1153, connection closed", c.RemoteAddr(), size, c.limit)
	pkt := errPacket(seq+1, mysql.ERNetPacketTooLarge, mysql.SSNetError, errPacketTooLarge)
	if _, err := c.Conn.Write(pkt); err != nil {
		logrus.Infof("connection from %s: writing error 1153: %v", c.RemoteAddr(), err)
	}
}

// discard reads the logical packet at the start of buf to its end and
// returns its length (what came before it in the same logical packet
// included) and the sequence number of its last piece.
func (c *packetLimitConn) discard() (size int64, seq byte, err error) {
	in := io.MultiReader(bytes.NewReader(c.buf), c.Conn)
	c.buf = nil
	if c.more {
		size = c.total
	}
	var hdr [packetHeader]byte
	for {
		if _, err := io.ReadFull(in, hdr[:]); err != nil {
			return size, 0, err
		}
		n := int64(hdr[0]) | int64(hdr[1])<<8 | int64(hdr[2])<<16
		seq = hdr[3]
		size += n
		if size > c.limit+drainLimit {
			return size, 0, errors.New("too long to drain")
		}
		if _, err := io.CopyN(io.Discard, in, n); err != nil {
			return size, 0, err
		}
		if n < maxPayload {
			return size, seq, nil
		}
	}
}

// errPacket is a MySQL ERR packet (protocol 4.1) with sequence number
// seq.
func errPacket(seq byte, code uint16, state, msg string) []byte {
	n := 1 + 2 + 1 + len(state) + len(msg)
	p := []byte{byte(n), byte(n >> 8), byte(n >> 16), seq, 0xff, byte(code), byte(code >> 8), '#'}
	p = append(p, state...)
	return append(p, msg...)
}
