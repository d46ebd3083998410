package engine_test

import (
	"bufio"
	"bytes"
	"context"
	gosql "database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Protocol tests: what MySQL clients read in the packets themselves
// (status flags, OK packets), and statements that reach the server
// through the binary protocol (COM_STMT_PREPARE) or in a multi-statement
// query. A raw client (rawConn) reads the packets where no driver shows
// them.

// Status flags and capabilities of the client/server protocol.
const (
	statusInTrans    = 0x0001 // SERVER_STATUS_IN_TRANS
	statusAutocommit = 0x0002 // SERVER_STATUS_AUTOCOMMIT
	statusChanged    = 0x4000 // SERVER_SESSION_STATE_CHANGED

	capProtocol41   = 0x00000200
	capTransactions = 0x00002000
	capSecureConn   = 0x00008000
	capPluginAuth   = 0x00080000
	capSessionTrack = 0x00800000
)

// rawConn is a minimal MySQL client: it logs in as root without a
// password, with CLIENT_SESSION_TRACK as libmariadb does, and reads
// every OK packet as libmariadb reads it.
type rawConn struct {
	t        *testing.T
	c        net.Conn
	r        *bufio.Reader
	seq      byte
	greeting uint16 // status flags of the handshake
	login    uint16 // status flags of the login's OK packet
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	rc := &rawConn{t: t, c: c, r: bufio.NewReader(c)}
	g := rc.read()
	// protocol version, server version\0, connection id, 8 bytes of
	// auth data, filler, capabilities (low), charset, status flags
	i := bytes.IndexByte(g[1:], 0) + 2
	i += 4 + 8 + 1 + 2 + 1
	rc.greeting = binary.LittleEndian.Uint16(g[i:])

	resp := binary.LittleEndian.AppendUint32(nil, capProtocol41|capTransactions|capSecureConn|capPluginAuth|capSessionTrack)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 45) // utf8mb4_general_ci
	resp = append(resp, make([]byte, 23)...)
	resp = append(resp, "root\x00"...)
	resp = append(resp, 0) // empty auth response
	resp = append(resp, "mysql_native_password\x00"...)
	rc.write(resp)
	p := rc.read()
	if p[0] == 0xfe { // auth switch: the empty password again
		rc.write(nil)
		p = rc.read()
	}
	rc.login = rc.ok(p, "login").status
	return rc
}

func (rc *rawConn) read() []byte {
	rc.t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(rc.r, h[:]); err != nil {
		rc.t.Fatalf("reading a packet header: %v", err)
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	rc.seq = h[3] + 1
	p := make([]byte, n)
	if _, err := io.ReadFull(rc.r, p); err != nil {
		rc.t.Fatalf("reading a packet: %v", err)
	}
	return p
}

func (rc *rawConn) write(p []byte) {
	rc.t.Helper()
	n := len(p)
	if _, err := rc.c.Write(append([]byte{byte(n), byte(n >> 8), byte(n >> 16), rc.seq}, p...)); err != nil {
		rc.t.Fatal(err)
	}
}

// okPacket is a parsed OK packet.
type okPacket struct {
	status uint16
	info   string
}

// lenenc reads a length-encoded integer at p[*i].
func lenenc(p []byte, i *int) (uint64, bool) {
	if *i >= len(p) {
		return 0, false
	}
	c := p[*i]
	*i++
	size := map[byte]int{0xfc: 2, 0xfd: 3, 0xfe: 8}[c]
	if size == 0 {
		return uint64(c), c < 0xfb
	}
	if *i+size > len(p) {
		return 0, false
	}
	var v uint64
	for k := 0; k < size; k++ {
		v |= uint64(p[*i+k]) << (8 * k)
	}
	*i += size
	return v, true
}

// ok parses p as an OK packet the way libmariadb does with
// CLIENT_SESSION_TRACK: after the status and warnings, the info is a
// length-encoded string, then session state if flagged; a packet that
// ends early or has bytes left over is malformed (error 2027).
func (rc *rawConn) ok(p []byte, what string) okPacket {
	rc.t.Helper()
	if p[0] == 0xff {
		rc.t.Fatalf("%s: error %d: %s", what, binary.LittleEndian.Uint16(p[1:]), p[9:])
	}
	if p[0] != 0 {
		rc.t.Fatalf("%s: not an OK packet: % x", what, p)
	}
	i := 1
	_, ok1 := lenenc(p, &i)
	_, ok2 := lenenc(p, &i)
	if !ok1 || !ok2 || i+4 > len(p) {
		rc.t.Fatalf("%s: malformed OK packet % x", what, p)
	}
	pk := okPacket{status: binary.LittleEndian.Uint16(p[i:])}
	i += 4
	if i < len(p) {
		n, ok := lenenc(p, &i)
		if !ok || i+int(n) > len(p) {
			rc.t.Fatalf("%s: malformed OK packet (info of %d bytes in %d left): %q", what, n, len(p)-i, p)
		}
		pk.info = string(p[i : i+int(n)])
		i += int(n)
		if pk.status&statusChanged != 0 {
			n, ok := lenenc(p, &i)
			if !ok || i+int(n) > len(p) {
				rc.t.Fatalf("%s: malformed session state in OK packet %q", what, p)
			}
			i += int(n)
		}
	}
	if i != len(p) {
		rc.t.Fatalf("%s: malformed OK packet: %d bytes left over: %q", what, len(p)-i, p)
	}
	return pk
}

// isEOF reports whether p is an EOF packet (not a row starting with 0xfe).
func isEOF(p []byte) bool { return p[0] == 0xfe && len(p) < 9 }

// query sends q as COM_QUERY and returns the status flags of its OK
// packet or of the EOF packet that ends its rows.
func (rc *rawConn) query(q string) uint16 {
	rc.t.Helper()
	rc.seq = 0
	rc.write(append([]byte{0x03}, q...))
	return rc.result(q)
}

// result reads a query result: an OK packet, or columns, EOF, rows, EOF.
func (rc *rawConn) result(what string) uint16 {
	rc.t.Helper()
	p := rc.read()
	if p[0] == 0 || p[0] == 0xff {
		return rc.ok(p, what).status
	}
	for !isEOF(rc.read()) { // column definitions
	}
	for {
		if p = rc.read(); isEOF(p) {
			return binary.LittleEndian.Uint16(p[3:])
		}
		if p[0] == 0xff {
			rc.ok(p, what) // fails with the error
		}
	}
}

// prepare sends q as COM_STMT_PREPARE (q has no placeholders) and
// returns the statement id.
func (rc *rawConn) prepare(q string) uint32 {
	rc.t.Helper()
	rc.seq = 0
	rc.write(append([]byte{0x16}, q...))
	p := rc.read()
	if p[0] != 0 {
		rc.ok(p, "prepare "+q) // fails with the error
	}
	id := binary.LittleEndian.Uint32(p[1:])
	if cols := binary.LittleEndian.Uint16(p[5:]); cols > 0 {
		for !isEOF(rc.read()) {
		}
	}
	return id
}

// execute sends COM_STMT_EXECUTE of statement id and returns the status
// flags of its result.
func (rc *rawConn) execute(id uint32, what string) uint16 {
	rc.t.Helper()
	rc.seq = 0
	p := binary.LittleEndian.AppendUint32([]byte{0x17}, id)
	p = append(p, 0)                           // no cursor
	p = binary.LittleEndian.AppendUint32(p, 1) // iteration count
	rc.write(p)
	return rc.result(what)
}

// TestStatusFlags: the handshake, the login's OK packet and the OK and
// EOF packets after each statement (text and prepared) carry
// SERVER_STATUS_AUTOCOMMIT as @@autocommit has it and
// SERVER_STATUS_IN_TRANS while a transaction is open, as MySQL's do.
// PyMySQL and mysqlclient decide from the handshake's flag whether to
// send SET autocommit = 0. Catches: NewConnection not setting
// ServerStatusAutocommit (the handshake says 0x0000, so those drivers
// run with autocommit on and rollback() keeps inserts), and flags not
// taken from the session after a statement.
func TestStatusFlags(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	mustExec(t, ts.open(""), "CREATE DATABASE st")
	mustExec(t, ts.open("st"), "CREATE TABLE t (id INT PRIMARY KEY)")
	rc := dialRaw(t, ts.srv.Addr())
	if rc.greeting != statusAutocommit {
		t.Errorf("handshake status flags %#04x, want %#04x (autocommit)", rc.greeting, statusAutocommit)
	}
	if rc.login != statusAutocommit {
		t.Errorf("login OK status flags %#04x, want %#04x (autocommit)", rc.login, statusAutocommit)
	}
	steps := []struct {
		query   string
		prepare bool // COM_STMT_PREPARE + COM_STMT_EXECUTE
		want    uint16
	}{
		{"USE st", false, statusAutocommit},
		{"SELECT 1", false, statusAutocommit},
		{"INSERT INTO t VALUES (1)", false, statusAutocommit},
		{"SET autocommit = 0", false, 0},
		{"SELECT 1", false, 0}, // no table touched: no transaction yet
		{"INSERT INTO t VALUES (2)", false, statusInTrans},
		{"SELECT COUNT(*) FROM t", false, statusInTrans},
		{"ROLLBACK", false, 0},
		{"SELECT id FROM t", true, statusInTrans},
		{"COMMIT", false, 0},
		{"SET autocommit = 1", false, statusAutocommit},
		{"BEGIN", false, statusAutocommit | statusInTrans},
		{"INSERT INTO t VALUES (3)", true, statusAutocommit | statusInTrans},
		{"SAVEPOINT sp", false, statusAutocommit | statusInTrans},
		{"ROLLBACK TO SAVEPOINT sp", false, statusAutocommit | statusInTrans},
		{"COMMIT", false, statusAutocommit},
		{"INSERT INTO t VALUES (4)", true, statusAutocommit},
		{"START TRANSACTION", false, statusAutocommit | statusInTrans},
		{"CREATE TABLE u (x INT)", false, statusAutocommit}, // implicit commit
	}
	for _, s := range steps {
		var got uint16
		if s.prepare {
			got = rc.execute(rc.prepare(s.query), s.query)
		} else {
			got = rc.query(s.query)
		}
		if got != s.want {
			t.Errorf("after %q (prepared: %v): status flags %#04x, want %#04x", s.query, s.prepare, got, s.want)
		}
	}
	if n := queryInt(t, ts.open("st"), "SELECT COUNT(*) FROM t"); n != 3 {
		t.Errorf("%d rows in t, want 3 (1, 3, 4)", n)
	}
}

// TestOKPacketInfo: OK packets parse as a client with
// CLIENT_SESSION_TRACK (libmariadb) reads them. Catches: passing
// go-mysql-server's info text on to vitess, which writes '#' + text where
// such a client reads a length-encoded string, so that PREPARE's
// "Statement prepared" is a malformed packet (2027).
func TestOKPacketInfo(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	rc := dialRaw(t, ts.srv.Addr())
	for _, q := range []string{
		"CREATE DATABASE ok",
		"CREATE TABLE ok.t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO ok.t VALUES (1, 1), (2, 2)",
		"UPDATE ok.t SET v = v + 1",
		"PREPARE s FROM 'SELECT 1'",
		"SET @a = 1",
		"DEALLOCATE PREPARE s",
		"DELETE FROM ok.t WHERE id = 1",
	} {
		rc.query(q) // fails on a malformed OK packet
	}
}

// TestMariadbCLIPrepare: SQL PREPARE and EXECUTE through the mariadb
// command-line client (libmariadb, CLIENT_SESSION_TRACK). Catches the
// same one-line bug as TestOKPacketInfo (the OK packet's info passed on:
// ERROR 2027 Received malformed packet), where users see it.
func TestMariadbCLIPrepare(t *testing.T) {
	cli := ""
	for _, name := range []string{"mariadb", "mysql"} {
		if p, err := exec.LookPath(name); err == nil {
			cli = p
			break
		}
	}
	requireTool(t, "the mariadb or mysql client", cli != "")
	ts := startServer(t, t.TempDir(), true)
	host, port, _ := net.SplitHostPort(ts.srv.Addr())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, "--no-defaults", "--protocol=TCP", "-h", host, "-P", port, "-u", "root",
		"--batch", "--skip-column-names", "examples", "-e",
		"PREPARE s FROM 'select 1'; EXECUTE s; "+
			"PREPARE c FROM 'SELECT COUNT(*) FROM thyroid WHERE id < ?'; SET @n = 11; EXECUTE c USING @n; DEALLOCATE PREPARE c; "+
			"CREATE DETECTOR d USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT f0, f1 FROM thyroid; "+
			"PREPARE sd FROM 'SHOW DETECTORS'; EXECUTE sd").CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || lines[0] != "1" || lines[1] != "10" || !strings.HasPrefix(lines[2], "d\tautoencoder\tf0,f1\t3772\tready") {
		t.Fatalf("output:\n%s\nwant 1, 10 and the detector d", out)
	}
}

// TestPyMySQLAutocommit: PyMySQL with its default autocommit=False runs
// with autocommit off on the server: rollback() undoes an insert, and a
// savepoint rolls back. Catches the one-line bug of TestStatusFlags
// where users see it: NewConnection not setting ServerStatusAutocommit,
// so that PyMySQL, reading autocommit off from the handshake, never sends
// SET autocommit = 0 and rollback() keeps the insert.
func TestPyMySQLAutocommit(t *testing.T) {
	python := "/usr/bin/python3" // Debian's, which has python3-pymysql
	if _, err := os.Stat(python); err != nil {
		python = "python3"
	}
	requireTool(t, "python3-pymysql", pythonImports(python, "pymysql"))
	ts := startServer(t, t.TempDir(), false)
	mustExec(t, ts.open(""), "CREATE DATABASE py")
	mustExec(t, ts.open("py"), "CREATE TABLE t (id INT PRIMARY KEY)")
	host, port, _ := net.SplitHostPort(ts.srv.Addr())
	script := `
import sys, pymysql
conn = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="root", password="", database="py")
other = pymysql.connect(host=sys.argv[1], port=int(sys.argv[2]), user="root", password="", database="py", autocommit=True)
def q(c, sql):
    cur = c.cursor()
    cur.execute(sql)
    return [tuple(r) for r in cur.fetchall()]
print("get_autocommit", conn.get_autocommit())
print("@@autocommit", q(conn, "SELECT @@autocommit"))
print("other.get_autocommit", other.get_autocommit())
q(conn, "INSERT INTO t VALUES (1)")
print("in transaction", bool(conn.server_status & 1))
print("other sees", q(other, "SELECT id FROM t"))
conn.rollback()
print("after rollback", q(conn, "SELECT id FROM t"))
q(conn, "INSERT INTO t VALUES (2)")
q(conn, "SAVEPOINT sp")
q(conn, "INSERT INTO t VALUES (3)")
q(conn, "ROLLBACK TO SAVEPOINT sp")
conn.commit()
print("after savepoint", q(other, "SELECT id FROM t ORDER BY id"))
`
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, host, port).CombinedOutput()
	if err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	want := `get_autocommit False
@@autocommit [(0,)]
other.get_autocommit True
in transaction True
other sees []
after rollback []
after savepoint [(2,)]
`
	if string(out) != want {
		t.Errorf("PyMySQL session:\n%s\nwant:\n%s", out, want)
	}
}

// TestPreparedDetectorStatements: CREATE DETECTOR, SHOW DETECTORS and
// DROP DETECTOR through COM_STMT_PREPARE / COM_STMT_EXECUTE (the Go
// driver's db.Prepare, node mysql2's execute). Catches: vitess parsing
// the prepared text with its own parser, which answers 1105 "syntax error
// at position 15 near 'DETECTORS'" before our parser sees it (the
// disguise of prepareConn left out).
func TestPreparedDetectorStatements(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	prepared := func(q string) *gosql.Stmt {
		t.Helper()
		st, err := db.Prepare(q)
		if err != nil {
			t.Fatalf("prepare %s: %v", q, err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	if _, err := prepared("CREATE DETECTOR d USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT f0, f1 FROM thyroid").Exec(); err != nil {
		t.Fatalf("prepared CREATE DETECTOR: %v", err)
	}
	show := prepared("SHOW DETECTORS")
	names := func() string {
		t.Helper()
		rows, err := show.Query()
		if err != nil {
			t.Fatalf("prepared SHOW DETECTORS: %v", err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var name, algo, feats, status string
			var n, read int
			var secs float64
			var created time.Time
			var snapshots gosql.NullString
			var epoch, epochs gosql.NullInt64
			var loss gosql.NullFloat64
			if err := rows.Scan(&name, &algo, &feats, &n, &status, &secs, &created, &read, &snapshots, &epoch, &epochs, &loss); err != nil {
				t.Fatal(err)
			}
			out = append(out, fmt.Sprintf("%s %s %s %d %s", name, algo, feats, n, status))
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, "; ")
	}
	if got := names(); got != "d autoencoder f0,f1 3772 ready" {
		t.Fatalf("prepared SHOW DETECTORS: %q", got)
	}
	if rows, err := prepared("SHOW DETECTORS FROM examples").Query(); err != nil {
		t.Errorf("prepared SHOW DETECTORS FROM examples: %v", err)
	} else {
		rows.Close()
	}
	drop := prepared("DROP DETECTOR IF EXISTS d")
	for i := 0; i < 2; i++ { // executed twice: the second finds nothing to drop
		if _, err := drop.Exec(); err != nil {
			t.Fatalf("prepared DROP DETECTOR IF EXISTS d (execution %d): %v", i+1, err)
		}
	}
	if got := names(); got != "" {
		t.Fatalf("after DROP: SHOW DETECTORS lists %q", got)
	}
	// Errors are MySQL's: 1064 for a syntax error, 1305 for a missing detector.
	var me *mysql.MySQLError
	if _, err := db.Prepare("CREATE DETECTOR d2 USING autoencoder"); !errors.As(err, &me) || me.Number != 1064 {
		t.Errorf("preparing a bad CREATE DETECTOR: %v, want error 1064", err)
	}
	if _, err := prepared("DROP DETECTOR nope").Exec(); !errors.As(err, &me) || me.Number != 1305 {
		t.Errorf("prepared DROP DETECTOR nope: %v, want error 1305", err)
	}
	// Other statements are prepared as before, placeholders included.
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM thyroid WHERE id < ?", 11).Scan(&n); err != nil || n != 10 {
		t.Errorf("prepared SELECT with a placeholder: %d, %v", n, err)
	}
}

// TestDetectorStatementsInMultiStatements: DETECTOR statements anywhere
// in a multi-statement query (the Go driver's multiStatements=true).
// Catches: the parser taking the rest of the query as part of the
// DETECTOR statement (CREATE DETECTOR …; SELECT 2 fails with 1064 and
// creates nothing) instead of returning it as the remainder.
func TestDetectorStatementsInMultiStatements(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := openDSN(t, fmt.Sprintf("root:@tcp(%s)/examples?multiStatements=true", ts.srv.Addr()))
	create := func(name string) string {
		return "CREATE DETECTOR " + name + " USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT f0, f1 FROM thyroid"
	}
	// results returns the first column of every row of every result set.
	results := func(q string) [][]string {
		t.Helper()
		rows, err := db.Query(q)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		defer rows.Close()
		var sets [][]string
		for {
			var set []string
			cols, _ := rows.Columns()
			for rows.Next() {
				vals := make([]any, len(cols))
				var first gosql.NullString
				vals[0] = &first
				for i := 1; i < len(cols); i++ {
					vals[i] = new(any)
				}
				if err := rows.Scan(vals...); err != nil {
					t.Fatal(err)
				}
				set = append(set, first.String)
			}
			sets = append(sets, set)
			if !rows.NextResultSet() {
				break
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return sets
	}
	mustExec(t, db, create("a")+"; SELECT 2")
	mustExec(t, db, "SELECT 1; "+create("b")+";\n SELECT 3;")
	// A delimiter inside a string, a quoted identifier or a comment of the
	// SELECT does not end the statement.
	mustExec(t, db, "CREATE DETECTOR c USING autoencoder WITH (epochs = 1, seed = 1) AS "+
		"SELECT f0 AS `x;y`, f1 FROM thyroid WHERE 'a;b' <> ';' /* ; */ AND id > 0 -- ;\n; SELECT 4")
	got := results("SHOW DETECTORS; SELECT 5; SHOW DETECTORS FROM examples")
	if fmt.Sprint(got) != "[[a b c] [5] [a b c]]" {
		t.Fatalf("SHOW DETECTORS; SELECT 5; SHOW DETECTORS FROM examples: %v", got)
	}
	mustExec(t, db, "DROP DETECTOR a; DROP DETECTOR IF EXISTS b; SELECT 6; DROP DETECTOR c")
	if got := results("SHOW DETECTORS"); fmt.Sprint(got) != "[[]]" {
		t.Fatalf("after the DROPs: %v", got)
	}
	// A failing DETECTOR statement stops the query there, as MySQL does.
	if _, err := db.Exec("DROP DETECTOR nope; " + create("e")); err == nil {
		t.Fatal("DROP DETECTOR nope; CREATE DETECTOR e: want error 1305")
	}
	if got := results("SHOW DETECTORS"); fmt.Sprint(got) != "[[]]" {
		t.Fatalf("statements after a failed one ran: %v", got)
	}
}

// TestNumericStringFeatures: numeric strings as features of
// anomaly_score and is_anomaly, as placeholders bound as strings
// (prepared statements with string arguments: node mysql2, Go) and as
// string literals, score exactly as the numbers do; a string that is
// not a number is error 1366 naming the value once quoted. Catches:
// refusing text-typed arguments when the function is built (every string
// was 1366, with the quotes of the literal doubled), and converting
// bound strings other than as MySQL's arithmetic does.
func TestNumericStringFeatures(t *testing.T) {
	ts := startServer(t, t.TempDir(), true)
	db := ts.open("examples")
	mustExec(t, db, "CREATE DETECTOR d USING autoencoder WITH (epochs = 1, seed = 1) AS SELECT f0, f1, f2 FROM thyroid")
	var f [3]float64
	var s [3]string
	var want float64
	if err := db.QueryRow("SELECT f0, f1, f2, f0, f1, f2, anomaly_score('d', f0, f1, f2) FROM thyroid WHERE id = 7").
		Scan(&f[0], &f[1], &f[2], &s[0], &s[1], &s[2], &want); err != nil {
		t.Fatal(err)
	}
	same := func(what string, got float64, err error) {
		t.Helper()
		if err != nil {
			t.Errorf("%s: %v", what, err)
		} else if math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s = %v, want the row's score %v", what, got, want)
		}
	}
	score := func(q string, args ...any) (float64, error) {
		var got float64
		err := db.QueryRow(q, args...).Scan(&got)
		return got, err
	}
	q := "SELECT anomaly_score('d', ?, ?, ?)"
	got, err := score(q, f[0], f[1], f[2])
	same("float64 placeholders", got, err)
	got, err = score(q, s[0], s[1], s[2])
	same(fmt.Sprintf("string placeholders %q", s), got, err)
	got, err = score(q, []byte(s[0]), []byte(s[1]), []byte(s[2]))
	same("[]byte placeholders", got, err)
	got, err = score(q, " "+s[0]+" ", s[1]+"  ", "\t"+s[2])
	same("string placeholders with spaces", got, err)
	lit := fmt.Sprintf("SELECT anomaly_score('d', '%s', ' %s ', '%s')", s[0], s[1], s[2])
	got, err = score(lit)
	same(lit, got, err)
	got, err = score("SELECT anomaly_score('d', ?, ?, ?)",
		strconv.FormatFloat(f[0], 'e', -1, 64), strconv.FormatFloat(f[1], 'E', -1, 64), fmt.Sprintf("%.17e", f[2]))
	same("scientific notation", got, err)
	var flag, flagWant int
	if err := db.QueryRow("SELECT is_anomaly('d', ?, ?, ?), is_anomaly('d', f0, f1, f2) FROM thyroid WHERE id = 7",
		s[0], s[1], s[2]).Scan(&flag, &flagWant); err != nil || flag != flagWant {
		t.Errorf("is_anomaly with string placeholders: %d, %v; want %d", flag, err, flagWant)
	}
	// A VARCHAR column of numbers scores as the numbers do.
	mustExec(t, db, "CREATE TABLE strs (a VARCHAR(40), b VARCHAR(40), c VARCHAR(40))")
	mustExec(t, db, "INSERT INTO strs VALUES (?, ?, ?)", s[0], s[1], s[2])
	got, err = score("SELECT anomaly_score('d', a, b, c) FROM strs")
	same("VARCHAR columns", got, err)

	for _, bad := range []struct {
		query string
		args  []any
		value string
	}{
		{"SELECT anomaly_score('d', 'abc', 1, 2)", nil, "abc"},
		{"SELECT anomaly_score('d', 1, '1.5x', 2)", nil, "1.5x"},
		{"SELECT anomaly_score('d', 1, 2, '0x10')", nil, "0x10"},
		{q, []any{"abc", 1.0, 2.0}, "abc"},
		{q, []any{1.0, "", 2.0}, ""},
		{q, []any{1.0, 2.0, "1e"}, "1e"},
		{q, []any{"inf", 2.0, 3.0}, "inf"},
	} {
		_, err := score(bad.query, bad.args...)
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1366 {
			t.Errorf("%s %q: %v, want error 1366", bad.query, bad.args, err)
			continue
		}
		if !strings.Contains(me.Message, "value: '"+bad.value+"' for") {
			t.Errorf("%s %q: message %q does not quote the value %q once", bad.query, bad.args, me.Message, bad.value)
		}
	}
}

// TestClientGoneCancelsQuery: a query whose client disconnects stops
// within seconds (go-mysql-server watches the client's socket while it
// streams rows) rather than running to its end. Catches: leaving the
// wrapping prepareConn as the connection's net.Conn (unwrapConn left
// out), where go-mysql-server finds no TCP socket to watch.
func TestClientGoneCancelsQuery(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for go-mysql-server's 5 s socket check")
	}
	ts := startServer(t, t.TempDir(), true)
	rc := dialRaw(t, ts.srv.Addr())
	rc.seq = 0
	rc.write(append([]byte{0x03}, "SELECT SLEEP(0.5), id FROM examples.thyroid /* gone */"...)) // 30 minutes
	db := ts.open("")
	running := func() bool {
		t.Helper()
		for _, r := range queryRows(t, db, "SHOW PROCESSLIST") {
			if strings.Contains(strings.Join(r, " "), "/* gone */") {
				return true
			}
		}
		return false
	}
	deadline := time.Now().Add(5 * time.Second)
	for !running() {
		if time.Now().After(deadline) {
			t.Fatal("the query does not show in SHOW PROCESSLIST")
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.c.Close()
	deadline = time.Now().Add(20 * time.Second)
	for running() {
		if time.Now().After(deadline) {
			t.Fatal("the query still runs 20 s after its client disconnected")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
