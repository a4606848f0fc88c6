"""The README's first command: scripts/demo.sh end to end, as a new user runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def test_demo_runs_every_step(tmp_path):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"}
    env.update(
        MLPROD_DEMO_PORT=str(port), PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    )
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "demo.sh"), str(tmp_path / "demo")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    project = tmp_path / "demo" / "skin-lesions"
    assert "gates: 4 passed, 0 failed" in done.stdout
    assert len((project / "predictions.csv").read_text().splitlines()) == 3001
    assert "served 300 rows" in done.stdout
    logs = list((project / "logs" / "requests").glob("requests-*.jsonl"))
    assert sum(len(p.read_text().splitlines()) for p in logs) == 300
    assert "0 of 300 served classes differ from the offline ones" in done.stdout
    manifest = json.loads((project / "dist" / "docker" / "mlprod-package.json").read_text())
    assert manifest["model_version"] in done.stdout and manifest["tag"].startswith("skin-lesions:")
