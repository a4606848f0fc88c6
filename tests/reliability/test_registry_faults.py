"""Every write of the registry and of the metrics store made to fail, one at a time.

In the manner of SQLite's I/O-error tests (:mod:`tests.reliability.faults`): for
each of ENOSPC, EIO and EPERM and N = 1, 2, … until the command completes, the
N-th write point of ``models activate``, ``models rollback``, ``train --activate``
and ``evaluate`` (its store write) fails. Each failed run must end in exit 2 with
one ``error:`` line and nothing on stdout, and leave the project as it was or as
the completed run leaves it: the registry (``active.json``, the version folders)
and the store hold the old state or the new one, never a mix, and no temporary
file is left behind.
"""

from __future__ import annotations

import errno
import json
import shutil
import sqlite3
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.faults import run_main, snapshot, sweep

STATE = {
    "model": "v0002",
    "baseline": "v0001",
    "history": {"model": ["v0002"], "baseline": ["v0001"]},
}
ERRNO_NAMES = {errno.ENOSPC: "ENOSPC", errno.EIO: "EIO", errno.EPERM: "EPERM"}
FIGURES: list[str] = []


@pytest.fixture(scope="module")
def base(trained_project, tmp_path_factory) -> Path:
    """The trained project (v0001 baseline, v0002 model) with a second model, v0003."""
    root = tmp_path_factory.mktemp("registry-faults") / "base"
    shutil.copytree(trained_project, root)
    shutil.copytree(root / "models" / "v0002", root / "models" / "v0003")  # the same estimator
    return root


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in ("MLPROD_STORE_URL", "MLPROD_FORMAT", "MLPROD_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CI", "true")


def _preparer(base: Path, tmp_path: Path, state: dict | None):
    count = iter(range(1_000_000))

    def prepare() -> Path:
        root = tmp_path / f"trial-{next(count)}"
        shutil.copytree(base, root)
        if state is not None:
            (root / "models" / "active.json").write_text(json.dumps(state, indent=2) + "\n")
        return root

    return prepare


def _registry_state(root: Path) -> dict:
    """What the registry holds: active.json's content and each version folder's files."""
    models = root / "models"
    active = models / "active.json"
    return {
        "active": json.loads(active.read_text()) if active.exists() else None,
        "entries": {
            rel: digest
            for rel, digest in snapshot(models).items()
            if not rel.startswith(".tmp-")  # a killed run's leftover; a failed one removes its own
        },
    }


def _registry_versions(root: Path) -> dict:
    """The registry as mlprod reads it: active.json, the whole versions, the broken ones.

    For ``train``, whose new versions differ from run to run (times, zip dates).
    """
    from mlprod_cli.core.registry import Registry

    models = root / "models"
    versions, broken = Registry(models).scan()
    active = models / "active.json"
    return {
        "active": json.loads(active.read_text()) if active.exists() else None,
        "versions": [(v.id, v.kind) for v in versions],
        "broken": sorted(broken),
        "temporary": sorted(p.name for p in models.glob(".tmp-*")),
    }


def _store_state(root: Path) -> tuple:
    """The stored runs and how many metric rows each has (or None: no store file)."""
    path = root / ".mlprod" / "metrics.db"
    if not path.exists():
        return ()
    conn = sqlite3.connect(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "runs" not in tables:
            return ()
        return tuple(
            conn.execute(
                "SELECT r.run_id IS NOT NULL, count(m.metric) FROM runs r "
                "LEFT JOIN metrics m ON m.run_id = r.run_id GROUP BY r.run_id"
            ).fetchall()
        )
    finally:
        conn.close()


def _run_sweep(
    name: str, argv: list[str], prepare, state_of, capsys, *, one_line: bool = True
) -> list[str]:
    """Sweep ``argv``; check every failed trial against the old state and the completed one.

    Returns the stderr of failed trials that printed more than their ``error:`` line
    (with ``one_line``, there must be none).
    """
    before = state_of(prepare())
    trials = list(sweep(prepare, lambda root: run_main(argv, root)))
    extra: list[str] = []
    completed = {t.err: t for t in trials if t.point is None}
    assert set(completed) == set(ERRNO_NAMES), "a sweep did not complete"
    ends: Counter = Counter()
    for trial in trials:
        outcome = trial.result
        where = f"{name}, {ERRNO_NAMES[trial.err]} at point {trial.n} ({trial.point}): exit {outcome.code}, {outcome.err!r}"
        assert "Traceback" not in outcome.out + outcome.err, where
        after = state_of(trial.root)
        if trial.point is None:
            assert outcome.code == 0, where
            ends["completed"] += 1
        elif outcome.code == 0:
            # The failing point was one the command may survive (a cleanup after its
            # work, say): then the work must be whole.
            assert after == state_of(completed[trial.err].root), where
            ends["survived"] += 1
        else:
            assert outcome.code == 2, where
            assert outcome.out == "", where
            lines = outcome.err.splitlines()
            assert lines and lines[-1].startswith("error: "), where
            assert sum(line.startswith("error: ") for line in lines) == 1, where
            if len(lines) > 1:
                extra.append(outcome.err)
            assert not (one_line and extra), where
            assert after in (before, state_of(completed[trial.err].root)), f"{where}: a mix"
            ends["old state" if after == before else "new state"] += 1
        leftovers = [p for p in trial.root.rglob("*.tmp") if p.is_file()]
        assert not leftovers, f"{where}: left {leftovers}"
        shutil.rmtree(trial.root)
    points = max(len(t.points) for t in trials if t.point is None)
    failed = sum(t.point is not None for t in trials)
    line = (
        f"{name}: {points} write points x {len(ERRNO_NAMES)} errnos = {failed} failed runs "
        f"({', '.join(f'{k} {v}' for k, v in sorted(ends.items()))}), all clean"
    )
    if extra:
        line += f"; {len(extra)} printed step lines before the error"
    FIGURES.append(line)
    with capsys.disabled():
        sys.stderr.write("\n" + line + "\n")
    return extra


@pytest.mark.slow
def test_faults_in_models_activate(base, tmp_path, capsys):
    state = {
        "baseline": "v0001",
        "model": "v0002",
        "history": {"baseline": ["v0001"], "model": ["v0002"]},
    }
    prepare = _preparer(base, tmp_path, state)
    _run_sweep(
        "models activate v0003", ["models", "activate", "v0003"], prepare, _registry_state, capsys
    )


@pytest.mark.slow
def test_faults_in_models_activate_of_a_baseline(base, tmp_path, capsys):
    prepare = _preparer(base, tmp_path, None)  # no active.json yet: it is created
    _run_sweep(
        "models activate v0001 (first)",
        ["models", "activate", "v0001"],
        prepare,
        _registry_state,
        capsys,
    )


@pytest.mark.slow
def test_faults_in_models_rollback(base, tmp_path, capsys):
    state = {
        "model": "v0003",
        "baseline": "v0001",
        "history": {"model": ["v0002", "v0003"], "baseline": ["v0001"]},
    }
    prepare = _preparer(base, tmp_path, state)
    _run_sweep("models rollback", ["models", "rollback"], prepare, _registry_state, capsys)


@pytest.mark.slow
def test_faults_in_train_activate(base, tmp_path, capsys):
    prepare = _preparer(base, tmp_path, STATE)
    _run_sweep(
        "train --activate",
        ["train", "--cv", "0", "--activate", "--force"],
        prepare,
        _registry_versions,
        capsys,
    )


# The store must be whole after every failure: that is checked strictly here. That the
# error is the only line is checked apart: commands/evaluate.py prints the step lines
# it held before a store error (issue 11 item 10, fixed on another branch).


@pytest.mark.slow
def test_faults_in_evaluate_store_write(base, tmp_path, capsys):
    prepare = _preparer(base, tmp_path, STATE)

    def state_of(root: Path) -> tuple:
        return (_store_state(root), _registry_state(root))

    _run_sweep("evaluate (store)", ["evaluate"], prepare, state_of, capsys, one_line=False)


@pytest.mark.slow
def test_faults_in_evaluate_into_an_existing_store(base, tmp_path, capsys):
    """A second run into a store that is there: the run is stored whole or not at all."""
    seeded = tmp_path / "seeded"
    shutil.copytree(base, seeded)
    (seeded / "models" / "active.json").write_text(json.dumps(STATE))
    assert run_main(["evaluate"], seeded).code == 0
    prepare = _preparer(seeded, tmp_path, None)

    def state_of(root: Path) -> tuple:
        return (_store_state(root), _registry_state(root))

    _run_sweep("evaluate (existing store)", ["evaluate"], prepare, state_of, capsys, one_line=False)


def test_a_failed_store_write_is_the_only_line(base, tmp_path):
    from tests.reliability.faults import inject

    root = _preparer(base, tmp_path, STATE)()
    with inject(1, errno.ENOSPC, under=root / ".mlprod"):
        outcome = run_main(["evaluate"], root)
    assert outcome.code == 2
    assert outcome.err.count("\n") == 1 and outcome.err.startswith("error: "), outcome.err
