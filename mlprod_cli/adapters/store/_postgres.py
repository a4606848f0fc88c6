"""The metrics store of a team: a PostgreSQL database (``postgresql://user:pass@host:port/db``).

Through psycopg 3, imported only when a URL asks for PostgreSQL, so that SQLite
users need not install it. Connections time out after 5 s; every message names
the URL with its password redacted, and libpq's own messages are scrubbed of it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from datetime import datetime, timezone
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
    redact,
    scrub,
    url_secrets,
)
from mlprod_cli.errors import ConfigError

CONNECT_TIMEOUT_S = 5

log = logging.getLogger("mlprod.store")

_PG_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS runs (
    run_id        TEXT PRIMARY KEY,
    created_at    TIMESTAMPTZ NOT NULL,
    project       TEXT NOT NULL,
    model_version TEXT,
    model_kind    TEXT,
    data_hash     TEXT,
    source        TEXT NOT NULL,
    gates_passed  BOOLEAN
)""",
    "CREATE INDEX IF NOT EXISTS runs_project_created ON runs (project, created_at)",
    """CREATE TABLE IF NOT EXISTS metrics (
    run_id TEXT NOT NULL REFERENCES runs (run_id) ON DELETE CASCADE,
    metric TEXT NOT NULL,
    cls    TEXT NOT NULL DEFAULT '',
    slice  TEXT NOT NULL DEFAULT '',
    value  DOUBLE PRECISION,
    PRIMARY KEY (run_id, metric, cls, slice)
)""",
    "CREATE INDEX IF NOT EXISTS metrics_series ON metrics (metric, cls, slice)",
)

# Concurrent CREATE TABLE IF NOT EXISTS can still collide in PostgreSQL's catalog,
# so schema creation runs under this transaction-level advisory lock.
_PG_SCHEMA_LOCK = 0x6D6C70726F64  # "mlprod"


def _pg_reason(exc: BaseException, secrets: Sequence[str]) -> str:
    """A one-line, password-free reason from a libpq/psycopg error."""
    text = scrub(str(exc), secrets)
    lowered = text.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "timeout expired" in lowered or "timed out" in lowered:
        return f"no answer within {CONNECT_TIMEOUT_S} s"
    if "could not translate host name" in lowered or "name or service not known" in lowered:
        return "unknown host"
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for line in lines:
        # libpq prefixes the interesting part: 'connection to server at "h" (…), port p failed: FATAL:  …',
        # and psycopg may prefix that with 'connection failed: ': the part after the last one.
        match = re.search(r".*failed:\s*(?:FATAL:\s*)?(.+)$", line)
        if match:
            return match.group(1).strip()
    return lines[0] if lines else type(exc).__name__


class PostgresStore(Store):
    """A PostgreSQL database shared by a team; connects when opened."""

    def __init__(self, url: str):
        self.url = redact(url)
        self._secrets = url_secrets(url)
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                f"the metrics store {self.url} needs psycopg",
                hint="pip install 'psycopg[binary]'",
            ) from None
        self._psycopg = psycopg
        try:
            self._conn = psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True)
        except psycopg.ProgrammingError as exc:  # libpq could not parse the URL
            raise ConfigError(
                f"metrics store URL {self.url} is malformed: {_pg_reason(exc, self._secrets)}"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"cannot reach the metrics store {self.url}: {_pg_reason(exc, self._secrets)}"
            ) from None
        try:
            self._ensure_schema()
        except BaseException:
            self._conn.close()
            raise
        log.debug("opened metrics store %s", self.url)

    def check_writable(self) -> None:
        pass  # connected, with its schema checked, when opened

    def _fail(self, action: str, exc: BaseException) -> StoreError:
        return StoreError(
            f"cannot {action} the metrics store {self.url}: {_pg_reason(exc, self._secrets)}"
        )

    def _ensure_schema(self) -> None:
        psycopg = self._psycopg
        try:
            version = self._schema_version()
            if version is None:
                with self._conn.transaction():
                    self._conn.execute("SELECT pg_advisory_xact_lock(%s)", (_PG_SCHEMA_LOCK,))
                    for statement in _PG_SCHEMA:
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema_version', %s) "
                        "ON CONFLICT (key) DO NOTHING",
                        (str(SCHEMA_VERSION),),
                    )
                version = self._schema_version()
        except psycopg.Error as exc:
            raise self._fail("set up", exc) from None
        check_version(version, self.url)

    def _schema_version(self) -> int | None:
        if self._conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else parse_schema_version(row[0], self.url)

    def add_run(self, run: Run) -> bool:
        psycopg = self._psycopg
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO runs ({RUN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (run_id) DO NOTHING RETURNING run_id",
                    (
                        run.run_id,
                        run.created_at,
                        run.project,
                        run.model_version,
                        run.model_kind,
                        run.data_hash,
                        run.source,
                        run.gates_passed,
                    ),
                )
                added = cur.fetchone() is not None
                if added and run.rows:
                    cur.executemany(
                        "INSERT INTO metrics (run_id, metric, cls, slice, value) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        [
                            (run.run_id, r.metric, db_key(r.cls), db_key(r.slice), r.value)
                            for r in run.rows
                        ],
                    )
        except psycopg.Error as exc:
            raise self._fail("write to", exc) from None
        log.debug("%s run %s in %s", "stored" if added else "already had", run.run_id, self.url)
        return added

    def _time(self, stored: Any) -> datetime:
        return stored.astimezone(timezone.utc)

    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple]:
        try:
            return self._conn.execute(sql.replace("?", "%s"), params).fetchall()
        except self._psycopg.Error as exc:
            raise self._fail("read", exc) from None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
