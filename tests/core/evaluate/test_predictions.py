"""``core/evaluate/_predictions.py``: the classes of a predictions file, in value order."""

from __future__ import annotations

import pytest

from mlprod_cli.core.evaluate import sort_classes


@pytest.mark.parametrize(
    ("classes", "ordered"),
    [
        (["10", "2", "33"], ["2", "10", "33"]),  # numbers by value, not as text
        (["1.5", "-1", "1"], ["-1", "1", "1.5"]),
        (["b", "10", "a", "2"], ["10", "2", "a", "b"]),  # not all numbers: as text
        (["nan", "1"], ["1", "nan"]),
    ],
)
def test_sort_classes_orders_by_value(classes, ordered):
    assert sort_classes(set(classes)) == ordered
