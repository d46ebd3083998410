package engine

import "testing"

// TestIsLoadDataLocal: the statements the retry of autocommit statements
// must never run twice (their file comes from the client once) are
// recognised, and no other. Catches: a LOAD DATA LOCAL behind a comment or
// in lower case taken for another statement, or every LOAD DATA refused.
func TestIsLoadDataLocal(t *testing.T) {
	for _, c := range []struct {
		query string
		want  bool
	}{
		{"LOAD DATA LOCAL INFILE 'x.csv' INTO TABLE t", true},
		{"  /* bulk */ load data low_priority local infile 'x' into table t", true},
		{"LOAD DATA INFILE 'local.csv' INTO TABLE t", false},
		{"LOAD DATA INFILE 'x' INTO TABLE local", false},
		{"UPDATE t SET v = 1 WHERE id = 2", false},
		{"INSERT INTO t SELECT * FROM local", false},
		{"", false},
	} {
		if got := isLoadDataLocal(c.query); got != c.want {
			t.Errorf("isLoadDataLocal(%q) = %v, want %v", c.query, got, c.want)
		}
	}
}
