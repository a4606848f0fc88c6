"""The metrics store's interface: its rows, its URLs and the queries both back ends share.

A run is one row in ``runs`` (when, project, model version, data hash, where the
predictions came from, whether the gates passed) and one row per number in
``metrics`` (metric, class, slice, value). :class:`Store` holds the reads, written
once in SQL both back ends understand; ``_sqlite.py`` and ``_postgres.py`` hold
the connections, the schema and the writes (docs/store.md).

``MLPROD_STORE_URL`` overrides the URL in ``mlprod.yaml`` so that a password
never has to be written to a file; :func:`redact` hides it in every message.
"""

from __future__ import annotations

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

DEFAULT_URL = "sqlite:///.mlprod/metrics.db"
ENV_VAR = "MLPROD_STORE_URL"
SCHEMA_VERSION = 1


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
    model_kind: str | None = None  # "model", "baseline", "predictions"
    source: str | None = None  # the data (or predictions file) the run read


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


def url_secrets(url: str) -> list[str]:
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


def scrub(text: str, secrets: Sequence[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``."""
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def parse_url(
    url: str, *, root: Path, env: Mapping[str, str] | None = None
) -> tuple[str, Path | str]:
    """Where the store ``url`` in effect points: ``("sqlite", path)`` or ``("postgresql", url)``.

    SQLite paths are relative to ``root``; ``env`` only says where a URL without
    a scheme came from. Raises ConfigError for a malformed URL or an unknown
    scheme, naming the URL with its password redacted.
    """
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
        return "sqlite", path if path.is_absolute() else root / path
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
        return "postgresql", url
    raise ConfigError(
        f"metrics store URL {shown}: unknown scheme '{url.partition('://')[0]}' "
        "(use sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/DATABASE)"
    )


# --------------------------------------------------------------------------- the store


def db_key(name: str | None) -> str:
    """How the database spells a class or slice: ``""`` for None."""
    return "" if name is None else name


def from_db_key(text: str) -> str | None:
    """The class or slice a database key stands for: None for ``""``."""
    return None if text == "" else text


RUN_COLUMNS = (
    "run_id, created_at, project, model_version, model_kind, data_hash, source, gates_passed"
)


class Store(ABC):
    """What every back end offers; use :func:`open_store` to get one.

    The queries are shared: back ends provide :meth:`_read` (SQL with ``?``
    placeholders), :meth:`_time` (a stored time → aware UTC datetime),
    :meth:`add_run` and :meth:`close` (``_sqlite.py``, ``_postgres.py``).
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
        kind: str | None = None,
        model: str | None = None,
    ) -> list[HistoryPoint]:
        """The values of one series, oldest first; ``last`` keeps the newest N runs.

        ``kind`` keeps the runs of one ``model_kind`` (model, baseline, predictions);
        ``model`` the runs of one model version, or of one predictions file (its
        ``source`` as stored).
        """
        where = "r.project = ? AND m.metric = ? AND m.cls = ? AND m.slice = ?"
        params: list[Any] = [project, metric, db_key(cls), db_key(slice)]
        if kind is not None:
            where += " AND r.model_kind = ?"
            params.append(kind)
        if model is not None:
            where += " AND (r.model_version = ? OR (r.model_version IS NULL AND r.source = ?))"
            params += [model, model]
        sql = (
            "SELECT r.run_id, r.created_at, r.model_version, m.value, r.model_kind, r.source "
            f"FROM runs r JOIN metrics m ON m.run_id = r.run_id WHERE {where} "
            "ORDER BY r.created_at DESC, r.run_id DESC"
        )
        rows = self._read(*_limited(sql, params, last))
        return [
            HistoryPoint(
                run_id,
                self._stored_time(created, run_id),
                version,
                self._stored_value(value, run_id, metric),
                run_kind,
                source,
            )
            for run_id, created, version, value, run_kind, source in reversed(rows)
        ]

    def _stored_time(self, stored: Any, run_id: str) -> datetime:
        """A run's ``created_at`` as an aware UTC datetime, or a StoreError naming the run.

        The store is mlprod's own, but a file or a database can be edited by hand
        (or written by another tool): what cannot be read is said, not crashed on.
        """
        try:
            return self._time(stored)
        except (ValueError, TypeError, OverflowError):
            raise StoreError(
                f"the metrics store {self.url}: run {run_id} has created_at "
                f"{str(stored)[:40]!r}, which is not a time",
                hint=_FIX_RUN_HINT,
            ) from None

    def _stored_value(self, stored: Any, run_id: str, metric: str) -> float | None:
        """A stored metric value as a float (None when undefined), or a StoreError naming it.

        ±inf and ±1e308 are numbers a custom metric may return: they are kept.
        Text, bytes or a boolean in the value column are not numbers.
        """
        if stored is None:
            return None
        if isinstance(stored, (int, float)) and not isinstance(stored, bool):
            value = float(stored)
            return None if math.isnan(value) else value
        if type(stored).__name__ == "Decimal":  # PostgreSQL NUMERIC, should the column be one
            return None if stored.is_nan() else float(stored)
        raise StoreError(
            f"the metrics store {self.url}: run {run_id} holds {metric} = "
            f"{str(stored)[:40]!r}, which is not a number",
            hint=_FIX_RUN_HINT,
        )

    def run_models(self, project: str) -> list[tuple[str | None, str]]:
        """Every (model kind, version or predictions file) the project's runs have, sorted."""
        rows = self._read(
            "SELECT DISTINCT model_kind, COALESCE(model_version, source) FROM runs "
            "WHERE project = ?",
            [project],
        )
        return sorted(
            {(kind, name) for kind, name in rows if name is not None},
            key=lambda r: (r[0] or "", r[1]),
        )

    def runs(self, project: str, *, last: int | None = None) -> list[Run]:
        """The project's runs with all their rows, oldest first."""
        sql = f"SELECT {RUN_COLUMNS} FROM runs WHERE project = ? ORDER BY created_at DESC, run_id DESC"
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
                MetricRow(
                    metric,
                    self._stored_value(value, run_id, metric),
                    from_db_key(cls),
                    from_db_key(slice_),
                )
            )
        return [
            Run(
                run_id=r[0],
                created_at=self._stored_time(r[1], r[0]),
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
            MetricKey(m, from_db_key(c), from_db_key(sl))
            for m, c, sl in sorted(tuple(r) for r in rows)
        ]

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"


def _limited(sql: str, params: list[Any], last: int | None) -> tuple[str, list[Any]]:
    """``sql`` with ``LIMIT last`` when ``last`` is given (it must be at least 1)."""
    if last is None:
        return sql, params
    if last < 1:
        raise ValueError(f"last must be at least 1, got {last}")
    return f"{sql} LIMIT ?", [*params, last]


_FIX_RUN_HINT = "fix or delete that run in the store (its rows in runs and metrics)"


def parse_schema_version(stored: Any, url: str) -> int:
    """The schema version as stored in ``meta`` (text), or a StoreError saying it is not one."""
    text = str(stored).strip()
    if not (text.isascii() and text.isdigit()):
        raise StoreError(
            f"the metrics store {url} has schema version {str(stored)[:40]!r}, which is not a number",
            hint="this is not a store mlprod wrote, or its meta table was edited",
        )
    return int(text)


def check_version(version: int | None, url: str) -> None:
    """Refuse a store without a schema version, or with one newer than this mlprod's."""
    if version is None:
        raise StoreError(f"the metrics store {url} has no schema version")
    if version < 1:
        raise StoreError(
            f"the metrics store {url} has schema version {version}; versions start at 1",
            hint="this is not a store mlprod wrote, or its meta table was edited",
        )
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the metrics store {url} has schema version {version}; this mlprod knows "
            f"version {SCHEMA_VERSION}",
            hint="upgrade mlprod",
        )
