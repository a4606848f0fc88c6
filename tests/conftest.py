"""Fixtures shared by every layer of tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mlprod_cli.core.scaffold import NewRequest, create_project


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path_factory):
    """No test hands over to a project's venv or writes mlprod's real cache."""
    monkeypatch.setenv("MLPROD_NO_DELEGATE", "1")
    monkeypatch.setenv("MLPROD_CACHE_DIR", str(tmp_path_factory.mktemp("mlprod-cache")))
    monkeypatch.delenv("MLPROD_DEBUG", raising=False)


@pytest.fixture(scope="session")
def rendered_project(tmp_path_factory) -> Path:
    """The default template rendered once (no venv, no git): copy it before changing it."""
    out = tmp_path_factory.mktemp("rendered")
    result = create_project(
        NewRequest(name="skin-lesions", output_dir=out, no_input=True, venv=False, git=False)
    )
    return result.project_dir


@pytest.fixture
def project(rendered_project, tmp_path) -> Path:
    """A private copy of the rendered project, free to edit."""
    dest = tmp_path / rendered_project.name
    shutil.copytree(rendered_project, dest)
    return dest


def _tree_snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tree_snapshot():
    """``tree_snapshot(root)``: every file with its bytes, to prove a command changed nothing."""
    return _tree_snapshot
