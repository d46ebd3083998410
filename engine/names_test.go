package engine_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnusualNamesNeverBrickTheServer: a database name that Iceberg would
// escape in its paths is refused with 1102 and leaves no directory; table
// names with spaces, '%', non-ASCII characters and emoji work, survive a
// restart and can be dropped, and the server starts again afterwards.
// Catches: a table directory named after such a name (Iceberg writes the
// files under the escaped name, a restart shows a phantom database or
// table, and dropping it deletes the real files), a database created
// under a name with a space.
func TestUnusualNamesNeverBrickTheServer(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	expectErr(t, db, "CREATE DATABASE `my db`", 1102)
	expectErr(t, db, "CREATE DATABASE `ünï😀db`", 1102)
	names := []string{"my table", "ünï😀", "a%20b", "x.y"}
	mustExec(t, db, "CREATE DATABASE nm")
	for i, n := range names {
		mustExec(t, db, "CREATE TABLE nm.`"+n+"` (id INT PRIMARY KEY)")
		mustExec(t, db, "INSERT INTO nm.`"+n+"` VALUES (?)", i)
	}
	check := func(where string) {
		t.Helper()
		var want [][]string
		for _, n := range []string{"a%20b", "my table", "x.y", "ünï😀"} {
			want = append(want, r(n))
		}
		expectRows(t, db, "SHOW TABLES FROM nm", want)
		expectRows(t, db, "SHOW DATABASES LIKE 'my %'", nil)
		for i, n := range names {
			expectRows(t, db, "SELECT id FROM nm.`"+n+"`", [][]string{r(string(rune('0' + i)))})
		}
	}
	check("before restart")
	ents, err := os.ReadDir(filepath.Join(dir, "warehouse", "nm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.ContainsAny(e.Name(), " %.") || e.Name() != strings.ToValidUTF8(e.Name(), "") || strings.ContainsFunc(e.Name(), func(r rune) bool { return r > 127 }) {
			t.Errorf("database nm has directory %q", e.Name())
		}
	}
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("")
	check("after restart")
	for _, n := range names {
		mustExec(t, db, "DROP TABLE nm.`"+n+"`")
	}
	ents, err = os.ReadDir(filepath.Join(dir, "warehouse"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.ContainsAny(e.Name(), " %") {
			t.Errorf("warehouse has directory %q", e.Name())
		}
	}
	ts.stop()
	ts = startServer(t, dir, false)
	expectRows(t, ts.open(""), "SHOW TABLES FROM nm", nil)
}
