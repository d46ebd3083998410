"""Client compatibility session: SQLAlchemy (mysql+pymysql) and pandas
against a running anomalydb with the examples loaded.

    /usr/bin/python3 clients/sqlalchemy_pandas.py HOST PORT

SQLAlchemy, pandas and PyMySQL come from Debian (python3-sqlalchemy,
python3-pandas, python3-pymysql). Prints one line per check ("ok ..." or
"FAIL ..."), goes on after a failed check so that one run shows every
failure, and exits 1 if any check failed (2 on a usage error).
"""

import sys

import numpy as np
import pandas as pd
import sqlalchemy as sa

from checks import (Checks, StatementError, Timer, error_code, expect_equal, expect_error,
                    bulk_name, BULK_ROWS, QUOTED_CSV, QUOTED_ROWS)

DB = "c_sqlalchemy"


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    host, port = sys.argv[1], int(sys.argv[2])
    print(f"client: SQLAlchemy {sa.__version__}, pandas {pd.__version__}")
    root = sa.create_engine(f"mysql+pymysql://root@{host}:{port}/?charset=utf8mb4")
    with root.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DB}")
        conn.exec_driver_sql(f"CREATE DATABASE {DB}")
    engine = sa.create_engine(
        f"mysql+pymysql://root@{host}:{port}/{DB}?charset=utf8mb4", pool_size=2)
    c = Checks("sqlalchemy+pandas")

    def q(conn, sql, **params):
        """Runs sql (text with :named parameters) and returns its rows."""
        try:
            res = conn.execute(sa.text(sql), params)
            return [tuple(r) for r in res] if res.returns_rows else []
        except Exception as e:
            shown = f"{sql} with {params}" if params else sql
            raise StatementError(f"{shown} => {type(e).__name__}: {e}", error_code(e)) from None

    # --- detector -------------------------------------------------------
    @c.check("CREATE DETECTOR in engine.begin(); SHOW DETECTORS lists it")
    def _():
        with engine.begin() as conn:
            q(conn, "CREATE DETECTOR d USING autoencoder WITH (epochs = 2, seed = 1) "
                    "AS SELECT f0, f1, f2 FROM examples.thyroid")
        with engine.connect() as conn:
            rows = q(conn, "SHOW DETECTORS")
        expect_equal([r[:5] for r in rows], [("d", "autoencoder", "f0,f1,f2", 3772, "ready")])

    @c.check("pd.read_sql of anomaly_score with :id and bound feature values")
    def _():
        with engine.connect() as conn:
            df = pd.read_sql(sa.text(
                "SELECT id, f0, f1, f2, anomaly_score('d', f0, f1, f2) AS s "
                "FROM examples.thyroid WHERE id <= :n ORDER BY id"), conn, params={"n": 5})
            expect_equal(list(df.id), [1, 2, 3, 4, 5])
            for r in df.itertuples():
                got = q(conn, "SELECT anomaly_score(:name, :a, :b, :c)",
                        name="d", a=float(r.f0), b=float(r.f1), c=float(r.f2))
                expect_equal(got, [(r.s,)])
        return f"5 rows, scores {df.s.min():.4g}..{df.s.max():.4g}"

    @c.check("DROP DETECTOR; scoring it is error 1305")
    def _():
        with engine.begin() as conn:
            q(conn, "DROP DETECTOR d")
        with engine.connect() as conn:
            expect_equal(q(conn, "SHOW DETECTORS"), [])
            expect_error(lambda: q(conn, "SELECT anomaly_score('d', :a, :b, :c)", a=1.0, b=2.0, c=3.0), 1305)

    # --- transactions ---------------------------------------------------
    @c.check("Connection.begin() ... rollback() undoes an insert")
    def _():
        with engine.begin() as conn:
            q(conn, "CREATE TABLE tx (id INT PRIMARY KEY, v VARCHAR(16))")
            q(conn, "INSERT INTO tx VALUES (1, 'kept')")
        with engine.connect() as conn:
            trans = conn.begin()
            q(conn, "INSERT INTO tx VALUES (:id, :v)", id=2, v="undone")
            expect_equal(q(conn, "SELECT id FROM tx ORDER BY id"), [(1,), (2,)])
            trans.rollback()
            expect_equal(q(conn, "SELECT id FROM tx ORDER BY id"), [(1,)])
        with engine.connect() as conn:
            expect_equal(q(conn, "SELECT id FROM tx ORDER BY id"), [(1,)])

    @c.check("begin_nested() (SAVEPOINT) rollback, outer commit")
    def _():
        with engine.connect() as conn:
            with conn.begin():
                q(conn, "INSERT INTO tx VALUES (3, 'kept')")
                nested = conn.begin_nested()
                q(conn, "INSERT INTO tx VALUES (4, 'undone')")
                nested.rollback()
        with engine.connect() as conn:
            expect_equal(q(conn, "SELECT id FROM tx ORDER BY id"), [(1,), (3,)])

    # --- pandas: a quoted CSV through read_csv + to_sql, then read_sql ---
    frame = pd.read_csv(QUOTED_CSV, na_values=["\\N"], keep_default_na=False)

    @c.check("DataFrame.to_sql('quoted') with default arguments (index=True)")
    def _():
        frame.to_sql("quoted", engine)

    @c.check("pd.read_sql of the table written by to_sql")
    def _():
        df = pd.read_sql("SELECT * FROM quoted ORDER BY id", engine)
        expect_equal(list(df.columns), ["index", "id", "name", "note", "x"])
        expect_equal(list(df["index"]), [0, 1, 2, 3])
        got = [(int(r.id), r.name, r.note, None if pd.isna(r.x) else float(r.x)) for r in df.itertuples()]
        expect_equal(got, QUOTED_ROWS)

    @c.check("to_sql(if_exists='append', index=False, method='multi') into a typed table")
    def _():
        with engine.begin() as conn:
            q(conn, "CREATE TABLE quoted2 (id INT PRIMARY KEY, name VARCHAR(64), note VARCHAR(64), x DOUBLE)")
        frame.to_sql("quoted2", engine, if_exists="append", index=False, method="multi")
        with engine.connect() as conn:
            expect_equal(q(conn, "SELECT id, name, note, x FROM quoted2 ORDER BY id"), QUOTED_ROWS)

    # --- a frame at the size users have ----------------------------------
    # BULK_ROWS rows of int, float (NaN in every 13th row), str (commas,
    # quotes, a newline, UTF-8, the empty string; None in every 19th row)
    # and datetime columns, through to_sql in chunks and back.
    ids = np.arange(BULK_ROWS, dtype="int64")
    big = pd.DataFrame({
        "id": ids,
        "k": (ids * 7919) % 2001 - 1000,
        "x": np.where(ids % 13 == 0, np.nan, np.random.default_rng(1).normal(size=BULK_ROWS)),
        "name": [None if i % 19 == 0 else bulk_name(i) for i in range(BULK_ROWS)],
        "ts": pd.Timestamp("2024-01-01") + pd.to_timedelta(ids * 37, unit="s"),
    })

    @c.check(f"DataFrame.to_sql('frame', chunksize=10000) of {BULK_ROWS} rows x 5 columns (int, float, str, datetime)")
    def _():
        t = Timer()
        n = big.to_sql("frame", engine, chunksize=10_000)
        if n is not None:  # pandas >= 1.4 returns the rows written
            expect_equal(n, BULK_ROWS)
        return str(t)

    @c.check(f"pd.read_sql of the {BULK_ROWS}-row frame equals it exactly")
    def _():
        t = Timer()
        back = pd.read_sql("SELECT * FROM frame ORDER BY `index`", engine, index_col="index")
        back.index.name = None
        try:
            pd.testing.assert_frame_equal(back, big, check_exact=True)
        except AssertionError as e:
            raise AssertionError(f"read_sql differs from the frame written: {e}") from None
        return f"{t} (read_sql)"

    @c.check(f"detect_anomalies over the {BULK_ROWS}-row frame, read with pd.read_sql, equals anomaly_score row by row")
    def _():
        t = Timer()
        with engine.begin() as conn:
            q(conn, "CREATE DETECTOR fd USING deep_svdd WITH (epochs = 1, seed = 1) AS SELECT k, x FROM frame")
        got = pd.read_sql("SELECT * FROM detect_anomalies('fd', 'frame') ORDER BY id", engine)
        want = pd.read_sql("SELECT id, anomaly_score('fd', k, x) AS s, is_anomaly('fd', k, x) AS a "
                           "FROM frame ORDER BY id", engine)
        expect_equal(len(got), BULK_ROWS)
        expect_equal(list(got.columns[-3:]), ["anomaly_score", "anomaly_percentile", "is_anomaly"])
        if not (got.id.to_numpy() == want.id.to_numpy()).all():
            raise AssertionError("detect_anomalies returns other rows than the table")
        if not (got.anomaly_score.to_numpy() == want.s.to_numpy()).all():
            raise AssertionError("detect_anomalies' scores differ from anomaly_score's")
        if not (got.is_anomaly.to_numpy() == want.a.to_numpy()).all():
            raise AssertionError("detect_anomalies' flags differ from is_anomaly's")
        if not got.anomaly_percentile.between(0, 1).all():
            raise AssertionError("a percentile outside [0, 1]")
        with engine.begin() as conn:
            q(conn, "DROP DETECTOR fd")
        return f"{t} ({int(got.is_anomaly.sum())} flagged)"

    # --- inspector ------------------------------------------------------
    insp = sa.inspect(engine)

    @c.check("inspector: table names")
    def _():
        expect_equal(sorted(insp.get_table_names()), ["frame", "quoted", "quoted2", "tx"])
        expect_equal(sorted(insp.get_table_names(schema="examples")), ["cardio", "shuttle", "thyroid"])

    @c.check("inspector: columns of examples.thyroid")
    def _():
        cols = insp.get_columns("thyroid", schema="examples")
        expect_equal([col["name"] for col in cols], ["id", "f0", "f1", "f2", "f3", "f4", "f5", "label"])
        expect_equal([type(col["type"]).__name__ for col in cols],
                     ["BIGINT", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE", "DOUBLE", "INTEGER"])
        expect_equal(cols[0]["nullable"], False)

    @c.check("inspector: primary key of examples.thyroid and of tx")
    def _():
        expect_equal(insp.get_pk_constraint("thyroid", schema="examples")["constrained_columns"], ["id"])
        expect_equal(insp.get_pk_constraint("tx")["constrained_columns"], ["id"])

    @c.check("inspector: indexes of quoted (to_sql's ix_quoted_index)")
    def _():
        idx = [(i["name"], list(i["column_names"])) for i in insp.get_indexes("quoted")]
        expect_equal(idx, [("ix_quoted_index", ["index"])])

    @c.check("inspector: indexes of examples.thyroid (the primary key is not listed)")
    def _():
        expect_equal(insp.get_indexes("thyroid", schema="examples"), [])

    engine.dispose()
    with root.begin() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DB}")
    root.dispose()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
