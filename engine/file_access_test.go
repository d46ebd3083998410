package engine_test

import (
	"crypto/sha1"
	gosql "database/sql"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/mysql_db"

	"github.com/anomalydb/anomalydb/engine"
)

// Server-side file access (engine/file_access.go), over TCP as a client
// sees it: LOAD_FILE(), LOAD DATA [LOCAL] INFILE and SELECT ... INTO
// OUTFILE/DUMPFILE against @@secure_file_priv, the FILE privilege and the
// data directory.

// fileDir is the server's @@secure_file_priv without its trailing
// separator: where tests put the files that LOAD DATA INFILE reads.
func (ts *testServer) fileDir() string {
	ts.t.Helper()
	var dir gosql.NullString
	db := openDSN(ts.t, fmt.Sprintf("root:@tcp(%s)/", ts.srv.Addr()))
	defer db.Close()
	if err := db.QueryRow("SELECT @@secure_file_priv").Scan(&dir); err != nil {
		ts.t.Fatal(err)
	}
	if !dir.Valid || dir.String == "" {
		ts.t.Fatalf("@@secure_file_priv is %q (valid %v): no folder for server files", dir.String, dir.Valid)
	}
	return strings.TrimSuffix(dir.String, string(filepath.Separator))
}

// startServerConfig starts a server on cfg (with a random loopback port,
// quiet) as startServer does.
func startServerConfig(t *testing.T, cfg engine.Config) *testServer {
	t.Helper()
	cfg.Addr, cfg.Quiet = "127.0.0.1:0", true
	srv, err := engine.NewServer(cfg)
	if err != nil {
		t.Fatalf("starting server: %v", err)
	}
	ts := &testServer{t: t, srv: srv, done: make(chan error, 1)}
	go func() { ts.done <- srv.Serve() }()
	t.Cleanup(ts.stop)
	return ts
}

// addUser adds the account user@'%' with password pw and the given
// global privileges, through go-mysql-server's user table (CREATE USER
// is not needed for this).
func addUser(t *testing.T, ts *testServer, user, pw string, privs ...sql.PrivilegeType) *gosql.DB {
	t.Helper()
	mdb := ts.srv.Engine().Analyzer.Catalog.MySQLDb
	s1 := sha1.Sum([]byte(pw))
	s2 := sha1.Sum(s1[:])
	set := mysql_db.NewPrivilegeSet()
	set.AddGlobalStatic(privs...)
	ed := mdb.Editor()
	ed.PutUser(&mysql_db.User{
		User: user, Host: "%", PrivilegeSet: set,
		Plugin: "mysql_native_password", AuthString: "*" + strings.ToUpper(hex.EncodeToString(s2[:])),
		IsEphemeral: true,
	})
	ed.Close()
	return openDSN(t, fmt.Sprintf("%s:%s@tcp(%s)/?allowAllFiles=true", user, pw, ts.srv.Addr()))
}

func writeFile(t *testing.T, path, data string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// loadFile is LOAD_FILE(path) as a string, "NULL" for NULL.
func loadFile(t *testing.T, db *gosql.DB, path string) string {
	t.Helper()
	return queryRows(t, db, "SELECT LOAD_FILE(?)", path)[0][0]
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestFileAccessDefault checks the default secure_file_priv: a folder
// "files" beside the data directory that LOAD_FILE, LOAD DATA INFILE and
// INTO OUTFILE may use, and nothing else: not a file outside it, not
// through a symbolic link or `..` out of it, not the data directory.
//
// Bugs caught: an empty secure_file_priv by default (LOAD_FILE('/etc/passwd')
// works); a check of the path as written, not as resolved (the link and
// `..` cases); a prefix check ("files-evil" passes "files"); an OUTFILE
// that overwrites a file or follows a link planted at its name; an
// OUTFILE into the data directory.
func TestFileAccessDefault(t *testing.T) {
	data := t.TempDir()
	ts := startServer(t, data, false)
	db := ts.open("")
	files := ts.fileDir()
	if want, _ := filepath.EvalSymlinks(filepath.Dir(data)); files != filepath.Join(want, "files") {
		t.Fatalf("@@secure_file_priv %q, want the folder files beside the data directory %s", files, data)
	}
	if st, err := os.Stat(files); err != nil || !st.IsDir() {
		t.Fatalf("secure_file_priv %s was not created: %v", files, err)
	}
	if n, _ := errNumber(t, db, "SET GLOBAL secure_file_priv = ''"); n == 0 {
		t.Error("SET GLOBAL secure_file_priv succeeded; it is read-only")
	}

	outside := t.TempDir()
	secret := writeFile(t, filepath.Join(outside, "secret.csv"), "1,secret\n")
	inside := writeFile(t, filepath.Join(files, "in.csv"), "1,one\n2,two\n")
	if err := os.Symlink(secret, filepath.Join(files, "link.csv")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(files, "outdir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(data, filepath.Join(files, "datadir")); err != nil {
		t.Fatal(err)
	}
	evil := files + "-evil"
	if err := os.Mkdir(evil, 0o755); err != nil {
		t.Fatal(err)
	}
	prefix := writeFile(t, filepath.Join(evil, "p.csv"), "1,prefix\n")
	// outside and files share a parent (both are in the test's folder).
	dotdot := files + "/../" + filepath.Base(outside) + "/secret.csv"
	refused := map[string]string{
		"outside":         secret,
		"/etc/passwd":     "/etc/passwd",
		"link to outside": filepath.Join(files, "link.csv"),
		"folder link":     filepath.Join(files, "outdir", "secret.csv"),
		"..":              dotdot,
		"prefix":          prefix,
		"missing outside": filepath.Join(outside, "none.csv"),
	}

	if got := loadFile(t, db, inside); got != "1,one\n2,two\n" {
		t.Errorf("LOAD_FILE inside: %q", got)
	}
	if got := loadFile(t, db, filepath.Join(files, "none.csv")); got != "NULL" {
		t.Errorf("LOAD_FILE of a missing file: %q, want NULL", got)
	}
	mustExec(t, db, "CREATE DATABASE fa")
	mustExec(t, db, "CREATE TABLE fa.t (id INT PRIMARY KEY, s VARCHAR(20))")
	for what, path := range refused {
		if got := loadFile(t, db, path); got != "NULL" {
			t.Errorf("LOAD_FILE %s (%s): %q, want NULL", what, path, got)
		}
		expectErr(t, db, "LOAD DATA INFILE '"+path+"' INTO TABLE fa.t FIELDS TERMINATED BY ','", 1290)
	}
	if n := queryInt(t, db, "SELECT COUNT(*) FROM fa.t"); n != 0 {
		t.Fatalf("refused loads loaded %d rows", n)
	}
	mustExec(t, db, "LOAD DATA INFILE '"+inside+"' INTO TABLE fa.t FIELDS TERMINATED BY ','")
	// LOCAL reads the client's file: secure_file_priv does not apply.
	mustExec(t, db, "LOAD DATA LOCAL INFILE '"+secret+"' REPLACE INTO TABLE fa.t FIELDS TERMINATED BY ','")
	if got := queryRows(t, db, "SELECT id, s FROM fa.t ORDER BY id"); !reflect.DeepEqual(got, [][]string{{"1", "secret"}, {"2", "two"}}) {
		t.Errorf("after LOAD DATA INFILE and LOCAL: %q", got)
	}

	out := filepath.Join(files, "out.csv")
	mustExec(t, db, "SELECT id, s FROM fa.t ORDER BY id INTO OUTFILE '"+out+"' FIELDS TERMINATED BY ','")
	if b, err := os.ReadFile(out); err != nil || string(b) != "1,secret\n2,two\n" {
		t.Errorf("INTO OUTFILE wrote %q (%v)", b, err)
	}
	expectErr(t, db, "SELECT id FROM fa.t INTO OUTFILE '"+out+"'", 1086)
	expectErr(t, db, "SELECT 'x' INTO DUMPFILE '"+out+"'", 1086)
	mustExec(t, db, "SELECT 'dump' INTO DUMPFILE '"+filepath.Join(files, "d.bin")+"'")
	if b, _ := os.ReadFile(filepath.Join(files, "d.bin")); string(b) != "dump" {
		t.Errorf("INTO DUMPFILE wrote %q", b)
	}
	// A link planted at the name is not followed.
	if err := os.Symlink(filepath.Join(outside, "planted"), filepath.Join(files, "planted")); err != nil {
		t.Fatal(err)
	}
	expectErr(t, db, "SELECT 1 INTO OUTFILE '"+filepath.Join(files, "planted")+"'", 1086)
	for what, path := range map[string]string{
		"outside":          filepath.Join(outside, "o.csv"),
		"folder link":      filepath.Join(files, "outdir", "o.csv"),
		"..":               files + "/../" + filepath.Base(outside) + "/o.csv",
		"data dir":         filepath.Join(data, "o.csv"),
		"data dir by link": filepath.Join(files, "datadir", "o.csv"),
	} {
		for _, into := range []string{"OUTFILE", "DUMPFILE"} {
			expectErr(t, db, "SELECT 1 INTO "+into+" '"+path+"'", 1290)
			if exists(path) {
				t.Fatalf("INTO %s %s (%s) wrote the file", into, what, path)
			}
		}
	}
	if exists(filepath.Join(outside, "planted")) {
		t.Error("INTO OUTFILE followed a planted link")
	}
}

// TestFileAccessPrivileges checks the FILE privilege: without it
// LOAD_FILE is NULL and LOAD DATA INFILE and INTO OUTFILE fail with 1045,
// while LOAD DATA LOCAL needs only INSERT; with it (not a superuser) all
// work inside secure_file_priv.
//
// Bugs caught: FILE never checked (every account reads the server's
// files); FILE required for LOCAL (go-mysql-server's check, which also
// answered 1105); LOAD DATA without INSERT on the table.
func TestFileAccessPrivileges(t *testing.T) {
	ts := startServer(t, t.TempDir(), false)
	root := ts.open("")
	files := ts.fileDir()
	mustExec(t, root, "CREATE DATABASE fp")
	mustExec(t, root, "CREATE TABLE fp.t (id INT PRIMARY KEY)")
	in := writeFile(t, filepath.Join(files, "ids.csv"), "1\n2\n")
	local := writeFile(t, filepath.Join(t.TempDir(), "local.csv"), "10\n11\n")

	nofile := addUser(t, ts, "nofile", "pw1", sql.PrivilegeType_Select, sql.PrivilegeType_Insert)
	if got := loadFile(t, nofile, in); got != "NULL" {
		t.Errorf("LOAD_FILE without FILE: %q, want NULL", got)
	}
	msg := expectErr(t, nofile, "LOAD DATA INFILE '"+in+"' INTO TABLE fp.t", 1045)
	if !strings.Contains(msg, "Access denied for user 'nofile'") {
		t.Errorf("1045 message %q", msg)
	}
	out := filepath.Join(files, "nofile.csv")
	expectErr(t, nofile, "SELECT 1 INTO OUTFILE '"+out+"'", 1045)
	expectErr(t, nofile, "SELECT 1 INTO DUMPFILE '"+out+"'", 1045)
	if exists(out) {
		t.Error("INTO OUTFILE without FILE wrote the file")
	}
	mustExec(t, nofile, "LOAD DATA LOCAL INFILE '"+local+"' INTO TABLE fp.t")

	selectOnly := addUser(t, ts, "reader", "pw2", sql.PrivilegeType_Select)
	expectErr(t, selectOnly, "LOAD DATA LOCAL INFILE '"+local+"' INTO TABLE fp.t", 1142)

	withFile := addUser(t, ts, "withfile", "pw3", sql.PrivilegeType_Select, sql.PrivilegeType_Insert, sql.PrivilegeType_File)
	if got := loadFile(t, withFile, in); got != "1\n2\n" {
		t.Errorf("LOAD_FILE with FILE: %q", got)
	}
	mustExec(t, withFile, "LOAD DATA INFILE '"+in+"' INTO TABLE fp.t")
	mustExec(t, withFile, "SELECT id FROM fp.t ORDER BY id INTO OUTFILE '"+out+"'")
	if b, _ := os.ReadFile(out); string(b) != "1\n2\n10\n11\n" {
		t.Errorf("OUTFILE with FILE wrote %q", b)
	}
	if got := loadFile(t, withFile, "/etc/passwd"); got != "NULL" {
		t.Errorf("LOAD_FILE('/etc/passwd') with FILE: %q, want NULL", got)
	}
}

// TestFileAccessSettings checks the other values of secure_file_priv:
// NULL disables server files, the empty string lifts the folder restriction but not the
// data directory's, and a folder that is, holds or lies in the data
// directory is refused at start.
//
// Bugs caught: NULL read as "no restriction" (go-mysql-server treats a
// missing value so); the empty string letting INTO OUTFILE write the tables' files; a
// server that starts with its data directory open to clients.
func TestFileAccessSettings(t *testing.T) {
	str := func(s string) *string { return &s }
	data := t.TempDir()
	outside := writeFile(t, filepath.Join(t.TempDir(), "o.csv"), "1\n")

	ts := startServerConfig(t, engine.Config{DataDir: data, SecureFilePriv: str("NULL")})
	db := ts.open("")
	if got := queryRows(t, db, "SELECT @@secure_file_priv"); got[0][0] != "NULL" {
		t.Errorf("@@secure_file_priv %q, want NULL", got[0][0])
	}
	mustExec(t, db, "CREATE DATABASE fs")
	mustExec(t, db, "CREATE TABLE fs.t (id INT PRIMARY KEY)")
	if got := loadFile(t, db, outside); got != "NULL" {
		t.Errorf("LOAD_FILE with NULL: %q", got)
	}
	expectErr(t, db, "LOAD DATA INFILE '"+outside+"' INTO TABLE fs.t", 1290)
	expectErr(t, db, "SELECT 1 INTO OUTFILE '"+filepath.Join(t.TempDir(), "x")+"'", 1290)
	mustExec(t, db, "LOAD DATA LOCAL INFILE '"+outside+"' INTO TABLE fs.t")
	ts.stop()

	ts = startServerConfig(t, engine.Config{DataDir: data, SecureFilePriv: str("")})
	db = ts.open("")
	if got := queryRows(t, db, "SELECT @@secure_file_priv"); got[0][0] != "" {
		t.Errorf("@@secure_file_priv %q, want ''", got[0][0])
	}
	if got := loadFile(t, db, outside); got != "1\n" {
		t.Errorf("LOAD_FILE with '': %q", got)
	}
	expectErr(t, db, "SELECT 1 INTO OUTFILE '"+filepath.Join(data, "x")+"'", 1290)
	expectErr(t, db, "LOAD DATA INFILE '"+filepath.Join(data, "x")+"' INTO TABLE fs.t", 1290)
	ts.stop()

	for what, dir := range map[string]string{
		"the data directory":  data,
		"inside it":           filepath.Join(data, "warehouse"),
		"above it":            filepath.Dir(data),
		"it, spelled with ..": filepath.Join(data, "..", filepath.Base(data)),
	} {
		srv, err := engine.NewServer(engine.Config{Addr: "127.0.0.1:0", DataDir: data, Quiet: true, SecureFilePriv: str(dir)})
		if err == nil {
			srv.Close()
			t.Errorf("secure_file_priv %s (%s): the server started", what, dir)
		} else if !strings.Contains(err.Error(), "secure-file-priv") {
			t.Errorf("secure_file_priv %s: error %q does not name the flag", what, err)
		}
	}
}
