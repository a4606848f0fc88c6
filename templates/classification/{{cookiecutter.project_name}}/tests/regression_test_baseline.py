from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from {{ cookiecutter.package_name }} import baseline


@pytest.fixture
def toy() -> tuple[pd.DataFrame, np.ndarray]:
    """The target is set by the district (north 300, centre 500, south 200) plus noise."""
    rng = np.random.default_rng(0)
    district = rng.choice(["north", "centre", "south"], 900, p=[0.3, 0.3, 0.4])
    rooms = rng.integers(1, 6, 900).astype(float)
    level = pd.Series(district).map({"north": 300.0, "centre": 500.0, "south": 200.0})
    y = level.to_numpy() + rng.normal(0, 10, 900)
    return pd.DataFrame({"rooms": rooms, "district": district}), y


def fit(X, y, **params) -> baseline.GroupMedianBaseline:
    return baseline.GroupMedianBaseline(
        numeric=("rooms",), categorical=("district",), **params
    ).fit(X, y)


def test_it_groups_by_the_column_that_sets_the_target(toy) -> None:
    X, y = toy
    model = fit(X, y)
    assert model.column_ == "district"
    medians = dict(model.groups_)
    assert medians["centre"] == pytest.approx(500, abs=5)
    assert medians["south"] == pytest.approx(200, abs=5)
    assert np.mean(np.abs(model.predict(X) - y)) < 15


def test_describe_says_the_medians_in_words(toy) -> None:
    model = fit(*toy)
    text = model.describe()
    assert text.startswith("median by district: ")
    assert text.endswith("(the overall median)")


def test_an_unseen_or_missing_value_gets_the_overall_median(toy) -> None:
    X, y = toy
    model = fit(X, y)
    odd = pd.DataFrame({"rooms": [2.0, np.nan], "district": ["east", None]})
    np.testing.assert_array_equal(model.predict(odd), [model.fallback_] * 2)


def test_a_column_that_says_nothing_leaves_the_median(toy) -> None:
    X, y = toy
    model = baseline.GroupMedianBaseline(numeric=("rooms",), categorical=()).fit(X, y)
    assert model.column_ is None
    assert model.describe().startswith("always ")


def test_it_clones_and_refits_the_same(toy) -> None:
    X, y = toy
    model = fit(X, y)
    np.testing.assert_array_equal(clone(model).fit(X, y).predict(X), model.predict(X))
