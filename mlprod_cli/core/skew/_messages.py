"""How skew's messages name values: a list cut short, quoted examples, what a value is.

One wording for the statistics and for the run that reads the files, so that a
finding and an error list columns and values alike.
"""

from __future__ import annotations

from typing import Any


def listing(items: list[Any], limit: int = 12) -> str:
    """``a, b, c``; past ``limit`` items, ``…`` and how many there are in all."""
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")


def quoted(items: list[str]) -> str:
    """``'a', 'b'``: examples of values, quoted as Python writes them."""
    return ", ".join(repr(i) for i in items)


def describe(value: Any) -> str:
    """What a configured value is, for an error about it: ``the text 'high'``, ``list [1]``."""
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"{type(value).__name__} {value!r}"
