package engine_test

import (
	gosql "database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"

	"github.com/anomalydb/anomalydb/engine"
)

// Accounts, grants and privileges (engine/users.go, engine/privileges.go)
// as clients meet them: the real binary over TCP, limited users logged in
// with the Go driver, restarts on the same data directory.

// procDSN is the DSN of user (password pw) on the server p, database db.
func procDSN(p *proc, user, pw, db string) string {
	return fmt.Sprintf("%s:%s@tcp(%s)/%s", user, pw, p.addr, db)
}

// loginAs is the MySQL error number of a login as user with pw (0 when
// it succeeds).
func loginAs(t *testing.T, p *proc, user, pw string) uint16 {
	t.Helper()
	return loginErr(t, procDSN(p, user, pw, ""))
}

// grantsOf is SHOW GRANTS FOR user, sorted.
func grantsOf(t *testing.T, db *gosql.DB, user string) []string {
	t.Helper()
	var out []string
	for _, r := range queryRows(t, db, "SHOW GRANTS FOR "+user) {
		out = append(out, r[0])
	}
	sort.Strings(out)
	return out
}

// detectorNames is SHOW DETECTORS FROM db as root sees it.
func detectorNames(t *testing.T, db *gosql.DB, from string) []string {
	t.Helper()
	var out []string
	for _, r := range queryRows(t, db, "SHOW DETECTORS FROM "+from) {
		out = append(out, r[0])
	}
	return out
}

// globalVar is @@GLOBAL.name as a string.
func globalVar(t *testing.T, db *gosql.DB, name string) string {
	t.Helper()
	return queryRows(t, db, "SELECT @@GLOBAL."+name)[0][0]
}

const createD1 = "CREATE DETECTOR d1.m USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT x, y FROM d1.t"

// TestUsersAndPrivileges creates accounts with various grants as root,
// checks each refusal and allowance as the limited users see them, then
// restarts the binary and checks that accounts, passwords, roles and
// grants survived and are still enforced, and that root's password comes
// from --password at every start.
//
// Bugs caught: no persister (CREATE USER panics) or one that does not
// write (accounts lost at restart); root stored with its password, or
// loaded from the file over --password; CREATE DETECTOR, DROP DETECTOR,
// SHOW DETECTORS or anomaly_score without their privilege check, or with
// the check after training; the AS query run as root rather than as the
// user; SET GLOBAL or SET PERSIST unchecked, or SET SESSION refused;
// PROCESSLIST unfiltered; a dynamic privilege granted by a user who
// holds only GRANT OPTION; KILL of another user's connection allowed (or
// of one's own refused); a half-applied CREATE USER a, b or GRANT ... TO
// a, b left in memory; a refused GRANT that changes grants; ALTER USER or
// DROP USER not taking effect; the admin option of a role grant or a
// dynamic privilege lost at restart.
func TestUsersAndPrivileges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and restarts the server binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir, "--password", "rootpw")
	root := openDSN(t, procDSN(p, "root", "rootpw", ""))

	mustExecAll(t, root,
		"CREATE DATABASE d1", "CREATE DATABASE d2",
		"CREATE TABLE d1.t (id INT PRIMARY KEY, x DOUBLE, y DOUBLE)",
		"CREATE TABLE d2.s (id INT PRIMARY KEY, x DOUBLE, y DOUBLE)",
		"INSERT INTO d2.s VALUES (1, 1, 2), (2, 2, 3)",
	)
	var rows []string
	for i := 0; i < 60; i++ {
		rows = append(rows, fmt.Sprintf("(%d, %d, %d)", i, i%7, i%5))
	}
	mustExec(t, root, "INSERT INTO d1.t VALUES "+strings.Join(rows, ","))
	mustExecAll(t, root,
		"CREATE USER reader IDENTIFIED BY 'r1'", "GRANT SELECT ON d1.* TO reader",
		"CREATE USER maker IDENTIFIED BY 'm1'", "GRANT CREATE, SELECT ON d1.* TO maker",
		"CREATE USER outsider IDENTIFIED BY 'o1'", "GRANT CREATE, SELECT ON d2.* TO outsider",
		"CREATE USER dropper IDENTIFIED BY 'x1'", "GRANT DROP ON d1.* TO dropper",
		"CREATE USER admin IDENTIFIED BY 'a1'", "GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO admin",
		"CREATE USER gone IDENTIFIED BY 'g1'",
		"CREATE ROLE analyst", "GRANT SELECT ON d2.* TO analyst", "GRANT analyst TO reader WITH ADMIN OPTION",
	)
	reader := openDSN(t, procDSN(p, "reader", "r1", "d1"))
	maker := openDSN(t, procDSN(p, "maker", "m1", "d1"))
	outsider := openDSN(t, procDSN(p, "outsider", "o1", "d2"))
	dropper := openDSN(t, procDSN(p, "dropper", "x1", ""))
	admin := openDSN(t, procDSN(p, "admin", "a1", ""))

	t.Run("detectors", func(t *testing.T) {
		// No CREATE on d1: refused, nothing trained.
		expectErr(t, reader, "CREATE DETECTOR d1.r USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT x, y FROM d1.t", 1142)
		// CREATE on d2, but the AS query reads d1, which outsider may not.
		expectErr(t, outsider, "CREATE DETECTOR d2.o USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT x, y FROM d1.t", 1142)
		if got := detectorNames(t, root, "d1"); len(got) != 0 {
			t.Fatalf("refused CREATE DETECTORs left %v in d1", got)
		}
		if got := detectorNames(t, root, "d2"); len(got) != 0 {
			t.Fatalf("refused CREATE DETECTOR left %v in d2", got)
		}
		// CREATE and SELECT on d1: allowed.
		mustExec(t, maker, createD1)
		// Scoring and listing need SELECT on the database.
		mustExec(t, reader, "SELECT anomaly_score('m', x, y), is_anomaly('d1.m', x, y), anomaly_explain('m', 1, x, y) FROM d1.t")
		if got := len(queryRows(t, reader, "SHOW DETECTORS")); got != 1 {
			t.Errorf("reader's SHOW DETECTORS lists %d detectors, want 1", got)
		}
		expectErr(t, outsider, "SELECT anomaly_score('d1.m', 1, 2)", 1142)
		expectErr(t, outsider, "SELECT anomaly_explain('d1.m', 1, 2)", 1142)
		expectErr(t, outsider, "SHOW DETECTORS FROM d1", 1044)
		expectErr(t, dropper, "SELECT anomaly_score('d1.m', 1, 2)", 1142)
		// DROP needs DROP on the database; creating it is not enough.
		expectErr(t, reader, "DROP DETECTOR d1.m", 1142)
		expectErr(t, maker, "DROP DETECTOR d1.m", 1142)
		expectErr(t, outsider, "DROP DETECTOR IF EXISTS d1.m", 1142)
		if got := detectorNames(t, root, "d1"); !reflect.DeepEqual(got, []string{"m"}) {
			t.Fatalf("after refused DROPs d1 holds %v, want [m]", got)
		}
	})

	t.Run("set global", func(t *testing.T) {
		before := globalVar(t, root, "max_connections")
		expectErr(t, reader, "SET GLOBAL max_connections = 1", 1227)
		expectErr(t, reader, "SET @@GLOBAL.local_infile = 0", 1227)
		expectErr(t, reader, "SET PERSIST max_connections = 1", 1227)
		expectErr(t, reader, "SET sql_mode = '', GLOBAL max_connections = 1", 1227)
		if got := globalVar(t, root, "max_connections"); got != before {
			t.Fatalf("refused SET GLOBAL changed max_connections from %s to %s", before, got)
		}
		if got := globalVar(t, root, "local_infile"); got != "1" {
			t.Fatalf("refused SET GLOBAL changed local_infile to %s", got)
		}
		mustExec(t, reader, "SET SESSION sql_mode = 'ANSI_QUOTES'")
		mustExec(t, reader, "SET @@autocommit = 1")
		mustExec(t, admin, "SET GLOBAL max_connections = 160")
		if got := globalVar(t, root, "max_connections"); got != "160" {
			t.Fatalf("SET GLOBAL by SYSTEM_VARIABLES_ADMIN: max_connections = %s, want 160", got)
		}
		mustExec(t, root, "SET GLOBAL max_connections = "+before)
	})

	t.Run("processlist", func(t *testing.T) {
		rootID := queryRows(t, root, "SELECT CONNECTION_ID()")[0][0]
		readerID := queryRows(t, reader, "SELECT CONNECTION_ID()")[0][0]
		ids := func(db *gosql.DB, q string) map[string]bool {
			m := map[string]bool{}
			for _, r := range queryRows(t, db, q) {
				m[r[0]] = true
			}
			return m
		}
		for _, q := range []string{"SHOW PROCESSLIST", "SELECT id, user FROM information_schema.PROCESSLIST"} {
			mine := ids(reader, q)
			if mine[rootID] || !mine[readerID] {
				t.Errorf("reader's %s: ids %v; want its own %s and not root's %s", q, mine, readerID, rootID)
			}
			all := ids(root, q)
			if !all[rootID] || !all[readerID] {
				t.Errorf("root's %s: ids %v; want %s and %s", q, all, rootID, readerID)
			}
		}
		// KILL of another user's connection needs SUPER; one's own do not.
		expectErr(t, reader, "KILL QUERY "+rootID, 1095)
		expectErr(t, reader, "KILL "+rootID, 1095)
		reader2 := openDSN(t, procDSN(p, "reader", "r1", "d1"))
		reader2ID := queryRows(t, reader2, "SELECT CONNECTION_ID()")[0][0]
		if !ids(reader, "SHOW PROCESSLIST")[reader2ID] {
			t.Errorf("reader's SHOW PROCESSLIST lacks its other connection %s", reader2ID)
		}
		mustExec(t, reader, "KILL QUERY "+reader2ID)
		mustExec(t, root, "SELECT 1") // root's connection is alive
	})

	t.Run("accounts", func(t *testing.T) {
		// Roles: reader reads d2 through analyst.
		mustExec(t, reader, "SELECT * FROM d2.s")
		// Refused account statements change nothing.
		expectErr(t, reader, "CREATE USER intruder", 1227)
		expectErr(t, reader, "GRANT SELECT ON d1.* TO outsider", 1044)
		expectErr(t, reader, "GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO reader", 1227)
		expectErr(t, outsider, "SELECT * FROM d1.t", 1142)
		// GRANT OPTION does not let one grant a dynamic privilege one
		// does not hold.
		mustExecAll(t, root, "CREATE USER granter IDENTIFIED BY 'q1'", "GRANT SELECT ON *.* TO granter WITH GRANT OPTION")
		granter := openDSN(t, procDSN(p, "granter", "q1", ""))
		expectErr(t, granter, "GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO granter", 1227)
		expectErr(t, granter, "SET GLOBAL max_connections = 1", 1227)
		mustExec(t, granter, "GRANT SELECT ON *.* TO outsider")
		mustExec(t, outsider, "SELECT * FROM d1.t")
		mustExec(t, granter, "REVOKE SELECT ON *.* FROM outsider")
		expectErr(t, outsider, "SELECT * FROM d1.t", 1142)
		// A statement that fails half way changes nothing (MySQL 8's
		// atomic account statements).
		expectErr(t, root, "CREATE USER fresh IDENTIFIED BY 'f1', reader", 1396)
		if n := loginAs(t, p, "fresh", "f1"); n != 1045 {
			t.Errorf("login of fresh after a failed CREATE USER fresh, reader: %d, want 1045", n)
		}
		outsiderGrants := grantsOf(t, root, "outsider")
		expectErr(t, root, "GRANT INSERT ON d2.* TO outsider, nosuchuser", 1410)
		if got := grantsOf(t, root, "outsider"); !reflect.DeepEqual(got, outsiderGrants) {
			t.Errorf("failed GRANT ... TO outsider, nosuchuser changed outsider's grants:\n%v\nwant\n%v", got, outsiderGrants)
		}
		// ALTER USER and DROP USER take effect.
		mustExec(t, root, "ALTER USER reader IDENTIFIED BY 'r2'")
		mustExec(t, root, "DROP USER gone")
		for _, c := range []struct {
			user, pw string
			want     uint16
		}{{"reader", "r1", 1045}, {"reader", "r2", 0}, {"gone", "g1", 1045}, {"maker", "wrong", 1045}, {"root", "rootpw", 0}} {
			if n := loginAs(t, p, c.user, c.pw); n != c.want {
				t.Errorf("login %s/%s: error %d, want %d", c.user, c.pw, n, c.want)
			}
		}
	})

	users := []string{"reader", "maker", "outsider", "dropper", "admin", "analyst"}
	grants := map[string][]string{}
	for _, u := range users {
		grants[u] = grantsOf(t, root, u)
	}
	if want := "GRANT SYSTEM_VARIABLES_ADMIN ON *.* TO `admin`@`%`"; !contains(grants["admin"], want) {
		t.Fatalf("admin's grants %v lack %q", grants["admin"], want)
	}

	// Restart: everything above survives; root's password is --password's.
	root.Close()
	p.stop(t, syscall.SIGTERM)
	p = startProc(t, bin, dir, "--password", "rootpw2")
	for _, c := range []struct {
		user, pw string
		want     uint16
	}{
		{"root", "rootpw", 1045}, {"root", "rootpw2", 0}, {"reader", "r2", 0}, {"reader", "r1", 1045},
		{"maker", "m1", 0}, {"gone", "g1", 1045}, {"fresh", "f1", 1045}, {"admin", "a1", 0}, {"analyst", "", 1045},
	} {
		if n := loginAs(t, p, c.user, c.pw); n != c.want {
			t.Errorf("after restart, login %s/%s: error %d, want %d", c.user, c.pw, n, c.want)
		}
	}
	root = openDSN(t, procDSN(p, "root", "rootpw2", ""))
	for _, u := range users {
		if got := grantsOf(t, root, u); !reflect.DeepEqual(got, grants[u]) {
			t.Errorf("after restart SHOW GRANTS FOR %s:\n%v\nwant\n%v", u, got, grants[u])
		}
	}
	reader = openDSN(t, procDSN(p, "reader", "r2", "d1"))
	outsider = openDSN(t, procDSN(p, "outsider", "o1", "d2"))
	dropper = openDSN(t, procDSN(p, "dropper", "x1", ""))
	mustExec(t, reader, "SELECT * FROM d2.s") // the role grant survived
	expectErr(t, outsider, "SELECT * FROM d1.t", 1142)
	expectErr(t, reader, "CREATE DETECTOR d1.r USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT x, y FROM d1.t", 1142)
	expectErr(t, reader, "DROP DETECTOR d1.m", 1142)
	expectErr(t, reader, "SET GLOBAL max_connections = 1", 1227)
	mustExec(t, dropper, "DROP DETECTOR d1.m")
	if got := detectorNames(t, root, "d1"); len(got) != 0 {
		t.Errorf("after dropper's DROP DETECTOR d1 holds %v", got)
	}
	// reader holds analyst WITH ADMIN OPTION: it may revoke it (from
	// itself), after which d2 is closed to it.
	mustExec(t, reader, "REVOKE analyst FROM reader")
	expectErr(t, reader, "SELECT * FROM d2.s", 1142)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestUsersSurviveKill kills the server with SIGKILL while clients create
// accounts and checks that the next start succeeds with every account
// whose CREATE USER returned OK, and that a temporary file left by an
// interrupted write (planted here, as a crash at the wrong moment leaves
// it) neither stops the start nor stays.
//
// Bugs caught: writing the users file in place (a crash leaves it
// half-written and the server refuses to start), acknowledging CREATE
// USER before the file is written, refusing to start or keeping stray
// temporary files.
func TestUsersSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server binary and kills it")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startProc(t, bin, dir)
	root := openDSN(t, procDSN(p, "root", "", ""))

	const acked = 40
	done := make(chan int)
	go func() {
		n := 0
		for ; ; n++ {
			if n == acked {
				done <- n // the main goroutine kills the server now
			}
			if _, err := root.Exec(fmt.Sprintf("CREATE USER u%d IDENTIFIED BY 'p%d'", n, n)); err != nil {
				break
			}
			if _, err := root.Exec(fmt.Sprintf("GRANT SELECT ON *.* TO u%d", n)); err != nil {
				break
			}
		}
		close(done)
	}()
	<-done
	p.kill()
	<-done
	root.Close()

	tmp := filepath.Join(dir, "mysql.db.tmp-planted")
	if err := os.WriteFile(tmp, []byte("half a users fi"), 0o600); err != nil {
		t.Fatal(err)
	}
	p = startProc(t, bin, dir)
	if exists(tmp) {
		t.Errorf("%s was not removed at start", tmp)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "mysql.db.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left after start: %v", left)
	}
	for i := 0; i < acked; i++ {
		if n := loginAs(t, p, fmt.Sprintf("u%d", i), fmt.Sprintf("p%d", i)); n != 0 {
			t.Errorf("u%d, created before the kill, cannot log in: error %d", i, n)
		}
	}
	u0 := openDSN(t, procDSN(p, "u0", "p0", ""))
	mustExec(t, u0, "SELECT COUNT(*) FROM information_schema.SCHEMATA")
}

// TestUsersFileDamaged checks that a damaged users file stops the start
// with an error that names it (rather than a server that silently lost
// its accounts and grants), and that the intact file loads.
//
// Bugs caught: no checksum (a flipped byte in a password hash or a
// grant goes unnoticed), a panic on a truncated file, starting with
// root only.
func TestUsersFileDamaged(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	mustExecAll(t, db, "CREATE USER keep IDENTIFIED BY 'k1'", "GRANT SELECT ON *.* TO keep")
	db.Close()
	ts.stop()

	path := filepath.Join(dir, "mysql.db")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-5] ^= 0x10
	for name, data := range map[string][]byte{
		"flipped byte": flipped,
		"truncated":    good[:len(good)/2],
		"empty":        {},
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		srv, err := engine.NewServer(engine.Config{Addr: "127.0.0.1:0", DataDir: dir, Quiet: true})
		if err == nil {
			srv.Close()
			t.Errorf("%s users file: the server started", name)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("%s users file: error %q does not name %s", name, err, path)
		}
	}
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	ts = startServer(t, dir, false)
	keep := openDSN(t, fmt.Sprintf("keep:k1@tcp(%s)/", ts.srv.Addr()))
	mustExec(t, keep, "SELECT 1")
}
