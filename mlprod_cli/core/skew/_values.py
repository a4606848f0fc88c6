"""A column's values, read alike on both sides: numbers (and what is not one), categories as text.

The reference summary and the current accumulator read a pandas column through
these functions, so that a value counts the same in training and in serving: a
number sent as text is still a number, ``3.0`` is the category ``3``, and a value
that is no number is counted and kept as an example.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

MAX_EXAMPLES = 5
"""A finding quotes at most this many example values."""


@dataclass
class ParsedNumbers:
    """What :func:`parse_numbers` read from a column."""

    values: np.ndarray  # float64, NaN for null or unparseable
    invalid: int = 0  # non-null values that are not numbers
    examples: list[str] = field(default_factory=list)
    text: bool = False  # the column is not numeric: text, bool, dates


def parse_numbers(column: Any) -> ParsedNumbers:
    """The values of ``column`` as float64, counting (and quoting) those that are not numbers."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return ParsedNumbers(column.to_numpy(dtype=np.float64, na_value=np.nan))
    if column.dtype == object and pd.api.types.infer_dtype(column, skipna=True) in _NUMBERS:
        # Python numbers in an object column (JSON with nulls, say): not a type change.
        values = pd.to_numeric(column, errors="coerce")
        return ParsedNumbers(values.to_numpy(dtype=np.float64, na_value=np.nan))
    present = column.notna().to_numpy()
    if pd.api.types.is_bool_dtype(column):
        values = column.astype("float64").to_numpy(na_value=np.nan)
    elif pd.api.types.is_datetime64_any_dtype(column) or isinstance(column.dtype, pd.PeriodDtype):
        values = np.full(len(column), np.nan)
    else:
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = present & np.isnan(values)
    invalid = int(bad.sum())
    examples = []
    if invalid:
        seen = column[bad].drop_duplicates().head(MAX_EXAMPLES)
        examples = [str(v) for v in seen]
    return ParsedNumbers(values, invalid, examples, text=True)


_NUMBERS = {"integer", "floating", "mixed-integer-float", "decimal", "empty"}


def category_text(value: Any) -> str:
    """A category as text, as ``infer_schema`` writes it; integral floats lose their ``.0``
    so that an integer column that gained a null (and became float) keeps its categories."""
    if (
        isinstance(value, (float, np.floating))
        and math.isfinite(value)
        and float(value).is_integer()
    ):
        return str(int(value))
    return str(value)


def text_counts(column: Any) -> dict[str, int]:
    """Non-null values of ``column`` counted by their text, counting distinct values first."""
    counts = column.value_counts(dropna=True, sort=False)
    out: dict[str, int] = {}
    for value, n in zip(counts.index.tolist(), counts.to_numpy().tolist(), strict=True):
        if n:
            key = category_text(value)
            out[key] = out.get(key, 0) + int(n)
    return out


def column_lookup(frame: Any) -> dict[str, Any]:
    """Column labels by their text (a schema names columns as text)."""
    return {str(c): c for c in frame.columns}
