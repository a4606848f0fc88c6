"""core/profile/_plan.py: what a project is made of, decided from a profile, with reasons."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.profile import PlanRequest, plan_project, profile_table
from mlprod_cli.errors import DataError, UsageError


def plan_of(tmp_path, data: pd.DataFrame, target: str, **request):
    path = tmp_path / "data.csv"
    data.to_csv(path, index=False)
    return plan_project(profile_table(path, target=target), PlanRequest(target, **request))


def table(n=400, seed=0, positive=0.12, dated=True, classes=None):
    rng = np.random.default_rng(seed)
    data = {
        "id": [f"R{i:05d}" for i in range(n)],
        "x": rng.normal(size=n),
        "z": rng.integers(0, 5, n),
        "sex": rng.choice(["f", "m"], n),
        "site": rng.choice(list("abcdefghijkl"), n),
    }
    if dated:
        data["day"] = pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d")
    if classes is None:
        data["y"] = np.where(rng.random(n) < positive, "bad", "good")
    else:
        data["y"] = rng.choice(classes, n)
    return pd.DataFrame(data)


def test_an_imbalanced_binary_target_gets_the_recall_of_its_minority(tmp_path):
    plan = plan_of(tmp_path, table(), "y")
    assert plan.task == "classification" and plan.classes == ["bad", "good"]
    assert plan.positive_class == "bad"
    assert plan.objective == "recall@bad"
    assert "accuracy lies on unbalanced data" in plan.reasons["objective"]


def test_a_balanced_binary_target_gets_f1(tmp_path):
    plan = plan_of(tmp_path, table(positive=0.45), "y")
    assert plan.objective == f"f1_score@{plan.positive_class}"
    assert "balanced" in plan.reasons["objective"]


def test_multiclass_gets_macro_f1_unless_a_positive_class_is_chosen(tmp_path):
    data = table(classes=["a", "b", "c"])
    assert plan_of(tmp_path, data, "y").objective == "f1_score"
    chosen = plan_of(tmp_path, data, "y", positive_class="c")
    assert (chosen.objective, chosen.positive_class) == ("recall@c", "c")


def test_numeric_classes_sort_as_numbers(tmp_path):
    data = table(dated=False)
    data["y"] = np.random.default_rng(1).choice([2, 10, 33], len(data))
    assert plan_of(tmp_path, data, "y").classes == ["2", "10", "33"]


def test_split_by_time_at_the_first_of_a_month_about_a_fifth_in_test(tmp_path):
    plan = plan_of(tmp_path, table(), "y")
    assert plan.split == {"by": "time", "column": "day", "cutoff": "2021-12-01"}
    days = pd.date_range("2021-01-01", periods=400, freq="D")
    assert 0.15 < (days >= "2021-12-01").mean() < 0.25  # 66 of 400 days
    assert plan.excluded["day"].startswith("the date the split is made by")


def test_without_a_date_the_split_is_random_and_stratified(tmp_path):
    plan = plan_of(tmp_path, table(dated=False), "y")
    assert plan.split == {"by": "random", "test_size": 0.2, "seed": 42}
    assert "no date column" in plan.reasons["split"]


def test_time_column_none_forces_a_random_split(tmp_path):
    plan = plan_of(tmp_path, table(), "y", time_column="none")
    assert plan.split["by"] == "random"


def test_a_class_missing_before_the_cutoff_means_a_random_split(tmp_path):
    data = table(classes=["a", "b"])
    data.loc[data.index[-40:], "y"] = "late"  # a class only seen at the end
    plan = plan_of(tmp_path, data, "y")
    assert plan.split["by"] == "random"
    assert "leaves no 'late' to train on" in plan.reasons["split"]
    with pytest.raises(DataError, match=r"--time-column day: .*leaves no 'late'"):
        plan_of(tmp_path, data, "y", time_column="day")


def test_columns_are_features_or_excluded_with_a_reason(tmp_path):
    data = table()
    data["empty"] = np.nan
    data["note"] = [f"a long note about record {i} with many words in it" for i in range(len(data))]
    plan = plan_of(tmp_path, data, "y")
    assert plan.numeric == ["x", "z"] and plan.categorical == ["sex", "site"]
    assert set(plan.excluded) == {"id", "day", "empty", "note"}
    assert plan.excluded["id"].startswith("identifier-like")
    assert plan.excluded["note"].startswith("free text")
    assert plan.target not in plan.features


def test_slices_are_suggested_not_chosen_and_checked_when_chosen(tmp_path):
    data = table()
    plan = plan_of(tmp_path, data, "y")
    assert plan.slices == [] and plan.suggested_slices == ["sex"]  # site: 12 values
    assert plan_of(tmp_path, data, "y", slice_by=("sex",)).slices == ["sex"]
    with pytest.raises(DataError, match=r"--slice-by x: .* distinct values"):
        plan_of(tmp_path, data, "y", slice_by=("x",))
    with pytest.raises(DataError, match="--slice-by nope: no such column"):
        plan_of(tmp_path, data, "y", slice_by=("nope",))


@pytest.mark.parametrize(
    ("change", "request_", "error", "message"),
    [
        (None, {"target": "nope"}, DataError, "--target nope: no such column in data.csv"),
        ("one class", {}, DataError, "one class only"),
        ("no labels", {}, DataError, "every value is missing"),
        ("some unlabelled", {}, DataError, "rows have no label"),
        (
            None,
            {"task": "regression"},
            DataError,
            "--target y: holds .* a regression target is numbers",
        ),
        ("a price", {"positive_class": "1"}, UsageError, "a regression target has no classes"),
        ("an infinity", {}, DataError, "--target y: 1 row of data.csv holds an infinity"),
        (
            None,
            {"task": "ranking"},
            UsageError,
            "--task ranking: choose classification or regression",
        ),
        (None, {"positive_class": "ugly"}, UsageError, "--positive-class ugly: not a class"),
        (None, {"time_column": "x"}, DataError, "--time-column x: is not a date column"),
        (None, {"time_column": "nope"}, DataError, "--time-column nope: no such column"),
        ("a lone class", {}, DataError, "class 'lone' has 1 row"),
    ],
)
def test_bad_input_names_the_option(tmp_path, change, request_, error, message):
    data = table()
    if change == "one class":
        data["y"] = "good"
    elif change == "no labels":
        data["y"] = np.nan
    elif change == "some unlabelled":
        data.loc[[1, 2], "y"] = np.nan
    elif change == "a price":
        data["y"] = np.random.default_rng(0).normal(100, 10, len(data)).round(2)
    elif change == "an infinity":
        data["y"] = np.random.default_rng(0).normal(100, 10, len(data)).round(2)
        data.loc[3, "y"] = np.inf
    elif change == "a lone class":
        data.loc[0, "y"] = "lone"
    target = request_.pop("target", "y")
    with pytest.raises(error, match=message):
        plan_of(tmp_path, data, target, **request_)


def test_a_table_of_identifiers_has_no_feature(tmp_path):
    data = pd.DataFrame({"id": [f"k{i}" for i in range(50)], "y": ["a", "b"] * 25})
    with pytest.raises(DataError, match="no column can be a feature"):
        plan_of(tmp_path, data, "y")


def test_a_numeric_target_of_many_values_is_a_regression(tmp_path):
    data = table()
    data["y"] = np.random.default_rng(0).normal(100, 10, len(data)).round(2)
    plan = plan_of(tmp_path, data, "y", slice_by=("sex",))
    assert plan.task == "regression" and plan.objective == "mae"
    assert plan.classes == [] and plan.class_counts == {} and plan.positive_class is None
    assert plan.reasons["task"].startswith(
        "a number to predict: 375 distinct values from 62.28 to "
    )
    assert "--task classification" in plan.reasons["task"]
    assert plan.split["by"] == "time"  # the date column still decides the split
    assert "x" in plan.numeric and plan.slices == ["sex"] and plan.warnings == []


def test_few_whole_numbers_are_classes_unless_task_regression(tmp_path):
    data = table()
    data["y"] = np.random.default_rng(0).integers(1, 4, len(data))
    assert plan_of(tmp_path, data, "y").task == "classification"
    plan = plan_of(tmp_path, data, "y", task="regression", time_column="none")
    assert plan.task == "regression" and plan.reasons["split"] == "at random (--time-column none)"
    assert "--task classification" not in plan.reasons["task"]


def test_task_classification_takes_a_price_as_classes_only_when_few(tmp_path):
    data = table()
    data["y"] = np.random.default_rng(0).normal(100, 10, len(data)).round(2)
    with pytest.raises(DataError, match="at most 50 classes"):
        plan_of(tmp_path, data, "y", task="classification")
