from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import features
from {{ cookiecutter.package_name }} import schema as schema_module


def test_transform_is_complete_and_named(xy, schema: schema_module.Schema) -> None:
    X, _ = xy
    transformer = features.build(schema)
    out = transformer.fit_transform(X)
    names = transformer.get_feature_names_out().tolist()
    assert out.shape == (len(X), len(names))
    assert not np.isnan(out).any(), "missing values must be imputed"
    for column in schema.numeric:
        assert f"numeric__scale__{column}" in names
    # remainder="drop": excluded columns do not become features.
    assert not [n for n in names for c in schema.exclude if n.split("__", 1)[1].startswith(c)]


def test_numeric_features_are_standardised(xy, schema: schema_module.Schema) -> None:
    X, _ = xy
    out = features.build(schema).fit_transform(X)[:, : len(schema.numeric)]
    constant = out.std(axis=0) == 0
    assert np.allclose(out.mean(axis=0), 0.0, atol=1e-6)
    assert np.allclose(out.std(axis=0)[~constant], 1.0, atol=0.05)


def test_unseen_categories_and_missing_values_do_not_fail(xy, schema) -> None:
    X, _ = xy
    transformer = features.build(schema).fit(X)
    odd = X.head(2).copy()
    for column in schema.categorical:
        odd[column] = ["a value never seen in training", np.nan]
    for column in schema.numeric:
        odd[column] = [np.nan, odd[column].iloc[1]]
    out = transformer.transform(odd)
    assert out.shape[0] == 2 and not np.isnan(out).any()


def test_every_feature_column_is_required(xy, schema) -> None:
    X, _ = xy
    transformer = features.build(schema).fit(X)
    for column in schema.features:
        with pytest.raises((KeyError, ValueError)):
            transformer.transform(X.drop(columns=column))


def test_categories_beyond_the_limit_share_one_column() -> None:
    schema = schema_module.Schema(root=None, train=None, target="y", numeric=(), categorical=("c",))
    X = pd.DataFrame({"c": [f"v{i % 40}" for i in range(400)]})
    out = features.build(schema).fit_transform(X)
    assert out.shape[1] == features.MAX_CATEGORIES
