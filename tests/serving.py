"""A real ``mlprod serve`` process on a free loopback port, for the tests that need one.

Used by ``tests/e2e/test_serve_e2e.py`` and the reliability tests of the server
(``tests/reliability/test_server_*.py``). Importable as ``serving``: pytest puts
``tests/`` on ``sys.path`` for ``tests/conftest.py``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO

import pytest

from mlprod_cli.core.workspace import Workspace

ROW = {
    "age": 52,
    "sex": "female",
    "anatomic_site": "trunk",
    "diameter_mm": 7.5,
    "asymmetry": 1,
    "border_irregularity": 3,
    "color_count": 3,
    "evolving": 0,
}


# What a leaked exception looks like in an answer: a traceback, a frame, a Python
# exception class, the advice of Python's integer-digits limit.
INTERNALS = re.compile(
    r"Traceback \(most recent|File \"[^\"]+\", line \d+|\b[A-Z][a-zA-Z]*(Error|Exception)\b"
    r"|sys\.set_int_max_str_digits"
)
_SAMPLE = re.compile(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$")


def parse_metrics(text: str) -> dict[tuple[str, frozenset], float]:
    """Prometheus text format → {(name, labels): value}; every line must parse."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) [a-z_]+ ", line) or not line, line
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        name, labels, value = match.groups()
        pairs = frozenset(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels or ""))
        out[(name, pairs)] = float(value)
    return out


def metric(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def activate_model(project: Path) -> Path:
    """Activate the trained baseline v0001 and model v0002 of ``project``; return it."""

    registry = Workspace.load(project).registry
    registry.activate(registry.get("v0001"))
    registry.activate(registry.get("v0002"))
    return project


def tiny_metadata(classes=("a", "b"), schema: dict | None = None) -> dict:
    """The metadata of a version of three features (numeric, categorical, datetime)."""
    if schema is None:
        schema = {
            "features": [
                {"name": "size", "kind": "numeric", "min": 0.0, "max": 1.0},
                {"name": "color", "kind": "categorical", "categories": ["red", "blue"]},
                {"name": "seen", "kind": "datetime"},
            ]
        }
    return {"kind": "model", "classes": list(classes), "schema": schema}


def tiny_model(version: str = "v0009", classes=("a", "b"), schema: dict | None = None):
    """A LoadedModel of :func:`tiny_metadata` with no estimator: checked, counted, never scored."""
    from types import SimpleNamespace

    from mlprod_cli.core.serve import LoadedModel

    metadata = tiny_metadata(classes, schema)
    return LoadedModel(SimpleNamespace(id=version, metadata=metadata), None)


def add_model_copy(registry, source: str = "v0002", **changes):
    """A new model version (a copy of ``source``'s estimator) registered whole."""
    version = registry.get(source)
    metadata = {
        k: v for k, v in version.metadata.items() if k not in ("version", "artifact_sha256")
    }
    metadata.update(changes)
    return registry.add(registry.load(version), metadata)


def wait_for(condition, timeout: float = 5.0) -> bool:
    """Poll ``condition`` until it holds (True) or ``timeout`` seconds pass (its last answer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(url: str, body: bytes | None = None, headers: dict | None = None):
    """``(status, headers, body bytes)``; HTTP errors are answers too."""
    req = urllib.request.Request(url, data=body, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def start(project: Path, *args: str, output: IO | None = None) -> subprocess.Popen:
    """``mlprod serve ARGS`` in ``project``; its stdout and stderr piped, or to ``output``
    (a file: a server that writes much to an unread pipe would block)."""
    env = dict(os.environ, MLPROD_NO_DELEGATE="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "mlprod_cli", "serve", *args],
        cwd=project,
        env=env,
        stdout=output or subprocess.PIPE,
        stderr=output or subprocess.PIPE,
        text=True,
    )
    process.output_file = getattr(output, "name", None)
    return process


def wait_ready(process: subprocess.Popen, base: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited {process.returncode}: {_output(process)}")
        try:
            if request(f"{base}/ready")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    process.kill()
    pytest.fail(f"serve was not ready in {timeout} s: {_output(process)}")


def _output(process: subprocess.Popen) -> str:
    """What the server wrote on stderr (its pipe, or the file given to :func:`start`)."""
    _, err = process.communicate()
    if err is None and getattr(process, "output_file", None):
        return Path(process.output_file).read_text()
    return err


def stop(process: subprocess.Popen, timeout: float = 30.0) -> int:
    """SIGTERM, then the exit code (killed, and the test failed, if it hangs)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"serve did not stop within {timeout} s of SIGTERM")


def rss_kib(pid: int) -> int:
    """The resident memory of process ``pid`` in KiB (VmRSS of /proc/PID/status, Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS in /proc/{pid}/status")


def offline_predictions(project: Path, rows: list[dict]) -> tuple[list[str], list[list[float]]]:
    """What the active model predicts for ``rows`` in this process: classes and scores."""
    from mlprod_cli.core.predict import predict_batch
    from mlprod_cli.core.serve import load_model

    model = load_model(Workspace.load(project).registry, None)
    checked = model.check(rows, single=False)
    assert not checked.errors, checked.errors
    classes, scores = predict_batch(model.estimator, model.frame(checked.columns), model.labels)
    return [str(c) for c in classes], scores.tolist()


def skew_report(project: Path, log_dir: Path) -> tuple[int, dict, str]:
    """``mlprod skew --log LOG_DIR --format json`` in a subprocess: (exit code, report, stderr)."""
    run = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "skew", "--log", str(log_dir), "--format", "json"],
        cwd=project,
        env=dict(os.environ, MLPROD_NO_DELEGATE="1"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode in (0, 1), run.stderr  # 1: a distance over its threshold
    return run.returncode, json.loads(run.stdout), run.stderr


def predictions_per_worker(metrics_dir: Path) -> list[float]:
    """The /predict requests each worker of ``--workers N`` answered, from the
    files it keeps its counters in (``counter_<pid>.db``, prometheus_client's
    multiprocess mode): how the connections were spread."""
    from prometheus_client.multiprocess import MultiProcessCollector

    counts = []
    for file in sorted(metrics_dir.glob("counter_*.db")):
        total = 0.0
        for family in MultiProcessCollector.merge([str(file)], accumulate=True):
            for sample in family.samples:
                if sample.name == "mlprod_requests_total" and sample.labels.get("endpoint") == "/predict":  # fmt: skip
                    total += sample.value
        counts.append(total)
    return counts
