"""A small regression project written by hand (scikit-learn's diabetes data), for the command tests.

Importable as ``regression_project`` (pytest puts ``tests/`` on ``sys.path``);
``tests/commands/conftest.py`` makes the fixture of it.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

CONFIG = """\
project: diabetes
task: regression
data:
  train: data/diabetes.csv
  target: progression
  split: {by: random, test_size: 0.25, seed: 7}
features:
  numeric: [age, bmi, bp, s1, s2, s3, s4, s5, s6]
  categorical: [sex]
model: diabetes_model.model:build
baseline: diabetes_model.model:baseline
metrics:
  objective: mae
  gates:
    - {metric: r2, min: 0.2}
    - {metric: mae, max: 60}
  beat_baseline: [mae]
  max_regression: {mae: 5}
  slices: [sex]
  max_slice_gap: {mae: 30}
"""

MODEL = """\
from sklearn.compose import ColumnTransformer
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

NUMERIC = ["age", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def build():
    features = ColumnTransformer(
        [("numeric", StandardScaler(), NUMERIC), ("sex", OneHotEncoder(), ["sex"])]
    )
    return Pipeline([("features", features), ("regressor", Ridge(alpha=1.0))])


def baseline():
    return DummyRegressor(strategy="median")
"""


def write_project(root: Path) -> Path:
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame = frame.rename(columns={"target": "progression"})
    frame["sex"] = frame["sex"].map({1.0: "a", 2.0: "b"})
    (root / "data").mkdir(parents=True)
    frame.to_csv(root / "data" / "diabetes.csv", index=False)
    (root / "diabetes_model").mkdir()
    (root / "diabetes_model" / "__init__.py").write_text("")
    (root / "diabetes_model" / "model.py").write_text(MODEL)
    (root / "mlprod.yaml").write_text(textwrap.dedent(CONFIG))
    return root
