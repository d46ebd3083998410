package engine

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
)

// chunkConn is a net.Conn whose reads return at most size bytes of src.
type chunkConn struct {
	net.Conn
	src  *bytes.Reader
	size int
}

func (c *chunkConn) Read(p []byte) (int, error) {
	if len(p) > c.size {
		p = p[:c.size]
	}
	return c.src.Read(p)
}

// TestPrepareConnFraming: prepareConn disguises exactly the
// COM_STMT_PREPARE packets of DETECTOR statements, whatever the sizes of
// the reads that bring the bytes, and passes every other byte unchanged:
// other commands, other prepares, the handshake, and a packet that only
// looks like a command because a long transfer's sequence number wrapped
// to 0. Catches: framing that loses or reorders bytes across partial
// reads, and rewriting a packet that is not a command.
func TestPrepareConnFraming(t *testing.T) {
	packet := func(seq byte, payload string) []byte { return appendPacket(nil, seq, payload[0], payload[1:]) }
	prepare := func(q string) string { return string([]byte{0x16}) + q }
	var in, want bytes.Buffer
	add := func(p, w []byte) {
		in.Write(p)
		want.Write(w)
	}
	same := func(p []byte) { add(p, p) }

	same(packet(1, "\x00\x82\x0a\x00handshake response"))
	same(packet(0, "\x03SELECT 1"))
	add(packet(0, prepare("SHOW DETECTORS")), packet(0, prepare(disguise("SHOW DETECTORS"))))
	same(packet(0, prepare("SELECT ?")))
	add(packet(0, prepare("  create detector d using autoencoder as select 'x;' from t")),
		packet(0, prepare(disguise("  create detector d using autoencoder as select 'x;' from t"))))
	same(packet(0, "\x03LOAD DATA LOCAL INFILE 'f' INTO TABLE t"))
	for seq := 2; seq <= 255; seq++ { // the file, in packets up to the wrap
		same(packet(byte(seq), "\x01file data"))
	}
	same(packet(0, prepare("SHOW DETECTORS"))) // the file goes on: seq 0 after 255
	same(packet(1, "\x01more file data"))
	same([]byte{0, 0, 0, 2}) // the empty packet that ends the file
	add(packet(0, prepare("DROP DETECTOR d")), packet(0, prepare(disguise("DROP DETECTOR d"))))
	same(packet(0, "\x01")) // COM_QUIT

	for _, size := range []int{1, 2, 3, 5, 7, 64, 4096} {
		for _, bufSize := range []int{1, 3, 16, 16384} {
			c := &prepareConn{Conn: &chunkConn{src: bytes.NewReader(in.Bytes()), size: size}}
			var got bytes.Buffer
			buf := make([]byte, bufSize)
			for {
				n, err := c.Read(buf)
				got.Write(buf[:n])
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got.Bytes(), want.Bytes()) {
				t.Fatalf("reads of %d bytes into a buffer of %d:\n got % x\nwant % x", size, bufSize, got.Bytes(), want.Bytes())
			}
		}
	}
}

// TestDisguise: a disguised DETECTOR statement comes back as it was;
// anything else is not taken for one.
func TestDisguise(t *testing.T) {
	q := "CREATE DETECTOR d USING autoencoder AS SELECT '*/' FROM t -- é"
	if got, ok := undisguise(disguise(q)); !ok || got != q {
		t.Errorf("undisguise(disguise(%q)) = %q, %v", q, got, ok)
	}
	// Placeholders: as many ? as the statement has, in front of the
	// comment, where vitess counts them.
	p := "CREATE DETECTOR d USING x WITH (epochs = ?, k = '?') AS SELECT a, '?' FROM t WHERE b > ? -- ?"
	if d := disguise(p); !strings.HasPrefix(d, "SELECT NULL, ?, ? /*") {
		t.Errorf("disguise(%q) = %q, want two placeholders", p, d)
	} else if got, ok := undisguise(d); !ok || got != p {
		t.Errorf("undisguise(disguise(%q)) = %q, %v", p, got, ok)
	}
	for _, s := range []string{
		"SELECT NULL",
		disguisePrefix + "zz" + disguiseSuffix,
		"SELECT NULL, ?" + disguiseSuffix,
		disguise("SELECT 1"), // not a DETECTOR statement
		disguise("SHOW DETECTORS")[:len(disguise("SHOW DETECTORS"))-1],
	} {
		if got, ok := undisguise(s); ok {
			t.Errorf("undisguise(%q) = %q, want none", s, got)
		}
	}
}
