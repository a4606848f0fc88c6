"""``mlprod new`` interrupted at any moment, as a terminal does it: the whole process group.

tests/e2e/test_new_e2e.py already interrupts ``new`` once during a pip install
(SIGINT to mlprod alone, then SIGKILL) and checks the outcome. These trials
spread the interrupt over a whole run with uv (packing the wheel, rendering,
creating .venv, installing, compiling bytecode, git) and send it to the process
group, as Ctrl-C on a terminal and ``kill -9`` of a job do, so uv, git and the
bytecode compiler get it too:

* Ctrl-C: exit 130 with ``error: interrupted`` and nothing left in the output
  folder, not even the staging folder; or, when the signal came after the
  project was whole (exit 0, 130 or -2, by the moment), the whole project.
* SIGKILL: nothing can clean up, but a rerun either succeeds (the staging
  folder of the killed run is removed) or refuses the half-made project naming
  it, with an ``rm -rf`` hint that, once followed, lets the next rerun succeed
  and leaves nothing else behind.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

CTRL_C_TRIALS = 6
SIGKILL_TRIALS = 5
NEW = [sys.executable, "-m", "mlprod_cli", "new", "demo", "--no-input"]


def start(out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        NEW,
        cwd=out,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, as a shell job has
    )


def interrupt(process: subprocess.Popen, sig: signal.Signals, delay: float) -> tuple[str, str]:
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, sig)  # the group of a child not yet reaped: ours alone
    return process.communicate(timeout=120)


def is_whole_project(folder: Path) -> bool:
    return (
        (folder / "mlprod.yaml").is_file()
        and (folder / ".venv" / "bin" / "mlprod").exists()
        and (folder / ".git").is_dir()
        and not (folder / ".mlprod-incomplete").exists()
    )


@pytest.fixture(scope="module")
def full(tmp_path_factory) -> float:
    """Seconds of a whole ``new`` here, as the trials run it: with warm caches.

    The first run of a session compiles bytecode and measures the gates, which
    later runs reuse from mlprod's cache; timing it would put most interrupts
    after the end of the (shorter) trial runs. So a first run warms the caches
    and the second is timed.
    """
    seconds = 0.0
    for attempt in ("warm", "timed"):
        out = tmp_path_factory.mktemp(attempt)
        began = time.perf_counter()
        process = subprocess.run(
            [*NEW, "--format", "json"], cwd=out, capture_output=True, text=True, timeout=300
        )
        assert process.returncode == 0, process.stderr
        seconds = time.perf_counter() - began
    return seconds


def test_ctrl_c_at_any_moment_leaves_nothing_or_the_whole_project(tmp_path, full, capsys):
    rng = random.Random(11)
    outcomes = {"interrupted": 0, "finished": 0}
    for n in range(CTRL_C_TRIALS):
        out = tmp_path / f"ctrl-c-{n}"
        out.mkdir()
        process = start(out)
        _, err = interrupt(process, signal.SIGINT, rng.uniform(0, full))
        left = sorted(p.name for p in out.iterdir())
        if process.returncode == 0:
            assert left == ["demo"] and is_whole_project(out / "demo")
            outcomes["finished"] += 1
            continue
        if process.returncode == -signal.SIGINT and "error: interrupted" not in err:
            # The signal came after the end, while the interpreter shut down (it
            # restores the default handler then): the project is whole.
            assert left == ["demo"] and is_whole_project(out / "demo"), err
            outcomes["finished"] += 1
            continue
        assert process.returncode == 130, err
        assert err.splitlines()[-1] == "error: interrupted", err
        assert "Traceback" not in err
        if left == ["demo"] and is_whole_project(out / "demo"):
            # The signal came after the project was whole (its marker removed, the
            # first commit made), while the run removed its staging folder or
            # printed its summary: nothing is half-made. CI saw this once.
            outcomes["finished"] += 1
            continue
        assert left == [], left
        outcomes["interrupted"] += 1
    assert outcomes["interrupted"] >= CTRL_C_TRIALS // 2, outcomes
    with capsys.disabled():
        sys.stderr.write(f"\nnew, Ctrl-C: {outcomes} (a whole run: {full:.1f} s)\n")


def test_sigkill_at_any_moment_then_a_rerun_recovers(tmp_path, full, capsys):
    rng = random.Random(12)
    outcomes = {"rerun made it": 0, "rerun explained": 0, "finished": 0}
    for n in range(SIGKILL_TRIALS):
        out = tmp_path / f"kill-{n}"
        out.mkdir()
        process = start(out)
        interrupt(process, signal.SIGKILL, rng.uniform(0, full))
        if process.returncode == 0:
            outcomes["finished"] += 1
            continue
        assert process.returncode == -signal.SIGKILL
        rerun = start(out)
        _, err = rerun.communicate(timeout=300)
        if rerun.returncode == 2 and "exists and is not empty" in err:
            # Killed after its last step, while exiting: the project is whole.
            assert is_whole_project(out / "demo"), err
            outcomes["finished"] += 1
            continue
        if rerun.returncode == 2:
            # One line naming the half-made project, and how to get rid of it.
            assert len(err.splitlines()) == 1, err
            assert "left half-made by an 'mlprod new' that was killed" in err
            named = re.search(r"'rm -rf ([^']+)'", err)
            assert named and Path(named.group(1)) == out / "demo", err
            shutil.rmtree(named.group(1))
            outcomes["rerun explained"] += 1
            rerun = start(out)
            _, err = rerun.communicate(timeout=300)
        else:
            outcomes["rerun made it"] += 1
        assert rerun.returncode == 0, err
        # The project, and nothing else: the killed run's staging folder is gone too.
        assert sorted(p.name for p in out.iterdir()) == ["demo"]
        assert is_whole_project(out / "demo")
    assert outcomes["rerun made it"] + outcomes["rerun explained"] >= SIGKILL_TRIALS // 2
    with capsys.disabled():
        sys.stderr.write(f"\nnew, SIGKILL: {outcomes} (a whole run: {full:.1f} s)\n")
