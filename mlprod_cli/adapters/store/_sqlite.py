"""The embedded metrics store: one SQLite file, the default (``sqlite:///.mlprod/metrics.db``).

WAL mode, a 30 s busy timeout and ``BEGIN IMMEDIATE`` writes, so parallel
processes (CI jobs, a tuning loop) wait for each other instead of losing runs.
``add_run`` writes a run and all its metric rows in one transaction, or nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlprod_cli.adapters.store._base import (
    RUN_COLUMNS,
    SCHEMA_VERSION,
    Run,
    Store,
    StoreError,
    check_version,
    db_key,
    parse_schema_version,
)

BUSY_TIMEOUT_S = 30.0

log = logging.getLogger("mlprod.store")

_SQLITE_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    created_at    TEXT NOT NULL,
    project       TEXT NOT NULL,
    model_version TEXT,
    model_kind    TEXT,
    data_hash     TEXT,
    source        TEXT NOT NULL,
    gates_passed  INTEGER
);
CREATE INDEX IF NOT EXISTS runs_project_created ON runs (project, created_at);
CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    cls    TEXT NOT NULL DEFAULT '',
    slice  TEXT NOT NULL DEFAULT '',
    value  REAL,
    PRIMARY KEY (run_id, metric, cls, slice)
);
CREATE INDEX IF NOT EXISTS metrics_series ON metrics (metric, cls, slice);
"""


def _rollback(conn) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _retry_when_busy(step, *, deadline_s: float = BUSY_TIMEOUT_S) -> None:
    """Run ``step``, again while SQLite says busy, for up to ``deadline_s``.

    The busy timeout covers ordinary waits, but not two connections that both
    switch a new file to WAL (or both start on a rollback-journal file): SQLite
    answers one of them "database is locked" at once rather than deadlock.
    This happens only while a store is being created by parallel processes.
    """
    import random
    import sqlite3
    import time

    give_up = time.monotonic() + deadline_s
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            if not busy or time.monotonic() > give_up:
                raise
        time.sleep(random.uniform(0.005, 0.05))


def _sqlite_time(moment: datetime) -> str:
    # Fixed width, always UTC: text order is time order, so ORDER BY works on text.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _parse_sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)


class SQLiteStore(Store):
    """The embedded store: one file, created with its folder on the first write.

    Reading a store that does not exist yet returns nothing and creates nothing,
    so ``mlprod metrics history`` changes no file.
    """

    def __init__(self, path: Path):
        self.path = Path(path)
        self.url = f"sqlite:///{self.path}"
        self._conn = None

    # -- connection

    def _connect(self, *, create: bool):
        if self._conn is not None:
            return self._conn
        if not create and not self.path.exists():
            return None
        import sqlite3

        conn = None
        made = self._missing_parts() if create else []
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write is an
            # explicit BEGIN IMMEDIATE … COMMIT below.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if not create and not conn.execute("SELECT 1 FROM sqlite_master").fetchone():
                conn.close()  # an empty file: no store yet, as when there is no file
                return None
            _retry_when_busy(lambda: self._setup(conn, create=create))
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            self._remove_if_empty(made)
            raise StoreError(f"cannot open the metrics store {self.url}: {exc}") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        self._conn = conn
        log.debug("opened metrics store %s", self.url)
        return conn

    def _missing_parts(self) -> list[Path]:
        """The store file and the folders above it that do not exist yet, innermost first."""
        missing, path = [], self.path
        while not os.path.lexists(path) and path != path.parent:
            missing.append(path)
            path = path.parent
        return missing

    def _remove_if_empty(self, made: list[Path]) -> None:
        """Undo a store this run began to create and could not: nothing half-made is left.

        Only a file that holds no table is removed (another process may have made the
        store meanwhile and stored runs in it), and only folders left empty.
        """
        import sqlite3

        if not made or made[0] != self.path or not self.path.is_file():
            return
        try:
            uri = f"file:{self.path}?mode=ro"
            with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
                empty = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        except sqlite3.Error:
            empty = self.path.stat().st_size == 0
        if not empty:
            return
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(OSError):
                os.unlink(f"{self.path}{suffix}")
        for folder in made[1:]:
            with contextlib.suppress(OSError):
                folder.rmdir()

    def check_writable(self) -> None:
        if self.path.exists():
            if self.path.is_dir():
                raise StoreError(f"cannot open the metrics store {self.url}: it is a folder")
            self._connect(create=False)  # a file that is not a store, or a newer one
            return
        folder = self.path.parent
        while not folder.exists():
            folder = folder.parent
        if not folder.is_dir():
            raise StoreError(f"cannot open the metrics store {self.url}: {folder} is not a folder")

    def _setup(self, conn, *, create: bool) -> None:
        if not create:
            # Reading writes nothing: a file without mlprod's schema is said so, not given one.
            check_version(self._schema_version(conn), self.url)
            return
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        self._ensure_schema(conn)

    def _ensure_schema(self, conn) -> None:
        version = self._schema_version(conn)
        if version is None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SQLITE_SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (str(SCHEMA_VERSION),),
                )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
            version = self._schema_version(conn)
        check_version(version, self.url)

    def _schema_version(self, conn) -> int | None:
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else parse_schema_version(row[0], self.url)

    # -- writes

    def add_run(self, run: Run) -> bool:
        import sqlite3

        conn = self._connect(create=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (run_id) DO NOTHING",
                    (
                        run.run_id,
                        _sqlite_time(run.created_at),
                        run.project,
                        run.model_version,
                        run.model_kind,
                        run.data_hash,
                        run.source,
                        None if run.gates_passed is None else int(run.gates_passed),
                    ),
                )
                added = cursor.rowcount == 1
                if added:
                    conn.executemany(
                        "INSERT INTO metrics (run_id, metric, cls, slice, value) "
                        "VALUES (?, ?, ?, ?, ?)",
                        [
                            (run.run_id, r.metric, db_key(r.cls), db_key(r.slice), r.value)
                            for r in run.rows
                        ],
                    )
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write to the metrics store {self.url}: {exc}") from None
        log.debug("%s run %s in %s", "stored" if added else "already had", run.run_id, self.url)
        return added

    # -- reads

    def _time(self, stored: Any) -> datetime:
        return _parse_sqlite_time(stored)

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        import sqlite3

        conn = self._connect(create=False)
        if conn is None:
            return []
        try:
            return conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot read the metrics store {self.url}: {exc}") from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
