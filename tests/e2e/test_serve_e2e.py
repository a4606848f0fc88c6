"""``mlprod serve`` as a real server process on loopback, driven with urllib."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from mlprod_cli.core.workspace import Workspace
from tests.serving import ROW, free_port, metric, parse_metrics, request, start, wait_ready

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")

pytestmark = pytest.mark.slow


def listening_addresses(port: int) -> set[str]:
    """Local IPv4 addresses listening on ``port``, from /proc/net/tcp (Linux)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            found.add(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return found


@pytest.fixture
def project(active) -> Path:
    return active


def test_serve_answers_counts_logs_and_stops_cleanly_on_sigterm(project):
    port = free_port()
    process = start(project, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base)
        if Path("/proc/net/tcp").exists():
            assert listening_addresses(port) == {"127.0.0.1"}  # loopback by default

        status, headers, body = request(f"{base}/predict", json.dumps(ROW).encode())
        assert status == 200, body
        one = json.loads(body)
        assert one["model_version"] == "v0002" and set(one["scores"]) == {
            "melanoma",
            "nevus",
            "seborrheic_keratosis",
        }
        status, _, body = request(
            f"{base}/predict", json.dumps([ROW, dict(ROW, sex="other")]).encode()
        )
        assert status == 200 and len(json.loads(body)["predictions"]) == 2

        status, _, body = request(f"{base}/predict", json.dumps(dict(ROW, age="old")).encode())
        assert status == 422
        assert json.loads(body)["detail"][0]["loc"] == ["body", "age"]
        status, _, body = request(f"{base}/predict", b"{not json")
        assert status == 400 and b"Traceback" not in body
        status, _, _ = request(f"{base}/predict", b"[" + b" " * (2 << 20) + b"]")
        assert status == 413

        assert request(f"{base}/health")[0] == 200
        status, _, body = request(f"{base}/metadata")
        assert status == 200 and json.loads(body)["version"] == "v0002"
        status, headers, body = request(f"{base}/metrics")
        assert status == 200 and headers["Content-Type"].startswith("text/plain")
        samples = parse_metrics(body.decode())
        assert metric(samples, "mlprod_requests_total", endpoint="/predict", status="200") == 2
        assert metric(samples, "mlprod_requests_total", endpoint="/predict", status="422") == 1
        assert metric(samples, "mlprod_unseen_category_total", feature="sex") == 1
        assert metric(samples, "mlprod_validation_failures_total") == 1
        assert metric(samples, "mlprod_model_info", version="v0002", kind="model") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, err
    assert f"at http://127.0.0.1:{port}" in err and "v0002" in err
    assert "Traceback" not in err

    log_dir = project / "logs" / "requests"
    files = sorted(log_dir.glob("requests-*.jsonl"))
    assert len(files) == 1
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    assert len(lines) == 3  # the refused requests are not logged
    assert lines[0]["features"] == ROW and lines[0]["prediction"] == one["class"]
    assert lines[2]["features"]["sex"] == "other"
    assert {line["model_version"] for line in lines} == {"v0002"}


def test_serve_follows_an_activation_and_stops_on_ctrl_c(project):
    registry = Workspace.load(project).registry
    v2 = registry.get("v0002")
    metadata = {k: v for k, v in v2.metadata.items() if k not in ("version", "artifact_sha256")}
    new = registry.add(registry.load(v2), metadata)
    port = free_port()
    process = start(project, "--port", str(port))
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base)
        registry.activate(new)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if json.loads(request(f"{base}/metadata")[2])["version"] == new.id:
                break
            time.sleep(0.1)
        _, _, body = request(f"{base}/predict", json.dumps(ROW).encode())
        assert json.loads(body)["model_version"] == new.id
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert f"now serving {new.id} (was v0002)" in err


def test_bad_starts_are_one_line_exit_2(trained):
    # No active model: the error names the commands that make one.
    process = start(trained, "--port", str(free_port()))
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "mlprod train --activate" in err and "mlprod models activate VERSION" in err

    registry = Workspace.load(trained).registry
    registry.activate(registry.get("v0002"))
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        process = start(trained, "--port", str(port))
        _, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert err.startswith("error: ") and f"--port {port}" in err and "in use" in err
