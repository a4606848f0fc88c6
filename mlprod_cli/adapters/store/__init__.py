"""The metrics store: every ``mlprod evaluate`` run, kept so trends show over time.

Two back ends share the schema and the guarantees (docs/store.md):

* SQLite, embedded, the default (``sqlite:///.mlprod/metrics.db``), in ``_sqlite.py``;
* PostgreSQL for a team (``postgresql://user:pass@host:port/db``), in
  ``_postgres.py``, through psycopg 3, imported only when the URL asks for it.

``_base.py`` holds what they share: the :class:`Store` interface and its reads,
the row values, URL resolution and the redaction of passwords. Adding a run id
that is already stored changes nothing, so a retried upload is safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlprod_cli.adapters.store._base import (
    DEFAULT_URL,
    ENV_VAR,
    SCHEMA_VERSION,
    HistoryPoint,
    MetricKey,
    MetricRow,
    Run,
    Store,
    StoreError,
    new_run_id,
    parse_url,
    redact,
    resolve_url,
)
from mlprod_cli.adapters.store._postgres import PostgresStore
from mlprod_cli.adapters.store._sqlite import SQLiteStore

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


def open_store(url: str | None, *, root: Path, env: Mapping[str, str] | None = None) -> Store:
    """Open the store at ``url`` (or ``MLPROD_STORE_URL``), SQLite paths relative to ``root``.

    Raises ConfigError for a malformed URL or an unknown scheme, StoreError when
    the store cannot be reached or opened.
    """
    scheme, target = parse_url(resolve_url(url, env), root=root, env=env)
    if scheme == "sqlite":
        return SQLiteStore(Path(target))
    return PostgresStore(str(target))
