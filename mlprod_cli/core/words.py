"""Counted nouns in messages: ``plural(1, "row")`` is "1 row", ``plural(2, "row")`` "2 rows"."""

from __future__ import annotations


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
