"""mlprod_cli.core.skew._reference: the training summary, its pooling, its JSON, bad input."""

from __future__ import annotations

import json

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
    ],
)  # fmt: skip
def test_bad_training_data_is_one_line(build, message):
    with pytest.raises(DataError, match=message) as info:
        build()
    assert "\n" not in str(info.value)
