#!/usr/bin/env bash
# Client compatibility session: Debian's mariadb (or mysql) command-line
# client and mariadb-dump (or mysqldump) against a running anomalydb with
# the examples loaded.
#
#   clients/mariadb.sh HOST PORT
#
# Prints one line per check ("ok ..." or "FAIL ..."), goes on after a
# failed check so that one run shows every failure, and exits 1 if any
# check failed (2 on a usage error or a missing tool).
set -u
HOST=${1:?usage: mariadb.sh HOST PORT}
PORT=${2:?usage: mariadb.sh HOST PORT}
HERE=$(cd "$(dirname "$0")" && pwd)
CSV=$HERE/quoted.csv
DB=c_mariadb
RESTORE=c_mariadb_restore

CLI=$(command -v mariadb || command -v mysql) || { echo "mariadb.sh: no mariadb or mysql client (make clients-deps)"; exit 2; }
DUMP=$(command -v mariadb-dump || command -v mysqldump) || { echo "mariadb.sh: no mariadb-dump or mysqldump (make clients-deps)"; exit 2; }
TMP=$(mktemp -d) || exit 2
trap 'rm -rf "$TMP"' EXIT

# sql [options] -e STATEMENTS: one session of the CLI, tab-separated
# output without column names. --no-defaults keeps ~/.my.cnf out.
sql() { "$CLI" --no-defaults --protocol=TCP -h "$HOST" -P "$PORT" -u root --batch --skip-column-names "$@"; }

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   $1"; }
bad() { failed=$((failed + 1)); echo "FAIL $1"; }
# errmsg OUTPUT: the CLI's ERROR lines of OUTPUT (it echoes the failed
# statement between dashes too), or OUTPUT when it has none.
errmsg() { grep '^ERROR' <<<"$1" || printf '%s\n' "$1"; }

# expect NAME WANT STATEMENTS: runs STATEMENTS in one session in $DB and
# requires its whole output to be WANT.
expect() {
	local name=$1 want=$2 stmts=$3 got
	if ! got=$(sql "$DB" -e "$stmts" 2>&1); then
		bad "$name: $stmts => $(errmsg "$got")"
		return 1
	fi
	if [ "$got" != "$want" ]; then
		bad "$name: $stmts => got [$got], want [$want]"
		return 1
	fi
	ok "$name"
}

echo "client: $("$CLI" --version)"
if ! out=$(sql -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS $RESTORE; CREATE DATABASE $DB" 2>&1); then
	echo "FAIL setup: creating database $DB: $out"
	exit 1
fi

# --- detector: create, list, score with placeholders, drop -------------
expect "CREATE DETECTOR" "" \
	"CREATE DETECTOR d USING autoencoder WITH (epochs = 2, seed = 1) AS SELECT f0, f1, f2 FROM examples.thyroid"
# SHOW DETECTORS has more columns (train_seconds, created_at): compare the first five.
if got=$(sql "$DB" -e "SHOW DETECTORS" 2>&1); then
	first=$(printf '%s\n' "$got" | cut -f1-5)
	if [ "$first" = "d	autoencoder	f0,f1,f2	3772	ready" ]; then ok "SHOW DETECTORS: d autoencoder f0,f1,f2 3772 ready"; else bad "SHOW DETECTORS: got [$got]"; fi
else
	bad "SHOW DETECTORS: $got"
fi

# The row's own score, then the same score from its values passed as
# parameters of a server-side prepared statement (the CLI's placeholders).
row=$(sql -e "SELECT f0, f1, f2, anomaly_score('$DB.d', f0, f1, f2) FROM examples.thyroid WHERE id = 7" 2>&1)
IFS=$'\t' read -r f0 f1 f2 want <<<"$row"
if [ -z "${want:-}" ]; then
	bad "score of row 7: $row"
else
	ok "score of row 7 = $want"
	expect "PREPARE/EXECUTE anomaly_score('d', ?, ?, ?) USING the row's values" "$want" \
		"SET @a = $f0, @b = $f1, @c = $f2; PREPARE s FROM 'SELECT anomaly_score(''d'', ?, ?, ?)'; EXECUTE s USING @a, @b, @c; DEALLOCATE PREPARE s"
	expect "PREPARE/EXECUTE anomaly_score(?, ?, ?, ?) with the name as a parameter" "$want" \
		"SET @n = 'd', @a = $f0, @b = $f1, @c = $f2; PREPARE s FROM 'SELECT anomaly_score(?, ?, ?, ?)'; EXECUTE s USING @n, @a, @b, @c; DEALLOCATE PREPARE s"
	expect "anomaly_score of user variables" "$want" \
		"SET @a = $f0, @b = $f1, @c = $f2; SELECT anomaly_score('d', @a, @b, @c)"
fi
expect "DROP DETECTOR" "" "DROP DETECTOR d"
expect "SHOW DETECTORS empty after DROP" "" "SHOW DETECTORS"
if out=$(sql "$DB" -e "SELECT anomaly_score('d', 1, 2, 3)" 2>&1); then
	bad "scoring a dropped detector succeeded: $out"
elif [[ $out == *"ERROR 1305"* ]]; then
	ok "scoring a dropped detector: error 1305"
else
	bad "scoring a dropped detector: want error 1305, got: $(errmsg "$out")"
fi

# --- SHOW INDEX (GUI clients and ORMs list keys with it) ---------------
if got=$(sql -e "SHOW INDEX FROM examples.thyroid" 2>&1); then
	first=$(printf '%s\n' "$got" | cut -f1-5)
	if [ "$first" = "thyroid	0	PRIMARY	1	id" ]; then ok "SHOW INDEX FROM examples.thyroid: PRIMARY (id)"; else bad "SHOW INDEX FROM examples.thyroid: got [$got], want the row thyroid 0 PRIMARY 1 id ..."; fi
else
	bad "SHOW INDEX FROM examples.thyroid: $(errmsg "$got")"
fi

# --- transactions -------------------------------------------------------
expect "create tx table" "" \
	"CREATE TABLE tx (id INT PRIMARY KEY, v VARCHAR(16)); INSERT INTO tx VALUES (1, 'kept')"
expect "BEGIN; INSERT; ROLLBACK undoes the insert" "2
1
1" \
	"BEGIN; INSERT INTO tx VALUES (2, 'undone'); SELECT COUNT(*) FROM tx; ROLLBACK; SELECT COUNT(*) FROM tx; SELECT id FROM tx"
expect "SET autocommit = 0; INSERT; ROLLBACK undoes the insert" "1" \
	"SET autocommit = 0; INSERT INTO tx VALUES (5, 'undone'); ROLLBACK; SET autocommit = 1; SELECT id FROM tx"
expect "SAVEPOINT; ROLLBACK TO SAVEPOINT; COMMIT" "1
3" \
	"START TRANSACTION; INSERT INTO tx VALUES (3, 'kept'); SAVEPOINT sp; INSERT INTO tx VALUES (4, 'undone'); ROLLBACK TO SAVEPOINT sp; COMMIT; SELECT id FROM tx ORDER BY id"
if ! out=$(sql "$DB" -e "BEGIN; INSERT INTO tx VALUES (6, 'lost')" 2>&1); then bad "BEGIN; INSERT then disconnect: $out"; fi
expect "uncommitted insert lost at disconnect" "1
3" "SELECT id FROM tx ORDER BY id"

# --- LOAD DATA LOCAL of a quoted CSV ------------------------------------
expect "create quoted table" "" \
	"CREATE TABLE quoted (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)"
load="LOAD DATA LOCAL INFILE '$CSV' INTO TABLE quoted FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
if out=$(sql --local-infile=1 "$DB" -e "$load" 2>&1); then
	ok "LOAD DATA LOCAL INFILE (quoted CSV)"
else
	bad "LOAD DATA LOCAL INFILE: $load => $(errmsg "$out")"
fi
# HEX(name) of row 2 checks its newline byte by byte (--batch would print it as \n).
want_rows="1	Smith, John	said \"hi\"	1.5
2	74776F0A6C696E6573	plain	-2.25
3	Zürich		NULL
4	\"quoted\"	a,b,\"c\"	4000"
expect "quoted CSV rows (commas, \"\", newline, UTF-8, empty, \\N)" "$want_rows" \
	"SELECT id, IF(id = 2, HEX(name), name), note, x FROM quoted ORDER BY id"

# --- LOAD DATA LOCAL of a 100,000-row CSV (the size users have) ----------
# bulk.csv is written as Python's csv module writes it (fields with a
# comma, a quote or a newline enclosed in double quotes, quotes doubled;
# \N for NULL), bulk.want is the --batch output the table must then give,
# row by row (NULL as NULL, a newline as \n). Every x is a multiple of 1/8,
# written as the server prints a DOUBLE.
BULK_ROWS=100000
LC_ALL=C awk -v n=$BULK_ROWS -v csv="$TMP/bulk.csv" -v want="$TMP/bulk.want" 'BEGIN {
	split(",.125,.25,.375,.5,.625,.75,.875", frac, ",")
	print "id,k,x,name,ts" >csv
	for (i = 0; i < n; i++) {
		k = i % 13 == 0 ? "" : (i * 7919) % 2001 - 1000
		v = (i * 31) % 4001 - 2000
		a = v < 0 ? -v : v
		x = (v < 0 ? "-" : "") int(a / 8) frac[a % 8 + 1]
		if (i % 17 == 0) { name = "two\nlines " i; shown = "two\\nlines " i }
		else if (i % 11 == 0) { name = ""; shown = "" }
		else if (i % 7 == 0) { name = "Zürich " i; shown = name }
		else if (i % 5 == 0) { name = "Smith, \"J\" " i; shown = name }
		else { name = "row " i; shown = name }
		quoted = name
		if (name ~ /[",\n]/) { gsub(/"/, "\"\"", quoted); quoted = "\"" quoted "\"" }
		s = 37 * i; d = int(s / 86400); r = s % 86400
		ts = sprintf("2024-%02d-%02d %02d:%02d:%02d", d < 31 ? 1 : 2, d < 31 ? d + 1 : d - 30, int(r / 3600), int(r % 3600 / 60), r % 60)
		print i "," (k == "" ? "\\N" : k) "," x "," quoted "," ts >csv
		print i "\t" (k == "" ? "NULL" : k) "\t" x "\t" shown "\t" ts >want
	}
}' || bad "writing $TMP/bulk.csv"
expect "create bulk table" "" \
	"CREATE TABLE bulk (id BIGINT PRIMARY KEY, k INT, x DOUBLE, name VARCHAR(40), ts DATETIME)"
load="LOAD DATA LOCAL INFILE '$TMP/bulk.csv' INTO TABLE bulk FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\n' IGNORE 1 LINES"
start=$(date +%s.%N)
if out=$(sql --local-infile=1 "$DB" -e "$load" 2>&1); then
	ok "LOAD DATA LOCAL INFILE of a $BULK_ROWS-row quoted CSV: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f s", e - s }')"
else
	bad "LOAD DATA LOCAL INFILE of a $BULK_ROWS-row CSV: $load => $(errmsg "$out")"
fi
if ! sql "$DB" -e "SELECT id, k, x, name, ts FROM bulk ORDER BY id" >"$TMP/bulk.got" 2>&1; then
	bad "SELECT the $BULK_ROWS loaded rows: $(errmsg "$(cat "$TMP/bulk.got")")"
elif cmp -s "$TMP/bulk.got" "$TMP/bulk.want"; then
	ok "LOAD DATA LOCAL: $BULK_ROWS rows, identical row by row to the file"
else
	bad "LOAD DATA LOCAL: $(wc -l <"$TMP/bulk.got") rows, want $BULK_ROWS; first difference: $(diff "$TMP/bulk.want" "$TMP/bulk.got" | head -4 | tr '\n' ' ')"
fi

# --- dump examples, restore into a new database, compare ----------------
if ! "$DUMP" --no-defaults --protocol=TCP -h "$HOST" -P "$PORT" -u root --single-transaction examples >"$TMP/dump.sql" 2>"$TMP/dump.err"; then
	bad "$(basename "$DUMP") examples: $(cat "$TMP/dump.err")"
else
	ok "$(basename "$DUMP") --single-transaction examples ($(wc -c <"$TMP/dump.sql") bytes)"
	sql -e "CREATE DATABASE $RESTORE" || bad "CREATE DATABASE $RESTORE"
	# --force runs every statement so that one run reports every failing
	# one; any error fails the check.
	sql --force "$RESTORE" <"$TMP/dump.sql" >"$TMP/restore.out" 2>"$TMP/restore.err"
	if [ -s "$TMP/restore.err" ]; then
		bad "restore of the dump: $(grep -c '^ERROR' "$TMP/restore.err") failed statements:"
		# the CLI prints each failed statement between dashes, then ERROR
		grep -v '^-*$' "$TMP/restore.err" | cut -c1-200 | sed 's/^/       /' | head -40
	else
		ok "restore of the dump into $RESTORE"
	fi
	for t in thyroid cardio shuttle; do
		a=$(sql -e "SHOW CREATE TABLE examples.$t" 2>&1 | cut -f2-)
		b=$(sql -e "SHOW CREATE TABLE $RESTORE.$t" 2>&1 | cut -f2-)
		if [ "$a" = "$b" ]; then ok "restored $t: same SHOW CREATE TABLE"; else bad "restored $t: SHOW CREATE TABLE differs: [$a] vs [$b]"; fi
		na=$(sql -e "SELECT COUNT(*) FROM examples.$t" 2>&1)
		ha=$(sql -e "SELECT * FROM examples.$t ORDER BY id" 2>&1 | sha256sum | cut -c1-16)
		nb=$(sql -e "SELECT COUNT(*) FROM $RESTORE.$t" 2>&1)
		hb=$(sql -e "SELECT * FROM $RESTORE.$t ORDER BY id" 2>&1 | sha256sum | cut -c1-16)
		if [ "$na" = "$nb" ] && [ "$ha" = "$hb" ]; then
			ok "restored $t: $nb rows, identical row by row (sha256 $hb)"
		else
			bad "restored $t: $nb rows (sha256 $hb), want $na rows (sha256 $ha)"
		fi
	done
fi

sql -e "DROP DATABASE IF EXISTS $DB; DROP DATABASE IF EXISTS $RESTORE" >/dev/null 2>&1
echo "mariadb: $passed checks passed, $failed failed"
[ "$failed" -eq 0 ]
