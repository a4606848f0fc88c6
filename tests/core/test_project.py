"""Finding the project, and handing a command over to the project's own mlprod."""

from __future__ import annotations

import os
import sys

import pytest

from mlprod_cli.core import project as project_mod
from mlprod_cli.core.project import delegate_if_needed, find_project_root


class Exec(Exception):
    pass


@pytest.fixture
def execs(monkeypatch):
    calls = []

    def fake_execve(path, argv, env):
        calls.append((str(path), argv, env))
        raise Exec

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.delenv("MLPROD_NO_DELEGATE", raising=False)
    return calls


def _with_venv_mlprod(root):
    script = root / ".venv" / "bin" / "mlprod"
    script.parent.mkdir(parents=True)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    return script


def test_find_project_root(tmp_path):
    (tmp_path / "mlprod.yaml").write_text("")
    (tmp_path / "a" / "b").mkdir(parents=True)
    assert find_project_root(tmp_path / "a" / "b") == tmp_path.resolve()
    assert (
        find_project_root(tmp_path.parent) is None or find_project_root(tmp_path.parent) != tmp_path
    )


def test_delegates_to_the_project_mlprod(tmp_path, execs):
    (tmp_path / "mlprod.yaml").write_text("")
    script = _with_venv_mlprod(tmp_path)
    with pytest.raises(Exec):
        delegate_if_needed(["check", "--format", "json"], start=tmp_path)
    path, argv, env = execs[0]
    assert path == str(script)
    assert argv == [str(script), "check", "--format", "json"]
    assert env["MLPROD_NO_DELEGATE"] == "1"  # the child never delegates again


def test_no_delegation_when_disabled_absent_or_already_there(tmp_path, execs, monkeypatch):
    (tmp_path / "mlprod.yaml").write_text("")
    delegate_if_needed(["check"], start=tmp_path)  # no .venv/bin/mlprod yet
    _with_venv_mlprod(tmp_path)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / ".venv"))
    delegate_if_needed(["check"], start=tmp_path)  # already running there
    monkeypatch.setattr(sys, "prefix", "/elsewhere")
    monkeypatch.setenv("MLPROD_NO_DELEGATE", "1")
    delegate_if_needed(["check"], start=tmp_path)
    assert execs == []


def test_new_is_never_delegated(tmp_path, execs, monkeypatch):
    from mlprod_cli.cli import main

    (tmp_path / "mlprod.yaml").write_text("")
    _with_venv_mlprod(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main(["new", "--help"]) == 0
    with pytest.raises(Exec):
        main(["check"])
    assert len(execs) == 1 and project_mod.VENV_NAME == ".venv"


@pytest.mark.parametrize("kind", ["fifo", "directory", "dangling-link"])
def test_a_config_that_is_not_a_file_is_still_the_projects(tmp_path, kind):
    """Not skipped for a project further up: loading it then says what it is (issue 11)."""
    outer = tmp_path / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    (outer / "mlprod.yaml").write_text("project: outer\n")
    config = inner / "mlprod.yaml"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "directory":
        config.mkdir()
    else:
        config.symlink_to("gone.yaml")
    assert find_project_root(inner) == inner.resolve()


def test_a_ctrl_c_during_the_hand_over_is_one_line_exit_130(tmp_path, monkeypatch, capsys):
    from mlprod_cli.cli import main

    def interrupted(argv):
        raise KeyboardInterrupt

    monkeypatch.setattr(project_mod, "delegate_if_needed", interrupted)
    monkeypatch.chdir(tmp_path)
    assert main(["check"]) == 130
    assert capsys.readouterr().err == "error: interrupted\n"
