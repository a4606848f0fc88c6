"""8 processes running ``mlprod evaluate`` at once, 50 runs each, on SQLite and PostgreSQL.

Every run must be stored exactly once: 400 runs, each with all its metric rows,
none lost, none twice, and their ids the ones the 400 reports printed. The
store does not exist when the race starts, so its creation races too (the
SQLite file and its WAL switch; PostgreSQL's schema in an empty database).

The 8 processes are forked from one warm interpreter (one start-up instead of
8) and each calls ``mlprod_cli.cli.main(["evaluate", …])`` 50 times, so the
store is opened, written and closed 400 times as the command does it. The
PostgreSQL server is the private one of tests/conftest.py: without it the test
is skipped, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from mlprod_cli.adapters.store import ENV_VAR

pytestmark = pytest.mark.slow

WORKERS = 8
RUNS = 50

RACE = textwrap.dedent(
    """
    import contextlib, io, json, os, sys, time
    from mlprod_cli.cli import main

    workers, runs, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    argv = sys.argv[4:]
    with contextlib.redirect_stdout(io.StringIO()):
        assert main([*argv, "--no-store"]) == 0  # imports everything; stores nothing
    start_at = time.time() + 0.5
    children = []
    for worker in range(workers):
        pid = os.fork()
        if pid == 0:
            ids, errors = [], []
            while time.time() < start_at:  # every worker hits the missing store at once
                time.sleep(0.001)
            for _ in range(runs):
                stdout, stderr = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
                    code = main(argv)
                report = json.loads(stdout.getvalue()) if code == 0 else {}
                ids.append(report.get("run_id"))
                if code != 0 or not report.get("stored") or stderr.getvalue():
                    errors.append(f"exit {code}: {stderr.getvalue().strip()}")
            with open(f"{out}/worker-{worker}.json", "w") as handle:
                json.dump({"ids": ids, "errors": errors}, handle)
            os._exit(0)
        children.append(pid)
    failed = 0
    for pid in children:
        failed += os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0
    sys.exit(failed)
    """
)


@pytest.fixture
def predictions(project) -> Path:
    """A small predictions file with labels: evaluate needs no model, just the store."""
    lines = (project / "data" / "lesions.csv").read_text().splitlines()
    header = lines[0].split(",")
    target = header.index("diagnosis")
    rows = [line.split(",") for line in lines[1:201]]
    classes = sorted({row[target] for row in rows})
    path = project / "predictions.csv"
    wrong = {c: classes[(i + 1) % len(classes)] for i, c in enumerate(classes)}
    body = [
        f"{row[target]},{wrong[row[target]] if n % 7 == 0 else row[target]}"
        for n, row in enumerate(rows)
    ]
    path.write_text("diagnosis,predicted\n" + "\n".join(body) + "\n")
    return path


def race(project: Path, predictions: Path, tmp_path: Path, env: dict) -> tuple[list[str], float]:
    argv = [
        "evaluate", "--predictions", str(predictions), "--label-col", "diagnosis",
        "--pred-col", "predicted", "--format", "json", "--no-gate",
    ]  # fmt: skip
    out = tmp_path / "ids"
    out.mkdir()
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RACE, str(WORKERS), str(RUNS), str(out), *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    elapsed = time.perf_counter() - began
    assert done.returncode == 0, done.stderr[-3000:]
    ids, errors = [], []
    for worker in range(WORKERS):
        result = json.loads((out / f"worker-{worker}.json").read_text())
        ids += result["ids"]
        errors += result["errors"]
    assert errors == []
    return ids, elapsed


def check(ids: list[str], stored: dict[str, int], capsys, backend: str, elapsed: float) -> None:
    """``stored``: run id → its metric rows, for every run of the project in the store."""
    assert len(ids) == WORKERS * RUNS and None not in ids
    assert len(set(ids)) == len(ids), "two reports printed the same run id"
    assert len(stored) == WORKERS * RUNS, f"{len(stored)} runs stored"
    assert set(stored) == set(ids)
    counts = set(stored.values())
    assert len(counts) == 1 and counts.pop() > 10  # every run has all its rows
    with capsys.disabled():
        sys.stderr.write(f"\n{backend}: {len(stored)} runs stored in {elapsed:.1f} s\n")


def test_parallel_evaluate_on_sqlite_stores_every_run_once(project, predictions, tmp_path, capsys):
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    db = project / ".mlprod" / "metrics.db"  # the project's default store
    assert not db.exists()
    ids, elapsed = race(project, predictions, tmp_path, env)
    conn = sqlite3.connect(db)
    try:
        runs = conn.execute("SELECT run_id, project FROM runs").fetchall()
        rows = dict(conn.execute("SELECT run_id, count(*) FROM metrics GROUP BY run_id"))
    finally:
        conn.close()
    assert {p for _, p in runs} == {"skin-lesions"} and len(runs) == len({r for r, _ in runs})
    check(ids, {run_id: rows.get(run_id, 0) for run_id, _ in runs}, capsys, "sqlite", elapsed)


def test_parallel_evaluate_on_postgresql_stores_every_run_once(
    project, predictions, tmp_path, capsys, pg_url
):
    import psycopg

    env = dict(os.environ, **{ENV_VAR: pg_url})
    ids, elapsed = race(project, predictions, tmp_path, env)
    with psycopg.connect(pg_url) as conn:
        runs = conn.execute("SELECT run_id, project FROM runs").fetchall()
        rows = dict(conn.execute("SELECT run_id, count(*) FROM metrics GROUP BY run_id").fetchall())
    assert {p for _, p in runs} == {"skin-lesions"} and len(runs) == len({r for r, _ in runs})
    check(ids, {run_id: rows.get(run_id, 0) for run_id, _ in runs}, capsys, "postgresql", elapsed)
    assert not (project / ".mlprod").exists()  # the environment variable won
