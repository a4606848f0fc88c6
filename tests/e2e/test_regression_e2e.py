"""End to end: regression projects on two real data sets that installed packages ship.

scikit-learn's diabetes data (442 patients, the progression of the disease a
year on), as ``mlprod new --template regression`` bundles it, and vega_datasets'
Seattle weather (1,461 days, the day's highest temperature; a date column, so
a split by time) through ``mlprod new --data FILE --target temp_max``. Each
with its real venv and zero hand edits: the project's own tests,
``train --activate``, ``evaluate`` (every gate green, in every format),
``serve`` answering rows of the file with a number, ``predict`` and ``skew``
on what was served.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.e2e.test_own_data import run, write_dataset
from tests.serving import free_port, request, stop, wait_ready

pytestmark = pytest.mark.slow

CASES = {
    "diabetes": ("progression", ["--template", "regression"]),
    "seattle_weather": ("temp_max", ["--target", "temp_max"]),
}


def new_project(name: str, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp(name)
    options = CASES[name][1]
    if name != "diabetes":
        options = ["--data", str(write_dataset(name, folder)), *options]
    project = name.replace("_", "-")
    done = run(
        [sys.executable, "-m", "mlprod_cli", "new", project, *options, "--no-input"], cwd=folder
    )
    assert done.returncode == 0, done.stderr
    assert "task            regression (a number to predict:" in done.stdout
    return folder / project


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_regression_from_new_to_served_numbers_and_skew(name, tmp_path_factory):
    target = CASES[name][0]
    project = new_project(name, tmp_path_factory)
    text = (project / "mlprod.yaml").read_text()
    assert "task: regression" in text and "objective: mae" in text
    assert "- {metric: mae, max:" in text and "- {metric: r2, min:" in text
    if name == "seattle_weather":
        assert "split: {by: time, column: date" in text
    mlprod = str(project / ".venv" / "bin" / "mlprod")

    tests = run([str(project / ".venv" / "bin" / "python"), "-m", "pytest"], cwd=project)
    assert tests.returncode == 0, tests.stdout[-2000:]

    trained = run([mlprod, "train", "--activate", "--format", "json"], cwd=project)
    assert trained.returncode == 0, trained.stderr
    assert len(json.loads(trained.stdout)["activated"]) == 2
    shown = run([mlprod, "models", "show", "v0001"], cwd=project)
    assert shown.returncode == 0 and "(the overall median)" in shown.stdout
    assert f"regression of {target}" in shown.stdout

    evaluated = run([mlprod, "evaluate", "--format", "json"], cwd=project)
    assert evaluated.returncode == 0, evaluated.stdout[-3000:] + evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["gates"] and all(g["passed"] for g in report["gates"])
    assert {"threshold", "beat_baseline"} <= {g["kind"] for g in report["gates"]}
    for fmt in ("markdown", "junit", "html"):
        other = run([mlprod, "evaluate", "--no-store", "--format", fmt], cwd=project)
        assert other.returncode == 0, other.stderr
        assert "mae" in other.stdout

    rows = pd.read_csv(next((project / "data").glob("*.csv"))).head(60)
    rows.drop(columns=[target]).to_csv(project / "new.csv", index=False)
    predicted = run([mlprod, "predict", "new.csv", "--output", "out.csv"], cwd=project)
    assert predicted.returncode == 0, predicted.stderr
    values = pd.read_csv(project / "out.csv")
    assert values["prediction"].between(rows[target].min() - 50, rows[target].max() + 50).all()
    assert (values["prediction_q10"] <= values["prediction_q90"]).all()

    port = free_port()
    server = subprocess.Popen(
        [mlprod, "serve", "--port", str(port)],
        cwd=project,
        env={k: v for k, v in os.environ.items() if k != "MLPROD_NO_DELEGATE"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    records = json.loads(rows.drop(columns=[target]).to_json(orient="records"))
    try:
        wait_ready(server, base, timeout=60)
        status, _, body = request(f"{base}/predict", json.dumps(records[0]).encode())
        assert status == 200, body
        value = json.loads(body)["value"]
        assert math.isclose(value, values["prediction"][0], rel_tol=1e-9)
        status, _, body = request(f"{base}/predict", json.dumps(records[1:]).encode())
        assert status == 200, body
        assert len(json.loads(body)["predictions"]) == 59
    finally:
        assert stop(server) == 0

    log = project / "logs" / "requests"
    skew = run([mlprod, "skew", "--log", str(log), "--format", "json"], cwd=project)
    assert skew.returncode in (0, 1), skew.stderr  # 1: a distance over its threshold
    found = json.loads(skew.stdout)
    assert found["current"]["rows"] == 60
    predictions = found["predictions"]
    assert predictions["kind"] == "numeric"
    assert predictions["summary"]["compared"] == 60  # every served value re-scored...
    assert predictions["summary"]["mismatches"] == 0  # ...and the same as offline
