"""Client compatibility session: a Python DB-API driver against a running
anomalydb with the examples loaded.

    /usr/bin/python3 clients/dbapi.py pymysql|mysqldb HOST PORT

Both drivers come from Debian (python3-pymysql, python3-mysqldb) and are
used with their defaults, notably autocommit off. Prints one line per
check ("ok ..." or "FAIL ..."), goes on after a failed check so that one
run shows every failure, and exits 1 if any check failed (2 on a usage
error).
"""

import os
import sys
import tempfile

from checks import (Checks, Timer, expect_checksum, expect_equal, expect_error, run,
                    bulk_checksum, bulk_rows, write_bulk_csv,
                    BULK_CHECKSUM, BULK_ROWS, BULK_TABLE, LOAD_BULK,
                    QUOTED_CSV, QUOTED_ROWS, LOAD_QUOTED)


def connect(driver, host, port, **kw):
    if driver == "pymysql":
        import pymysql

        return pymysql.connect(host=host, port=port, user="root", password="",
                               charset="utf8mb4", local_infile=True, **kw)
    import MySQLdb

    if "database" in kw:
        kw["db"] = kw.pop("database")
    return MySQLdb.connect(host=host, port=port, user="root", passwd="",
                           charset="utf8mb4", local_infile=1, **kw)


def bulk_kind(i, kinds):
    """The kind the cats table gives row i (its CASE, in Python)."""
    for k, m in zip(kinds, (5, 7, 17, 11)):
        if i % m == 0:
            return k
    return kinds[-1]


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("pymysql", "mysqldb"):
        print(__doc__)
        return 2
    driver, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = "c_" + driver
    if driver == "pymysql":
        import pymysql as mod
    else:
        import MySQLdb as mod
    print(f"client: {driver} {getattr(mod, '__version__', '?')}")

    setup = connect(driver, host, port)
    cur = setup.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {db}")
    cur.execute(f"CREATE DATABASE {db}")
    setup.commit()
    setup.close()

    conn = connect(driver, host, port, database=db)  # autocommit off: the default
    observer = connect(driver, host, port, database=db, autocommit=True)
    c = Checks(driver, on_fail=conn.rollback)

    def q(sql, args=None, cur=None):
        """Runs sql on conn (or cur) and returns all rows as tuples."""
        return run(cur or conn.cursor(), sql, args)

    def seen(sql, args=None):
        """Runs sql on the autocommit observer connection."""
        return q(sql, args, observer.cursor())

    @c.check("the driver's default autocommit is off on the server")
    def _():
        expect_equal(q("SELECT @@autocommit"), [(0,)])

    # --- detector -------------------------------------------------------
    @c.check("CREATE DETECTOR (then commit)")
    def _():
        q("CREATE DETECTOR d USING autoencoder WITH (epochs = 2, seed = 1) "
          "AS SELECT f0, f1, f2 FROM examples.thyroid")
        conn.commit()

    @c.check("SHOW DETECTORS lists d (autoencoder, f0,f1,f2, 3772 rows, ready)")
    def _():
        rows = q("SHOW DETECTORS")
        expect_equal([r[:5] for r in rows], [("d", "autoencoder", "f0,f1,f2", 3772, "ready")])

    row = {}

    @c.check("score of row id = %s (parameter)")
    def _():
        (r,) = q("SELECT f0, f1, f2, anomaly_score('d', f0, f1, f2) FROM examples.thyroid WHERE id = %s", (7,))
        row["f"], row["score"] = r[:3], r[3]
        assert isinstance(r[3], float), f"score {r[3]!r} is not a float"
        return f"{r[3]!r}"

    @c.check("anomaly_score('d', %s, %s, %s) with the row's values = the row's score")
    def _():
        expect_equal(q("SELECT anomaly_score('d', %s, %s, %s)", row["f"]), [(row["score"],)])

    @c.check("anomaly_score(%s, %s, %s, %s) with the name as a parameter")
    def _():
        expect_equal(q("SELECT anomaly_score(%s, %s, %s, %s)", ("d", *row["f"])), [(row["score"],)])

    @c.check("is_anomaly('d', %s, %s, %s) is 0 or 1")
    def _():
        (r,) = q("SELECT is_anomaly('d', %s, %s, %s)", row["f"])
        assert r[0] in (0, 1), f"is_anomaly = {r[0]!r}"

    @c.check("DROP DETECTOR (then commit); SHOW DETECTORS empty")
    def _():
        q("DROP DETECTOR d")
        conn.commit()
        expect_equal(q("SHOW DETECTORS"), [])

    @c.check("scoring the dropped detector: error 1305")
    def _():
        expect_error(lambda: q("SELECT anomaly_score('d', %s, %s, %s)", (1.0, 2.0, 3.0)), 1305)

    # --- transactions ---------------------------------------------------
    @c.check("CREATE TABLE tx; INSERT; commit; visible to another connection")
    def _():
        q("CREATE TABLE tx (id INT PRIMARY KEY, v VARCHAR(16))")
        q("INSERT INTO tx VALUES (%s, %s)", (1, "kept"))
        conn.commit()
        expect_equal(seen("SELECT id, v FROM tx"), [(1, "kept")])

    @c.check("INSERT; rollback() undoes it; never visible to another connection")
    def _():
        q("INSERT INTO tx VALUES (%s, %s)", (2, "undone"))
        expect_equal(q("SELECT id FROM tx ORDER BY id"), [(1,), (2,)])
        expect_equal(seen("SELECT id FROM tx ORDER BY id"), [(1,)])
        conn.rollback()
        expect_equal(q("SELECT id FROM tx ORDER BY id"), [(1,)])
        expect_equal(seen("SELECT id FROM tx ORDER BY id"), [(1,)])

    @c.check("executemany INSERT; rollback() undoes all of it")
    def _():
        rows = [(20, "a"), (21, "b"), (22, "c")]
        try:
            conn.cursor().executemany("INSERT INTO tx VALUES (%s, %s)", rows)
        except Exception as e:
            raise AssertionError(f"executemany INSERT INTO tx VALUES (%s, %s) with {rows} => {e!r}") from None
        expect_equal(q("SELECT COUNT(*) FROM tx"), [(4,)])
        conn.rollback()
        expect_equal(q("SELECT id FROM tx ORDER BY id"), [(1,)])

    @c.check("SAVEPOINT; ROLLBACK TO SAVEPOINT; commit()")
    def _():
        q("INSERT INTO tx VALUES (%s, %s)", (3, "kept"))
        q("SAVEPOINT sp")
        q("INSERT INTO tx VALUES (%s, %s)", (4, "undone"))
        q("ROLLBACK TO SAVEPOINT sp")
        conn.commit()
        expect_equal(seen("SELECT id FROM tx ORDER BY id"), [(1,), (3,)])

    # --- LOAD DATA LOCAL of a quoted CSV --------------------------------
    @c.check("LOAD DATA LOCAL INFILE of a quoted CSV; commit()")
    def _():
        q("CREATE TABLE quoted (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)")
        conn.commit()
        q(LOAD_QUOTED.replace("'{path}'", "%s"), (QUOTED_CSV,))
        conn.commit()

    @c.check("quoted CSV rows (commas, \"\", newline, UTF-8, empty string, \\N)")
    def _():
        expect_equal(seen("SELECT id, name, note, x FROM quoted ORDER BY id"), QUOTED_ROWS)

    # --- bulk paths at the size users have ------------------------------
    rows = bulk_rows()
    want = bulk_checksum(rows)

    @c.check(f"executemany INSERT of {BULK_ROWS} rows, autocommit off; unseen until commit()")
    def _():
        q(BULK_TABLE.format(name="bulk_many"))
        conn.commit()
        t = Timer()
        cur = conn.cursor()
        try:
            cur.executemany("INSERT INTO bulk_many VALUES (%s, %s, %s, %s, %s)", rows)
        except Exception as e:
            raise AssertionError(f"executemany INSERT INTO bulk_many VALUES (%s, %s, %s, %s, %s) => {e!r}") from None
        expect_equal(cur.rowcount, BULK_ROWS)
        expect_equal(seen("SELECT COUNT(*) FROM bulk_many"), [(0,)])
        conn.commit()
        return f"{t} (executemany and commit)"

    @c.check(f"executemany: {BULK_ROWS} rows, checksum of every column = the client's")
    def _():
        (got,) = seen(BULK_CHECKSUM.format(name="bulk_many"))
        expect_checksum(got, want)

    @c.check(f"LOAD DATA LOCAL INFILE of a {BULK_ROWS}-row quoted CSV; commit()")
    def _():
        q(BULK_TABLE.format(name="bulk_csv"))
        conn.commit()
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "bulk.csv")
            write_bulk_csv(path, rows)
            t = Timer()
            cur = conn.cursor()
            run(cur, LOAD_BULK.format(name="bulk_csv"), (path,))
            expect_equal(cur.rowcount, BULK_ROWS)
            conn.commit()
        return f"{t} (load and commit)"

    @c.check(f"LOAD DATA LOCAL: {BULK_ROWS} rows, checksum of every column = the client's")
    def _():
        (got,) = seen(BULK_CHECKSUM.format(name="bulk_csv"))
        expect_checksum(got, want)

    # --- a detector of a string column, at the same size ----------------
    kinds = ['Smith, "J"', "Zürich", "two\nlines", "", "row"]

    @c.check(f"CREATE DETECTOR with learned embeddings of a string column, {BULK_ROWS} rows")
    def _():
        q("CREATE TABLE cats AS SELECT id, x, CASE WHEN MOD(id, 5) = 0 THEN %s WHEN MOD(id, 7) = 0 THEN %s "
          "WHEN MOD(id, 17) = 0 THEN %s WHEN MOD(id, 11) = 0 THEN %s ELSE %s END AS kind FROM bulk_csv", kinds)
        conn.commit()
        counts = {}
        for r in rows:
            k = bulk_kind(r[0], kinds)
            counts[k] = counts.get(k, 0) + 1
        expect_equal(dict(seen("SELECT kind, COUNT(*) FROM cats GROUP BY kind")), counts)
        t = Timer()
        q("CREATE DETECTOR catd USING autoencoder WITH (categorical = 'embedding', epochs = 1, "
          "embedding_epochs = 1, seed = 2) AS SELECT kind, x FROM cats")
        conn.commit()
        return f"{t} (training)"

    @c.check("anomaly_score('catd', %s, %s) with each kind as a parameter = the row's score")
    def _():
        for kind in kinds:
            (r,) = q("SELECT id, kind, x, anomaly_score('catd', kind, x) FROM cats WHERE kind = %s ORDER BY id LIMIT 1",
                     (kind,))
            expect_equal(r[1], kind)
            expect_equal(q("SELECT anomaly_score('catd', %s, %s)", (kind, r[2])), [(r[3],)])
        distinct = {row[0] for row in q("SELECT DISTINCT anomaly_score('catd', kind, 0) FROM cats")}
        assert len(distinct) == len(kinds), f"{len(distinct)} distinct scores of the {len(kinds)} kinds at x = 0"

    observer.close()
    conn.close()
    cleanup = connect(driver, host, port, autocommit=True)
    cleanup.cursor().execute(f"DROP DATABASE IF EXISTS {db}")
    cleanup.close()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
