"""Slices found, not only named: error rates with Wilson intervals over every small column.

Every column of few values (20 or fewer, missing counted as one) is cut by
value, and every numeric column of more values by its deciles. A slice is
*beyond chance* when the interval of the gap between its error rate and the
rest's excludes zero: Newcombe's hybrid score interval for a difference of
proportions (Newcombe 1998, method 10), built from the two Wilson intervals
(``scipy.stats.binomtest``'s), so the uncertainty of both sides counts (a slice
of 1,998 rows beside a rest of 2 is no more certain than the 2). With dozens
of slices examined, some 95 % intervals miss by chance alone, so every
interval is taken at 1 − 0.05 / (slices examined) (Bonferroni): the chance
that *any* slice is reported while none differs stays under 5 %. A slice of
two rows, both wrong, among 50 slices has an interval of about [0.15, 1] and
is not reported as a bias beside an error rate of 20 %.
"""

from __future__ import annotations

import math
from typing import Any

MAX_VALUES = 20
FAMILY_CONFIDENCE = 0.95  # over all the slices examined


def find_slices(frame: Any, wrong: Any, *, exclude: set[Any]) -> tuple[list[Any], int]:
    """(the slices, beyond chance first and then by the gap to the rest; how many were examined)."""
    import numpy as np
    import pandas as pd

    from mlprod_cli.core.analyze._analyze import FoundSlice

    wrong = np.asarray(wrong, dtype=bool)
    total, total_errors = len(wrong), int(wrong.sum())
    counted = []  # (column, value, rows, errors)
    for column in frame.columns:
        if column in exclude:
            continue
        groups = _groups(frame[column])
        if groups is None:
            continue
        by = pd.DataFrame({"group": groups, "wrong": wrong}).groupby("group", sort=True)["wrong"]
        for value, rows, errors in zip(by.size().index, by.size(), by.sum(), strict=True):
            if int(rows) < total:  # a column of one value has nothing to compare with
                counted.append((str(column), str(value), int(rows), int(errors)))
    confidence = slice_confidence(len(counted))
    found = []
    for column, value, rows, errors in counted:
        (low, high), (gap_low, gap_high) = newcombe(
            errors, rows, total_errors - errors, total - rows, confidence
        )
        rate, rest = errors / rows, (total_errors - errors) / (total - rows)
        found.append(
            FoundSlice(
                column=column,
                value=value,
                rows=rows,
                errors=errors,
                rate=rate,
                low=low,
                high=high,
                rest_rate=rest,
                gap_low=gap_low,
                gap_high=gap_high,
                beyond_chance=bool(gap_low > 0 or gap_high < 0),
            )
        )
    found.sort(key=lambda s: (not s.beyond_chance, -abs(s.rate - s.rest_rate), s.column, s.value))
    return found, len(found)


def newcombe(
    k1: int, n1: int, k2: int, n2: int, confidence: float
) -> tuple[tuple[float, float], tuple[float, float]]:
    """(the Wilson interval of k1/n1, Newcombe's hybrid score interval of k1/n1 − k2/n2)."""
    from scipy.stats import binomtest

    one = binomtest(k1, n1).proportion_ci(confidence, method="wilson")
    two = binomtest(k2, n2).proportion_ci(confidence, method="wilson")
    p1, p2 = k1 / n1, k2 / n2
    low = p1 - p2 - math.hypot(p1 - one.low, two.high - p2)
    high = p1 - p2 + math.hypot(one.high - p1, p2 - two.low)
    return (float(one.low), float(one.high)), (float(low), float(high))


def slice_confidence(examined: int) -> float:
    """Each interval's confidence: Bonferroni's, for 95 % over ``examined`` slices."""
    return 1 - (1 - FAMILY_CONFIDENCE) / max(examined, 1)


def _groups(values: Any) -> Any | None:
    """Each row's slice of ``values``: its value, or its decile; None for a column of text values."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(values):
        values = values.astype("object")
    distinct = values.nunique(dropna=True)
    if distinct <= MAX_VALUES:
        return values.astype("object").where(values.notna(), "(missing)").astype(str)
    if pd.api.types.is_numeric_dtype(values):
        deciles = pd.qcut(values, q=10, duplicates="drop")
        labels = deciles.cat.categories.map(lambda iv: f"({iv.left:.4g}, {iv.right:.4g}]")
        named = deciles.cat.rename_categories(list(labels)).astype("object")
        return named.where(named.notna(), "(missing)").astype(str)
    return None
