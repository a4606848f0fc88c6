"""Offline predictions: batches, schema checks, atomic output."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.config import load_config
from mlprod_cli.core.predict import predict_file
from mlprod_cli.core.workspace import Workspace
from mlprod_cli.errors import DataError, UsageError


@pytest.fixture
def active(trained):
    config = load_config(trained)
    registry = Workspace(config).registry
    registry.activate(registry.get("v0002"))
    return trained


def test_predicts_in_batches_like_one_pass(active, tmp_path):
    config = load_config(active)
    source = active / "data" / "lesions.csv"
    one = predict_file(Workspace(config), source, tmp_path / "one.csv")
    many = predict_file(Workspace(config), source, tmp_path / "many.parquet", batch_rows=97)
    assert one.rows == many.rows == 3000 and one.version == "v0002"
    a, b = pd.read_csv(tmp_path / "one.csv"), pd.read_parquet(tmp_path / "many.parquet")
    assert list(a.columns) == ["lesion_id", "visit_date", "prediction", "score_melanoma", "score_nevus",
                               "score_seborrheic_keratosis", "model_version"]  # fmt: skip
    assert (a["prediction"] == b["prediction"]).all()
    assert np.allclose(a.filter(like="score_"), b.filter(like="score_"))
    assert np.allclose(a.filter(like="score_").sum(axis=1), 1.0)
    assert set(a["model_version"]) == {"v0002"}
    assert sum(one.classes.values()) == 3000
    # the same as the model's own predict on the whole frame
    registry = Workspace(config).registry
    model = registry.load(registry.get("v0002"))
    frame = pd.read_csv(source)
    expected = model.predict(frame.drop(columns=["diagnosis", "lesion_id", "visit_date"]))
    assert (a["prediction"].to_numpy() == expected).all()


def test_missing_feature_names_the_column_and_keeps_the_old_output(active, tmp_path):
    config = load_config(active)
    tmp_path = tmp_path / "io"
    tmp_path.mkdir()
    frame = pd.read_csv(active / "data" / "lesions.csv").drop(columns=["sex", "age"])
    frame.to_csv(tmp_path / "in.csv", index=False)
    (tmp_path / "out.csv").write_text("old predictions\n")
    with pytest.raises(DataError, match="missing feature columns the model needs: age, sex"):
        predict_file(Workspace(config), tmp_path / "in.csv", tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == "old predictions\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.csv", "out.csv"]  # no temporary left


def test_text_in_a_number_column(active, tmp_path):
    frame = pd.read_csv(active / "data" / "lesions.csv")
    frame["diameter_mm"] = frame["diameter_mm"].astype(object)
    frame.loc[2000, "diameter_mm"] = "7mm"
    frame.to_csv(tmp_path / "in.csv", index=False)
    with pytest.raises(DataError, match=r"column 'diameter_mm' must be numeric: a row holds '7mm'"):
        predict_file(Workspace.load(active), tmp_path / "in.csv", tmp_path / "out.csv")
    frame["diameter_mm"] = frame["diameter_mm"].astype(str)
    frame.to_parquet(tmp_path / "in.parquet")
    with pytest.raises(
        DataError, match=r"column 'diameter_mm' must be numeric, row 2001 holds '7mm'"
    ):
        predict_file(Workspace.load(active), tmp_path / "in.parquet", tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_unseen_categories_and_ranges_are_counted(active, tmp_path):
    frame = pd.read_csv(active / "data" / "lesions.csv").head(100)
    frame.loc[:9, "anatomic_site"] = "scalp"
    frame.loc[:4, "age"] = 130
    frame.to_csv(tmp_path / "in.csv", index=False)
    result = predict_file(Workspace.load(active), tmp_path / "in.csv", tmp_path / "out.csv")
    assert "10 rows with a category of 'anatomic_site' never seen in training" in result.warnings
    assert "5 rows with 'age' outside the training range" in result.warnings
    assert result.rows == 100


def _file(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("make", "message", "error"),
    [
        (lambda p: p / "missing.csv", "no such input file", DataError),
        (lambda p: _file(p / "e.csv", ""), "the file is empty", DataError),
        (lambda p: _file(p / "h.csv", "a,b\n"), "no rows", DataError),
        (lambda p: _file(p / "h2.csv", "a,b\n1,2\n"), "missing feature columns", DataError),
        (lambda p: _file(p / "x.json", "{}"), "input must be .csv or .parquet", UsageError),
    ],
)
def test_bad_inputs(active, tmp_path, make, message, error):
    with pytest.raises(error, match=message):
        predict_file(Workspace.load(active), make(tmp_path), tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_bad_outputs(active, tmp_path):
    config = load_config(active)
    source = active / "data" / "lesions.csv"
    with pytest.raises(UsageError, match=r"must end in \.csv or \.parquet"):
        predict_file(Workspace(config), source, tmp_path / "out.txt")
    with pytest.raises(UsageError, match="is the input file"):
        predict_file(Workspace(config), source, source)
    with pytest.raises(UsageError, match="does not exist"):
        predict_file(Workspace(config), source, tmp_path / "no" / "out.csv")


def test_no_active_model(trained, tmp_path):
    from mlprod_cli.core.registry import RegistryError

    with pytest.raises(RegistryError, match="no active model"):
        predict_file(Workspace.load(trained), trained / "data" / "lesions.csv", tmp_path / "o.csv")
    result = predict_file(
        Workspace.load(trained),
        trained / "data" / "lesions.csv",
        tmp_path / "o.csv",
        version_id="v0001",
    )
    assert result.version == "v0001"  # the baseline can score too
