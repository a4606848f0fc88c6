"""Bias in the data: each slice's share of the training split, the test split and the serving log.

Reporting and selection bias show as a share that differs: a group rarer in
training than in what is served is one the model learnt little about. Columns
and slices are :mod:`._slices`' (a numeric column of many values is cut at the
training split's deciles, and those edges cut the other sides too). A share is
marked when Newcombe's interval of its difference from the training share
excludes 0, at Bonferroni's confidence over every comparison made. The serving
log is read in batches (bounded memory) with ``skew``'s reader; only the
columns it logs are compared.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from mlprod_cli.core.analyze._slices import MAX_VALUES, newcombe, slice_confidence

SIDES = ("train", "test", "serving")


@dataclass
class Share:
    column: str
    value: str
    rows: dict[str, int]  # per side
    shares: dict[str, float | None]  # per side; None: the side does not have the column
    differs: list[str]  # the sides whose share differs from training's beyond chance


def slice_shares(
    train: Any, test: Any, serving: Any | None, *, exclude: set[Any]
) -> tuple[list[Share], dict[str, int]]:
    """(the shares, most different first; each side's rows). ``serving``: DataFrames, or None."""
    cutters = {}
    for column in train.columns:
        if column in exclude:
            continue
        cutter = _cutter(train[column])
        if cutter is not None:
            cutters[column] = cutter
    counts: dict[str, dict[str, dict[str, int]]] = {side: {} for side in SIDES}
    totals = {"train": len(train), "test": len(test), "serving": 0}
    present: dict[str, set[str]] = {"train": set(cutters), "test": set(), "serving": set()}
    for side, frames in (("train", [train]), ("test", [test]), ("serving", serving or [])):
        for frame in frames:
            if side == "serving":
                totals["serving"] += len(frame)
            for column, cutter in cutters.items():
                if column not in frame.columns:
                    continue
                present[side].add(column)
                seen = counts[side].setdefault(column, {})
                for value, n in cutter(frame[column]).value_counts().items():
                    seen[str(value)] = seen.get(str(value), 0) + int(n)
    comparisons = sum(
        len(counts["train"].get(c, {})) for side in ("test", "serving") for c in present[side]
    )
    confidence = slice_confidence(comparisons)
    out = []
    for column in cutters:
        values = sorted(set().union(*(counts[side].get(column, {}) for side in SIDES)))
        for value in values:
            rows = {side: counts[side].get(column, {}).get(value, 0) for side in SIDES}
            shares: dict[str, float | None] = {}
            differs = []
            for side in SIDES:
                if column not in present[side] or not totals[side]:
                    shares[side] = None
                    continue
                shares[side] = rows[side] / totals[side]
                if side != "train":
                    _, (low, high) = newcombe(
                        rows[side], totals[side], rows["train"], totals["train"], confidence
                    )
                    if low > 0 or high < 0:
                        differs.append(side)
            out.append(Share(str(column), value, rows, shares, differs))
    out.sort(key=lambda s: (not s.differs, -_gap(s), s.column, s.value))
    return out, totals


def _gap(share: Share) -> float:
    base = share.shares["train"] or 0.0
    return max(
        (abs(v - base) for k, v in share.shares.items() if k != "train" and v is not None),
        default=0.0,
    )


def _cutter(values: Any) -> Any | None:
    """A function giving each value of a column like ``values`` its slice, or None (free text)."""
    import numpy as np
    import pandas as pd

    distinct = values.nunique(dropna=True)
    if distinct <= MAX_VALUES:
        return lambda v: v.astype("object").where(v.notna(), "(missing)").astype(str)
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return None
    edges = np.unique(np.nanquantile(values.to_numpy(dtype=float), np.linspace(0, 1, 11)))
    if len(edges) < 2:
        return None
    edges[0], edges[-1] = -np.inf, np.inf
    names = [f"({lo:.4g}, {hi:.4g}]" for lo, hi in itertools.pairwise(edges)]

    def cut(v: Any) -> Any:
        numbers = pd.to_numeric(v, errors="coerce")
        binned = pd.cut(numbers, edges, labels=names).astype("object")
        return binned.where(numbers.notna(), "(missing)").astype(str)

    return cut
