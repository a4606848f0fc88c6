"""prepare: the checks before a server starts, and the port it binds."""

from __future__ import annotations

import socket

import pytest

from mlprod_cli.core.registry import RegistryError
from mlprod_cli.core.serve import ServeOptions, prepare
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import UsageError


def test_prepare_without_an_active_model_names_the_commands_that_make_one(trained):
    with pytest.raises(RegistryError) as caught:
        prepare(Workspace.load(trained), ServeOptions(port=0))
    assert caught.value.exit_code == 2
    assert "mlprod train --activate" in caught.value.hint
    assert "mlprod models activate VERSION" in caught.value.hint


def test_prepare_refuses_a_port_in_use_naming_it(served_project, tmp_path):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        with pytest.raises(UsageError) as caught:
            prepare(Workspace.load(served_project), ServeOptions(port=port, log_dir=tmp_path))
    finally:
        holder.close()
    assert caught.value.exit_code == 2
    assert f"--port {port}" in caught.value.message and "in use" in caught.value.message


def test_prepare_binds_loopback_by_default_and_loads_the_model(served_project, tmp_path):
    server = prepare(Workspace.load(served_project), ServeOptions(port=0, log_dir=tmp_path / "l"))
    try:
        assert server.host == "127.0.0.1"
        assert server.socket.getsockname()[0] == "127.0.0.1"
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert server.model is not None and server.model.id == "v0002"
        assert (tmp_path / "l").is_dir()
    finally:
        server.socket.close()


@pytest.mark.slow
def test_two_workers_share_the_connections_and_answer_at_once(active, tmp_path, monkeypatch):
    """--workers 2: new connections are spread over both workers (a socket of each
    with SO_REUSEPORT), and answers are not held back by Nagle's algorithm."""
    import http.client
    import json
    import statistics
    import time

    from tests.serving import (
        ROW,
        free_port,
        metric,
        parse_metrics,
        predictions_per_worker,
        request,
        start,
        stop,
        wait_ready,
    )

    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the server makes its metrics folder
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    output = open(tmp_path / "serve.log", "w")  # noqa: SIM115
    process = start(active, "--port", str(port), "--workers", "2", output=output)
    body = json.dumps(ROW).encode()
    try:
        wait_ready(process, base)
        deadline = time.monotonic() + 60
        while metric(parse_metrics(request(f"{base}/metrics")[2].decode()), "mlprod_model_reloads_total") < 2:  # fmt: skip
            assert time.monotonic() < deadline, "the second worker never loaded its model"
            time.sleep(0.2)
        time.sleep(1.0)  # and listens
        # 32 connections opened at once, then a request on each.
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=10) for _ in range(32)]
        for connection in connections:
            connection.connect()
        answers: list[int] = []
        for connection in connections:
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
        for connection in connections:
            response = connection.getresponse()
            response.read()
            answers.append(response.status)
            connection.close()
        assert answers == [200] * 32
        # With one shared socket, the worker that woke first took them all.
        (metrics_dir,) = tmp_path.glob("mlprod-serve-metrics-*")
        counts = predictions_per_worker(metrics_dir)
        assert len(counts) == 2 and sum(counts) == 32 and min(counts) >= 4, counts
        # Keep-alive requests on one connection: each answered in a few ms, not after
        # the client's delayed ACK (40 ms) that Nagle's algorithm waits for.
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        took = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("POST", "/predict", body, {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            took.append(time.perf_counter() - started)
        connection.close()
        assert statistics.median(took) < 0.035, took
    finally:
        code = stop(process)
        output.close()
    assert code == 0, (tmp_path / "serve.log").read_text()
