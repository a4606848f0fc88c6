"""``core/workspace.py``: the project found once, its registry, request log and store handed down."""

from __future__ import annotations

import sys

import pytest

from mlprod_cli.adapters.store import ENV_VAR, SQLiteStore, StoreError
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import ConfigError


@pytest.fixture(autouse=True)
def _no_store_from_the_environment(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(sys, "path", list(sys.path))


def test_load_finds_the_project_from_a_folder_inside_it(project, monkeypatch):
    here = Workspace.load(project / "src" / "skin_lesions")
    assert here.root == project.resolve() == here.config.root
    monkeypatch.chdir(project / "data")
    assert Workspace.load().root == project.resolve()


def test_load_outside_a_project(tmp_path):
    with pytest.raises(ConfigError, match=r"no mlprod\.yaml"):
        Workspace.load(tmp_path)


def test_the_registry_is_built_once_with_the_projects_package_trusted(trained):
    workspace = Workspace.load(trained)
    registry = workspace.registry
    assert registry is workspace.registry
    assert registry.root == trained.resolve() / "models"
    assert str(trained.resolve() / "src") in sys.path
    estimator = registry.load(registry.get("v0002"))  # the project's own types load
    assert hasattr(estimator, "predict")


def test_request_log_is_the_option_else_the_config(project, tmp_path):
    workspace = Workspace.load(project)
    assert workspace.request_log() == project.resolve() / "logs" / "requests"
    assert workspace.request_log(tmp_path / "elsewhere") == tmp_path / "elsewhere"


def test_open_store_is_the_configs_unless_the_environment_says_otherwise(
    project, tmp_path, monkeypatch
):
    workspace = Workspace.load(project)
    with workspace.open_store() as store:
        assert isinstance(store, SQLiteStore)
        assert store.path == project.resolve() / ".mlprod" / "metrics.db"
    monkeypatch.setenv(ENV_VAR, f"sqlite:///{tmp_path}/team.db")
    with workspace.open_store(writable=True) as store:
        assert store.path == tmp_path / "team.db"
    assert (
        not (project / ".mlprod").exists() and not (tmp_path / "team.db").exists()
    )  # opening writes nothing


def test_a_store_that_cannot_be_written_is_said_before_any_work(project):
    (project / ".mlprod" / "metrics.db").mkdir(parents=True)  # a folder where the file goes
    workspace = Workspace.load(project)
    with pytest.raises(StoreError, match="it is a folder"):
        workspace.open_store(writable=True)
    workspace.open_store().close()  # reading needs no check
