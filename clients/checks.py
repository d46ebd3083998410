"""Shared by the Python client sessions: a list of named checks that goes
on after a failure, and the quoted-CSV fixture."""

import os
import traceback

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
