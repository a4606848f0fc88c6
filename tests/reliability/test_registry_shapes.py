"""Structure fuzzing of the registry's files, and special files where they should be.

Every :func:`~tests.reliability.shapes.json_shapes` of a real trained version's
``metadata.json`` and of a real ``active.json`` goes through ``models list``,
``models show``, ``predict``, ``evaluate`` and ``models activate``. The contract
(docs/registry.md):

* exit 2 with exactly one ``error:`` line on stderr, nothing on stdout, the
  tree as it was; or
* exit 0 (1 for a gate that fails, with one ``error:`` line), the command done;
* ``models list`` skips a broken version with one warning line naming it, exit 0;
* never a traceback, exit 70, or a hang.

The commands that load a model (predict, evaluate, activate) cost a tenth to
half a second each, so they take the document-level shapes, and every value of
the keys they read (``LOADED_KEYS``) replaced by the raw tokens (NaN, huge
numbers, lone surrogates, depth, version ids with a newline or Arabic digits):
``json_shapes(…, per_path=False)``. ``models list`` and ``models show`` take
every shape of every key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.cases import ROWS
from tests.reliability.faults import Outcome, run_main, snapshot
from tests.reliability.shapes import json_shapes

ACTIVE_STATE = {
    "model": "v0002",
    "baseline": "v0001",
    "history": {"model": ["v0002"], "baseline": ["v0001"]},
}
COMMANDS = {
    "list": ("models", "list", "--format", "json"),
    "show": ("models", "show", "v0002", "--format", "json"),
    "predict": ("predict", "in.csv", "--output", "out.csv"),
    "evaluate": ("evaluate", "--format", "json"),
    "activate": ("models", "activate", "v0002", "--format", "json"),
}
FAST = ("list", "show")
SLOW = ("predict", "evaluate", "activate")
# What a completed command may leave behind: it did its job.
WRITES = {"predict": ("out.csv",), "evaluate": (".mlprod",), "activate": ("models/active.json",)}
TALLY: Counter = Counter()


@pytest.fixture(scope="module")
def pristine(trained_project, tmp_path_factory) -> Path:
    """The trained project with v0001 and v0002 active and a batch to predict."""
    root = tmp_path_factory.mktemp("registry-shapes") / "pristine"
    shutil.copytree(trained_project, root)
    (root / "models" / "active.json").write_text(json.dumps(ACTIVE_STATE, indent=2))
    (root / "in.csv").write_text(ROWS)
    return root


@pytest.fixture(scope="module")
def work(pristine) -> Path:
    root = pristine.parent / "work"
    shutil.copytree(pristine, root)
    return root


def _restore(work: Path, pristine: Path, rel: str) -> None:
    """Put ``rel`` back as it is in ``pristine`` (or remove it when it is not there)."""
    target, source = work / rel, pristine / rel
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    elif os.path.lexists(target):
        target.unlink()
    if source.is_dir():
        shutil.copytree(source, target)
    elif source.exists():
        shutil.copy2(source, target)


def _check(command: str, shape_id: str, outcome: Outcome, before: dict, after: dict) -> str:
    """The outcome judged by the contract; returns how it ended (for the tally)."""
    where = f"{command} with {shape_id}: exit {outcome.code}, stderr {outcome.err[:300]!r}"
    assert "Traceback" not in outcome.out + outcome.err, where
    lines = outcome.err.splitlines()
    if outcome.code == 2 or (outcome.code == 1 and command in ("evaluate", "activate")):
        assert len(lines) == 1 and lines[0].startswith("error: "), where
        assert outcome.out == "", where
        if outcome.code == 2:
            assert after == before, f"{where}: the tree changed"
        return f"exit {outcome.code}"
    assert outcome.code == 0, where
    if command == "list":
        warnings = [ln for ln in lines if "warning: not listed:" in ln]
        assert len(warnings) <= 1 and all("v0002" in ln for ln in warnings), where
        return "skipped with a warning" if warnings else "exit 0"
    allowed = WRITES.get(command, ())
    changed = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    assert all(k.startswith(allowed) for k in changed), f"{where}: changed {sorted(changed)}"
    return "exit 0"


def _run_shapes(work: Path, pristine: Path, rel: str, shapes, commands) -> None:
    """Every shape through every command; all the contract breaches, listed at the end."""
    broken: list[str] = []
    for shape in shapes:
        for command in commands:
            (work / rel).write_bytes(shape.data)
            before = snapshot(work)
            outcome = run_main(list(COMMANDS[command]), work, {"CI": "true"})
            after = snapshot(work)
            try:
                TALLY[(rel, command, _check(command, shape.id, outcome, before, after))] += 1
            except AssertionError as exc:
                broken.append(str(exc).splitlines()[0])
            for written in (rel, *WRITES.get(command, ())):
                _restore(work, pristine, written)
    assert not broken, f"{len(broken)} breaches:\n" + "\n".join(broken[:40])


def _metadata(pristine: Path) -> dict:
    return json.loads((pristine / "models" / "v0002" / "metadata.json").read_text())


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for key in ("MLPROD_STORE_URL", "MLPROD_FORMAT", "MLPROD_DEBUG"):
        monkeypatch.delenv(key, raising=False)


@pytest.mark.slow
def test_every_shape_of_active_json(pristine, work, capsys):
    shapes = json_shapes(ACTIVE_STATE)
    _run_shapes(work, pristine, "models/active.json", shapes, FAST + SLOW)
    _report(capsys, "models/active.json", len(shapes))


@pytest.mark.slow
def test_every_shape_of_metadata_json_through_list_and_show(pristine, work, capsys):
    shapes = json_shapes(_metadata(pristine))
    _run_shapes(work, pristine, "models/v0002/metadata.json", shapes, FAST)
    _report(capsys, "models/v0002/metadata.json (list, show)", len(shapes))


# The metadata keys predict, evaluate and activate read (the rest is for list, show, diff).
LOADED_KEYS = (
    "kind",
    "classes",
    "schema",
    "artifact_sha256",
    "target",
    "positive_class",
    "project",
)


@pytest.mark.slow
def test_metadata_json_shapes_through_the_commands_that_load_the_model(pristine, work, capsys):
    shapes = [
        shape
        for shape in json_shapes(_metadata(pristine), per_path=False)
        if shape.id.startswith("doc/") or re.split(r"[.\[=]", shape.id)[0] in LOADED_KEYS
    ]
    _run_shapes(work, pristine, "models/v0002/metadata.json", shapes, SLOW)
    _report(capsys, "models/v0002/metadata.json (predict, evaluate, activate)", len(shapes))


def _report(capsys, what: str, count: int) -> None:
    ends = {k: v for k, v in sorted(TALLY.items()) if what.startswith(k[0])}
    with capsys.disabled():
        sys.stderr.write(
            f"\n{what}: {count} shapes; "
            + "; ".join(f"{c} {e}: {n}" for (_, c, e), n in ends.items())
            + "\n"
        )


# --------------------------------------------------------------------------- special files


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _socket(path: Path) -> None:
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()  # the socket file stays


SPECIAL = {
    "fifo": _fifo,
    "socket": _socket,
    "folder": lambda p: p.mkdir(),
    "dangling-link": lambda p: p.symlink_to("nowhere"),
    "looping-link": lambda p: p.symlink_to(p.name),
    "link-to-a-file": lambda p: p.symlink_to("/etc/hostname"),
}
SPECIAL_COMMANDS = ("list", "show", "predict", "evaluate", "activate")


def _within(seconds: float, call):
    done: dict = {}
    thread = threading.Thread(target=lambda: done.setdefault("outcome", call()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: a hang"
    return done["outcome"]


def _special_case(tmp_path, pristine, rel: str, make, command: str, expected: str):
    root = tmp_path / "p"
    shutil.copytree(pristine, root)
    target = root / rel
    if os.path.lexists(target):
        shutil.rmtree(target) if target.is_dir() and not target.is_symlink() else target.unlink()
    make(target)
    before = snapshot(root)
    outcome = _within(60, lambda: run_main(list(COMMANDS[command]), root, {"CI": "true"}))
    assert "Traceback" not in outcome.err
    if command == "show" and rel == "models/active.json":
        assert outcome.code == 0, outcome.err  # showing a version reads no active.json
    elif command == "list" and rel.startswith("models/v0002"):
        assert outcome.code == 0, outcome.err
        (line,) = outcome.err.splitlines()
        assert line.startswith(f"mlprod: warning: not listed: {expected}"), outcome.err
    else:
        assert outcome.code == 2, outcome.err
        assert outcome.err.count("\n") == 1 and outcome.err.startswith("error: "), outcome.err
        assert expected in outcome.err, outcome.err
    assert outcome.out == "" or outcome.code == 0
    assert snapshot(root) == before


@pytest.mark.parametrize("command", SPECIAL_COMMANDS)
@pytest.mark.parametrize("kind", list(SPECIAL))
def test_active_json_as_a_special_file(tmp_path, pristine, kind, command):
    what = {"fifo": "a named pipe (FIFO)", "socket": "a socket", "folder": "a folder"}
    expected = f"models/active.json is {what.get(kind, 'a symbolic link')}, not a file"
    _special_case(tmp_path, pristine, "models/active.json", SPECIAL[kind], command, expected)


@pytest.mark.parametrize("command", SPECIAL_COMMANDS)
@pytest.mark.parametrize("kind", ["file", "fifo", "link-to-a-version", "dangling-link"])
def test_a_version_that_is_not_a_folder(tmp_path, pristine, kind, command):
    make = {
        "file": lambda p: p.write_text("{}"),
        "fifo": _fifo,
        "link-to-a-version": lambda p: p.symlink_to("v0001"),
        "dangling-link": lambda p: p.symlink_to("v0099"),
    }[kind]
    what = {"file": "a file", "fifo": "a named pipe (FIFO)"}.get(kind, "a symbolic link")
    expected = f"v0002 is {what}, not a version folder"
    _special_case(tmp_path, pristine, "models/v0002", make, command, expected)


@pytest.mark.parametrize("command", SPECIAL_COMMANDS)
@pytest.mark.parametrize("kind", ["fifo", "folder", "link-to-a-file"])
def test_metadata_json_as_a_special_file(tmp_path, pristine, kind, command):
    what = {"fifo": "a named pipe (FIFO)", "folder": "a folder"}.get(kind, "a symbolic link")
    expected = f"v0002/metadata.json is {what}, not a file"
    _special_case(
        tmp_path, pristine, "models/v0002/metadata.json", SPECIAL[kind], command, expected
    )
