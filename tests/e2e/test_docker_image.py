"""The serving image, built and run for real: ``mlprod package --offline --build``.

No image registry is reachable here, so the base image is made from Debian's
packages (``scripts/make_base_image.py``: debootstrap + ``docker import``) and
passed as ``BASE_IMAGE``. The context is made with ``--offline``, so the build
itself uses no index. The container must become ready, answer ``/predict``
like the project's own model, run as the non-root uid of the Dockerfile and
carry the model version and commit as labels.

Needs a docker daemon (``.ci/run`` installs Debian's docker.io and starts
``dockerd --storage-driver=vfs``): under ``CI=true`` its absence fails the test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from mlprod_cli.adapters.docker import daemon_problem
from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW, free_port, request

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BASE = "mlprod-test-base:bookworm"


def _require_docker() -> None:
    problem = daemon_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {problem} (.ci/run starts dockerd)")
    pytest.skip(problem)


def docker(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=check)


@pytest.fixture(scope="module")
def base_image() -> str:
    _require_docker()
    done = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "make_base_image.py"), "--tag", BASE],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    return BASE


@pytest.fixture
def packaged(trained, base_image, git_commit):
    """The trained project with its model active, packaged offline and built on the base."""
    registry = Workspace.load(trained).registry
    registry.activate(registry.latest("baseline"))
    registry.activate(registry.latest("model"))
    tag = f"mlprod-e2e-{uuid.uuid4().hex[:8]}:v0002"
    env = dict(os.environ, DOCKER_BUILDKIT="0", MLPROD_NO_DELEGATE="1")
    options = ["--offline", "--build", "--base-image", base_image, "--tag", tag, "--format", "json"]
    done = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "package", *options],
        cwd=trained,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    yield trained, tag, json.loads(done.stdout)
    docker("rmi", "-f", tag, check=False)


@pytest.fixture
def git_commit(trained) -> str:
    """Make the project a git repository, so the image carries a real commit."""
    env = dict(
        os.environ,
        GIT_AUTHOR_NAME="t",
        GIT_AUTHOR_EMAIL="t@example.invalid",
        GIT_COMMITTER_NAME="t",
        GIT_COMMITTER_EMAIL="t@example.invalid",
    )
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "init"]):
        subprocess.run(["git", *args], cwd=trained, env=env, check=True, capture_output=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=trained, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_the_image_serves_the_active_model_as_non_root(packaged, git_commit):
    project, tag, report = packaged
    assert report["image"]["id"].startswith("sha256:")
    assert report["offline"] is True
    # the image installs the run-time closure: no dev, batch or authoring packages
    assert {"pytest", "ruff", "pyarrow", "uv", "cookiecutter"} <= set(report["left_out"])
    wheels = {f["path"] for f in report["files"] if f["path"].endswith(".whl")}
    assert not any("pyarrow" in w or "pytest" in w for w in wheels)
    labels = json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Labels}}", tag).stdout
    )
    assert labels["mlprod.model.version"] == "v0002"
    assert labels["org.opencontainers.image.revision"] == git_commit
    # deploy/k8s now names the image that was built
    assert f"image: {tag}" in (project / "deploy" / "k8s" / "deployment.yaml").read_text()

    port = free_port()
    name = f"mlprod-e2e-{uuid.uuid4().hex[:8]}"
    docker("run", "-d", "--rm", "--name", name, "-p", f"127.0.0.1:{port}:8000", tag)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status = request(f"{base}/ready")[0]
            except OSError:
                status = None
            if status == 200:
                break
            time.sleep(0.5)
        logs = docker("logs", name, check=False)
        assert status == 200, logs.stdout[-2000:] + logs.stderr[-2000:]

        status, _, body = request(f"{base}/predict", json.dumps(ROW).encode())
        assert status == 200, body
        answer = json.loads(body)
        assert answer["model_version"] == "v0002"
        # the same answer the project's own model gives, outside the container
        import pandas as pd

        registry = Workspace.load(project).registry
        model = registry.load(registry.get("v0002"))
        expected = model.predict(pd.DataFrame([ROW]))[0]
        assert answer["class"] == expected

        uid = docker("exec", name, "id", "-u").stdout.strip()
        assert uid == "10001"
        health = docker("inspect", "--format", "{{json .Config.Healthcheck}}", name).stdout
        assert "/health" in health
    finally:
        docker("rm", "-f", name, check=False)
