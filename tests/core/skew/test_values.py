"""mlprod_cli.core.skew._values: a value counts the same in training and in serving."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mlprod_cli.core.dataset import infer_schema
from mlprod_cli.core.skew import (
    CurrentAccumulator,
    ReferenceSummary,
    compare,
)
from tests.core.skew.support import (
    skew_report,
)

# --------------------------------------------------------------------------- through a report


def test_integer_categories_that_became_floats_are_not_new():
    train = pd.DataFrame({"code": pd.Series([1, 2, 3, 1], dtype=object)})
    summary = ReferenceSummary.build(train, infer_schema(train))
    acc = CurrentAccumulator(summary)
    acc.add(pd.DataFrame({"code": [1.0, 2.0, np.nan, 3.0]}))  # a null made the column float
    report = compare(summary, acc)
    assert not [x for x in report.schema if x.kind == "unseen_categories"]


def test_python_numbers_in_an_object_column_are_not_a_type_change():
    report = skew_report({"x": np.arange(10.0)}, {"x": pd.Series([1.0, None, 3], dtype=object)})
    assert not report.schema and report.feature("x").values_current == 2


# --------------------------------------------------------------------------- the functions


def test_parse_numbers_counts_and_quotes_what_is_no_number():
    from mlprod_cli.core.skew._values import parse_numbers

    plain = parse_numbers(pd.Series([1, 2, None], dtype="Int64"))
    assert not plain.text and plain.invalid == 0 and np.isnan(plain.values[2])
    text = parse_numbers(pd.Series(["1", "x", None, "x", "y", "2.5"], dtype=object))
    assert text.text and text.invalid == 3 and text.examples == ["x", "y"]
    assert text.values[[0, 5]].tolist() == [1.0, 2.5]
    flags = parse_numbers(pd.Series([True, False]))
    assert flags.text and flags.invalid == 0 and flags.values.tolist() == [1.0, 0.0]
    dates = parse_numbers(pd.Series(pd.to_datetime(["2024-01-01"])))
    assert dates.text and dates.invalid == 1


def test_categories_are_counted_by_their_text():
    from mlprod_cli.core.skew._values import category_text, column_lookup, text_counts

    assert [category_text(v) for v in (3.0, 3.5, float("inf"), "a", 7)] == [
        "3", "3.5", "inf", "a", "7",
    ]  # fmt: skip
    assert text_counts(pd.Series([1, 1.0, "1", None, "b"], dtype=object)) == {"1": 3, "b": 1}
    assert column_lookup(pd.DataFrame({1: [0], "a": [0]})) == {"1": 1, "a": "a"}
