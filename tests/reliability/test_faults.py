"""The fault injector itself: it sees the writes it promises to, fails the one asked, and undoes itself."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest

from mlprod_cli.adapters.files import atomic_write_text
from mlprod_cli.errors import MlprodError
from tests.reliability.faults import inject, read_points, snapshot, subprocess_env, sweep


def _writes(root: Path) -> None:
    (root / "a").mkdir()
    (root / "a" / "one.txt").write_text("one")
    atomic_write_text(root / "a" / "two.txt", "two")
    with sqlite3.connect(root / "s.db") as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("INSERT INTO t VALUES (1)")
        conn.execute("SELECT * FROM t").fetchall()


def test_every_kind_of_write_is_a_point_and_only_under_the_root(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    outside = tmp_path / "outside.txt"
    with inject(0, under=root) as faults:
        _writes(root)
        outside.write_text("not counted")
    kinds = [point.split()[0] for point in faults.points]
    assert faults.points[:3] == ["mkdir a", "open a/one.txt", "write a/one.txt"]
    assert "close a/one.txt" in faults.points
    assert {"fsync", "replace", "sqlite"} <= set(kinds)
    assert any(
        p.startswith("replace a/.two.txt.") and p.endswith("-> a/two.txt") for p in faults.points
    )
    assert "sqlite create" in faults.points and "sqlite insert" in faults.points
    assert "sqlite select" not in faults.points
    assert not any("outside" in point for point in faults.points)
    assert faults.fired is None


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EIO, errno.EPERM])
def test_the_nth_point_fails_with_the_errno_and_the_functions_are_restored(tmp_path, err):
    real = (open, os.replace, os.open, sqlite3.connect)
    root = tmp_path / "root"
    root.mkdir()
    with inject(0, under=root) as counted:
        _writes(root)
    for n, point in enumerate(counted.points, start=1):
        case = tmp_path / f"{n}"
        case.mkdir()
        with (
            pytest.raises((OSError, sqlite3.OperationalError, MlprodError)) as caught,
            inject(n, err, under=case) as faults,
        ):
            _writes(case)
        assert faults.fired == point == faults.points[n - 1]
        if isinstance(caught.value, OSError):
            assert caught.value.errno == err
        elif isinstance(caught.value, MlprodError):  # the atomic write names its target
            assert caught.value.message.endswith(f"two.txt: {os.strerror(err)}")
        else:
            assert point.startswith("sqlite ")
    assert (open, os.replace, os.open, sqlite3.connect) == real


def test_sweep_stops_at_the_first_run_that_completes(tmp_path):
    count = iter(range(1000))

    def prepare() -> Path:
        root = tmp_path / str(next(count))
        root.mkdir()
        return root

    def run(root: Path) -> str:
        try:
            atomic_write_text(root / "x.txt", "x")
        except MlprodError as exc:  # the atomic write's one line: "cannot write …: reason"
            return exc.message.rsplit(": ", 1)[-1]
        return "ok"

    trials = list(sweep(prepare, run, errnos=(errno.ENOSPC,)))
    assert [t.result for t in trials][-1] == "ok" and trials[-1].point is None
    assert all(t.result == "No space left on device" for t in trials[:-1])
    assert len(trials) == len(trials[-1].points) + 1
    assert all(
        set(snapshot(t.root)) <= {"x.txt"} for t in trials
    )  # the atomic write left no temporary


def test_a_child_process_injects_the_same_faults(tmp_path):
    import subprocess
    import sys

    root = tmp_path / "root"
    root.mkdir()
    points = tmp_path / "points.txt"
    env = dict(os.environ, **subprocess_env(2, errno.ENOSPC, under=root, points_file=points))
    code = "import pathlib, sys; p = pathlib.Path(sys.argv[1]); p.joinpath('f').write_text('x')"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(root)], env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1 and "No space left on device" in proc.stderr
    reached, fired = read_points(points)
    assert reached == ["open f", "write f"] and fired == "write f"
