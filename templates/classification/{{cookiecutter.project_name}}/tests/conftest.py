"""Shared fixtures: the sample data shipped with the project."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import data

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def sample_data_path() -> Path:
    """Path of the sample CSV (the ``data.train`` of ``mlprod.yaml``)."""
    path = PROJECT_ROOT / "data" / "lesions.csv"
    assert path.is_file(), f"sample data missing: {path}"
    return path


@pytest.fixture(scope="session")
def _sample_frame(sample_data_path: Path) -> pd.DataFrame:
    return data.load(sample_data_path)


@pytest.fixture
def sample_data(_sample_frame: pd.DataFrame) -> pd.DataFrame:
    """The loaded sample data; a fresh copy per test, so tests may modify it."""
    return _sample_frame.copy()
