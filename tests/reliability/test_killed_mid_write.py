"""``predict --output`` and ``evaluate --output`` killed with SIGKILL while writing.

Afterwards the output path holds the old file byte for byte (or nothing, when
there was none) or the whole new one: never a truncated file. A killed writer
leaves its temporary file behind (nothing can remove it), but the next run to
the same output removes it, so temporaries never pile up and never get in the
way. The kills are injected right before and after each write step (each batch
of predictions, ``fchmod``, ``fsync``, ``replace``), timed at random moments of a
whole run, and, for ``predict``, sent to a fresh process once its temporary file
is growing.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROWS = 60_000
BATCH_ROWS = 10_000
TIMED_TRIALS = 10
FRESH_TRIALS = 2
SEED = 7


def temporaries(output: Path) -> list[Path]:
    return sorted(output.parent.glob(f".{output.name}.*.tmp"))


@pytest.fixture
def big_input(active) -> Path:
    """The project's data, repeated to ROWS rows: writing its predictions takes a while."""
    source = (active / "data" / "lesions.csv").read_text().splitlines(keepends=True)
    header, rows = source[0], source[1:]
    path = active / "big.csv"
    with path.open("w") as handle:
        handle.write(header)
        for n in range(ROWS):
            handle.write(rows[n % len(rows)])
    return path


class Outcomes:
    """What each kill left at the output path and beside it."""

    def __init__(self, output: Path, new: bytes | None):
        self.output, self.new = output, new
        self.counts = {"old": 0, "absent": 0, "new": 0, "partial temp": 0}

    def check(self, old: bytes | None, is_whole_new=None) -> None:
        if not self.output.exists():
            assert old is None, "the old output was removed"
            self.counts["absent"] += 1
        else:
            data = self.output.read_bytes()
            if data == old:
                self.counts["old"] += 1
            else:
                whole = data == self.new if is_whole_new is None else is_whole_new(data)
                assert whole, f"{self.output.name}: {len(data)} bytes, neither old nor whole"
                self.counts["new"] += 1
        left = temporaries(self.output)
        # The run killed here may leave its own temporary; every earlier one is gone.
        assert len(left) <= 1, left
        for tmp in left:
            size = tmp.stat().st_size
            if size > 0 and (self.new is None or size < len(self.new)):
                self.counts["partial temp"] += 1


@pytest.mark.slow
def test_predict_killed_while_writing_keeps_the_old_output_or_writes_the_whole_new(
    active, big_input, warm_mlprod, tmp_path, capsys
):
    output = active / "predictions.csv"
    old = b"lesion_id,prediction\nold,kept byte for byte\n" * 1000
    argv = ["predict", str(big_input), "--output", str(output), "--batch-rows", str(BATCH_ROWS)]
    wrap = ("mlprod_cli.core.predict._batch._Writer.write", "os.fchmod", "os.fsync", "os.replace")
    began = time.perf_counter()
    zygote = warm_mlprod(active, [[*argv[:2], "--output", str(tmp_path / "warm.csv")]])
    trace = tmp_path / "trace.txt"
    code, full = zygote.run(argv, wrap=wrap, trace=trace)
    assert code == 0
    new = output.read_bytes()
    assert new.count(b"\n") == ROWS + 1
    steps = trace.read_text().splitlines()
    assert steps.count("before write") == ROWS // BATCH_ROWS
    assert steps[-2:] == ["before replace", "after replace"]
    outcomes = Outcomes(output, new)
    rng = random.Random(SEED)
    trials = 0

    def prepare(n: int) -> bytes | None:
        if n % 4 == 3:  # now and then, no earlier output at all
            output.unlink(missing_ok=True)
            return None
        output.write_bytes(old)
        return old

    for kill_at in range(1, len(steps) + 1):
        before = prepare(kill_at)
        code, _ = zygote.run(argv, kill_at=kill_at, wrap=wrap)
        assert code == -signal.SIGKILL, steps[kill_at - 1]
        outcomes.check(before)
        trials += 1
    for n in range(TIMED_TRIALS):
        before = prepare(n)
        code, _ = zygote.run(argv, delay=rng.uniform(0, full))
        assert code in (0, -signal.SIGKILL)
        outcomes.check(before)
        trials += 1

    # A fresh process, killed once its temporary file is growing.
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    for n in range(FRESH_TRIALS):
        before = prepare(n)
        stale = set(temporaries(output))
        process = subprocess.Popen(
            [sys.executable, "-m", "mlprod_cli", *argv],
            cwd=active,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        growing = []
        while not growing and process.poll() is None and time.monotonic() < deadline:
            growing = [t for t in temporaries(output) if t not in stale and t.stat().st_size > 0]
            time.sleep(0.005)
        time.sleep(rng.uniform(0, 0.05))
        process.send_signal(signal.SIGKILL)  # not reaped yet: still our own child
        assert process.wait() == -signal.SIGKILL and growing, "not killed while writing"
        outcomes.check(before)
        trials += 1

    # The next whole run writes the whole new file and removes the last leftover.
    output.unlink(missing_ok=True)
    code, _ = zygote.run(argv)
    assert code == 0 and output.read_bytes() == new
    assert temporaries(output) == []
    umask = os.umask(0o022)
    os.umask(umask)
    assert output.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not 0600
    counts = outcomes.counts
    assert counts["old"] and counts["absent"] and counts["new"]
    assert counts["partial temp"] >= ROWS // BATCH_ROWS  # killed in the middle of writing
    with capsys.disabled():
        sys.stderr.write(
            f"\npredict: {trials} kills {counts}, {time.perf_counter() - began:.1f} s\n"
        )


@pytest.mark.slow
def test_evaluate_killed_while_writing_keeps_the_old_report_or_writes_the_whole_new(
    active, warm_mlprod, tmp_path, capsys
):
    output = active / "report.json"
    old = b'{"old": "report, kept byte for byte"}\n'
    argv = ["evaluate", "--format", "json", "--output", str(output)]
    wrap = ("os.fchmod", "os.fsync", "os.replace")
    began = time.perf_counter()
    zygote = warm_mlprod(active, [[*argv[:3], "--output", str(tmp_path / "warm.json")]])
    trace = tmp_path / "trace.txt"
    code, full = zygote.run(argv, wrap=wrap, trace=trace)
    assert code == 0
    steps = trace.read_text().splitlines()
    assert steps == [
        f"{w} {s}" for s in ("fchmod", "fsync", "replace") for w in ("before", "after")
    ]
    first = json.loads(output.read_bytes())

    def is_whole_new(data: bytes) -> bool:
        try:
            report = json.loads(data)
        except ValueError:
            return False
        return report.keys() == first.keys() and report["run_id"] != first["run_id"]

    outcomes = Outcomes(output, None)
    rng = random.Random(SEED)
    trials = 0
    for n in range(2 * len(steps) + TIMED_TRIALS):
        before = None if n % 2 else old
        if before is None:
            output.unlink(missing_ok=True)
        else:
            output.write_bytes(before)
        if n < 2 * len(steps):
            code, _ = zygote.run(argv, kill_at=n // 2 + 1, wrap=wrap)
            assert code == -signal.SIGKILL
        else:
            code, _ = zygote.run(argv, delay=rng.uniform(0, full))
            assert code in (0, -signal.SIGKILL)
        outcomes.check(before, is_whole_new)
        trials += 1

    output.write_bytes(old)
    code, _ = zygote.run(argv)
    assert code == 0 and is_whole_new(output.read_bytes())
    assert temporaries(output) == []
    counts = outcomes.counts
    assert counts["old"] and counts["absent"] and counts["new"]
    with capsys.disabled():
        sys.stderr.write(
            f"\nevaluate: {trials} kills {counts}, {time.perf_counter() - began:.1f} s\n"
        )
