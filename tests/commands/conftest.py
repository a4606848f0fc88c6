"""Fixtures of the command tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def here(trained, monkeypatch):
    """A private trained project (v0001 baseline, v0002 model, none active) as the working folder."""
    monkeypatch.chdir(trained)
    return trained


@pytest.fixture
def refuses(here, capsys, tree_snapshot):
    """``refuses(args, message)``: exit code 2, one ``error:`` line naming ``message``, no file changed."""
    from mlprod_cli.cli import main

    def check(args: list[str], message: str) -> None:
        before = tree_snapshot(here)
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and message in err and err.count("\n") == 1
        assert tree_snapshot(here) == before

    return check


@pytest.fixture
def regression_project(tmp_path, monkeypatch):
    """A regression project (diabetes, Ridge, a median baseline) as the working folder, untrained."""
    from tests.regression_project import write_project

    root = write_project(tmp_path / "diabetes")
    monkeypatch.chdir(root)
    monkeypatch.syspath_prepend(str(root))
    return root
