"""mlprod_cli.core.skew._reference: the training summary, its pooling, its JSON, bad input."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    CurrentAccumulator,
    ReferenceSummary,
    compare,
    to_dict,
)
from mlprod_cli.errors import DataError
from tests.core.skew.support import (
    frame_of,
)

# --------------------------------------------------------------------------- the summary


def test_many_categories_are_pooled_and_many_unseen_ones_too():
    ids = [f"id{i}" for i in range(3000)]
    train = pd.DataFrame({"user": ids, "shop": ["a", "b", "c"] * 1000})
    schema = infer_schema(train)
    assert schema["features"][0]["categories"] is None  # too many to list
    summary = ReferenceSummary.build(train, schema)
    user = summary.by_name["user"]
    assert user.pooled and len(user.categories) == 1000 and user.counts[-1] == 2000
    acc = CurrentAccumulator(summary)
    new_shops = [f"s{i}" for i in range(1500)]
    acc.add(
        pd.DataFrame({"user": [f"new{i}" for i in range(3000)], "shop": ["a"] * 1500 + new_shops})
    )
    report = compare(summary, acc)
    # an id column: no unseen-category finding, everything new is "other"
    assert [x.column for x in report.schema] == ["shop"]
    assert report.feature("user").distribution["categories"][0] == "(other)"
    # 1500 new shops: 1000 tracked by name, the rest pooled; all counted
    (finding,) = report.schema
    assert finding.count == 1500 and "(1001+ distinct)" in finding.message
    assert report.feature("shop").distribution["total"] == 3 + 1000 + 1


def test_the_summary_survives_json():
    train, serving = frame_of(3000, 1), frame_of(3000, 2, shift=0.2)
    summary = ReferenceSummary.build(train, infer_schema(train), predictions=train["colour"])
    again = ReferenceSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    reports = []
    for s in (summary, again):
        acc = CurrentAccumulator(s)
        acc.add(serving, predictions=serving["colour"])
        reports.append(to_dict(compare(s, acc)))
    assert reports[0] == reports[1]
    with pytest.raises(DataError, match="format 99"):
        ReferenceSummary.from_dict({**summary.to_dict(), "format": 99})
    with pytest.raises(DataError, match="damaged"):
        ReferenceSummary.from_dict({"format": 1})


# --------------------------------------------------------------------------- a regression's values


def _values(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).gamma(2.0, 30.0, n) + 25.0


def test_a_regressions_predictions_are_summarised_as_a_numeric_feature_is():
    train = frame_of(3000, 1)
    values = _values(3000, 1)
    summary = ReferenceSummary.build(
        train, infer_schema(train), predictions=values, task="regression", sample_size=1000
    )
    pred = summary.predictions
    as_feature = ReferenceSummary.build(
        pd.DataFrame({"prediction": values}),
        {"features": [{"name": "prediction", "kind": "numeric"}]},
        sample_size=1000,
    ).features[0]
    assert pred.name == "prediction" and pred.kind == "numeric" and pred.nulls == 0
    np.testing.assert_array_equal(pred.edges, as_feature.edges)
    np.testing.assert_array_equal(pred.counts, as_feature.counts)
    assert (pred.low, pred.high) == (values.min(), values.max())
    assert pred.mean == pytest.approx(values.mean()) and pred.std == pytest.approx(values.std())
    # beyond sample_size a sample without replacement, sorted, of the values themselves
    assert pred.sample.size == 1000 and pred.finite == 3000
    assert np.all(np.diff(pred.sample) >= 0) and np.isin(pred.sample, values).all()


def test_a_regressions_non_finite_predictions_are_nulls():
    train = pd.DataFrame({"x": np.arange(6.0)})
    values = np.array([1.0, np.nan, 3.0, np.inf, 5.0, 6.0])
    pred = ReferenceSummary.build(
        train, infer_schema(train), predictions=values, task="regression"
    ).predictions
    assert pred.nulls == 2 and pred.finite == 4 and pred.null_rate == pytest.approx(2 / 6)
    assert pred.high == 6.0 and int(pred.counts.sum()) == 4


def test_a_regressions_summary_survives_json():
    train, serving = frame_of(2000, 1), frame_of(2000, 2, shift=0.3)
    summary = ReferenceSummary.build(
        train, infer_schema(train), predictions=_values(2000, 1), task="regression"
    )
    data = json.loads(json.dumps(summary.to_dict()))
    assert data["predictions"]["kind"] == "numeric"
    again = ReferenceSummary.from_dict(data)
    reports = []
    served = _values(2000, 2) + 5.0
    for s in (summary, again):
        acc = CurrentAccumulator(s)
        acc.add(serving, predictions=served, offline_predictions=served)
        reports.append(to_dict(compare(s, acc)))
    assert reports[0] == reports[1]
    assert reports[0]["predictions"]["statistics"]["ks"]["value"] > 0.05


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: ReferenceSummary.build(pd.DataFrame({"b": [1]}), infer_schema(pd.DataFrame({"a": [1]}))), "no column for the schema's feature: a"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": []}), {"features": [{"name": "a", "kind": "numeric"}]}), "the training data has no rows"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": [1]}), {"features": []}), "lists no features"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": [1]}), {"features": [{"name": "a", "kind": "text"}]}), "unknown kind 'text'"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": ["x", "1"]}), {"features": [{"name": "a", "kind": "numeric"}]}), "'a' is numeric in the schema but holds 1 value that is not a number, e.g. 'x'"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": [1.0]}), {"features": [{"name": "a", "kind": "numeric"}]}, predictions=["x", "y"]), "2 training predictions for 1 training row"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": [1.0]}), infer_schema(pd.DataFrame({"a": [1.0]})), sample_size=0), "sample_size must be a whole number of at least 1"),
        (lambda: ReferenceSummary.build(pd.DataFrame({"a": [1.0, 2.0]}), infer_schema(pd.DataFrame({"a": [1.0]})), predictions=[1.5, "high"], task="regression"), "the training predictions of a regression hold 1 value that is not a number, e.g. 'high'"),
    ],
)  # fmt: skip
def test_bad_training_data_is_one_line(build, message):
    with pytest.raises(DataError, match=message) as info:
        build()
    assert "\n" not in str(info.value)
