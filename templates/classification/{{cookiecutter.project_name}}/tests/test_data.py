from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import data
from {{ cookiecutter.package_name }} import schema as schema_module


def test_load_gives_the_schema_dtypes(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    for column in schema.numeric:
        assert sample_data[column].dtype == np.float64, column
    for column in schema.text_columns:
        assert sample_data[column].dtype == object, column
        assert sample_data[column].dropna().map(type).eq(str).all(), column
    for column in schema.date_columns:
        assert pd.api.types.is_datetime64_any_dtype(sample_data[column]), column


def test_the_target_is_complete_with_two_values_or_more(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    assert sample_data[schema.target].notna().all()
    assert sample_data[schema.target].nunique() >= 2
    if schema.task == "regression":
        assert pd.api.types.is_float_dtype(sample_data[schema.target])


def test_load_parquet_matches_csv(
    sample_data: pd.DataFrame, schema: schema_module.Schema, tmp_path: Path
) -> None:
    path = tmp_path / "data.parquet"
    sample_data.to_parquet(path)
    pd.testing.assert_frame_equal(data.load(path, schema), sample_data)


def test_load_rejects_unknown_extension(tmp_path: Path, schema: schema_module.Schema) -> None:
    path = tmp_path / "data.xlsx"
    path.write_text("")
    with pytest.raises(ValueError, match="expected .csv or .parquet"):
        data.load(path, schema)


def test_a_number_column_holding_text_is_named(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    for column in schema.numeric:
        broken = sample_data.astype({column: object})
        broken.loc[broken.index[0], column] = "forty"
        with pytest.raises(ValueError, match=re.escape(f"column '{column}' must be numeric")):
            data.coerce_dtypes(broken, schema)


def test_the_split_of_mlprod_yaml_leaves_rows_on_both_sides(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    train, test = data.split(sample_data, **schema.split, target=schema.stratify_by)
    assert len(train) + len(test) == len(sample_data)
    assert len(train) > 0 and len(test) > 0
    if schema.split.get("by") == "time":
        column, cutoff = schema.split["column"], pd.Timestamp(schema.split["cutoff"])
        assert (train[column] < cutoff).all() and (test[column] >= cutoff).all()
    if schema.task == "classification":  # every class the model must know is in its training rows
        assert set(test[schema.target]) <= set(train[schema.target])
    else:  # a number: the test side's range is the training side's, roughly
        assert test[schema.target].median() > train[schema.target].quantile(0.1)


def test_random_split_is_reproducible(sample_data: pd.DataFrame, schema) -> None:
    one, _ = data.split(sample_data, by="random", test_size=0.25, seed=7, target=schema.stratify_by)
    two, _ = data.split(sample_data, by="random", test_size=0.25, seed=7, target=schema.stratify_by)
    pd.testing.assert_frame_equal(one, two)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"by": "season"}, "'time' or 'random'"),
        ({"by": "random", "test_size": 1.5}, "between"),
        ({"by": "time"}, "column= and cutoff="),
    ],
)
def test_split_rejects_bad_arguments(
    sample_data: pd.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        data.split(sample_data, **kwargs)


def test_features_and_target_drops_the_target_and_excluded_columns(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    X, y = data.features_and_target(sample_data, schema.target, schema.exclude)
    assert schema.target not in X
    assert not set(schema.exclude) & set(X.columns)
    assert len(X) == len(y) == len(sample_data)


def test_features_and_target_needs_complete_labels(
    sample_data: pd.DataFrame, schema: schema_module.Schema
) -> None:
    with pytest.raises(ValueError, match="not in the data"):
        data.features_and_target(sample_data, "no such column")
    sample_data.loc[sample_data.index[0], schema.target] = np.nan
    with pytest.raises(ValueError, match="1 missing labels"):
        data.features_and_target(sample_data, schema.target)
