"""Shared by the Python client sessions: a list of named checks that goes
on after a failure, and the quoted-CSV fixture."""

import csv
import datetime
import os
import time
import traceback
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# quoted.csv: commas, doubled quotes and a newline inside quotes, UTF-8,
# an empty quoted field and \N (NULL). QUOTED_ROWS is what a table
# (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)
# must hold after loading it.
QUOTED_CSV = os.path.join(HERE, "quoted.csv")
QUOTED_ROWS = [
    (1, "Smith, John", 'said "hi"', 1.5),
    (2, "two\nlines", "plain", -2.25),
    (3, "Zürich", "", None),
    (4, '"quoted"', 'a,b,"c"', 4000.0),
]
LOAD_QUOTED = (
    "LOAD DATA LOCAL INFILE '{path}' INTO TABLE quoted "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
    "LINES TERMINATED BY '\\n' IGNORE 1 LINES"
)


# The bulk fixture: BULK_ROWS rows of a table (id BIGINT PRIMARY KEY,
# k INT, x DOUBLE, name VARCHAR(40), ts DATETIME) loaded through each
# client's bulk path. Every x is a multiple of 1/8, so that its sum is
# exact whatever the order of addition; k is NULL in every 13th row; the
# names hold commas, doubled quotes, a newline, UTF-8 and the empty string.
BULK_ROWS = 100_000
BULK_TABLE = "CREATE TABLE {name} (id BIGINT PRIMARY KEY, k INT, x DOUBLE, name VARCHAR(40), ts DATETIME)"
BULK_EPOCH = datetime.datetime(2024, 1, 1)
# BULK_CHECKSUM is the server's checksum of a bulk table; bulk_checksum
# computes the same numbers on the client.
BULK_CHECKSUM = (
    "SELECT COUNT(*), SUM(id), COUNT(k), SUM(k), SUM(x), SUM(CRC32(name)), SUM(LENGTH(name)), "
    "SUM(CRC32(CAST(ts AS CHAR))) FROM {name}"
)
LOAD_BULK = (
    "LOAD DATA LOCAL INFILE %s INTO TABLE {name} "
    "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' "
    "LINES TERMINATED BY '\\n' IGNORE 1 LINES"
)


def bulk_name(i):
    if i % 17 == 0:
        return f"two\nlines {i}"
    if i % 11 == 0:
        return ""
    if i % 7 == 0:
        return f"Zürich {i}"
    if i % 5 == 0:
        return f'Smith, "J" {i}'
    return f"row {i}"


def bulk_rows(n=BULK_ROWS):
    """The bulk fixture's rows as tuples (id, k, x, name, ts)."""
    return [
        (i,
         None if i % 13 == 0 else (i * 7919) % 2001 - 1000,
         ((i * 31) % 4001 - 2000) / 8,
         bulk_name(i),
         BULK_EPOCH + datetime.timedelta(seconds=37 * i))
        for i in range(n)
    ]


def bulk_checksum(rows):
    """The values of BULK_CHECKSUM over rows, computed here."""
    ks = [r[1] for r in rows if r[1] is not None]
    names = [r[3].encode("utf-8") for r in rows]
    return (
        len(rows),
        sum(r[0] for r in rows),
        len(ks),
        sum(ks),
        sum(r[2] for r in rows),
        sum(zlib.crc32(b) for b in names),
        sum(len(b) for b in names),
        sum(zlib.crc32(r[4].strftime("%Y-%m-%d %H:%M:%S").encode()) for r in rows),
    )


def expect_checksum(got, want):
    """Compares a BULK_CHECKSUM row with bulk_checksum's numbers by value
    (MySQL sums integers as DECIMAL, a driver may give floats)."""
    got = tuple(None if v is None else float(v) for v in got)
    if got != tuple(float(v) for v in want):
        raise AssertionError(
            "checksum (count, sum(id), count(k), sum(k), sum(x), sum(crc32(name)), sum(length(name)), "
            f"sum(crc32(ts))): got {got!r}, want {tuple(want)!r}")


def write_bulk_csv(path, rows):
    """Writes rows as a CSV with a header line, as Python's csv module
    does (fields with commas, quotes or newlines enclosed in double
    quotes, quotes doubled), NULL as \\N."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "k", "x", "name", "ts"])
        for i, k, x, name, ts in rows:
            w.writerow([i, "\\N" if k is None else k, repr(x), name, ts.strftime("%Y-%m-%d %H:%M:%S")])


class Timer:
    """Measures a bulk path: str(t) is the wall time since start."""

    def __init__(self):
        self.start = time.monotonic()

    def __str__(self):
        return f"{time.monotonic() - self.start:.1f} s"


class StatementError(AssertionError):
    """A statement failed; code is the MySQL error number when known."""

    def __init__(self, msg, code=None):
        super().__init__(msg)
        self.code = code


def error_code(e):
    """The MySQL error number of a driver exception, or None."""
    args = getattr(e, "orig", e).args  # SQLAlchemy wraps the driver's error
    return args[0] if args and isinstance(args[0], int) else None


def run(cur, sql, args=None):
    """Executes sql on cursor cur and returns all its rows as tuples;
    a failure raises StatementError naming the statement."""
    try:
        if args is None:
            cur.execute(sql)
        else:
            cur.execute(sql, args)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []
    except Exception as e:
        shown = sql if args is None else f"{sql} with {args!r}"
        raise StatementError(f"{shown} => {type(e).__name__}: {e}", error_code(e)) from None


def expect_equal(got, want):
    if got != want:
        raise AssertionError(f"got {got!r}, want {want!r}")


def expect_error(fn, code):
    try:
        fn()
    except AssertionError as e:
        if getattr(e, "code", None) == code:
            return
        raise AssertionError(f"want error {code}, got: {e}") from None
    raise AssertionError(f"want error {code}, got success")


class Checks:
    """Named checks run in order; a failure is printed and counted, and
    the next check still runs."""

    def __init__(self, client, on_fail=None):
        self.client = client
        self.on_fail = on_fail
        self.passed = 0
        self.failed = 0

    def check(self, name):
        def run_check(fn):
            try:
                detail = fn()
            except AssertionError as e:
                self._fail(name, str(e))
            except Exception as e:
                msg = f"{type(e).__name__}: {e}"
                if error_code(e) is None:  # not the server's answer: show where
                    msg += "\n" + traceback.format_exc()
                self._fail(name, msg)
            else:
                self.passed += 1
                print(f"ok   {name}" + (f": {detail}" if detail else ""), flush=True)
            return fn

        return run_check

    def _fail(self, name, msg):
        self.failed += 1
        print(f"FAIL {name}: {msg}", flush=True)
        if self.on_fail:
            try:
                self.on_fail()
            except Exception:
                pass

    def finish(self):
        print(f"{self.client}: {self.passed} checks passed, {self.failed} failed")
        return 1 if self.failed else 0
