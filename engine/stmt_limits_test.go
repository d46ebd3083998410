package engine_test

import (
	"context"
	gosql "database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/types"
	"github.com/go-sql-driver/mysql"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// Statement limits: max_allowed_packet (a statement over it is refused
// with 1153 before it is read, a string function's result over it is
// NULL with warning 1301) and panics in statements (an error, never a
// lost connection).

const packetLimit = 1 << 20 // the server's --max-allowed-packet in these tests

// sendCommand writes one command (command byte and body) as MySQL
// packets: pieces of 0xffffff bytes and a last, shorter one.
func sendCommand(rc *rawConn, command byte, body string) {
	rc.t.Helper()
	payload := append([]byte{command}, body...)
	seq := byte(0)
	for {
		n := min(len(payload), 0xffffff)
		pkt := append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload[:n]...)
		if _, err := rc.c.Write(pkt); err != nil {
			rc.t.Fatalf("writing a packet: %v", err)
		}
		seq++
		payload = payload[n:]
		if n < 0xffffff {
			return
		}
	}
}

// expectPacketTooLarge reads the answer to a command over
// max_allowed_packet: error 1153 with SQLSTATE 08S01, the sequence
// number after the command's last packet (seq), and then the end of the
// connection.
func expectPacketTooLarge(rc *rawConn, seq byte) {
	rc.t.Helper()
	p := rc.read()
	if p[0] != 0xff {
		rc.t.Fatalf("want error 1153, got packet % x", p[:min(len(p), 16)])
	}
	code, state, msg := binary.LittleEndian.Uint16(p[1:]), string(p[4:9]), string(p[9:])
	if code != 1153 || state != "08S01" || msg != "Got a packet bigger than 'max_allowed_packet' bytes" {
		rc.t.Fatalf("got error %d (%s) %q, want 1153 (08S01) Got a packet bigger than 'max_allowed_packet' bytes", code, state, msg)
	}
	if got := rc.seq - 1; got != seq+1 {
		rc.t.Errorf("error packet has sequence number %d, want %d", got, seq+1)
	}
	if _, err := rc.r.ReadByte(); err != io.EOF {
		rc.t.Fatalf("after error 1153 the connection is still open (read: %v); MySQL closes it", err)
	}
}

// lengthQuery is "SELECT LENGTH('xx…x')" whose COM_QUERY payload (the
// command byte and the text) is exactly size bytes, and the length it
// selects.
func lengthQuery(size int) (string, int) {
	n := size - 1 - len("SELECT LENGTH('')")
	return "SELECT LENGTH('" + strings.Repeat("x", n) + "')", n
}

// TestMaxAllowedPacket runs the real binary with --max-allowed-packet 1M.
//
//   - A statement of 1 MiB or more (COM_QUERY over the limit; MySQL
//     refuses a packet of max_allowed_packet bytes) gets error 1153 and
//     the connection is closed, as MySQL does, with the table unchanged;
//     one a byte shorter runs. Go's driver reports the 1153, and a new
//     connection works. Catches: no limit (the INSERT runs), a limit
//     checked after the statement was buffered or parsed, an off-by-one
//     at the limit, the error not sent before closing.
//   - String functions return NULL with warning 1301 past the limit and
//     their result up to it, and the connection keeps working. Catches:
//     REPEAT('a', 1e10) allocating (the server was killed by the
//     kernel's OOM killer), a bound that refuses results that fit.
//   - The session value is read-only (1621); SET GLOBAL applies to new
//     connections, for packets, functions and LOAD_FILE. Catches: the
//     wire limit or the functions reading a stale value, LOAD_FILE
//     reading the uint64 that SET GLOBAL stores as no limit at all (it
//     returned NULL for every file).
//   - A statement sent in several 16 MB packets is refused on their sum.
//     Catches: a limit checked per packet, which every piece passes.
func TestMaxAllowedPacket(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir, "--max-allowed-packet", "1M")
	dsn := "root:@tcp(" + p.addr + ")/"
	db := openDSN(t, dsn)
	mustExecAll(t, db,
		"CREATE DATABASE s",
		"CREATE TABLE s.t (id INT PRIMARY KEY, v LONGTEXT)",
		"INSERT INTO s.t VALUES (1, 'one')")
	if n := queryInt(t, db, "SELECT @@max_allowed_packet"); n != packetLimit {
		t.Fatalf("@@max_allowed_packet = %d, want %d", n, packetLimit)
	}

	t.Run("statement over the limit", func(t *testing.T) {
		// Exactly at the limit: refused, before the server reads it.
		rc := dialRaw(t, p.addr)
		q, _ := lengthQuery(packetLimit)
		sendCommand(rc, 0x03, q)
		expectPacketTooLarge(rc, 0)

		// One byte less: runs.
		rc = dialRaw(t, p.addr)
		q, n := lengthQuery(packetLimit - 1)
		sendCommand(rc, 0x03, q)
		if got := rowValue(rc); got != fmt.Sprint(n) {
			t.Fatalf("statement of max_allowed_packet - 1 bytes: got %q, want %d", got, n)
		}
		rc.query("SELECT 1") // the connection goes on

		// Through Go's driver: the INSERT fails with 1153 and changes
		// nothing; a new connection works.
		big := "INSERT INTO s.t VALUES (2, '" + strings.Repeat("x", 2<<20) + "')"
		other := openDSN(t, dsn)
		_, err := other.Exec(big)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1153 {
			t.Fatalf("INSERT of 2 MB with max_allowed_packet 1M: %v, want error 1153", err)
		}
		if got := queryRows(t, db, "SELECT id, v FROM s.t"); len(got) != 1 || got[0][0] != "1" || got[0][1] != "one" {
			t.Fatalf("after the refused INSERT the table holds %v, want only [1 one]", got)
		}
		// Over TLS too, where the packets are checked above the TLS layer.
		secure := openDSN(t, dsn+"?tls=skip-verify")
		if got := queryRows(t, secure, "SHOW STATUS LIKE 'Ssl_cipher'"); len(got) != 1 || got[0][1] == "" {
			t.Fatalf("not over TLS: %v", got)
		}
		mustExec(t, secure, "INSERT INTO s.t VALUES (3, '"+strings.Repeat("y", 1000)+"')")
		if _, err := secure.Exec(big); !errors.As(err, &me) || me.Number != 1153 {
			t.Fatalf("INSERT of 2 MB over TLS with max_allowed_packet 1M: %v, want error 1153", err)
		}
		mustExec(t, db, "DELETE FROM s.t WHERE id = 3")
	})

	t.Run("string functions", func(t *testing.T) {
		conn, err := openDSN(t, dsn).Conn(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		id := connInt(t, conn, "SELECT CONNECTION_ID()")
		over := []struct{ name, expr string }{
			{"repeat", "REPEAT('a', 1e10)"},
			{"repeat", "REPEAT('ab', 524289)"},
			{"space", "SPACE(1048577)"},
			{"space", "SPACE(1e12)"},
			{"lpad", "LPAD('x', 1048577, 'y')"},
			{"rpad", "RPAD('x', 1e10, 'y')"},
			{"rpad", "RPAD('x', 524289, 'é')"}, // 2 bytes a character
			{"concat", "CONCAT(REPEAT('a', 524288), REPEAT('b', 524289))"},
			{"concat_ws", "CONCAT_WS(',', REPEAT('a', 524288), REPEAT('b', 524288))"},
			{"replace", "REPLACE(REPEAT('a', 1024), 'a', REPEAT('b', 1025))"},
			{"hex", "HEX(REPEAT('a', 524289))"},
			{"to_base64", "TO_BASE64(REPEAT('a', 800000))"},
			{"regexp_replace", "REGEXP_REPLACE(REPEAT('a', 10000), 'a', REPEAT('b', 200))"},
		}
		for _, c := range over {
			var v gosql.NullString
			if err := conn.QueryRowContext(context.Background(), "SELECT "+c.expr).Scan(&v); err != nil {
				t.Fatalf("%s: %v", c.expr, err)
			}
			if v.Valid {
				t.Errorf("%s: %d bytes, want NULL (over max_allowed_packet)", c.expr, len(v.String))
			}
			want := fmt.Sprintf("Warning 1301 Result of %s() was larger than max_allowed_packet (%d) - truncated", c.name, packetLimit)
			if w := connWarnings(t, conn); len(w) != 1 || w[0] != want {
				t.Errorf("%s: warnings %q, want [%s]", c.expr, w, want)
			}
		}
		// UNCOMPRESS of data that says it is 1 GB long: NULL, 1256.
		var v gosql.NullString
		if err := conn.QueryRowContext(context.Background(), "SELECT UNCOMPRESS(UNHEX('FFFFFF3F789C030000000001'))").Scan(&v); err != nil || v.Valid {
			t.Errorf("UNCOMPRESS of a stated 1 GB: %q, %v; want NULL", v.String, err)
		}
		if w := connWarnings(t, conn); len(w) != 1 || !strings.HasPrefix(w[0], "Warning 1256 ") {
			t.Errorf("UNCOMPRESS of a stated 1 GB: warnings %q, want 1256", w)
		}

		// Results up to the limit are computed.
		within := map[string]string{
			"LENGTH(REPEAT('a', 1048576))":                               "1048576",
			"LENGTH(REPEAT('ab', 524288))":                               "1048576",
			"LENGTH(SPACE(1048576))":                                     "1048576",
			"CONCAT('[', SPACE(3), ']')":                                 "[   ]",
			"SPACE(-1)":                                                  "",
			"LPAD('x', 5, 'ab')":                                         "ababx",
			"RPAD('hello', 3, 'z')":                                      "hel",
			"LENGTH(RPAD('x', 1048576, 'y'))":                            "1048576",
			"LENGTH(CONCAT(REPEAT('a', 524288), REPEAT('b', 524288)))":   "1048576",
			"CONCAT_WS('-', 'a', NULL, 'b')":                             "a-b",
			"REPLACE('banana', 'a', 'oo')":                               "boonoonoo",
			"LENGTH(REPLACE(REPEAT('a', 1024), 'a', REPEAT('b', 1024)))": "1048576",
			"HEX('ab')":                        "6162",
			"TO_BASE64('hello')":               "aGVsbG8=",
			"QUOTE('it''s')":                   "'it\\'s'",
			"REGEXP_REPLACE('abc', 'b', 'XY')": "aXYc",
			"UNCOMPRESS(COMPRESS('hello'))":    "hello",
			"REPEAT(NULL, 3) IS NULL":          "1",
		}
		for expr, want := range within {
			var v gosql.NullString
			if err := conn.QueryRowContext(context.Background(), "SELECT "+expr).Scan(&v); err != nil {
				t.Fatalf("%s: %v", expr, err)
			}
			if !v.Valid || v.String != want {
				t.Errorf("%s = %q (valid %v), want %q", expr, v.String, v.Valid, want)
			}
			if w := connWarnings(t, conn); len(w) != 0 {
				t.Errorf("%s: warnings %q, want none", expr, w)
			}
		}
		// Stored: the column gets NULL, with the warning.
		if _, err := conn.ExecContext(context.Background(), "INSERT INTO s.t VALUES (3, REPEAT('a', 1e10))"); err != nil {
			t.Fatal(err)
		}
		if n := connInt(t, conn, "SELECT COUNT(*) FROM s.t WHERE id = 3 AND v IS NULL"); n != 1 {
			t.Errorf("INSERT of REPEAT('a', 1e10): %d rows with a NULL v, want 1", n)
		}
		if got := connInt(t, conn, "SELECT CONNECTION_ID()"); got != id {
			t.Errorf("connection %d became %d: the connection was lost", id, got)
		}
	})

	t.Run("SET GLOBAL", func(t *testing.T) {
		expectErr(t, db, "SET SESSION max_allowed_packet = 2048", 1621)
		expectErr(t, db, "SET max_allowed_packet = 2048", 1621)
		mustExec(t, db, "SET GLOBAL max_allowed_packet = 4096")
		defer mustExec(t, db, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", packetLimit))

		// The connection made before keeps its value.
		if n := queryInt(t, db, "SELECT @@session.max_allowed_packet"); n != packetLimit {
			t.Errorf("old connection: @@session.max_allowed_packet = %d, want %d", n, packetLimit)
		}
		if n := queryInt(t, db, "SELECT LENGTH(REPEAT('a', 5000))"); n != 5000 {
			t.Errorf("old connection: REPEAT of 5000: %d", n)
		}
		// A new one has the new value, for functions, files and packets.
		fresh := openDSN(t, dsn)
		if n := queryInt(t, fresh, "SELECT @@max_allowed_packet"); n != 4096 {
			t.Errorf("new connection: @@max_allowed_packet = %d, want 4096", n)
		}
		if got := queryRows(t, fresh, "SELECT REPEAT('a', 5000) IS NULL"); got[0][0] != "1" {
			t.Errorf("new connection: REPEAT of 5000 is not NULL with max_allowed_packet 4096")
		}
		files := filepath.Join(filepath.Dir(dir), "files")
		small, large := filepath.Join(files, "small.txt"), filepath.Join(files, "large.txt")
		if err := os.WriteFile(small, []byte(strings.Repeat("s", 3000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(large, []byte(strings.Repeat("l", 5000)), 0o644); err != nil {
			t.Fatal(err)
		}
		if got := queryRows(t, fresh, "SELECT LENGTH(LOAD_FILE(?)), LOAD_FILE(?) IS NULL", small, large); got[0][0] != "3000" || got[0][1] != "1" {
			t.Errorf("LOAD_FILE with max_allowed_packet 4096: files of 3000 and 5000 bytes gave %v, want [3000 1]", got)
		}
		rc := dialRaw(t, p.addr)
		q, _ := lengthQuery(5000)
		sendCommand(rc, 0x03, q)
		expectPacketTooLarge(rc, 0)
	})

	t.Run("statement in several packets", func(t *testing.T) {
		const limit = 17 << 20
		mustExec(t, db, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", limit))
		defer mustExec(t, db, fmt.Sprintf("SET GLOBAL max_allowed_packet = %d", packetLimit))
		rc := dialRaw(t, p.addr)
		q, n := lengthQuery(limit - 1) // 16 MiB and a second packet
		sendCommand(rc, 0x03, q)
		if got := rowValue(rc); got != fmt.Sprint(n) {
			t.Fatalf("statement of 2 packets under the limit: got %q, want %d", got, n)
		}
		rc = dialRaw(t, p.addr)
		q, _ = lengthQuery(20 << 20) // 16 MiB and 4 MiB: each under the limit
		sendCommand(rc, 0x03, q)
		expectPacketTooLarge(rc, 1)
	})

	if n := queryInt(t, db, "SELECT COUNT(*) FROM s.t"); n != 2 {
		t.Errorf("s.t has %d rows, want 2", n)
	}
}

// rowValue reads the result of a query that selects one value and
// returns it as text.
func rowValue(rc *rawConn) string {
	rc.t.Helper()
	p := rc.read()
	if p[0] == 0xff {
		rc.t.Fatalf("error %d: %s", binary.LittleEndian.Uint16(p[1:]), p[9:])
	}
	for !isEOF(rc.read()) { // column definitions
	}
	row := rc.read()
	i := 0
	n, _ := lenenc(row, &i)
	v := string(row[i : i+int(n)])
	for !isEOF(rc.read()) {
	}
	return v
}

func connInt(t *testing.T, conn *gosql.Conn, q string) int64 {
	t.Helper()
	var n int64
	if err := conn.QueryRowContext(context.Background(), q).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// connWarnings returns SHOW WARNINGS of conn as "Level Code Message".
func connWarnings(t *testing.T, conn *gosql.Conn) []string {
	t.Helper()
	rows, err := conn.QueryContext(context.Background(), "SHOW WARNINGS")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%s %d %s", level, code, msg))
	}
	return out
}

// panicky is test_panic(x), a function registered only in this test's
// server: it returns x, and panics when x is 3.
type panicky struct{ x sql.Expression }

var _ sql.FunctionExpression = (*panicky)(nil)

func (p *panicky) FunctionName() string       { return "test_panic" }
func (p *panicky) Description() string        { return "panics for 3" }
func (p *panicky) Resolved() bool             { return p.x.Resolved() }
func (p *panicky) String() string             { return "test_panic(" + p.x.String() + ")" }
func (p *panicky) Type() sql.Type             { return types.Int64 }
func (p *panicky) IsNullable() bool           { return true }
func (p *panicky) Children() []sql.Expression { return []sql.Expression{p.x} }
func (p *panicky) WithChildren(c ...sql.Expression) (sql.Expression, error) {
	return &panicky{x: c[0]}, nil
}

func (p *panicky) Eval(ctx *sql.Context, row sql.Row) (interface{}, error) {
	v, err := p.x.Eval(ctx, row)
	if err != nil || v == nil {
		return v, err
	}
	n, _, err := types.Int64.Convert(ctx, v)
	if err != nil {
		return nil, err
	}
	if n.(int64) == 3 {
		panic("test_panic: three")
	}
	return n, nil
}

// TestPanicInStatement: a panic while a statement runs (test_panic, a
// function that panics, registered in this test's in-process server
// only) is error 1105 for the client, logged at error level with its
// stack, and the same connection goes on working; the statement's
// changes, and those of the transaction it ran in, are rolled back. For
// a query whose result is read in the caller's goroutine (one row, an
// INSERT … SELECT), one read by go-mysql-server's goroutines (many rows),
// a prepared statement and a multi-statement query. Catches: a panic that
// loses the connection (vitess closes it), and a transaction that keeps
// the rows the panicking statement had inserted.
func TestPanicInStatement(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	ts.srv.Engine().Analyzer.Catalog.RegisterFunction(sql.NewEmptyContext(),
		sql.Function1{Name: "test_panic", Fn: func(e sql.Expression) sql.Expression { return &panicky{x: e} }})
	logs := logtest.NewGlobal()
	defer logrus.StandardLogger().ReplaceHooks(make(logrus.LevelHooks))

	db := openDSN(t, "root:@tcp("+ts.srv.Addr()+")/")
	mustExecAll(t, db,
		"CREATE DATABASE p",
		"CREATE TABLE p.src (id INT PRIMARY KEY)",
		"INSERT INTO p.src VALUES (1), (2), (3), (4), (5)",
		"CREATE TABLE p.dst (id INT)")
	id := queryInt(t, db, "SELECT CONNECTION_ID()")
	internal := func(q string) {
		t.Helper()
		msg := expectErr(t, db, q, 1105)
		if !strings.Contains(msg, "Internal error: test_panic: three") {
			t.Errorf("%s: message %q, want the panic's", q, msg)
		}
		if got := queryInt(t, db, "SELECT CONNECTION_ID()"); got != id {
			t.Fatalf("after %s the connection %d became %d: the connection was lost", q, id, got)
		}
	}

	internal("SELECT test_panic(3)")
	internal("SELECT test_panic(id) FROM p.src")
	internal("INSERT INTO p.dst SELECT test_panic(id) FROM p.src ORDER BY id")
	multi := openDSN(t, "root:@tcp("+ts.srv.Addr()+")/?multiStatements=true")
	multiID := queryInt(t, multi, "SELECT CONNECTION_ID()")
	if _, err := multi.Exec("SELECT 1; SELECT test_panic(3); SELECT 2"); err == nil || !strings.Contains(err.Error(), "Internal error: test_panic: three") {
		t.Errorf("multi-statement query with a panic: %v, want error 1105", err)
	}
	if got := queryInt(t, multi, "SELECT CONNECTION_ID()"); got != multiID {
		t.Fatalf("after a panic in a multi-statement query the connection %d became %d", multiID, got)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM p.dst"); n != 0 {
		t.Errorf("after a panic half way through INSERT … SELECT p.dst has %d rows, want 0", n)
	}

	mustExec(t, db, "BEGIN")
	mustExec(t, db, "INSERT INTO p.dst VALUES (100)")
	internal("INSERT INTO p.dst SELECT test_panic(id) FROM p.src ORDER BY id")
	mustExec(t, db, "COMMIT")
	if got := queryRows(t, db, "SELECT id FROM p.dst"); len(got) != 0 {
		t.Errorf("the transaction in which a statement panicked committed %v, want nothing (rolled back)", got)
	}

	stmt, err := db.Prepare("SELECT test_panic(?)")
	if err != nil {
		t.Fatal(err)
	}
	defer stmt.Close()
	var n int64
	if err := stmt.QueryRow(2).Scan(&n); err != nil || n != 2 {
		t.Fatalf("prepared test_panic(2): %d, %v", n, err)
	}
	var me *mysql.MySQLError
	if err := stmt.QueryRow(3).Scan(&n); !errors.As(err, &me) || me.Number != 1105 {
		t.Errorf("prepared test_panic(3): %v, want error 1105", err)
	}
	if got := queryInt(t, db, "SELECT CONNECTION_ID()"); got != id {
		t.Fatalf("after a panic in a prepared statement the connection %d became %d", id, got)
	}

	var logged []string
	for _, e := range logs.AllEntries() {
		if e.Level == logrus.ErrorLevel && strings.Contains(e.Message, "test_panic: three") {
			logged = append(logged, e.Message)
		}
	}
	if len(logged) == 0 {
		t.Fatal("no panic logged at error level")
	}
	for _, m := range logged {
		if !strings.Contains(m, "goroutine") && !strings.Contains(m, "stack not kept") {
			t.Errorf("panic logged without its stack: %q", m)
		}
	}
	if !strings.Contains(strings.Join(logged, "\n"), "(*panicky).Eval") {
		t.Errorf("no logged stack shows the panicking function:\n%s", strings.Join(logged, "\n"))
	}
}
