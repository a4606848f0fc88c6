"""What every back end of the metrics store does alike, and its URLs (``_base.py``).

Every behaviour test runs on SQLite and on a real PostgreSQL server
(tests/conftest.py), through the queries the :class:`Store` interface shares; the
concurrency test runs 8 processes at once against each.
"""

from __future__ import annotations

import math
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from mlprod_cli.adapters.store import (
    ENV_VAR,
    HistoryPoint,
    MetricKey,
    MetricRow,
    Run,
    SQLiteStore,
    StoreError,
    open_store,
    redact,
    resolve_url,
)
from mlprod_cli.errors import ConfigError
from tests.adapters.store.runs import make_run

REPO = Path(__file__).resolve().parents[3]


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


def test_history_filters_by_run_kind_and_model(store):
    store.add_run(make_run(0))
    store.add_run(make_run(1, model_version=None, model_kind="predictions", source="preds.csv"))
    store.add_run(make_run(2, model_version="v1", model_kind="baseline"))
    store.add_run(make_run(3))
    every = store.history("skin", "accuracy")
    assert [(p.model_kind, p.model_version, p.source) for p in every] == [
        ("model", "v0", "evaluate"),
        ("predictions", None, "preds.csv"),
        ("baseline", "v1", "evaluate"),
        ("model", "v3", "evaluate"),
    ]
    models = store.history("skin", "accuracy", kind="model")
    assert [p.run_id for p in models] == ["run-skin-0", "run-skin-3"]
    assert [p.run_id for p in store.history("skin", "accuracy", kind="predictions")] == [
        "run-skin-1"
    ]
    assert [p.run_id for p in store.history("skin", "accuracy", model="v1")] == ["run-skin-2"]
    assert [p.run_id for p in store.history("skin", "accuracy", model="preds.csv")] == [
        "run-skin-1"
    ]
    assert store.history("skin", "accuracy", kind="baseline", model="v0") == []
    assert [p.run_id for p in store.history("skin", "accuracy", kind="model", last=1)] == [
        "run-skin-3"
    ]
    assert store.run_models("skin") == [
        ("baseline", "v1"), ("model", "v0"), ("model", "v3"), ("predictions", "preds.csv"),
    ]  # fmt: skip


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
