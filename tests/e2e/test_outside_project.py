"""Outside a project, after one plain install: ``evaluate --predictions`` and ``skew`` on CSV.

A fresh venv gets ``pip install <this checkout>`` (the plain package, no extra),
exactly what the README documents for use outside a project; nothing else is
installed. Both commands must then work on CSV files in an empty folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def plain_mlprod(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("plain") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    done = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", str(ROOT)],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return venv / "bin" / "mlprod"


def _run(mlprod: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    return subprocess.run(
        [str(mlprod), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_plain_install_holds_no_extra(plain_mlprod):
    python = plain_mlprod.parent / "python"
    done = subprocess.run(
        [str(python), "-c", "import importlib.util as u; print(u.find_spec('sklearn') is None)"],
        capture_output=True, text=True,
    )  # fmt: skip
    # not scikit-learn: the commands below must not need a model's libraries
    assert done.stdout.strip() == "True"


def test_evaluate_predictions_outside_a_project(plain_mlprod, tmp_path):
    rng = np.random.default_rng(0)
    y = rng.choice(["benign", "melanoma"], size=400, p=[0.8, 0.2])
    y_hat = np.where(rng.random(400) < 0.9, y, np.where(y == "benign", "melanoma", "benign"))
    pd.DataFrame({"y": y, "y_hat": y_hat}).to_csv(tmp_path / "preds.csv", index=False)
    done = _run(
        plain_mlprod, "evaluate", "--predictions", "preds.csv", "--label-col", "y",
        "--pred-col", "y_hat", "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["project"] is None
    recall = {row["label"]: row for row in report["classes"]}
    expected = ((y == "melanoma") & (y_hat == "melanoma")).sum() / (y == "melanoma").sum()
    assert recall["melanoma"]["sensitivity"] == pytest.approx(expected)
    assert not (tmp_path / ".mlprod").exists()


def test_skew_on_csv_outside_a_project(plain_mlprod, tmp_path):
    rng = np.random.default_rng(1)
    reference = pd.DataFrame(
        {"age": rng.normal(50, 10, 5000), "site": rng.choice(["arm", "leg", "back"], 5000)}
    )
    current = pd.DataFrame(
        {"age": rng.normal(65, 10, 2000), "site": rng.choice(["arm", "leg", "back"], 2000)}
    )
    reference.to_csv(tmp_path / "train.csv", index=False)
    current.to_csv(tmp_path / "serving.csv", index=False)
    done = _run(
        plain_mlprod, "skew", "--reference", "train.csv", "--current", "serving.csv",
        "--format", "json", cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # age drifted: a failed check, not a crash
    report = json.loads(done.stdout)
    failed = {f["name"] for f in report["features"] if f["status"] == "fail"}
    assert failed == {"age"}
