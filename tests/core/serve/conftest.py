"""What the tests of the serving package share: a trained project with a model
active, and one app in process for the tests that only read."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from mlprod_cli.core.config import load_config
from mlprod_cli.core.workspace import Workspace
from tests.serving import activate_model


@pytest.fixture(scope="module")
def served_project(trained_project, tmp_path_factory) -> Path:
    """A trained project with the baseline v0001 and the model v0002 active."""
    dest = tmp_path_factory.mktemp("served") / trained_project.name
    shutil.copytree(trained_project, dest)
    return activate_model(dest)


@pytest.fixture(scope="module")
def client(served_project, tmp_path_factory):
    """One app for the tests that only read (counters are compared before and after)."""
    pytest.importorskip("fastapi")
    pytest.importorskip("uvicorn")
    with warnings.catch_warnings():
        # Newer Starlette prefers httpx2 and warns when it finds httpx; either works.
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    from mlprod_cli.core.serve import ServeOptions, create_app

    config = load_config(served_project)
    log_dir = tmp_path_factory.mktemp("requests")
    app = create_app(Workspace(config), ServeOptions(log_dir=log_dir, max_body_bytes=64 * 1024))
    with TestClient(app) as test_client:
        yield test_client
