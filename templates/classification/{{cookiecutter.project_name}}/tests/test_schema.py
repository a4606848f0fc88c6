from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import schema as schema_module


def test_every_declared_column_is_in_the_data(
    schema: schema_module.Schema, sample_data: pd.DataFrame
) -> None:
    declared = [*schema.features, schema.target, *schema.exclude]
    assert set(declared) <= set(sample_data.columns)


def test_the_model_never_sees_the_target_or_an_excluded_column(
    schema: schema_module.Schema,
) -> None:
    assert len(schema.features) == len(set(schema.features)), "a column listed twice"
    assert schema.target not in schema.features
    assert not set(schema.exclude) & set(schema.features)


def test_the_split_column_is_excluded(schema: schema_module.Schema) -> None:
    for column in schema.date_columns:
        assert column in schema.exclude, f"{column} orders the split; as a feature it would leak"


def test_find_config_walks_up_from_a_subfolder(tmp_path: Path, schema) -> None:
    found = schema_module.find_config(schema.root / "tests")
    assert found == schema.root / "mlprod.yaml"


def test_a_config_without_features_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mlprod.yaml"
    path.write_text("data: {train: d.csv, target: y}\nfeatures: {numeric: []}\n")
    with pytest.raises(ValueError, match="lists no numeric or categorical column"):
        schema_module.load(path)
