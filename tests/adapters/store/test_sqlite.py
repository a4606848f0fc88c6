"""The SQLite back end of the metrics store (``_sqlite.py``): its file, its schema, its settings."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from mlprod_cli.adapters.store import SCHEMA_VERSION, SQLiteStore, StoreError, open_store
from tests.adapters.store.runs import make_run


def test_sqlite_creates_folder_schema_and_wal(tmp_path):
    with open_store("sqlite:///.mlprod/metrics.db", root=tmp_path, env={}) as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == tmp_path / ".mlprod" / "metrics.db"
        store.add_run(make_run(1))
    conn = sqlite3.connect(tmp_path / ".mlprod" / "metrics.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
        str(SCHEMA_VERSION),
    )
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {"meta", "runs", "metrics"}
    conn.close()


def test_sqlite_busy_timeout_is_30_s(tmp_path):
    store = open_store(f"sqlite:///{tmp_path}/m.db", root=tmp_path, env={})
    store.add_run(make_run(1))
    assert store._conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    store.close()


def test_sqlite_absolute_path(tmp_path):
    target = tmp_path / "abs" / "store.db"
    with open_store(f"sqlite:///{target}", root=Path("/nonexistent"), env={}) as store:
        assert store.path == target
        store.add_run(make_run(1))
    assert target.is_file()


def test_reading_a_missing_sqlite_store_creates_nothing(tmp_path):
    with open_store("sqlite:///.mlprod/metrics.db", root=tmp_path, env={}) as store:
        assert store.runs("skin") == []
        assert store.history("skin", "accuracy") == []
        assert store.last_run("skin") is None
        assert store.metric_keys("skin") == []
    assert list(tmp_path.iterdir()) == []


def test_a_newer_schema_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/m.db"
    with open_store(url, root=tmp_path, env={}) as store:
        store.add_run(make_run(1))
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    with open_store(url, root=tmp_path, env={}) as store, pytest.raises(StoreError) as info:
        store.runs("skin")
    assert "schema version 99" in info.value.message and info.value.hint == "upgrade mlprod"


def test_a_file_that_is_not_a_database_is_a_store_error(tmp_path):
    (tmp_path / "m.db").write_text("not a database, just text " * 100)
    store = open_store(f"sqlite:///{tmp_path}/m.db", root=tmp_path, env={})
    with pytest.raises(StoreError, match="cannot open the metrics store sqlite:///"):
        store.runs("skin")
