"""Fixtures shared by every layer of tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from mlprod_cli.core.scaffold import NewRequest, create_project


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory):
    """No test hands over to a project's venv or writes mlprod's real cache.

    Session-wide (not per test) so that module-scoped fixtures see it too, and
    so that end-to-end tests share one bytecode cache as a user's runs would.
    """
    saved = {
        k: os.environ.get(k) for k in ("MLPROD_NO_DELEGATE", "MLPROD_CACHE_DIR", "MLPROD_DEBUG")
    }
    os.environ["MLPROD_NO_DELEGATE"] = "1"
    os.environ["MLPROD_CACHE_DIR"] = str(tmp_path_factory.mktemp("mlprod-cache"))
    os.environ.pop("MLPROD_DEBUG", None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


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


@pytest.fixture(scope="session")
def trained_project(rendered_project, tmp_path_factory) -> Path:
    """The rendered project with a baseline (v0001) and a model (v0002) trained, none active."""
    from mlprod_cli.core.config import load_config
    from mlprod_cli.core.train import train

    dest = tmp_path_factory.mktemp("trained") / rendered_project.name
    shutil.copytree(rendered_project, dest)
    train(load_config(dest), cv=0)
    return dest


@pytest.fixture
def trained(trained_project, tmp_path) -> Path:
    """A private copy of the trained project."""
    dest = tmp_path / trained_project.name
    shutil.copytree(trained_project, dest)
    return dest
