"""Representative results of every command, built by hand, for the render tests.

Each builder returns what a core function returns, with fixed values (times,
hashes, paths), so that the rendered text is the same on every run. Names that
need escaping somewhere (HTML, XML, Markdown, Rich markup) are used on purpose.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from mlprod_cli.core.check import CheckItem, CheckReport
from mlprod_cli.core.config import MetricRef
from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.evaluate import GateResult
from mlprod_cli.core.history import History, Point
from mlprod_cli.core.metrics import classification_report, to_dict
from mlprod_cli.core.models import Activation, Listing
from mlprod_cli.core.package import ContextFile, PackageResult
from mlprod_cli.core.predict import PredictResult
from mlprod_cli.core.registry import Version
from mlprod_cli.core.scaffold import NewResult
from mlprod_cli.core.skew import CurrentAccumulator, ReferenceSummary, SkewRun, compare
from mlprod_cli.core.train import TrainResult, TuneResult

T0 = datetime(2024, 7, 1, 12, tzinfo=timezone.utc)
OBJECTIVE = MetricRef("recall", "melanoma")
ODD = 'a<b & "c"|d [b]'  # needs escaping in HTML, XML, Markdown and Rich


# --------------------------------------------------------------------------- skew


def skew_run(*, predictions: bool = True) -> SkewRun:
    """A run with a shifted numeric feature, a new category, a date, an extra column, and
    (with ``predictions``) served classes that differ from the offline ones."""
    rng = np.random.default_rng(3)
    n = 400
    train = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "diameter_mm": rng.normal(5, 1, n),
            ODD: rng.choice(["x", "y", "z"], n),
            "site": rng.choice(["arm", "leg", "back"], n),
            "visit": pd.date_range("2024-01-01", periods=n, freq="D"),
            "weight": rng.normal(70, 5, n),
        }
    )
    train.loc[:9, "age"] = np.nan
    schema = infer_schema(train)
    labels = np.where(train["diameter_mm"] > 5, "melanoma", "nevus")
    summary = ReferenceSummary.build(train, schema, predictions=labels if predictions else None)
    serving = pd.DataFrame(
        {
            "age": rng.normal(50, 10, n),
            "diameter_mm": rng.normal(5, 1, n) / 10,  # a unit change
            ODD: rng.choice(["x", "y", "z", "new"], n),
            "site": rng.choice(["arm", "leg", "back"], n),
            "visit": pd.date_range("2025-01-01", periods=n, freq="D"),
            "weight": np.full(n, np.nan),  # never sent: undefined statistics
            "extra": rng.random(n),
        }
    )
    serving.loc[:59, "age"] = np.nan
    acc = CurrentAccumulator(summary)
    if predictions:
        served = np.where(serving["diameter_mm"] > 0.5, "melanoma", "nevus")
        offline = served.copy()
        offline[:12] = np.where(offline[:12] == "melanoma", "nevus", "melanoma")
        score = (serving["diameter_mm"] > 0.5).to_numpy(float)
        acc.add(
            serving,
            predictions=served,
            offline_predictions=offline,
            scores=score,
            offline_scores=score + 0.02,
        )
    else:
        acc.add(serving)
    report = compare(summary, acc, {"psi": {"warn": 0.1, "fail": 0.25}})
    checked = {"checked": True, "rows": n, "score_rows": n, "reason": None, "drift_from": "served"}
    unchecked = {
        "checked": False,
        "rows": 0,
        "score_rows": 0,
        "reason": "the serving data carries no served predictions",
        "drift_from": None,
    }
    return SkewRun(
        report=report,
        version="v0002" if predictions else None,
        reference={
            "kind": "training split" if predictions else "file",
            "source": "data/lesions.csv",
            "sha256": "ab" * 32,
            "rows": n,
            "cached": predictions,
        },
        current={
            "kind": "request log" if predictions else "files",
            "source": "logs/requests/" if predictions else "serving.csv",
            "files": ["logs/requests/requests-2024-07-01.jsonl"] if predictions else [],
            "rows_read": n,
            "rows": n,
            "other_versions": {},
        },
        prediction_skew=checked if predictions else unchecked,
        notes=["left out 3 rows of v0001: this report is about v0002"] if predictions else [],
        project="skin-lesions" if predictions else None,
        seconds=1.25,
    )


# --------------------------------------------------------------------------- registry


def validation_report() -> dict:
    y = ["melanoma", "melanoma", "nevus", "nevus", "nevus", ODD]
    p = ["melanoma", "nevus", "nevus", "nevus", "melanoma", ODD]
    return {"report": to_dict(classification_report(y, p)), "folds": 5}


def version(number: int, kind: str = "model", **extra) -> Version:
    metadata = {
        "kind": kind,
        "created_at": (T0 + timedelta(hours=number)).isoformat(),
        "estimator": "sklearn.pipeline.Pipeline" if kind == "model" else "mlprod.DummyRules",
        "fit_seconds": 0.5 * number,
        "classes": ["melanoma", "nevus", ODD],
        "data": [{"path": "data/lesions.csv", "rows": 600, "sha256": "cd" * 32}],
        "split": {"by": "random", "test_size": 0.2},
        "git": {"commit": f"{number:04d}" + "e" * 36, "dirty": number % 2 == 0},
        "lock_sha256": "ef" * 32,
        "artifact_sha256": "01" * 32,
        "libraries": {"python": "3.12.0", "scikit-learn": "1.5.0"},
        "schema": {"features": [{"name": "age", "kind": "numeric"}, {"name": ODD, "kind": "categorical"}]},
        **({"validation": validation_report()} if kind == "model" else {}),
        **extra,
    }  # fmt: skip
    return Version(f"v{number:04d}", Path(f"/registry/v{number:04d}"), metadata)


def train_result(*, activated: bool = False) -> TrainResult:
    versions = [version(1, "baseline"), version(2)]
    return TrainResult(
        versions=versions,
        activated=["v0001", "v0002"] if activated else [],
        split={"by": "random", "train_rows": 480, "test_rows": 120},
        data=[{"path": "data/lesions.csv", "rows": 600, "sha256": "cd" * 32}],
        warnings=["a warning"],
    )


def tune_result() -> TuneResult:
    tune = {"search": "grid", "candidates": [{}, {}], "best_params": {"C": 1.0}}
    return TuneResult(
        version=version(3, tune=tune),
        objective="recall@melanoma",
        search="grid",
        candidates=[
            {"rank": 1, "params": {"C": 1.0, "penalty": "l2"}, "mean": 0.8123, "std": 0.0412},
            {"rank": 2, "params": {"C": 0.1, "penalty": "l2"}, "mean": 0.75, "std": None},
        ],
        best_params={"C": 1.0, "penalty": "l2"},
    )


def listing() -> Listing:
    return Listing(
        [version(1, "baseline"), version(2), version(3)],
        {"model": "v0002", "baseline": "v0001"},
        {"v0009": "v0009: metadata.json is not valid JSON"},
        {"v0001": 812, "v0002": 1_540_000, "v0003": None},
    )


def activation(*, gates: bool = True) -> Activation:
    results = [
        GateResult("recall@melanoma >= 0.5", "threshold", True, 0.75, "0.7500 >= 0.5"),
        GateResult(f"precision@{ODD} >= 0.9", "threshold", False, None, "undefined"),
    ]
    return Activation(
        "v0002",
        "model" if gates else "baseline",
        "v0001" if gates else None,
        results if gates else [],
        forced=gates,
        warnings=["forced"] if gates else [],
    )


def changes() -> list[tuple[str, object, object]]:
    return [
        ("estimator", "sklearn.pipeline.Pipeline", "mlprod.DummyRules"),
        ("fit_seconds", 1.0, None),
        ("params", "x" * 80, {"C": 1.0}),
    ]


# --------------------------------------------------------------------------- the rest


def history(*, points: bool = True) -> History:
    values = (0.6, 0.72, None, 0.8)
    series = []
    previous = None
    for n, value in enumerate(values if points else ()):
        change = None if value is None or previous is None else value - previous
        when = T0 + timedelta(hours=n)
        series.append(Point(f"run-{n}", when, f"v{n + 1}", value, change, "model", "data/test.csv"))
        previous = value
    return History(
        "skin-lesions", "recall", "melanoma", "sex=female", "sqlite:///.mlprod/metrics.db",
        tuple(series), note=None if points else "no runs stored yet",
    )  # fmt: skip


def package_result(*, built: bool = False) -> PackageResult:
    files = [
        ContextFile("Dockerfile", 1_234, "aa" * 32),
        ContextFile("wheels/skin_lesions-0.1.0-py3-none-any.whl", 45_678, "bb" * 32),
        ContextFile("wheels/mlprod-0.1.0-py3-none-any.whl", 2_345_678, "cc" * 32),
        ContextFile("model/model.skops", 12_345, "dd" * 32),
    ]
    return PackageResult(
        context=Path("/project/dist/docker"),
        project="skin-lesions",
        model_version="v0002",
        tag="skin-lesions:v0002",
        offline=built,
        git_commit="1234567890ab" if built else None,
        files=files,
        manifests=[Path("/project/deploy/k8s/deployment.yaml")] if built else [],
        image_id="sha256:0123456789abcdef0123456789" if built else None,
        image_size=456_789_012 if built else None,
        left_out=["pytest", "ruff"] if built else None,
    )


def check_report(*, ok: bool = False) -> CheckReport:
    items = [
        CheckItem("config", True, "mlprod.yaml is valid (project skin-lesions)"),
        CheckItem("lock", True, "requirements.lock: 42 packages pinned with hashes"),
    ]
    if not ok:
        problems = ("numpy: 1.26.0 in .venv, 2.0.0 in the lock", "pandas: missing in .venv")
        items.append(CheckItem("venv", False, problems[0], problems))
        extra = (
            "matplotlib 3.9.0 is not in requirements.lock",
            "seaborn 0.13.2 is not in requirements.lock",
        )
        detail = (
            ".venv has 2 packages requirements.lock does not pin: matplotlib 3.9.0, seaborn 0.13.2"
        )
        items.append(CheckItem("unlocked", True, detail, extra, warning=True))
    return CheckReport(Path("/project"), items)


def new_result(root: Path, *, dry_run: bool = False, installed: bool = True) -> NewResult:
    project = root / "skin-lesions"
    return NewResult(
        project_dir=project,
        template="classification",
        files=["mlprod.yaml", "pyproject.toml", "src/skin_lesions/model.py"],
        venv=None if dry_run else project / ".venv",
        installer=("uv" if installed else None) if not dry_run else None,
        python_version=None if dry_run else "3.12.0",
        git_commit=None if dry_run else "0123456789abcdef0123",
        warnings=[],
        timings={"render": 0.12345, "venv": 1.5},
        dry_run=dry_run,
    )


def predict_result() -> PredictResult:
    return PredictResult(
        input="data/lesions.csv",
        output="out/predictions.parquet",
        version="v0002",
        rows=12_345,
        classes={"melanoma": 1_234, "nevus": 11_111},
        warnings=["3 rows had no age"],
        seconds=1.23456,
    )
