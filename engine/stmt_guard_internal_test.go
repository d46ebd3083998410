package engine

import "testing"

func TestTimeLimited(t *testing.T) {
	for q, want := range map[string]bool{
		"SELECT 1":                  true,
		"  /* c */ select * from t": true,
		"-- note\n# other\nWITH x AS (SELECT 1) SELECT * FROM x": true,
		"(SELECT 1) UNION (SELECT 2)":                            true,
		"CREATE DETECTOR d USING vae AS SELECT 1":                true,
		"create or replace detector d using vae as select 1":     true,
		"CREATE TABLE t AS SELECT 1":                             false,
		"INSERT INTO t SELECT * FROM u":                          false,
		"/*!40101 SET NAMES utf8 */":                             false,
		"/* unterminated":                                        false,
		"":                                                       false,
	} {
		if got := timeLimited(q); got != want {
			t.Errorf("timeLimited(%q) = %v, want %v", q, got, want)
		}
	}
}
