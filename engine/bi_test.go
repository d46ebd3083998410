package engine_test

import (
	"strings"
	"testing"
)

// biTestServer starts a server with database bi holding table t (a
// primary key, so that a point lookup returns at most one row).
func biTestServer(t *testing.T) *testServer {
	t.Helper()
	ts := startServer(t, t.TempDir(), false)
	db := ts.open("")
	mustExec(t, db, "CREATE DATABASE bi")
	mustExec(t, db, "CREATE TABLE bi.t (id INT PRIMARY KEY, g INT, x DOUBLE)")
	mustExec(t, db, "INSERT INTO bi.t VALUES (1, 1, 0.5), (2, 1, 1.5), (3, 2, 2.5)")
	db.Close()
	return ts
}

// TestBIConnectAndMetadataQueries runs, verbatim, what DBeaver, Metabase
// (MySQL and MariaDB Connector/J), Grafana, Superset (SQLAlchemy) and
// Tableau (Connector/ODBC) send when they connect and browse a schema.
// Bug caught: a system variable or statement one of them needs is
// missing (the tool fails to connect: "Unknown system variable").
func TestBIConnectAndMetadataQueries(t *testing.T) {
	ts := biTestServer(t)
	db := ts.open("bi")
	for _, q := range []string{
		// Connector/J 8 (DBeaver, Metabase).
		"SELECT @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_buffer_length AS net_buffer_length, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@query_cache_size AS query_cache_size, @@query_cache_type AS query_cache_type, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout",
		"SELECT @@session.transaction_read_only",
		"SELECT id, collation_name FROM information_schema.collations ORDER BY id",
		"SHOW FULL COLUMNS FROM `t` FROM `bi` LIKE '%'",
		"SELECT TABLE_SCHEMA AS TABLE_CAT, NULL AS TABLE_SCHEM, TABLE_NAME, CASE WHEN TABLE_TYPE='BASE TABLE' THEN CASE WHEN TABLE_SCHEMA = 'mysql' OR TABLE_SCHEMA = 'performance_schema' THEN 'SYSTEM TABLE' ELSE 'TABLE' END WHEN TABLE_TYPE='TEMPORARY' THEN 'LOCAL_TEMPORARY' ELSE TABLE_TYPE END AS TABLE_TYPE, TABLE_COMMENT AS REMARKS, NULL AS TYPE_CAT, NULL AS TYPE_SCHEM, NULL AS TYPE_NAME, NULL AS SELF_REFERENCING_COL_NAME, NULL AS REF_GENERATION FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = 'bi' AND TABLE_NAME LIKE '%' HAVING TABLE_TYPE IN ('TABLE','VIEW') ORDER BY TABLE_TYPE, TABLE_CAT, TABLE_SCHEM, TABLE_NAME",
		"SELECT ROUTINE_SCHEMA AS PROCEDURE_CAT, NULL AS PROCEDURE_SCHEM, ROUTINE_NAME AS PROCEDURE_NAME, NULL AS RESERVED_1, NULL AS RESERVED_2, NULL AS RESERVED_3, ROUTINE_COMMENT AS REMARKS, CASE WHEN ROUTINE_TYPE = 'PROCEDURE' THEN 1 WHEN ROUTINE_TYPE='FUNCTION' THEN 2 ELSE 0 END AS PROCEDURE_TYPE, ROUTINE_NAME AS SPECIFIC_NAME FROM INFORMATION_SCHEMA.ROUTINES WHERE ROUTINE_SCHEMA LIKE 'bi' AND ROUTINE_NAME LIKE '%' ORDER BY ROUTINE_SCHEMA, ROUTINE_NAME, ROUTINE_TYPE",
		"SELECT A.REFERENCED_TABLE_SCHEMA AS PKTABLE_CAT,NULL AS PKTABLE_SCHEM, A.REFERENCED_TABLE_NAME AS PKTABLE_NAME, A.REFERENCED_COLUMN_NAME AS PKCOLUMN_NAME, A.TABLE_SCHEMA AS FKTABLE_CAT, NULL AS FKTABLE_SCHEM, A.TABLE_NAME AS FKTABLE_NAME, A.COLUMN_NAME AS FKCOLUMN_NAME, A.ORDINAL_POSITION AS KEY_SEQ, A.CONSTRAINT_NAME AS FK_NAME FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE A WHERE A.TABLE_SCHEMA = 'bi' AND A.REFERENCED_TABLE_SCHEMA IS NOT NULL ORDER BY A.REFERENCED_TABLE_SCHEMA, A.REFERENCED_TABLE_NAME, A.ORDINAL_POSITION",
		// MariaDB Connector/J (Metabase).
		"SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment",
		"SET autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')",
		// DBeaver.
		"SELECT @@version_comment",
		"SHOW VARIABLES LIKE 'lower_case_table_names'",
		"SHOW ENGINES",
		"SHOW CHARSET",
		"SHOW COLLATION",
		"SHOW PLUGINS",
		"SHOW FULL TABLES FROM `bi`",
		"SHOW TABLE STATUS FROM `bi` LIKE 't'",
		"SHOW INDEX FROM `t` FROM `bi`",
		"SELECT * FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = 'bi' ORDER BY t.TABLE_NAME",
		"SELECT * FROM information_schema.COLUMNS c WHERE c.TABLE_SCHEMA = 'bi' AND c.TABLE_NAME = 't' ORDER BY c.ORDINAL_POSITION",
		"SELECT * FROM information_schema.KEY_COLUMN_USAGE kcu WHERE kcu.TABLE_SCHEMA = 'bi' AND kcu.TABLE_NAME = 't' ORDER BY kcu.ORDINAL_POSITION",
		"SELECT * FROM information_schema.ROUTINES r WHERE r.ROUTINE_SCHEMA = 'bi'",
		"SELECT * FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'bi'",
		"SELECT * FROM information_schema.VIEWS WHERE TABLE_SCHEMA = 'bi'",
		"SELECT @@have_ssl",
		// Grafana (go-sql-driver).
		"SELECT DATABASE()",
		"SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() ORDER BY table_name",
		"SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 't' ORDER BY column_name",
		"SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ('information_schema','performance_schema','sys','mysql')",
		// Superset (SQLAlchemy's MySQL dialect).
		"SHOW VARIABLES LIKE 'sql_mode'",
		"SHOW COLLATION WHERE `Charset` = 'utf8mb4' AND `Collation` = 'utf8mb4_bin'",
		"SELECT CAST('test plain returns' AS CHAR(60)) AS anon_1",
		"SELECT @@transaction_isolation",
		"SHOW SCHEMAS",
		"SHOW CREATE TABLE `bi`.`t`",
		// Tableau (Connector/ODBC).
		"SET NAMES utf8mb4",
		"SET character_set_results = NULL",
		"SET SQL_AUTO_IS_NULL = 0",
		"SHOW KEYS FROM `t` FROM `bi`",
		// performance_schema, read by DBeaver's session manager and
		// Connector/J's getClientInfo/server checks.
		"SELECT VARIABLE_NAME, VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME IN ('version','version_comment','innodb_version')",
		"SELECT * FROM performance_schema.session_variables WHERE VARIABLE_NAME = 'sql_mode'",
		"SELECT * FROM performance_schema.global_status WHERE VARIABLE_NAME = 'Uptime'",
		"SELECT * FROM performance_schema.session_status WHERE VARIABLE_NAME = 'Threads_connected'",
	} {
		if n, msg := errNumber(t, db, q); n != 0 {
			t.Errorf("%s\nfails: %d %s", q, n, msg)
		}
	}
}

// TestSchemataListsSystemDatabases: information_schema.SCHEMATA lists
// mysql and performance_schema, as MySQL does, and SHOW DATABASES lists
// each once. Bugs caught: SCHEMATA without mysql (tools hide or cannot
// browse it), or mysql listed twice by SHOW DATABASES.
func TestSchemataListsSystemDatabases(t *testing.T) {
	ts := biTestServer(t)
	db := ts.open("")
	want := "bi information_schema mysql performance_schema"
	if got := joinCol(queryRows(t, db, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME")); got != want {
		t.Errorf("SCHEMATA = %s, want %s", got, want)
	}
	if got := joinCol(queryRows(t, db, "SHOW DATABASES")); got != want {
		t.Errorf("SHOW DATABASES = %s, want %s", got, want)
	}
	if got := joinCol(queryRows(t, db, "SHOW TABLES FROM performance_schema")); got != "global_status global_variables session_status session_variables" {
		t.Errorf("performance_schema tables: %s", got)
	}
}

func joinCol(rows [][]string) string {
	var out []string
	for _, r := range rows {
		out = append(out, r[0])
	}
	return strings.Join(out, " ")
}

// TestPerformanceSchemaVariables: session_variables shows the session's
// value and global_variables the server's, as SHOW [GLOBAL] VARIABLES
// do. Bug caught: the two tables read the same scope (a session's SET
// showing in global_variables, or not in session_variables).
func TestPerformanceSchemaVariables(t *testing.T) {
	ts := biTestServer(t)
	db := ts.open("bi") // one connection: the SET applies to the queries below
	mustExec(t, db, "SET SESSION sql_mode = 'ANSI_QUOTES'")
	sess := queryRows(t, db, "SELECT VARIABLE_VALUE FROM performance_schema.session_variables WHERE VARIABLE_NAME = 'sql_mode'")
	glob := queryRows(t, db, "SELECT VARIABLE_VALUE FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'sql_mode'")
	if len(sess) != 1 || sess[0][0] != "ANSI_QUOTES" {
		t.Errorf("session sql_mode = %v, want ANSI_QUOTES", sess)
	}
	if len(glob) != 1 || glob[0][0] == "ANSI_QUOTES" {
		t.Errorf("global sql_mode = %v, want the server default", glob)
	}
	ver := queryRows(t, db, "SELECT VARIABLE_VALUE, VERSION() FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'version'")
	if len(ver) != 1 || ver[0][0] != ver[0][1] {
		t.Errorf("global_variables version = %v, want VERSION()", ver)
	}
	st := queryRows(t, db, "SELECT VARIABLE_VALUE FROM performance_schema.session_status WHERE VARIABLE_NAME = 'Threads_connected'")
	if len(st) != 1 || st[0][0] == "0" {
		t.Errorf("session_status Threads_connected = %v, want this connection counted", st)
	}
}

// TestPerformanceSchemaReadOnly: performance_schema refuses writes with
// MySQL's errors, 1142 for its tables and 1044 for the database. Bug
// caught: a write that succeeds, or fails with a message no tool
// recognises (1105).
func TestPerformanceSchemaReadOnly(t *testing.T) {
	ts := biTestServer(t)
	db := ts.open("bi")
	for q, code := range map[string]uint16{
		"INSERT INTO performance_schema.global_variables VALUES ('a', 'b')":                                1142,
		"REPLACE INTO performance_schema.global_variables VALUES ('a', 'b')":                               1142,
		"UPDATE performance_schema.global_variables SET VARIABLE_VALUE = 'x' WHERE VARIABLE_NAME = 'port'": 1142,
		"DELETE FROM performance_schema.session_status":                                                    1142,
		"TRUNCATE TABLE performance_schema.global_status":                                                  1142,
		"DROP TABLE performance_schema.global_status":                                                      1142,
		"CREATE TABLE performance_schema.x (a INT)":                                                        1044,
		"CREATE VIEW performance_schema.v AS SELECT 1":                                                     1044,
		"DROP DATABASE performance_schema":                                                                 1044,
		"CREATE DATABASE performance_schema":                                                               1007,
	} {
		expectErr(t, db, q, code)
	}
	if got := queryRows(t, db, "SELECT COUNT(*) FROM performance_schema.global_variables WHERE VARIABLE_NAME = 'a'"); got[0][0] != "0" {
		t.Errorf("a refused INSERT left a row")
	}
}

// TestExplainAnalyzeOneRow: EXPLAIN ANALYZE answers with its plan in one
// row, also for statements that return at most one row. Bug caught:
// go-mysql-server's row per plan line, refused for those statements
// with 1105 "max1Row iterator returned more than one row".
func TestExplainAnalyzeOneRow(t *testing.T) {
	ts := biTestServer(t)
	db := ts.open("bi")
	for _, q := range []string{
		"EXPLAIN ANALYZE SELECT * FROM t WHERE id = 2",
		"EXPLAIN ANALYZE SELECT COUNT(*) FROM t",
		"EXPLAIN ANALYZE SELECT g, SUM(x) FROM t GROUP BY g",
		"EXPLAIN FORMAT=TREE SELECT COUNT(*) FROM t",
	} {
		rows := queryRows(t, db, q)
		if len(rows) != 1 || !strings.Contains(rows[0][0], "\n") {
			t.Errorf("%s: %d rows, want the plan in one row: %v", q, len(rows), rows)
		}
	}
}
