"""The metrics store on SQLite and on a real PostgreSQL server (tests/conftest.py).

Every behaviour test runs on both back ends; the concurrency test runs 8
processes at once against each; the security tests prove that a password given
in ``MLPROD_STORE_URL`` shows up in no message, log, repr or file.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlprod_cli.adapters.store import (
    ENV_VAR,
    SCHEMA_VERSION,
    HistoryPoint,
    MetricKey,
    MetricRow,
    PostgresStore,
    Run,
    SQLiteStore,
    StoreError,
    open_store,
    redact,
    resolve_url,
)
from mlprod_cli.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc)


def make_run(n: int, project: str = "skin", *, value: float | None = None, **kw) -> Run:
    value = 0.5 + n / 100 if value is None else value
    rows = kw.pop(
        "rows",
        (
            MetricRow("accuracy", value),
            MetricRow("recall", value, "melanoma"),
            MetricRow("recall", value - 0.1, "nevus"),
            MetricRow("recall", value - 0.05, "macro"),
            MetricRow("recall", value - 0.2, "melanoma", "sex=female"),
        ),
    )
    return Run(
        run_id=kw.pop("run_id", f"run-{project}-{n}"),
        created_at=kw.pop("created_at", T0 + timedelta(hours=n)),
        project=project,
        model_version=kw.pop("model_version", f"v{n}"),
        model_kind=kw.pop("model_kind", "model"),
        data_hash=kw.pop("data_hash", f"sha256:{n:04d}"),
        source=kw.pop("source", "evaluate"),
        gates_passed=kw.pop("gates_passed", n % 2 == 0),
        rows=rows,
    )


def free_port() -> int:
    """A port with nothing listening on it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/store/metrics.db"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url, tmp_path):
    with open_store(store_url, root=tmp_path, env={}) as opened:
        yield opened


def as_set(run: Run) -> tuple:
    return (run.run_id, run.created_at, run.model_version, frozenset(run.rows))


# --------------------------------------------------------------------------- behaviour


def test_round_trip(store):
    run = make_run(1)
    assert store.add_run(run) is True
    [back] = store.runs("skin")
    assert back.created_at.tzinfo is not None and back.created_at == run.created_at
    assert back.created_at.utcoffset() == timedelta(0)
    assert (back.project, back.model_kind, back.data_hash, back.source, back.gates_passed) == (
        "skin",
        "model",
        "sha256:0001",
        "evaluate",
        False,
    )
    assert as_set(back) == as_set(run)
    assert back.value("recall", "melanoma", "sex=female").value == pytest.approx(0.31)
    assert store.last_run("skin") == back
    assert store.last_run("other") is None


def test_created_at_is_stored_in_utc(store):
    cet = timezone(timedelta(hours=2))
    store.add_run(make_run(1, created_at=datetime(2024, 7, 1, 14, 0, 0, 123456, tzinfo=cet)))
    [back] = store.runs("skin")
    assert back.created_at == datetime(2024, 7, 1, 12, 0, 0, 123456, tzinfo=timezone.utc)
    assert back.created_at.tzinfo == timezone.utc


def test_adding_the_same_run_twice_stores_it_once(store):
    assert store.add_run(make_run(1)) is True
    assert store.add_run(make_run(1)) is False
    # Same id, other content: the first one stays (a retried upload is harmless).
    assert store.add_run(make_run(1, value=0.99, rows=(MetricRow("accuracy", 0.99),))) is False
    [back] = store.runs("skin")
    assert back.value("accuracy").value == pytest.approx(0.51)
    assert len(back.rows) == 5
    assert [p.value for p in store.history("skin", "accuracy")] == [pytest.approx(0.51)]


def test_history_filters_by_class_slice_and_project(store):
    for n in range(3):
        store.add_run(make_run(n))
    store.add_run(make_run(9, project="other"))
    overall = store.history("skin", "accuracy")
    assert [p.value for p in overall] == pytest.approx([0.50, 0.51, 0.52])
    assert [p.model_version for p in overall] == ["v0", "v1", "v2"]
    assert [p.run_id for p in overall] == ["run-skin-0", "run-skin-1", "run-skin-2"]
    assert all(isinstance(p, HistoryPoint) for p in overall)
    melanoma = store.history("skin", "recall", cls="melanoma")
    assert [p.value for p in melanoma] == pytest.approx([0.50, 0.51, 0.52])
    assert [p.value for p in store.history("skin", "recall", cls="nevus")] == pytest.approx(
        [0.40, 0.41, 0.42]
    )
    assert [p.value for p in store.history("skin", "recall", cls="macro")] == pytest.approx(
        [0.45, 0.46, 0.47]
    )
    female = store.history("skin", "recall", cls="melanoma", slice="sex=female")
    assert [p.value for p in female] == pytest.approx([0.30, 0.31, 0.32])
    # cls=None is the overall value: recall has none, so nothing comes back.
    assert store.history("skin", "recall") == []
    assert store.history("skin", "auroc") == []
    assert store.history("nobody", "accuracy") == []
    assert [p.value for p in store.history("other", "accuracy")] == pytest.approx([0.59])


def test_history_is_oldest_first_whatever_the_insert_order(store):
    for n in (5, 1, 3, 2, 4):
        store.add_run(make_run(n))
    points = store.history("skin", "accuracy")
    assert [p.run_id for p in points] == [f"run-skin-{n}" for n in (1, 2, 3, 4, 5)]
    assert [p.created_at for p in points] == sorted(p.created_at for p in points)
    assert [r.run_id for r in store.runs("skin")] == [f"run-skin-{n}" for n in (1, 2, 3, 4, 5)]


def test_last_keeps_the_newest_runs_oldest_first(store):
    for n in range(6):
        store.add_run(make_run(n))
    assert [p.model_version for p in store.history("skin", "accuracy", last=2)] == ["v4", "v5"]
    assert [p.model_version for p in store.history("skin", "accuracy", last=99)] == [
        f"v{n}" for n in range(6)
    ]
    assert [r.model_version for r in store.runs("skin", last=3)] == ["v3", "v4", "v5"]
    assert store.last_run("skin").model_version == "v5"
    with pytest.raises(ValueError):
        store.history("skin", "accuracy", last=0)


def test_undefined_values_stay_none(store):
    rows = (
        MetricRow("auroc", None, "melanoma"),
        MetricRow("lr_plus", float("nan"), "nevus"),
        MetricRow("accuracy", 0.0),
        MetricRow("dor", math.inf, "nevus"),
    )
    store.add_run(make_run(1, rows=rows, gates_passed=None, model_version=None, data_hash=None))
    [back] = store.runs("skin")
    assert back.value("auroc", "melanoma").value is None
    assert back.value("lr_plus", "nevus").value is None
    assert back.value("accuracy").value == 0.0  # a real 0 is not undefined
    assert back.value("dor", "nevus").value == math.inf
    assert (back.gates_passed, back.model_version, back.data_hash) == (None, None, None)
    assert [p.value for p in store.history("skin", "auroc", cls="melanoma")] == [None]


def test_non_ascii_names(store):
    rows = (
        MetricRow("recall", 0.7, "mélanome"),
        MetricRow("recall", 0.6, "色素性母斑", "sexe=féminin"),
        MetricRow("recall", 0.5, "🦠 naevus"),
    )
    store.add_run(make_run(1, project="lésions-cutanées", rows=rows, model_version="v1-ß"))
    assert [p.value for p in store.history("lésions-cutanées", "recall", cls="mélanome")] == [0.7]
    assert [
        p.value
        for p in store.history("lésions-cutanées", "recall", cls="色素性母斑", slice="sexe=féminin")
    ] == [0.6]
    [back] = store.runs("lésions-cutanées")
    assert back.model_version == "v1-ß" and frozenset(back.rows) == frozenset(rows)


def test_metric_keys_lists_every_series(store):
    store.add_run(make_run(1))
    assert store.metric_keys("skin") == [
        MetricKey("accuracy"),
        MetricKey("recall", "macro"),
        MetricKey("recall", "melanoma"),
        MetricKey("recall", "melanoma", "sex=female"),
        MetricKey("recall", "nevus"),
    ]
    assert store.metric_keys("nobody") == []


def test_a_run_without_rows(store):
    assert store.add_run(make_run(1, rows=()))
    [back] = store.runs("skin")
    assert back.rows == ()


def test_a_failing_write_stores_nothing(store, store_url):
    """The run row and its metric rows go in one transaction: a failure midway leaves nothing."""
    store.add_run(make_run(1))
    if isinstance(store, SQLiteStore):
        conn = sqlite3.connect(store.path)
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON metrics WHEN NEW.metric = 'boom' "
            "BEGIN SELECT RAISE(ABORT, 'boom refused'); END"
        )
        conn.commit()
        conn.close()
    else:
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                "IF NEW.metric = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF; "
                "RETURN NEW; END $$ LANGUAGE plpgsql"
            )
            conn.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON metrics FOR EACH ROW EXECUTE FUNCTION boom()"
            )
    bad = make_run(2, rows=(MetricRow("accuracy", 0.9), MetricRow("boom", 1.0)))
    with pytest.raises(StoreError, match="boom refused") as info:
        store.add_run(bad)
    assert info.value.exit_code == 2
    assert [r.run_id for r in store.runs("skin")] == ["run-skin-1"]
    assert len(store.history("skin", "accuracy")) == 1
    # The store is still usable after the failed transaction.
    assert store.add_run(make_run(3))
    assert [r.run_id for r in store.runs("skin")] == ["run-skin-1", "run-skin-3"]


def test_invalid_runs_are_refused_before_the_store():
    with pytest.raises(ValueError, match="timezone"):
        make_run(1, created_at=datetime(2024, 1, 1))
    with pytest.raises(ValueError, match="twice"):
        make_run(1, rows=(MetricRow("accuracy", 1.0), MetricRow("accuracy", 0.5)))
    with pytest.raises(ValueError):
        MetricRow("recall", 0.5, cls="")
    with pytest.raises(ValueError):
        make_run(1, run_id="")


# --------------------------------------------------------------------------- concurrency

WRITER = textwrap.dedent(
    """
    import os, sys, time
    from datetime import datetime, timedelta, timezone
    from pathlib import Path
    from mlprod_cli.adapters.store import MetricRow, Run, open_store

    worker, start_at, root = int(sys.argv[1]), float(sys.argv[2]), Path(sys.argv[3])
    while time.time() < start_at:  # all workers hit the empty store at the same moment
        time.sleep(0.002)
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    with open_store(None, root=root) as store:  # the URL comes from MLPROD_STORE_URL
        store.add_run(Run("shared", t0, "race", rows=(MetricRow("accuracy", 0.0),)))
        for i in range(50):
            store.add_run(
                Run(
                    run_id=f"w{worker}-{i}",
                    created_at=t0 + timedelta(seconds=worker * 1000 + i),
                    project="race",
                    model_version=f"w{worker}",
                    rows=(
                        MetricRow("accuracy", i / 50),
                        MetricRow("recall", i / 50, "a"),
                        MetricRow("recall", None, "b"),
                    ),
                )
            )
    """
)


def run_writers(url: str, root: Path, workers: int = 8) -> float:
    env = {**os.environ, ENV_VAR: url, "PYTHONPATH": str(REPO)}
    start_at = time.time() + 1.0
    begun = time.perf_counter()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(start_at), str(root)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(workers)
    ]
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(err[-2000:])
    assert not failures, failures
    return time.perf_counter() - begun


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_parallel_writers_lose_nothing(backend, request, tmp_path):
    if backend == "sqlite":
        url = "sqlite:///.mlprod/metrics.db"  # relative to root, created by the race itself
    else:
        url = request.getfixturevalue("pg_url")
    elapsed = run_writers(url, tmp_path)
    assert elapsed < 30, f"8 writers took {elapsed:.1f} s"
    with open_store(url, root=tmp_path, env={}) as store:
        runs = store.runs("race")
        ids = [r.run_id for r in runs]
        assert len(ids) == len(set(ids)) == 8 * 50 + 1
        expected = {"shared"} | {f"w{w}-{i}" for w in range(8) for i in range(50)}
        assert set(ids) == expected
        assert all(len(r.rows) == 3 for r in runs if r.run_id != "shared")
        assert len(store.history("race", "recall", cls="b")) == 400
        assert [p.run_id for p in store.history("race", "accuracy", last=3)] == [
            "w7-47",
            "w7-48",
            "w7-49",
        ]


# --------------------------------------------------------------------------- SQLite specifics


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


# --------------------------------------------------------------------------- URLs


def test_env_var_wins_over_the_config(tmp_path):
    assert resolve_url("sqlite:///a.db", {ENV_VAR: "sqlite:///b.db"}) == "sqlite:///b.db"
    assert resolve_url("sqlite:///a.db", {ENV_VAR: "  "}) == "sqlite:///a.db"
    assert resolve_url(None, {}) == "sqlite:///.mlprod/metrics.db"
    store = open_store("sqlite:///a.db", root=tmp_path, env={ENV_VAR: "sqlite:///b.db"})
    assert store.path == tmp_path / "b.db"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://mlprod:s3cret@db:5432/metrics", "postgresql://mlprod:***@db:5432/metrics"),
        ("postgres://u:p%40ss@h/db", "postgres://u:***@h/db"),
        ("postgresql://u:p@ss/w:rd@h:1/db", "postgresql://u:***@h:1/db"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://h/db?user=u&password=s3cret&sslmode=require", "postgresql://h/db?user=u&password=***&sslmode=require"),
        ("sqlite:///.mlprod/metrics.db", "sqlite:///.mlprod/metrics.db"),
        ("user:pw@host/db", "user:***@host/db"),
        ("u:pw@h://db", "u:***@h://db"),
    ],
)  # fmt: skip
def test_redact(url, expected):
    assert redact(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "mysql://root:hunter2@db/metrics",
        "hunter2",
        "hunter2:x",
        "mlprod:hunter2@db/metrics",
        "mlprod:hunter2@db://metrics",
        "postgresql://u:hunter2@db:port/metrics",
        "postgresql://u:hunter2@db:99999/metrics",
        "postgresql://u:hunter2@db:5432/metrics/extra",
        "postgresql://u:hunter2/x@db:5432/metrics",  # unescaped "/": "hunter2" looks like a port
        "postgresql://u:hunt@er2@db:5432/metrics",  # unescaped "@": libpq would see host "er2@db"
        "sqlite://host/metrics.db",
        "sqlite:///",
        "sqlite:///folder/",
    ],
)
def test_malformed_urls_are_config_errors_without_the_password(url, tmp_path):
    with pytest.raises(ConfigError) as info:
        open_store(url, root=tmp_path, env={})
    message = info.value.message
    assert "hunter" not in message and "hunter" not in str(info.value)
    assert "\n" not in message and "metrics store URL" in message
    assert info.value.exit_code == 2


# --------------------------------------------------------------------------- PostgreSQL specifics


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
    monkeypatch.setattr("mlprod_cli.adapters.store.CONNECT_TIMEOUT_S", 2)  # libpq's minimum
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


@pytest.fixture
def metrics_command(monkeypatch):
    """``mlprod metrics`` registered, whether or not cli.build_app does it yet."""
    from mlprod_cli import cli
    from mlprod_cli.commands import metrics

    original = cli.build_app

    def build_app():
        app = original()
        if not any(group.name == "metrics" for group in app.registered_groups):
            metrics.register(app)
        return app

    monkeypatch.setattr(cli, "build_app", build_app)


def test_metrics_history_with_password_in_env(
    postgres_server, pg_url, project, monkeypatch, capsys, metrics_command
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
