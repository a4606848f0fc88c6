"""The metrics store: every ``mlprod evaluate`` run, kept so trends show over time.

A run is one row in ``runs`` (when, project, model version, data hash, where the
predictions came from, whether the gates passed) and one row per number in
``metrics`` (metric, class, slice, value). Two back ends share the schema and the
guarantees (docs/store.md):

* SQLite, embedded, the default (``sqlite:///.mlprod/metrics.db``): WAL mode, a
  30 s busy timeout and ``BEGIN IMMEDIATE`` writes, so parallel processes (CI
  jobs, a tuning loop) wait for each other instead of losing runs.
* PostgreSQL for a team (``postgresql://user:pass@host:port/db``), through
  psycopg 3, imported only when the URL asks for it.

``add_run`` writes a run and all its metric rows in one transaction, or nothing;
adding a run id that is already stored changes nothing, so a retried upload is
safe. ``MLPROD_STORE_URL`` overrides the URL in ``mlprod.yaml`` so that a password
never has to be written to a file; :func:`redact` hides it in every message.
"""

from __future__ import annotations

import logging
import math
import os
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from mlprod_cli.errors import ConfigError, MlprodError

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "SCHEMA_VERSION",
    "HistoryPoint",
    "MetricKey",
    "MetricRow",
    "PostgresStore",
    "Run",
    "SQLiteStore",
    "Store",
    "StoreError",
    "new_run_id",
    "open_store",
    "redact",
    "resolve_url",
]

DEFAULT_URL = "sqlite:///.mlprod/metrics.db"
ENV_VAR = "MLPROD_STORE_URL"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5

log = logging.getLogger("mlprod.store")


class StoreError(MlprodError):
    """The metrics store cannot be reached, read or written (exit code 2)."""


# --------------------------------------------------------------------------- values


@dataclass(frozen=True)
class MetricRow:
    """One number of a run.

    ``cls`` is None for a number about the whole prediction set (accuracy, a custom
    metric), a class name for one class against the rest, or ``"macro"`` /
    ``"weighted"`` for an average. ``slice`` is None for the whole test set, else
    the slice it was measured on, like ``"sex=female"``. ``value`` None means
    undefined (0/0, AUROC with one class present), never a silent 0; NaN is stored
    as None.
    """

    metric: str
    value: float | None
    cls: str | None = None
    slice: str | None = None

    def __post_init__(self) -> None:
        if not self.metric:
            raise ValueError("MetricRow.metric must not be empty")
        # The empty string is how the database spells "none" (so that the key can be
        # a primary key on both back ends); it cannot also be a class or slice name.
        if self.cls == "" or self.slice == "":
            raise ValueError("MetricRow.cls and .slice are None or a non-empty name")
        if self.value is not None:
            value = float(self.value)
            object.__setattr__(self, "value", None if math.isnan(value) else value)

    @property
    def key(self) -> MetricKey:
        return MetricKey(self.metric, self.cls, self.slice)


@dataclass(frozen=True)
class MetricKey:
    """Which series a value belongs to: metric, class (None = overall) and slice."""

    metric: str
    cls: str | None = None
    slice: str | None = None


@dataclass(frozen=True)
class Run:
    """One evaluation: who, when, on what, and every number it produced."""

    run_id: str
    created_at: datetime
    project: str
    model_version: str | None = None
    model_kind: str | None = None  # "model", "baseline", "predictions" …
    data_hash: str | None = None
    source: str = "evaluate"
    gates_passed: bool | None = None
    rows: tuple[MetricRow, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.run_id:
            raise ValueError("Run.run_id must not be empty")
        if not self.project:
            raise ValueError("Run.project must not be empty")
        if self.created_at.tzinfo is None or self.created_at.utcoffset() is None:
            raise ValueError("Run.created_at must be timezone-aware")
        object.__setattr__(self, "created_at", self.created_at.astimezone(timezone.utc))
        rows = tuple(self.rows)
        seen: set[MetricKey] = set()
        for row in rows:
            if row.key in seen:
                raise ValueError(f"Run {self.run_id}: {row.key} appears twice")
            seen.add(row.key)
        object.__setattr__(self, "rows", rows)

    def value(self, metric: str, cls: str | None = None, slice: str | None = None) -> MetricRow:
        """The row for ``metric`` of ``cls`` on ``slice``; KeyError when absent."""
        for row in self.rows:
            if row.key == MetricKey(metric, cls, slice):
                return row
        raise KeyError(MetricKey(metric, cls, slice))


@dataclass(frozen=True)
class HistoryPoint:
    """One run's value of one series."""

    run_id: str
    created_at: datetime
    model_version: str | None
    value: float | None


def new_run_id() -> str:
    """A fresh, unique run id (32 hex digits)."""
    return uuid.uuid4().hex


# --------------------------------------------------------------------------- URLs


_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*$")


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``; never raises.

    Works on malformed URLs too (a password with an unescaped ``/`` or ``@``): when
    in doubt it hides more, never less.
    """
    text = str(url)
    head, sep, rest = text.partition("://")
    if not _SCHEME.match(head):  # not a scheme: all of it may be credentials
        head, sep, rest = "", "", text
    if "@" in rest:
        userinfo, _, host = rest.rpartition("@")
        user, colon, _password = userinfo.partition(":")
        if colon:
            rest = f"{user}:***@{host}"
    return re.sub(r"(?i)(password=)[^&#]*", r"\1***", f"{head}{sep}{rest}")


def resolve_url(configured: str | None, env: Mapping[str, str] | None = None) -> str:
    """The store URL in effect: ``MLPROD_STORE_URL`` wins over ``configured``."""
    env = os.environ if env is None else env
    from_env = (env.get(ENV_VAR) or "").strip()
    if from_env:
        return from_env
    return (configured or "").strip() or DEFAULT_URL


def _secrets(url: str) -> list[str]:
    """The password of ``url`` as written and decoded, to scrub from foreign messages."""
    found: list[str] = []
    rest = url.partition("://")[2] if "://" in url else url
    if "@" in rest:
        userinfo = rest.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.partition(":")[2])
    found += [m.group(1) for m in re.finditer(r"(?i)password=([^&#]*)", url)]
    found += [unquote(s) for s in found]
    return sorted({s for s in found if s}, key=len, reverse=True)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def open_store(url: str | None, *, root: Path, env: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url`` (or ``MLPROD_STORE_URL``), SQLite paths relative to ``root``.

    Raises ConfigError for a malformed URL or an unknown scheme, StoreError when
    the store cannot be reached or opened.
    """
    url = resolve_url(url, env)
    shown = redact(url)
    if not _SCHEME.match(url.partition("://")[0]) or "://" not in url:
        # Not even a scheme: it may be anything pasted into the variable, a bare
        # password included, so it is named by where it came from, not echoed.
        from_env = ((os.environ if env is None else env).get(ENV_VAR) or "").strip()
        where = ENV_VAR if from_env else "'store' of mlprod.yaml"
        raise ConfigError(
            f"metrics store URL in {where} has no scheme "
            "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
        )
    try:
        parts = urlsplit(url)
        _ = parts.port  # ValueError for a port that is not a number
    except ValueError:
        # Not urllib's message: it quotes the "port", which for an unescaped "/" in
        # the password is the password's first part.
        raise ConfigError(
            f"metrics store URL {shown} is malformed: the port is not a number from 1 to "
            "65535 (characters such as / ? # @ in the password must be percent-encoded)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise ConfigError(
                f"metrics store URL {shown} is malformed: a SQLite URL has no host; "
                "use sqlite:///relative/path.db or sqlite:////absolute/path.db"
            )
        raw = url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]
        path_text = unquote(raw[1:] if raw.startswith("/") else raw)
        if not path_text or path_text.endswith("/"):
            raise ConfigError(f"metrics store URL {shown} is malformed: no database file named")
        path = Path(path_text).expanduser()
        return SQLiteStore(path if path.is_absolute() else root / path)
    if scheme in ("postgresql", "postgres"):
        if url.split("://", 1)[1].split("?", 1)[0].count("@") > 1:
            # libpq would cut the password at the first "@" and show the rest as a host.
            raise ConfigError(
                f"metrics store URL {shown} is malformed: an @ in the password must be "
                "percent-encoded as %40"
            )
        if parts.path not in ("", "/") and "/" in parts.path[1:]:
            raise ConfigError(
                f"metrics store URL {shown} is malformed: expected postgresql://user:password@host:port/database"
            )
        return PostgresStore(url)
    raise ConfigError(
        f"metrics store URL {shown}: unknown scheme '{url.partition('://')[0]}' "
        "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
    )


# --------------------------------------------------------------------------- the store


def _db_key(name: str | None) -> str:
    return "" if name is None else name


def _from_db_key(text: str) -> str | None:
    return None if text == "" else text


class Store(ABC):
    """What every back end offers; use :func:`open_store` to get one.

    The queries are shared: back ends provide :meth:`_read` (SQL with ``?``
    placeholders), :meth:`_time` (a stored time → aware UTC datetime),
    :meth:`add_run` and :meth:`close`.
    """

    url: str  # redacted, safe to show

    @abstractmethod
    def add_run(self, run: Run) -> bool:
        """Store ``run`` and its rows in one transaction; False if the run id is already there."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def check_writable(self) -> None:
        """Fail now, creating nothing, when :meth:`add_run` could not open the store.

        For a command that stores its result after a long computation: a store
        that is malformed or unreachable is said before the work, not after it.
        """

    @abstractmethod
    def _read(self, sql: str, params: Sequence[Any]) -> list[tuple]: ...

    @abstractmethod
    def _time(self, stored: Any) -> datetime: ...

    def history(
        self,
        project: str,
        metric: str,
        *,
        cls: str | None = None,
        slice: str | None = None,
        last: int | None = None,
    ) -> list[HistoryPoint]:
        """The values of one series, oldest first; ``last`` keeps the newest N runs."""
        sql = (
            "SELECT r.run_id, r.created_at, r.model_version, m.value "
            "FROM runs r JOIN metrics m ON m.run_id = r.run_id "
            "WHERE r.project = ? AND m.metric = ? AND m.cls = ? AND m.slice = ? "
            "ORDER BY r.created_at DESC, r.run_id DESC"
        )
        params: list[Any] = [project, metric, _db_key(cls), _db_key(slice)]
        rows = self._read(*_limited(sql, params, last))
        return [
            HistoryPoint(run_id, self._time(created), version, value)
            for run_id, created, version, value in reversed(rows)
        ]

    def runs(self, project: str, *, last: int | None = None) -> list[Run]:
        """The project's runs with all their rows, oldest first."""
        sql = f"SELECT {_RUN_COLUMNS} FROM runs WHERE project = ? ORDER BY created_at DESC, run_id DESC"
        run_rows = self._read(*_limited(sql, [project], last))[::-1]
        ids = [r[0] for r in run_rows]
        metric_rows: list[tuple] = []
        for start in range(0, len(ids), 500):  # under SQLite's limit of bound variables
            chunk = ids[start : start + 500]
            metric_rows += self._read(
                "SELECT run_id, metric, cls, slice, value FROM metrics "
                f"WHERE run_id IN ({', '.join('?' * len(chunk))}) "
                "ORDER BY run_id, metric, cls, slice",
                chunk,
            )
        by_run: dict[str, list[MetricRow]] = {}
        for run_id, metric, cls, slice_, value in metric_rows:
            by_run.setdefault(run_id, []).append(
                MetricRow(metric, value, _from_db_key(cls), _from_db_key(slice_))
            )
        return [
            Run(
                run_id=r[0],
                created_at=self._time(r[1]),
                project=r[2],
                model_version=r[3],
                model_kind=r[4],
                data_hash=r[5],
                source=r[6],
                gates_passed=None if r[7] is None else bool(r[7]),
                rows=tuple(by_run.get(r[0], ())),
            )
            for r in run_rows
        ]

    def last_run(self, project: str) -> Run | None:
        """The project's newest run, or None when there is none."""
        found = self.runs(project, last=1)
        return found[0] if found else None

    def metric_keys(self, project: str) -> list[MetricKey]:
        """Every series (metric, class, slice) the project has stored, sorted."""
        rows = self._read(
            "SELECT DISTINCT m.metric, m.cls, m.slice FROM metrics m "
            "JOIN runs r ON r.run_id = m.run_id WHERE r.project = ?",
            [project],
        )
        # None is "" in the database, so overall and whole-data values sort first.
        return [
            MetricKey(m, _from_db_key(c), _from_db_key(sl))
            for m, c, sl in sorted(tuple(r) for r in rows)
        ]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def _rollback(conn) -> None:
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _limited(sql: str, params: list[Any], last: int | None) -> tuple[str, list[Any]]:
    """``sql`` with ``LIMIT last`` when ``last`` is given (it must be at least 1)."""
    if last is None:
        return sql, params
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    return f"{sql} LIMIT ?", [*params, last]


_RUN_COLUMNS = (
    "run_id, created_at, project, model_version, model_kind, data_hash, source, gates_passed"
)


# --------------------------------------------------------------------------- SQLite

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
        try:
            if create:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit transactions; every write is an
            # explicit BEGIN IMMEDIATE … COMMIT below.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            _retry_when_busy(lambda: self._setup(conn))
        except (OSError, sqlite3.Error) as exc:
            if conn is not None:
                conn.close()
            raise StoreError(f"cannot open the metrics store {self.url}: {exc}") from None
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        self._conn = conn
        log.debug("opened metrics store %s", self.url)
        return conn

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

    def _setup(self, conn) -> None:
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
        _check_version(version, self.url)

    @staticmethod
    def _schema_version(conn) -> int | None:
        has_meta = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
        ).fetchone()
        if not has_meta:
            return None
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    # -- writes

    def add_run(self, run: Run) -> bool:
        import sqlite3

        conn = self._connect(create=True)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                cursor = conn.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
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
                            (run.run_id, r.metric, _db_key(r.cls), _db_key(r.slice), r.value)
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


def _check_version(version: int | None, url: str) -> None:
    if version is None:
        raise StoreError(f"the metrics store {url} has no schema version")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the metrics store {url} has schema version {version}; this mlprod knows "
            f"version {SCHEMA_VERSION}",
            hint="upgrade mlprod",
        )


# --------------------------------------------------------------------------- PostgreSQL

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
    text = _scrub(str(exc), secrets)
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
        self._secrets = _secrets(url)
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
        _check_version(version, self.url)

    def _schema_version(self) -> int | None:
        if self._conn.execute("SELECT to_regclass('meta')").fetchone()[0] is None:
            return None
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        return None if row is None else int(row[0])

    def add_run(self, run: Run) -> bool:
        psycopg = self._psycopg
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(
                    f"INSERT INTO runs ({_RUN_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
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
                            (run.run_id, r.metric, _db_key(r.cls), _db_key(r.slice), r.value)
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
