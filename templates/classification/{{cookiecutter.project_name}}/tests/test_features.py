from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import data, features

FEATURE_COLUMNS = [*features.NUMERIC, *features.CATEGORICAL, *features.GROUPED]


def test_feature_lists_use_real_columns_and_never_leak(sample_data: pd.DataFrame) -> None:
    assert set(FEATURE_COLUMNS) <= set(sample_data.columns)
    assert len(FEATURE_COLUMNS) == len(set(FEATURE_COLUMNS))
    # The label, the id and the date must never reach the model.
    assert not {data.TARGET, "lesion_id", "visit_date"} & set(FEATURE_COLUMNS)


def test_age_band_edges() -> None:
    ages = np.array([[18.0], [29.9], [30.0], [44.0], [45.0], [60.0], [75.0], [90.0], [np.nan]])
    assert features.age_band(ages).ravel().tolist() == [
        "<30",
        "<30",
        "30-44",
        "30-44",
        "45-59",
        "60-74",
        "75+",
        "75+",
        "unknown",
    ]


def test_transform_is_complete_and_named(sample_data: pd.DataFrame) -> None:
    X, _ = data.features_and_target(sample_data, data.TARGET)
    transformer = features.build()
    out = transformer.fit_transform(X)
    names = transformer.get_feature_names_out().tolist()

    assert out.shape == (len(X), len(names))
    assert not np.isnan(out).any(), "missing diameters must be imputed"
    assert "numeric__diameter_mm" in names
    assert "categorical__sex_female" in names
    assert "grouped__age_75+" in names
    # remainder="drop": ids and dates do not become features.
    assert not [n for n in names if "lesion_id" in n or "visit_date" in n]


def test_numeric_features_are_standardised(sample_data: pd.DataFrame) -> None:
    X, _ = data.features_and_target(sample_data, data.TARGET)
    transformer = features.build()
    out = transformer.fit_transform(X)
    numeric = out[:, : len(features.NUMERIC)]
    assert np.allclose(numeric.mean(axis=0), 0.0, atol=1e-9)
    assert np.allclose(numeric.std(axis=0), 1.0, atol=0.02)


def test_unseen_category_and_missing_values_do_not_fail(sample_data: pd.DataFrame) -> None:
    X, _ = data.features_and_target(sample_data, data.TARGET)
    transformer = features.build().fit(X)
    odd = X.head(2).copy()
    odd["anatomic_site"] = ["scalp", np.nan]
    odd["age"] = [np.nan, 40.0]
    out = transformer.transform(odd)
    names = transformer.get_feature_names_out().tolist()
    site = [i for i, n in enumerate(names) if n.startswith("categorical__anatomic_site_")]
    assert out[0, site].sum() == 0, "an unseen site encodes as all zeros"
    assert out[0, names.index("grouped__age_unknown")] == 1


@pytest.mark.parametrize("column", FEATURE_COLUMNS)
def test_every_feature_column_is_required(sample_data: pd.DataFrame, column: str) -> None:
    X, _ = data.features_and_target(sample_data, data.TARGET)
    transformer = features.build().fit(X)
    with pytest.raises((KeyError, ValueError)):
        transformer.transform(X.drop(columns=column))
