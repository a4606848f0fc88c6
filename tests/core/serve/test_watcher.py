"""Following active.json: no model until one is activated, hot swaps, failed loads, pins."""

from __future__ import annotations

import json
import shutil
import time
import warnings
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
with warnings.catch_warnings():
    # Newer Starlette prefers httpx2 and warns when it finds httpx; either works.
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from mlprod_cli.core.config import load_config
from mlprod_cli.core.serve import ServeOptions, create_app
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW, add_model_copy, metric, parse_metrics, wait_for


@pytest.fixture
def project(served_project, tmp_path) -> Path:
    """A private copy of the served project, for tests that change the registry."""
    dest = tmp_path / served_project.name
    shutil.copytree(served_project, dest)
    return dest


def test_no_active_model_is_not_ready_until_one_is_activated(trained, tmp_path):
    config = load_config(trained)
    app = create_app(Workspace(config), ServeOptions(log_dir=tmp_path / "log", reload_seconds=0.1))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/ready").status_code == 503
        assert client.post("/predict", json=ROW).status_code == 503
        registry = Workspace(config).registry
        registry.activate(registry.get("v0002"))
        assert wait_for(lambda: client.get("/ready").status_code == 200)
        assert client.post("/predict", json=ROW).json()["model_version"] == "v0002"


def test_activating_another_version_is_served_without_restart(project, tmp_path):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    app = create_app(
        Workspace(config), ServeOptions(log_dir=tmp_path / "log")
    )  # checks every second
    with TestClient(app) as client:
        assert client.get("/metadata").json()["version"] == "v0002"
        registry.activate(new)
        assert wait_for(lambda: client.get("/metadata").json()["version"] == new.id, timeout=3)
        assert client.post("/predict", json=ROW).json()["model_version"] == new.id
        samples = parse_metrics(client.get("/metrics").text)
        assert metric(samples, "mlprod_model_info", version=new.id, kind="model") == 1
        assert metric(samples, "mlprod_model_reloads_total") == 2


def test_a_version_that_fails_to_load_keeps_the_old_one_serving(project, tmp_path, caplog):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    app = create_app(Workspace(config), ServeOptions(log_dir=tmp_path / "log", reload_seconds=0.1))
    state = app.state.mlprod
    with TestClient(app) as client:
        # Changed after activation: written in this order, the watcher never sees it whole.
        (new.path / "model.skops").write_bytes(b"tampered")
        active = json.loads((registry.root / "active.json").read_text())
        (registry.root / "active.tmp").write_text(json.dumps(dict(active, model=new.id)))
        (registry.root / "active.tmp").replace(registry.root / "active.json")

        def failures() -> float:
            return state.metrics.value("mlprod_model_reload_failures_total")

        assert wait_for(lambda: failures() >= 1)
        assert client.get("/metadata").json()["version"] == "v0002"
        assert client.post("/predict", json=ROW).status_code == 200
        assert "does not match its metadata" in caplog.text
        assert "still serving v0002" in caplog.text
        # Not retried every second; retried when asked (SIGHUP does this).
        time.sleep(0.3)
        assert failures() == 1
        state.watcher.request()
        assert wait_for(lambda: failures() == 2)


def test_a_pinned_version_does_not_follow_activations(project, tmp_path):
    config = load_config(project)
    registry = Workspace(config).registry
    new = add_model_copy(registry)
    options = ServeOptions(log_dir=tmp_path / "log", model="v0002", reload_seconds=0.1)
    with TestClient(create_app(Workspace(config), options)) as client:
        registry.activate(new)
        time.sleep(0.5)
        info = client.get("/metadata").json()
        assert info["version"] == "v0002" and info["pinned"] is True
