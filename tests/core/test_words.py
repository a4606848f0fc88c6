"""``core.words``: a count with its noun in the right number."""

from __future__ import annotations

import pytest

from mlprod_cli.core.words import plural


@pytest.mark.parametrize(
    ("n", "word", "many", "expected"),
    [
        (0, "row", None, "0 rows"),
        (1, "row", None, "1 row"),
        (2, "row", None, "2 rows"),
        (1_234_567, "row", None, "1,234,567 rows"),
        (1, "category", "categories", "1 category"),
        (3, "category", "categories", "3 categories"),
    ],
)
def test_plural(n, word, many, expected):
    assert plural(n, word, many) == expected
