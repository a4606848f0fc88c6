"""The READMEs' command sequences, run as written, in the order written.

* mlprod's README: its second block is what ``.ci/run`` runs; its first block
  runs literally in a copy of this checkout (a fresh venv, ``pip install -e .``,
  ``scripts/demo.sh``).
* The generated project's README: every ``$ …`` line of its Commands block runs
  in a freshly made project, top to bottom, with only what a reader supplies
  between them (a ``new.csv`` to predict; requests while ``serve`` runs).

A README line that stops working fails here, by its text.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def _console_lines(block: str) -> list[str]:
    """The ``$ `` lines of a console block, each without its trailing comment."""
    lines = []
    for raw in block.splitlines():
        if not raw.startswith("$ "):
            continue
        text, quote = raw[2:], None
        for at, char in enumerate(text):
            if quote:
                quote = None if char == quote else quote
            elif char in "'\"":
                quote = char
            elif char == "#" and (at == 0 or text[at - 1].isspace()):
                text = text[:at]
                break
        lines.append(text.strip())
    return lines


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text()
    first, second = (b.strip() for b in _blocks(readme, "bash")[:2])
    ci = [line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.strip()]
    assert ci[-1] == second
    assert "demo.sh" in first and "pytest" in second


def test_console_lines_drop_comments_not_arguments():
    block = "$ a --x 1   # does a\n$ b '#not a comment' # c\nnot a command\n"
    assert _console_lines(block) == ["a --x 1", "b '#not a comment'"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_readme_first_command_runs_literally(tmp_path):
    """The first bash block of README.md, in a copy of the checkout, with the system python3."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split("\0")
    copy = tmp_path / "mlprod"
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    first = _blocks((ROOT / "README.md").read_text(), "bash")[0].strip()
    env = {k: v for k, v in os.environ.items() if k not in ("MLPROD_NO_DELEGATE", "VIRTUAL_ENV")}
    env["MLPROD_DEMO_PORT"] = str(_free_port())
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", first],
        cwd=copy, env=env, capture_output=True, text=True, timeout=1500,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    project = copy / "demo" / "skin-lesions"
    assert "gates: 4 passed, 0 failed" in done.stdout
    assert len((project / "predictions.csv").read_text().splitlines()) == 3001
    assert "served 300 rows" in done.stdout
    logs = list((project / "logs" / "requests").glob("requests-*.jsonl"))
    assert sum(len(p.read_text().splitlines()) for p in logs) == 300
    assert "0 of 300 served classes differ from the offline ones" in done.stdout
    manifest = json.loads((project / "dist" / "docker" / "mlprod-package.json").read_text())
    assert manifest["model_version"] in done.stdout and manifest["tag"].startswith("skin-lesions:")


def _serve_and_request(line: str, project: Path, rows: list[dict]) -> None:
    port = _free_port()
    server = subprocess.Popen(
        [*shlex.split(line), "--port", str(port)],
        cwd=project, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stdout.read()
            try:
                urllib.request.urlopen(f"{base}/ready", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "serve never became ready"
                time.sleep(0.3)
        for row in rows:
            request = urllib.request.Request(
                f"{base}/predict", json.dumps(row).encode(), {"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(request, timeout=10) as answer:
                assert answer.status == 200
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


@pytest.mark.slow
def test_generated_readme_commands_run_in_order(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"}
    # pre-commit comes from pipx for the reader; here, from mlprod's test venv
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    made = subprocess.run(
        [sys.executable, "-m", "mlprod_cli", "new", "skin-lesions", "--no-input"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    project = tmp_path / "skin-lesions"
    readme = (project / "README.md").read_text()
    commands = next(b for b in _blocks(readme, "console") if "mlprod train" in b)
    lines = _console_lines(commands)
    assert len(lines) >= 10, lines

    import pandas as pd
    import yaml

    config = yaml.safe_load((project / "mlprod.yaml").read_text())
    data = pd.read_csv(project / config["data"]["train"])
    target = config["data"]["target"]
    sample = data.sample(60, random_state=3)
    rows = json.loads(sample.drop(columns=[target]).to_json(orient="records"))

    ran = []
    for line in lines:
        if " predict " in f" {line} " and "new.csv" in line:
            sample.drop(columns=[target]).to_csv(project / "new.csv", index=False)
        if line.endswith("mlprod serve"):
            _serve_and_request(line, project, rows)
            ran.append(line)
            continue
        done = subprocess.run(
            ["bash", "-c", line], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, f"$ {line}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        ran.append(line)
    assert any(line.endswith("mlprod skew") for line in ran)
    assert (project / ".git" / "hooks" / "pre-commit").is_file()
    assert len((project / "predictions.csv").read_text().splitlines()) == len(sample) + 1

    # the other way round: train without --activate, then activate the new model by name
    trained = subprocess.run(
        [".venv/bin/mlprod", "train", "--format", "json"],
        cwd=project, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    versions = [v["version"] for v in json.loads(trained.stdout)["versions"]]
    model = versions[-1]
    activated = subprocess.run(
        [".venv/bin/mlprod", "models", "activate", model],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert activated.returncode == 0, activated.stdout + activated.stderr
