"""Fixtures of the store tests: one store per back end (PostgreSQL from tests/conftest.py)."""

from __future__ import annotations

import pytest

from mlprod_cli.adapters.store import open_store


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    """An empty store's URL, once for SQLite and once for a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store/metrics.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url, tmp_path):
    """The store at ``store_url``, opened, closed after the test."""
    with open_store(store_url, root=tmp_path, env={}) as opened:
        yield opened
