"""The PostgreSQL back end of the metrics store (``_postgres.py``) on a real server.

The server is private to the test session (tests/conftest.py). The security tests
prove that a password given in ``MLPROD_STORE_URL`` shows up in no message, log,
repr or file, whether the server answers, refuses or never replies.
"""

from __future__ import annotations

import logging
import socket
import sys
import time
import traceback

import pytest

from mlprod_cli.adapters.store import (
    ENV_VAR,
    SCHEMA_VERSION,
    PostgresStore,
    StoreError,
    open_store,
)
from mlprod_cli.errors import ConfigError
from tests.adapters.store.runs import make_run
from tests.serving import free_port


def test_postgres_schema(pg_url, tmp_path):
    import psycopg

    with open_store(pg_url, root=tmp_path, env={}) as store:
        assert isinstance(store, PostgresStore)
        store.add_run(make_run(1))
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (
            str(SCHEMA_VERSION),
        )
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_name = 'runs'"
            ).fetchall()
        )
        assert types["created_at"] == "timestamp with time zone"
        assert types["gates_passed"] == "boolean"


def test_postgres_scheme_alias(pg_url, tmp_path):
    with open_store(pg_url.replace("postgresql://", "postgres://"), root=tmp_path, env={}) as s:
        s.add_run(make_run(1))
        assert len(s.runs("skin")) == 1


# --------------------------------------------------------------------------- security


def test_unreachable_store_names_host_port_database_not_password(tmp_path):
    pytest.importorskip("psycopg")
    port = free_port()
    url = f"postgresql://mlprod:hunter2-secret@127.0.0.1:{port}/metrics"
    began = time.perf_counter()
    with pytest.raises(StoreError) as info:
        open_store(None, root=tmp_path, env={ENV_VAR: url})
    assert time.perf_counter() - began < 10
    exc = info.value
    assert exc.exit_code == 2
    assert exc.message == (
        f"cannot reach the metrics store postgresql://mlprod:***@127.0.0.1:{port}/metrics: "
        "connection refused"
    )
    shown = "".join(traceback.format_exception(exc)) + repr(exc) + str(exc) + str(exc.hint)
    assert "hunter2" not in shown


def test_postgres_without_psycopg_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg → ImportError
    with pytest.raises(StoreError) as info:
        open_store("postgresql://u:hunter2@127.0.0.1:1/db", root=tmp_path, env={})
    assert info.value.message == "the metrics store postgresql://u:***@127.0.0.1:1/db needs psycopg"
    assert info.value.hint == "pip install 'psycopg[binary]'" and info.value.exit_code == 2


def test_a_silent_server_times_out(tmp_path, monkeypatch):
    """A port that accepts but never answers: connect_timeout ends the wait."""
    pytest.importorskip("psycopg")
    monkeypatch.setattr(
        "mlprod_cli.adapters.store._postgres.CONNECT_TIMEOUT_S", 2
    )  # libpq's minimum
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        url = f"postgresql://mlprod:hunter2@127.0.0.1:{port}/metrics"
        began = time.perf_counter()
        with pytest.raises(StoreError) as info:
            open_store(url, root=tmp_path, env={})
        assert time.perf_counter() - began < 8
    assert info.value.message == (
        f"cannot reach the metrics store postgresql://mlprod:***@127.0.0.1:{port}/metrics: "
        "no answer within 2 s"
    )


def test_a_url_libpq_cannot_parse_is_a_config_error(tmp_path):
    pytest.importorskip("psycopg")
    with pytest.raises(ConfigError) as info:
        open_store("postgresql://u:hunter2@127.0.0.1:1/db?bogus=1", root=tmp_path, env={})
    assert info.value.message == (
        "metrics store URL postgresql://u:***@127.0.0.1:1/db?bogus=1 is malformed: "
        'invalid URI query parameter: "bogus"'
    )


def test_wrong_password_is_reported_without_it(postgres_server, pg_url, tmp_path):
    url = pg_url.replace(postgres_server.password, "hunter2-wrong")
    with pytest.raises(StoreError) as info:
        open_store(url, root=tmp_path, env={})
    message = info.value.message
    assert "hunter2" not in message and postgres_server.password not in message
    assert message.startswith("cannot reach the metrics store postgresql://mlprod:***@127.0.0.1:")
    assert message.endswith(': password authentication failed for user "mlprod"'), message
    assert "\n" not in message


def test_password_from_env_appears_in_no_repr_log_or_error(
    postgres_server, pg_url, tmp_path, caplog
):
    password = postgres_server.password
    caplog.set_level(logging.DEBUG, logger="mlprod.store")
    with open_store("sqlite:///.mlprod/metrics.db", root=tmp_path, env={ENV_VAR: pg_url}) as s:
        assert isinstance(s, PostgresStore)
        s.add_run(make_run(1))
        assert password not in repr(s) and password not in s.url and "***" in repr(s)
        assert password not in repr(s.runs("skin")) + repr(s.history("skin", "accuracy"))
        # An error from a broken query mentions the store, never the password.
        s._conn.execute("ALTER TABLE metrics RENAME TO metrics_gone")
        with pytest.raises(StoreError) as info:
            s.history("skin", "accuracy")
        assert password not in str(info.value) and "***" in str(info.value)
    assert caplog.records and all(password not in r.getMessage() for r in caplog.records)
    # The environment variable won: no SQLite file was made, and nothing on disk holds it.
    assert not (tmp_path / ".mlprod").exists()
    for path in tmp_path.rglob("*"):
        assert not path.is_file() or password.encode() not in path.read_bytes()


def test_metrics_history_with_password_in_env(
    postgres_server, pg_url, project, monkeypatch, capsys
):
    """Through the CLI: output, errors and every file of the project stay password-free."""
    from mlprod_cli.cli import main

    password = postgres_server.password
    with open_store(pg_url, root=project, env={}) as s:
        for n in range(3):
            s.add_run(make_run(n, project="skin-lesions"))
    monkeypatch.chdir(project)
    monkeypatch.setenv(ENV_VAR, pg_url)
    assert main(["metrics", "history", "--metric", "accuracy", "--format", "json"]) == 0
    seen = capsys.readouterr()
    assert '"run_id": "run-skin-lesions-2"' in seen.out
    assert main(["metrics", "history", "--metric", "accuracy"]) == 0
    seen2 = capsys.readouterr()
    assert "0.5200" in seen2.out
    broken = pg_url.replace(f"127.0.0.1:{postgres_server.port}", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv(ENV_VAR, broken)
    assert main(["metrics", "history"]) == 2
    seen3 = capsys.readouterr()
    assert seen3.err.startswith("error: cannot reach the metrics store postgresql://mlprod:***@")
    for text in (seen.out, seen.err, seen2.out, seen2.err, seen3.out, seen3.err):
        assert password not in text
    assert not (project / ".mlprod").exists()
    for path in project.rglob("*"):
        assert not path.is_file() or password.encode() not in path.read_bytes()
