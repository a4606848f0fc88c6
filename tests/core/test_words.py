"""``core/words.py``: counts as people write them."""

from __future__ import annotations

import pytest

from mlprod_cli.core.words import plural


@pytest.mark.parametrize(
    ("n", "word", "many", "text"),
    [
        (0, "row", None, "0 rows"),
        (1, "row", None, "1 row"),
        (2, "warning", None, "2 warnings"),
        (1, "class", "classes", "1 class"),
        (3, "class", "classes", "3 classes"),
        (12345, "row", None, "12,345 rows"),
    ],
)
def test_plural(n, word, many, text):
    assert plural(n, word, many) == text
