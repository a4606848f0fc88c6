from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from {{ cookiecutter.package_name }} import data

CUTOFF = "2024-07-01"
EXCLUDE = ["lesion_id", "visit_date"]


def test_load_gives_stable_dtypes(sample_data: pd.DataFrame) -> None:
    df = sample_data
    assert len(df) == 3000
    assert pd.api.types.is_datetime64_any_dtype(df["visit_date"])
    for column in data.NUMERIC_COLUMNS:
        assert df[column].dtype == np.float64, column
    for column in [*data.CATEGORICAL_COLUMNS, "lesion_id", "diagnosis"]:
        assert df[column].dtype == object, column
        assert df[column].dropna().map(type).eq(str).all(), column


def test_sample_data_has_the_documented_shape(sample_data: pd.DataFrame) -> None:
    df = sample_data
    assert df["lesion_id"].is_unique
    assert set(df["diagnosis"]) == {"nevus", "seborrheic_keratosis", "melanoma"}
    assert set(df["sex"]) == {"female", "male"}
    assert df["age"].between(18, 90).all()
    # A few diameters are missing on purpose: the features must impute them.
    assert 0 < df["diameter_mm"].isna().mean() < 0.03
    assert df.drop(columns="diameter_mm").notna().all().all()
    share = df["diagnosis"].value_counts(normalize=True)
    assert 0.08 < share["melanoma"] < 0.16


def test_load_parquet_matches_csv(sample_data: pd.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "lesions.parquet"
    sample_data.to_parquet(path)
    pd.testing.assert_frame_equal(data.load(path), sample_data)


def test_load_rejects_unknown_extension(tmp_path: Path) -> None:
    path = tmp_path / "lesions.xlsx"
    path.write_text("")
    with pytest.raises(ValueError, match="expected .csv or .parquet"):
        data.load(path)


def test_load_reads_ids_as_text_and_blanks_as_missing(tmp_path: Path) -> None:
    path = tmp_path / "one.csv"
    path.write_text("lesion_id,sex,age,visit_date\n00042,,,2024-01-02\n")
    df = data.load(path)
    assert df.loc[0, "lesion_id"] == "00042"
    assert pd.isna(df.loc[0, "sex"])
    assert np.isnan(df.loc[0, "age"])
    assert df.loc[0, "visit_date"] == pd.Timestamp("2024-01-02")


def test_time_split_trains_on_the_past(sample_data: pd.DataFrame) -> None:
    train, test = data.split(sample_data, by="time", column="visit_date", cutoff=CUTOFF)
    assert len(train) + len(test) == len(sample_data)
    assert (train["visit_date"] < pd.Timestamp(CUTOFF)).all()
    assert (test["visit_date"] >= pd.Timestamp(CUTOFF)).all()
    assert 0.18 <= len(test) / len(sample_data) <= 0.25
    assert list(test.index) == list(range(len(test)))


def test_time_split_needs_column_and_cutoff(sample_data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="column= and cutoff="):
        data.split(sample_data, by="time", column="visit_date")
    with pytest.raises(ValueError, match="not in the data"):
        data.split(sample_data, by="time", column="seen_on", cutoff=CUTOFF)


def test_time_split_refuses_missing_dates(sample_data: pd.DataFrame) -> None:
    sample_data.loc[3, "visit_date"] = pd.NaT
    with pytest.raises(ValueError, match="1 missing dates"):
        data.split(sample_data, by="time", column="visit_date", cutoff=CUTOFF)


def test_time_split_refuses_an_empty_side(sample_data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="test set is empty"):
        data.split(sample_data, by="time", column="visit_date", cutoff="2030-01-01")


def test_random_split_is_stratified_and_reproducible(sample_data: pd.DataFrame) -> None:
    train, test = data.split(sample_data, by="random", test_size=0.2, seed=7)
    assert len(test) == 600
    overall = sample_data["diagnosis"].value_counts(normalize=True)
    in_test = test["diagnosis"].value_counts(normalize=True)
    assert np.allclose(in_test[overall.index], overall, atol=0.005)
    again, _ = data.split(sample_data, by="random", test_size=0.2, seed=7)
    assert train["lesion_id"].tolist() == again["lesion_id"].tolist()


def test_random_split_without_target_still_splits(sample_data: pd.DataFrame) -> None:
    unlabelled = sample_data.drop(columns="diagnosis")
    train, test = data.split(unlabelled, by="random", test_size=0.25, seed=1)
    assert (len(train), len(test)) == (2250, 750)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"by": "season"}, "'time' or 'random'"), ({"by": "random", "test_size": 1.5}, "between")],
)
def test_split_rejects_bad_arguments(
    sample_data: pd.DataFrame, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        data.split(sample_data, **kwargs)


def test_features_and_target_drops_excluded_columns(sample_data: pd.DataFrame) -> None:
    X, y = data.features_and_target(sample_data, "diagnosis", EXCLUDE)
    assert "diagnosis" not in X
    assert not set(EXCLUDE) & set(X.columns)
    assert len(X) == len(y) == len(sample_data)
    assert y.tolist() == sample_data["diagnosis"].tolist()


def test_features_and_target_ignores_absent_excluded_columns(sample_data: pd.DataFrame) -> None:
    X, _ = data.features_and_target(sample_data.drop(columns="lesion_id"), "diagnosis", EXCLUDE)
    assert "visit_date" not in X


def test_features_and_target_needs_complete_labels(sample_data: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="not in the data"):
        data.features_and_target(sample_data, "outcome")
    sample_data.loc[0, "diagnosis"] = np.nan
    with pytest.raises(ValueError, match="1 missing labels"):
        data.features_and_target(sample_data, "diagnosis")
