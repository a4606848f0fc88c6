"""_connections: a time limit on a request's headers, and accepting while out of
file descriptors, measured on a real ``mlprod serve`` process."""

from __future__ import annotations

import json
import logging
import os
import resource
import shutil
import socket
import time

import pytest

from tests.serving import (
    ROW,
    activate_model,
    free_port,
    metric,
    parse_metrics,
    request,
    start,
    stop,
    wait_for,
    wait_ready,
)

pytest.importorskip("uvicorn")

# The figures: pytest -o log_cli=true --log-cli-level=INFO
log = logging.getLogger("mlprod.tests.connections")

HALF_OPEN = 400
HEADER_TIMEOUT = 2.0


@pytest.fixture
def project(trained_project, tmp_path):
    dest = tmp_path / trained_project.name
    shutil.copytree(trained_project, dest)
    return activate_model(dest)


def _serve(project, tmp_path, *args):
    port = free_port()
    output = (tmp_path / "serve.txt").open("w")
    process = start(project, "--port", str(port), *args, output=output)
    base = f"http://127.0.0.1:{port}"
    wait_ready(process, base)
    return process, port, base, output


def _closed(sock: socket.socket) -> bool:
    """True once the server closed ``sock`` (end of file or a reset)."""
    try:
        return sock.recv(1024) == b""
    except BlockingIOError:
        return False
    except OSError:
        return True


def _response(sock: socket.socket) -> bytes:
    """One whole HTTP response read from ``sock`` (headers and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"closed before a response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))  # fmt: skip
    while len(body) < length:
        body += sock.recv(4096)
    return head + b"\r\n\r\n" + body


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.slow
def test_half_open_connections_are_closed_after_the_header_timeout(project, tmp_path):
    process, port, base, output = _serve(project, tmp_path, "--header-timeout", str(HEADER_TIMEOUT))
    idle_fds = _descriptors(process.pid)
    held = []
    try:
        opened = time.monotonic()
        for i in range(HALF_OPEN):
            sock = socket.create_connection(("127.0.0.1", port))
            if i % 2:  # half a request: a request line and a header, never the blank line
                sock.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        # A request whose headers arrived is not cut, however slow its body.
        slow = socket.create_connection(("127.0.0.1", port))
        body = json.dumps(ROW).encode()
        slow.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        assert wait_for(lambda: _descriptors(process.pid) >= idle_fds + HALF_OPEN, timeout=10)
        status, _, answer = request(f"{base}/predict", body)  # answered meanwhile
        assert status == 200 and json.loads(answer)["model_version"] == "v0002"
        for sock in held:
            sock.setblocking(False)
        assert wait_for(lambda: all(_closed(s) for s in held), timeout=HEADER_TIMEOUT + 10)
        took = time.monotonic() - opened
        assert took >= HEADER_TIMEOUT - 0.5
        assert wait_for(lambda: _descriptors(process.pid) <= idle_fds + 2, timeout=5)
        slow.sendall(body)  # after the header timeout: still answered
        slow.settimeout(10)
        assert _response(slow).startswith(b"HTTP/1.1 200")
        slow.close()
        # A kept-alive connection whose next request is late is closed too.
        kept = socket.create_connection(("127.0.0.1", port))
        kept.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        kept.settimeout(10)
        assert _response(kept).startswith(b"HTTP/1.1 200")
        kept.sendall(b"GET /health HTTP/1.1\r\n")
        assert kept.recv(4096) == b""
        kept.close()
    finally:
        for sock in held:
            sock.close()
        code = stop(process)
        output.close()
    text = (tmp_path / "serve.txt").read_text()
    assert code == 0 and "Traceback" not in text, text
    log.info("%d half-open connections closed %.1f s after opening (limit %s s)", HALF_OPEN, took, HEADER_TIMEOUT)  # fmt: skip


@pytest.mark.slow
def test_out_of_file_descriptors_is_one_line_and_the_server_recovers(project, tmp_path):
    process, port, base, output = _serve(project, tmp_path, "--header-timeout", "1")
    limit = _descriptors(process.pid) + 20
    soft, hard = resource.prlimit(process.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (limit, hard))
    held = []
    try:
        for _ in range(80):  # more than the server may open: the rest wait in its backlog
            held.append(socket.create_connection(("127.0.0.1", port)))
        time.sleep(4)  # the idle ones are closed after 1 s, and more are accepted
    finally:
        for sock in held:
            sock.close()
    try:
        resource.prlimit(process.pid, resource.RLIMIT_NOFILE, (soft, hard))
        assert wait_for(lambda: request(f"{base}/health")[0] == 200, timeout=10)
        assert request(f"{base}/predict", json.dumps(ROW).encode())[0] == 200
        samples = parse_metrics(request(f"{base}/metrics")[2].decode())
    finally:
        code = stop(process)
        output.close()
    text = (tmp_path / "serve.txt").read_text()
    assert code == 0, text
    assert "Traceback" not in text, text[:2000]
    lines = [line for line in text.splitlines() if "cannot accept connections" in line]
    assert len(lines) == 1, text[:2000]
    assert "Too many open files" in lines[0] and f"limit {limit}" in lines[0]
    assert len(text.splitlines()) <= 6, text[:2000]  # start, the episode, stop; nothing per attempt
    assert metric(samples, "mlprod_accept_errors_total", errno="EMFILE") >= 1
