"""Shared fixtures: the project's schema (from mlprod.yaml) and its data."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import baseline, data, model
from {{ cookiecutter.package_name }} import schema as schema_module

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def schema() -> schema_module.Schema:
    """The columns by kind, the target and the split, as mlprod.yaml declares them."""
    return schema_module.load(PROJECT_ROOT / "mlprod.yaml")


@pytest.fixture(scope="session")
def sample_data_path(schema: schema_module.Schema) -> Path:
    """Path of the training data (the ``data.train`` of ``mlprod.yaml``)."""
    assert schema.train.is_file(), f"the data file is missing: {schema.train}"
    return schema.train


@pytest.fixture(scope="session")
def _sample_frame(sample_data_path: Path, schema: schema_module.Schema) -> pd.DataFrame:
    return data.load(sample_data_path, schema)


@pytest.fixture
def sample_data(_sample_frame: pd.DataFrame) -> pd.DataFrame:
    """The loaded data; a fresh copy per test, so tests may modify it."""
    return _sample_frame.copy()


@pytest.fixture
def xy(sample_data: pd.DataFrame, schema: schema_module.Schema) -> tuple[pd.DataFrame, pd.Series]:
    """Features and labels of the whole file."""
    return data.features_and_target(sample_data, schema.target, schema.exclude)


@pytest.fixture(scope="module")
def split(_sample_frame, schema):
    """Features and target of the training and the test side of mlprod.yaml's split."""
    train, test = data.split(_sample_frame, **schema.split, target=schema.stratify_by)
    X_train, y_train = data.features_and_target(train, schema.target, schema.exclude)
    X_test, y_test = data.features_and_target(test, schema.target, schema.exclude)
    return X_train, y_train, X_test, y_test


@pytest.fixture(scope="module", params=["baseline", "model"])
def fitted(request, split):
    """The baseline, then the model, fitted on the training side; and the test side."""
    X_train, y_train, X_test, y_test = split
    build = baseline.build if request.param == "baseline" else model.build
    estimator = build().fit(X_train, y_train)
    return estimator, X_test, y_test
