"""The template's regression baseline and first model, imported from the template's own files."""

from __future__ import annotations

import importlib
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

PACKAGE = (
    Path(__file__).resolve().parents[1]
    / "templates/classification/{{cookiecutter.project_name}}/src/{{cookiecutter.package_name}}"
)
NUMERIC = ("age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6")


@pytest.fixture
def package(tmp_path, monkeypatch):
    target = tmp_path / "regpkg"
    target.mkdir()
    for name in (
        "__init__.py",
        "schema.py",
        "features.py",
        "regression_baseline.py",
        "regression_model.py",
    ):
        shutil.copy(PACKAGE / name, target / name)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield importlib.import_module("regpkg")
    for name in [m for m in sys.modules if m == "regpkg" or m.startswith("regpkg.")]:
        del sys.modules[name]


@pytest.fixture
def diabetes():
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "a", 2.0: "b"})
    return frame.drop(columns="target"), frame["target"]


def test_the_baseline_groups_by_the_best_column_and_says_so(package, diabetes):
    from regpkg.regression_baseline import GroupMedianBaseline

    X, y = diabetes
    baseline = GroupMedianBaseline(numeric=NUMERIC, categorical=("sex",)).fit(X, y)
    constant = np.abs(y - np.median(y)).mean()
    assert np.abs(y - baseline.predict(X)).mean() < 0.85 * constant
    words = baseline.describe()
    assert words.startswith(f"median by {baseline.column_}: ") and "otherwise 140" in words
    missing = X.head(3).assign(**{baseline.column_: np.nan})
    assert (baseline.predict(missing) == np.median(y)).all()  # a missing value: the overall median


def test_without_an_informative_column_it_is_the_median(package, diabetes):
    from regpkg.regression_baseline import GroupMedianBaseline

    X, y = diabetes
    baseline = GroupMedianBaseline(numeric=(), categorical=("sex",)).fit(X, y)
    assert baseline.column_ is None and baseline.describe() == "always 140 (the overall median)"
    assert (baseline.predict(X) == np.median(y)).all()


def test_the_model_gives_an_honest_80_percent_interval(package, diabetes):
    from regpkg import features, regression_model, schema
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import Pipeline

    from mlprod_cli.core.evaluate._scoring import predict_with_scores, report_for

    X, y = diabetes
    spec = schema.Schema(
        root=Path("."), train=Path("x"), target="target", numeric=NUMERIC, categorical=("sex",)
    )
    model = Pipeline(
        [("features", features.build(spec)), ("regressor", regression_model.ResidualQuantiles())]
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=7, test_size=0.25)
    model.fit(X_train, y_train)
    report = report_for(y_test.to_numpy(), predict_with_scores(model, X_test))
    assert 0.7 <= report.value("coverage_80").value <= 0.9
    assert report.value("r2").value > 0.4
    assert report.value("pinball_10").value is not None
    bounds = model.named_steps["regressor"].predict_quantiles(model[:-1].transform(X_test))
    assert bounds.shape == (len(X_test), 2) and (bounds[:, 0] < bounds[:, 1]).all()
