package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-sql-driver/mysql"
)

// TestPasswordFile: --password-file sets root's password from the
// file's first line (its line end and any later lines ignored), so that
// the password is not on the command line; it excludes --password; a
// missing file stops the start. Bugs caught: the line end kept in the
// password (no client can log in), the file ignored (root without a
// password), --password silently winning over the file.
func TestPasswordFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "root.pw")
	if err := os.WriteFile(file, []byte("s3cret pass\r\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--examples", "", "--password-file", file)
	if !strings.Contains(s.ready, " -p") {
		t.Errorf("ready line %q lacks -p", s.ready)
	}
	if strings.Contains(strings.Join(s.cmd.Args, " "), "s3cret") {
		t.Fatal("the password is on the command line")
	}
	if _, err := s.open(t, "root", "s3cret pass", ""); err != nil {
		t.Errorf("root with the file's first line: %v", err)
	}
	for _, pw := range []string{"", "s3cret pass\r", "second line"} {
		_, err := s.open(t, "root", pw, "")
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1045 {
			t.Errorf("root with password %q: %v, want 1045", pw, err)
		}
	}
	s.stop(t)

	data := filepath.Join(t.TempDir(), "data")
	if _, errOut, code := runBinary(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--password", "x", "--password-file", file); code != 2 || !strings.Contains(errOut, "--password-file") {
		t.Errorf("--password with --password-file: exit %d, stderr %q; want 2 and a usage error", code, errOut)
	}
	if _, errOut, code := runBinary(t, "serve", "--addr", "127.0.0.1:0", "--data-dir", data, "--password-file", file+".missing"); code != 1 || !strings.Contains(errOut, "root.pw.missing") {
		t.Errorf("a missing --password-file: exit %d, stderr %q; want 1 naming the file", code, errOut)
	}
}
