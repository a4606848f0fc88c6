"""End to end: ``mlprod new --data`` on real public data sets, then the project's whole life.

Four data sets that installed packages ship (not the sample): scikit-learn's
breast cancer (binary, no date), wine and iris (multiclass, no date) and
vega_datasets' cars (multiclass, a date column, so a split by time). Each:
``new --data FILE --target COL`` with its real venv, then in the project with
its own ``.venv/bin/mlprod`` and zero hand edits: ``train --activate``,
``evaluate`` (every gate green), ``serve`` answering rows of the file, and
``skew`` on what was served. A fifth, Seattle's weather, is where the future
is not like the past (its labels drift: the model validated on earlier years
beats its baseline there, and loses to it after the cutoff): the gates stop
the model instead of shipping it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.serving import free_port, request, stop, wait_ready

pytestmark = pytest.mark.slow


def _vega(name: str) -> Path:
    import vega_datasets

    return Path(vega_datasets.__file__).parent / "_data" / name


def write_dataset(name: str, folder: Path) -> Path:
    path = folder / f"{name}.csv"
    if name in ("breast_cancer", "wine", "iris"):
        from sklearn import datasets

        getattr(datasets, f"load_{name}")(as_frame=True).frame.to_csv(path, index=False)
    elif name == "cars":
        pd.read_json(_vega("cars.json")).to_csv(path, index=False)
    elif name == "seattle_weather":
        path.write_bytes(_vega("seattle-weather.csv").read_bytes())
    return path


DATASETS = {
    "breast_cancer": "target",
    "wine": "target",
    "iris": "target",
    "cars": "Origin",
}


def run(command: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"}
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, **kwargs)


def new_project(name: str, tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    folder = tmp_path_factory.mktemp(name)
    data = write_dataset(name, folder)
    target = DATASETS.get(name, "weather")
    done = run(
        [sys.executable, "-m", "mlprod_cli", "new", name.replace("_", "-"),
         "--data", str(data), "--target", target, "--no-input"],
        cwd=folder,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return folder / name.replace("_", "-"), done


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_own_data_from_new_to_a_served_model_that_beats_its_baseline(name, tmp_path_factory):
    project, made = new_project(name, tmp_path_factory)
    assert "profile of" in made.stdout and "decided (each with its reason" in made.stdout
    mlprod = str(project / ".venv" / "bin" / "mlprod")

    tests = run([str(project / ".venv" / "bin" / "python"), "-m", "pytest"], cwd=project)
    assert tests.returncode == 0, tests.stdout[-2000:]

    trained = run([mlprod, "train", "--activate", "--format", "json"], cwd=project)
    assert trained.returncode == 0, trained.stderr
    assert len(json.loads(trained.stdout)["activated"]) == 2

    evaluated = run([mlprod, "evaluate", "--format", "json"], cwd=project)
    assert evaluated.returncode == 0, evaluated.stdout[-3000:] + evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["gates"] and all(g["passed"] for g in report["gates"])
    assert any(g["kind"] == "beat_baseline" for g in report["gates"])

    port = free_port()
    log = project / "logs" / "requests"
    server = subprocess.Popen(
        [mlprod, "serve", "--port", str(port)],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(server, base, timeout=60)
        rows = pd.read_csv(next((project / "data").glob("*.csv"))).head(60)
        rows = rows.drop(columns=[DATASETS[name]])
        records = json.loads(rows.to_json(orient="records"))
        status, _, body = request(f"{base}/predict", json.dumps(records[0]).encode())
        assert status == 200, body
        answer = json.loads(body)
        assert answer["class"] in answer["scores"]
        status, _, body = request(f"{base}/predict", json.dumps(records[1:]).encode())
        assert status == 200, body
    finally:
        assert stop(server) == 0

    skew = run([mlprod, "skew", "--log", str(log), "--format", "json"], cwd=project)
    assert skew.returncode in (0, 1), skew.stderr  # 1: a distance over its threshold
    assert json.loads(skew.stdout)["current"]["rows"] == 60


def test_where_the_future_is_not_like_the_past_the_gates_stop_the_model(tmp_path_factory):
    project, _ = new_project("seattle_weather", tmp_path_factory)
    text = (project / "mlprod.yaml").read_text()
    assert "split: {by: time, column: date" in text
    assert "in validation the model" in text  # measured on the past, by time
    mlprod = str(project / ".venv" / "bin" / "mlprod")
    trained = run([mlprod, "train", "--activate"], cwd=project)
    assert trained.returncode == 1  # the baseline is activated, the model refused
    assert "v0002 fails" in trained.stderr and "beats baseline" in trained.stderr
    evaluated = run([mlprod, "evaluate", "--model", "v0002", "--format", "json"], cwd=project)
    assert evaluated.returncode == 1
    gates = {g["kind"]: g["passed"] for g in json.loads(evaluated.stdout)["gates"]}
    assert gates["beat_baseline"] is False
