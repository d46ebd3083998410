package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// secureFilePriv is the server's @@secure_file_priv, "NULL" for NULL.
func secureFilePriv(t *testing.T, s *server) string {
	t.Helper()
	db, err := s.open(t, "root", "", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v sql.NullString
	if err := db.QueryRow("SELECT @@secure_file_priv").Scan(&v); err != nil {
		t.Fatal(err)
	}
	if !v.Valid {
		return "NULL"
	}
	return v.String
}

// TestSecureFilePrivRefusesDataDir starts the binary with
// --secure-file-priv naming the data directory, a folder in it and a
// folder above it. Bug caught: a server that starts and lets every
// client with FILE read and overwrite its tables' files.
func TestSecureFilePrivRefusesDataDir(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	for _, dir := range []string{data, filepath.Join(data, "warehouse"), filepath.Dir(data)} {
		out, errOut, code := runBinary(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--examples", "", "--secure-file-priv", dir)
		if code != exitFail || strings.Contains(errOut, "ready:") || out != "" {
			t.Errorf("--secure-file-priv %s: exit %d, stdout %q, stderr %q; want 1 and no ready line", dir, code, out, errOut)
		}
		if !strings.Contains(errOut, "--secure-file-priv") || !strings.Contains(errOut, "data directory") {
			t.Errorf("--secure-file-priv %s: stderr %q does not say why", dir, errOut)
		}
	}
}

// TestSecureFilePrivFlag checks the flag's three forms as @@secure_file_priv
// shows them. Bugs caught: an empty default (every file of the host open
// to FILE holders); the empty value (asked for) taken for "not given";
// NULL taken for a folder named NULL.
func TestSecureFilePrivFlag(t *testing.T) {
	s := startServer(t, "--examples", "")
	v := secureFilePriv(t, s)
	if !strings.HasSuffix(v, string(filepath.Separator)+"files"+string(filepath.Separator)) {
		t.Errorf("default @@secure_file_priv %q, want the folder files beside the data directory", v)
	} else if st, err := os.Stat(v); err != nil || !st.IsDir() {
		t.Errorf("default secure_file_priv %s was not created: %v", v, err)
	}
	s.stop(t)

	dir := t.TempDir()
	for flag, want := range map[string]string{dir: dir + string(filepath.Separator), "NULL": "NULL", "": ""} {
		s := startServer(t, "--examples", "", "--secure-file-priv", flag)
		if got := secureFilePriv(t, s); got != want {
			t.Errorf("--secure-file-priv %q: @@secure_file_priv %q, want %q", flag, got, want)
		}
		log := s.stop(t)
		if warned := strings.Contains(log, "--secure-file-priv ''"); warned != (flag == "") {
			t.Errorf("--secure-file-priv %q: warning about '' shown %v; log:\n%s", flag, warned, log)
		}
	}
}
