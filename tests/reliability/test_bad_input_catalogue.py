"""A catalogue of bad input, command by command: each one is a single ``error:`` line, exit 2.

Every case breaks a copy of a project (or an empty folder) in one way, runs one
command, and checks the contract of DESIGN.md ("What bad input gets"): exit
code 2, stderr exactly one line starting ``error: `` that names what is wrong
(a distinctive substring: the option, file, key or column), no traceback, no
result on stdout, and the folder byte for byte as it was (no version, store
row, output file, cache or half-made project left behind).

The cases run in-process through ``mlprod_cli.cli.main``; the few that change
the project's own Python code run in a subprocess, because an in-process run
would import the code cached by earlier tests instead.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlprod_cli.cli import main
from tests.reliability.cases import all_cases

CASES = all_cases()


# --------------------------------------------------------------------------- running a case


def _listing(root: Path) -> list[str]:
    """Every path under ``root``, folders included (an empty folder left behind counts)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))


def _run_in_process(argv, cwd: Path, env: dict[str, str], monkeypatch, capsys):
    monkeypatch.chdir(cwd)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    # Importing the project's code must not write __pycache__ into the tree under test.
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _run_subprocess(argv, cwd: Path, env: dict[str, str]):
    full_env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **env)
    proc = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", *argv],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def clean_env(monkeypatch):
    for key in ("MLPROD_STORE_URL", "MLPROD_FORMAT", "MLPROD_TEMPLATE", "MLPROD_DEBUG"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CI", "true")


def test_the_catalogue_is_large_and_its_ids_unique():
    ids = [case.id for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 70
    commands = {case.argv[0] for case in CASES}
    assert commands >= {"new", "check", "train", "tune", "models", "evaluate", "metrics",
                        "predict", "serve", "skew", "package"}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.id, marks=[pytest.mark.slow] if c.subprocess else []) for c in CASES],
)
def test_bad_input(
    case, rendered_project, trained_project, tmp_path, monkeypatch, capsys, clean_env, tree_snapshot
):
    if case.base == "empty":
        root = tmp_path / "work"
        root.mkdir()
    else:
        source = trained_project if case.base == "trained" else rendered_project
        root = tmp_path / source.name
        shutil.copytree(source, root)
    for setup in case.setup:
        setup(root)
    before, paths_before = tree_snapshot(root), _listing(root)

    if case.subprocess:
        code, out, err = _run_subprocess(case.argv, root, case.env)
    else:
        code, out, err = _run_in_process(case.argv, root, case.env, monkeypatch, capsys)

    assert "Traceback" not in out + err, err
    assert code == 2, f"exit {code}: {err}"
    assert err.startswith("error: ") and err.count("\n") == 1 and err.endswith("\n"), err
    assert case.expect in err, err
    assert out == "", out
    assert _listing(root) == paths_before, "the command left files or folders behind"
    assert tree_snapshot(root) == before, "the command changed a file"
