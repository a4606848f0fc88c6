"""Store contents mlprod did not write the way it writes them (issue 11, item 11).

A store is a file or a database a person can edit (or another tool can write):
a schema version that is not a number, a time that is not a time, text in a
value are each a StoreError naming the run (exit 2), never a crash; ±inf and
±1e308, which a custom metric may return, are kept as they are.
"""

from __future__ import annotations

import math
import sqlite3

import pytest

from mlprod_cli.adapters.store import StoreError, open_store
from tests.adapters.store.runs import make_run


def _execute(url: str, tmp_path, sql: str, params=()) -> None:
    """Run ``sql`` on the store behind ``url`` as a person with a database shell would."""
    if url.startswith("sqlite"):
        conn = sqlite3.connect(tmp_path / "store" / "metrics.db", isolation_level=None)
        conn.execute(sql, params)
        conn.close()
    else:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.replace("?", "%s"), params)


def _stored(store_url, tmp_path, *runs):
    with open_store(store_url, root=tmp_path, env={}) as store:
        for run in runs:
            store.add_run(run)


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("abc", "has schema version 'abc', which is not a number"),
        ("1.5", "has schema version '1.5', which is not a number"),
        ("٣", "has schema version '٣', which is not a number"),
        ("0", "has schema version 0; versions start at 1"),
        ("99", "has schema version 99; this mlprod knows version 1"),
    ],
)
def test_a_bad_schema_version_is_a_store_error(store_url, tmp_path, version, expected):
    _stored(store_url, tmp_path, make_run(1))
    _execute(
        store_url, tmp_path, "UPDATE meta SET value = ? WHERE key = 'schema_version'", (version,)
    )
    # PostgreSQL checks it when it connects, SQLite when it first reads.
    with (
        pytest.raises(StoreError, match=expected),
        open_store(store_url, root=tmp_path, env={}) as store,
    ):
        store.history("skin", "recall", cls="melanoma")


def test_reading_a_store_without_a_schema_version_writes_nothing(tmp_path):
    url = f"sqlite:///{tmp_path}/store/metrics.db"
    _stored(url, tmp_path, make_run(1))
    _execute(url, tmp_path, "DELETE FROM meta")
    with (
        open_store(url, root=tmp_path, env={}) as store,
        pytest.raises(StoreError, match="has no schema version"),
    ):
        store.metric_keys("skin")
    conn = sqlite3.connect(tmp_path / "store" / "metrics.db")
    assert conn.execute("SELECT count(*) FROM meta").fetchone() == (0,)  # not given one back


@pytest.mark.parametrize(
    "created_at", ["garbage", "2024-02-30T00:00:00+00:00", 12345, None, b"\x00"]
)
def test_a_created_at_that_is_not_a_time_names_the_run(tmp_path, created_at):
    url = f"sqlite:///{tmp_path}/store/metrics.db"
    _stored(url, tmp_path, make_run(1), make_run(2))
    _execute(url, tmp_path, "PRAGMA ignore_check_constraints = 1")
    conn = sqlite3.connect(tmp_path / "store" / "metrics.db", isolation_level=None)
    conn.execute("PRAGMA writable_schema = 0")
    if created_at is None:  # NOT NULL in the schema: the table rebuilt by a careless hand
        conn.executescript(
            "CREATE TABLE r2 AS SELECT * FROM runs; DROP TABLE runs; ALTER TABLE r2 RENAME TO runs;"
        )
    conn.execute("UPDATE runs SET created_at = ? WHERE run_id = 'run-skin-2'", (created_at,))
    conn.close()
    with open_store(url, root=tmp_path, env={}) as store:
        for read in (
            lambda: store.history("skin", "recall", cls="melanoma"),
            lambda: store.runs("skin"),
        ):
            with pytest.raises(
                StoreError, match=r"run run-skin-2 has created_at .*, which is not a time"
            ):
                read()


@pytest.mark.parametrize("value", ["abc", "", b"\x00\xff", "0.5"])
def test_a_value_that_is_not_a_number_names_the_run_and_metric(tmp_path, value):
    url = f"sqlite:///{tmp_path}/store/metrics.db"
    _stored(url, tmp_path, make_run(1), make_run(2))
    _execute(
        url,
        tmp_path,
        "UPDATE metrics SET value = ? WHERE run_id = 'run-skin-2' AND metric = 'recall' AND cls = 'melanoma' AND slice = ''",
        (value,),
    )
    with open_store(url, root=tmp_path, env={}) as store:
        if value == "0.5":  # SQLite's REAL affinity makes a number of numeric text: a number
            assert store.history("skin", "recall", cls="melanoma")[-1].value == 0.5
            return
        for read in (
            lambda: store.history("skin", "recall", cls="melanoma"),
            lambda: store.runs("skin"),
        ):
            with pytest.raises(
                StoreError, match=r"run run-skin-2 holds recall = .*, which is not a number"
            ):
                read()


@pytest.mark.parametrize("value", [math.inf, -math.inf, 1e308, -1e308, 5e-324])
def test_infinite_and_extreme_values_are_kept(store_url, tmp_path, value):
    _stored(store_url, tmp_path, make_run(1), make_run(2, value=value))
    with open_store(store_url, root=tmp_path, env={}) as store:
        assert store.history("skin", "accuracy")[-1].value == value
        assert store.runs("skin")[-1].value("accuracy").value == value
