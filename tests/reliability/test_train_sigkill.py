"""``train`` killed with SIGKILL at any moment: the registry stays whole.

Three kinds of trial, every one a real ``SIGKILL`` of a process running
``mlprod train --cv 0`` (with and without ``--activate``):

* **fresh**: a new interpreter, killed after a random delay within one whole
  run as measured here (most of a fresh run is importing);
* **timed**: a child forked from a warm process (everything imported, one train
  already run), killed after a random delay within one whole warm run, so the
  kills spread over loading, fitting, evaluating the gates, writing and renaming;
* **injected**: a forked child that kills itself right before or right after
  its N-th write step (``mkdir``, ``skops.io.dump``, each zip member, the metadata
  write, each ``fsync``, the version's ``rename``, ``fchmod`` and the
  ``active.json`` ``replace``), for every N of one run (but the middle zip members
  of an artifact): every moment inside the registry's write and rename is hit.

After every kill: the registry loads; every ``vNNNN`` folder on disk is a whole
version whose artifact matches the hash in its metadata (so nothing half-written
is ever listed, and no ``.tmp-`` folder either); ``active.json`` is readable
and its versions load; the active versions are the ones before the trial, or,
with ``--activate``, versions this trial finished. At the end a ``train`` runs to
completion and the stale ``active.json`` temporaries of killed runs are gone.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mlprod_cli.adapters.files import sha256_file
from mlprod_cli.core.registry import ARTIFACT, METADATA
from mlprod_cli.core.workspace import Workspace

pytestmark = pytest.mark.slow

FRESH_TRIALS = 3
TIMED_TRIALS = 24
SEED = 20261128
TRAIN = ["train", "--cv", "0"]

# The write steps of a run, counted by the warm process of conftest.py.
WRITE_STEPS = (
    "os.rename",
    "os.replace",
    "os.fsync",
    "os.fchmod",
    "pathlib.Path.mkdir",
    "pathlib.Path.write_text",
    "skops.io.dump",
    "zipfile.ZipFile.writestr",
)


def kill_points(steps: list[str]) -> list[int]:
    """Every step number (from 1), less the zip members between an artifact's first and last."""
    points = []
    for n, step in enumerate(steps, start=1):
        previous, following = steps[n - 3 : n - 1], steps[n : n + 2]
        inner = "writestr" in step and all("writestr" in s for s in previous + following)
        if not inner or len(previous + following) < 4:
            points.append(n)
    return points


def registry_state(project: Path) -> dict:
    """Check every invariant of the registry after a kill; return what is in it."""
    registry = Workspace.load(project).registry
    root = registry.root
    listed = registry.versions()
    on_disk = sorted(p.name for p in root.iterdir() if re.fullmatch(r"v\d{4,}", p.name))
    # Only whole versions have a version's name: the rename is the last step.
    assert [v.id for v in listed] == on_disk
    for version in listed:
        metadata = json.loads((version.path / METADATA).read_text())
        assert metadata["artifact_sha256"] == sha256_file(version.path / ARTIFACT)
        assert metadata["version"] == version.id and metadata["kind"] in ("model", "baseline")
    active = {kind: registry.active_id(kind) for kind in ("model", "baseline")}
    for kind, version_id in active.items():
        assert version_id is not None, f"no active {kind}"
        version = registry.get(version_id)
        assert version.kind == kind
        registry.load(version)  # hash-checked, trusted types only
    return {
        "ids": on_disk,
        "active": active,
        "tmp": sorted(p.name for p in root.iterdir() if p.name.startswith(".")),
    }


def check_trial(project: Path, before: dict, *, activate: bool) -> dict:
    after = registry_state(project)
    assert set(before["ids"]) <= set(after["ids"])  # nothing whole was lost
    new = set(after["ids"]) - set(before["ids"])
    assert len(new) <= 2
    for kind, version_id in after["active"].items():
        if version_id != before["active"][kind]:
            # Only an activation this trial asked for, of a version this trial finished.
            assert activate and version_id in new, (kind, before["active"], after["active"])
    return after


def models_list_json(project: Path, capsys) -> dict:
    from mlprod_cli.cli import main

    cwd = Path.cwd()
    os.chdir(project)
    try:
        code = main(["models", "list", "--format", "json"])
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


def test_sigkill_at_any_moment_of_train_leaves_the_registry_whole(
    trained, tmp_path, capsys, record_property, warm_mlprod
):
    registry = Workspace.load(trained).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    rng = random.Random(SEED)
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    command = [sys.executable, "-m", "mlprod_cli", *TRAIN]
    began = time.perf_counter()
    tally = {"fresh": 0, "timed": 0, "injected": 0, "killed": 0, "finished": 0}

    # Fresh interpreters: one whole run measured, then kills within that time.
    started = time.perf_counter()
    subprocess.run([*command, "--activate"], cwd=trained, env=env, check=True, capture_output=True)
    fresh_full = time.perf_counter() - started
    state = registry_state(trained)
    for n in range(FRESH_TRIALS):
        activate = n % 2 == 0
        process = subprocess.Popen(
            command + ["--activate"] * activate,
            cwd=trained,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0, fresh_full))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        tally["killed" if process.wait() == -signal.SIGKILL else "finished"] += 1
        state = check_trial(trained, state, activate=activate)
        tally["fresh"] += 1

    zygote = warm_mlprod(trained, [[*TRAIN, "--activate"]])
    state = registry_state(trained)
    # One whole warm run of each kind, traced: its duration and its write steps.
    full, steps = {}, {}
    for activate in (False, True):
        trace = tmp_path / f"trace-{activate}.txt"
        argv = TRAIN + ["--activate"] * activate
        code, full[activate] = zygote.run(argv, wrap=WRITE_STEPS, trace=trace)
        assert code == 0
        steps[activate] = trace.read_text().splitlines()
        state = check_trial(trained, state, activate=activate)
    # The registry's own steps are among those traced (else the injection misses them).
    traced = steps[True]
    assert traced.count("before rename") == 2  # one per version
    assert traced.count("before replace") == 1  # active.json, once for every new version
    assert traced.count("before dump") == 2 and traced.count("before writestr") >= 4

    # Without --activate the steps are the first ones of these: each is hit once, but
    # for the zip members of an artifact (its first and last stand for the others).
    assert steps[True][: len(steps[False])] == steps[False]
    for kill_at in kill_points(traced):
        code, _ = zygote.run([*TRAIN, "--activate"], kill_at=kill_at, wrap=WRITE_STEPS)
        assert code == -signal.SIGKILL, f"step {kill_at} ({traced[kill_at - 1]})"
        tally["killed"] += 1
        state = check_trial(trained, state, activate=True)
        tally["injected"] += 1

    for n in range(TIMED_TRIALS):
        activate = n % 2 == 1
        delay = rng.uniform(0, full[activate])
        code, _ = zygote.run(TRAIN + ["--activate"] * activate, delay=delay)
        assert code in (0, -signal.SIGKILL)
        tally["killed" if code else "finished"] += 1
        state = check_trial(trained, state, activate=activate)
        tally["timed"] += 1

    listing = models_list_json(trained, capsys)
    assert [v["version"] for v in listing["versions"]] == state["ids"]
    assert listing["active"] == state["active"]

    # A train after all that works, and takes the next free numbers.
    done = subprocess.run(
        [*command, "--activate", "--format", "json"],
        cwd=trained,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    made = [v["version"] for v in json.loads(done.stdout)["versions"]]
    last = int(state["ids"][-1][1:])
    assert made == [f"v{last + 1:04d}", f"v{last + 2:04d}"]
    final = registry_state(trained)
    assert final["active"] == {"baseline": made[0], "model": made[1]}
    # Temporaries of killed activations are cleaned by the next one.
    assert not [name for name in final["tmp"] if name.startswith(".active.json.")]

    trials = sum(tally[k] for k in ("fresh", "timed", "injected"))
    record_property("trials", tally)
    with capsys.disabled():  # the figures, for the record
        sys.stderr.write(f"\n{trials} trials {tally}, {time.perf_counter() - began:.1f} s\n")
    assert trials >= 50
    assert tally["killed"] >= 0.8 * trials
