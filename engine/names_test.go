package engine_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestUnusualNamesNeverBrickTheServer round-trips database and table
// names with spaces, '%', dots, quotes, non-ASCII characters, emoji and 64
// characters through create, write, restart and drop: each works, maps to
// one directory that is plain ASCII, survives restarts, and the server
// starts again after the drops. Catches: a directory named after such a
// name (Iceberg writes the files under the escaped name, a restart shows
// a phantom database or table, and dropping it deletes the real files), a
// database whose name is lost at restart.
func TestUnusualNamesNeverBrickTheServer(t *testing.T) {
	dir := t.TempDir()
	ts := startServer(t, dir, false)
	db := ts.open("")
	long := strings.Repeat("a b", 21) + "c" // 64 characters: go-mysql-server limits table names to 64 bytes
	dbNames := []string{"my db", "ünï😀db", "a%20b", "d.o.t", "it's", long}
	names := []string{"my table", "ünï😀", "a%20b", "x.y", long}
	for _, d := range dbNames {
		q := "`" + strings.ReplaceAll(d, "`", "``") + "`"
		mustExec(t, db, "CREATE DATABASE "+q)
		for i, n := range names {
			mustExec(t, db, "CREATE TABLE "+q+".`"+n+"` (id INT PRIMARY KEY)")
			mustExec(t, db, "INSERT INTO "+q+".`"+n+"` VALUES (?)", i)
		}
	}
	expectErr(t, db, "CREATE DATABASE `"+long+"x`", 1102)
	expectErr(t, db, "CREATE DATABASE `ends with space `", 1102)
	check := func(where string) {
		t.Helper()
		var want [][]string
		for _, d := range dbNames {
			want = append(want, r(d))
		}
		got := queryRows(t, db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('information_schema', 'mysql', 'performance_schema', 'sys') ORDER BY SCHEMA_NAME")
		want = sortRows(want)
		got = sortRows(got)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: databases %q, want %q", where, got, want)
		}
		for _, d := range dbNames {
			q := "`" + strings.ReplaceAll(d, "`", "``") + "`"
			for i, n := range names {
				expectRows(t, db, "SELECT id FROM "+q+".`"+n+"`", [][]string{r(fmt.Sprint(i))})
			}
		}
	}
	check("before restart")
	plainDirs := func() {
		t.Helper()
		err := filepath.WalkDir(filepath.Join(dir, "warehouse"), func(p string, e fs.DirEntry, err error) error {
			if err != nil || !e.IsDir() {
				return err
			}
			if strings.ContainsAny(e.Name(), " %'") || strings.ContainsFunc(e.Name(), func(r rune) bool { return r > 127 }) {
				t.Errorf("directory %q", p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	plainDirs()
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("")
	check("after restart")
	for _, d := range dbNames[1:] {
		mustExec(t, db, "DROP DATABASE `"+strings.ReplaceAll(d, "`", "``")+"`")
	}
	for _, n := range names {
		mustExec(t, db, "DROP TABLE `my db`.`"+n+"`")
	}
	plainDirs()
	ts.stop()
	ts = startServer(t, dir, false)
	db = ts.open("")
	expectRows(t, db, "SHOW TABLES FROM `my db`", nil)
	expectRows(t, db, "SHOW DATABASES LIKE '%ü%'", nil)
	mustExec(t, db, "DROP DATABASE `my db`")
	ents, err := os.ReadDir(filepath.Join(dir, "warehouse"))
	if err != nil || len(ents) != 0 {
		t.Errorf("warehouse after dropping every database: %v %v", ents, err)
	}
}
