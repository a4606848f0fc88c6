"""The parts of ``mlprod skew``'s report that differ for a regression's predicted values.

:mod:`.skew` builds the report around them for every format, as for classification:
the prediction grid takes its statistics (:data:`STATISTICS`, the drift of a numeric
feature and the share of served values that differ from the offline ones) and its
notes (:func:`notes`: the tolerance, the absolute differences, the null values served)
from here, and :func:`values_grid` sets the training and serving values side by side
(mean, spread, quantiles). The HTML page draws the predicted values as it draws a
numeric feature (the share in each training decile bin).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlprod_cli.core.words import plural
from mlprod_cli.render.grid import UNDEFINED, Cell, Grid
from mlprod_cli.render.text import number

if TYPE_CHECKING:
    from mlprod_cli.core.skew import FeatureSkew

STATISTICS = ("psi", "ks", "wasserstein", "null_rate", "prediction_mismatch")
"""The rows of the prediction grid for a regression."""


def is_numeric(p: FeatureSkew | None) -> bool:
    """Whether ``p`` (the report's predictions) are a regression's values."""
    return p is not None and p.kind == "numeric"


def notes(p: FeatureSkew) -> list[str]:
    """What the comparison of served and re-scored values found, in words."""
    summary = p.summary or {}
    out = []
    compared = summary.get("compared") or 0
    if compared:
        tolerance = summary.get("tolerance") or {}
        out.append(
            f"{summary['mismatches']:,} of {compared:,} served values differ from the offline ones "
            f"by more than {tolerance.get('relative', 0):g} × (|value| + {tolerance.get('scale', 0):.4g}), "
            "the scale being the predictions' standard deviation on the reference"
        )
        if summary.get("abs_diff_max") is not None:
            out.append(
                f"absolute difference served − offline: mean {summary['abs_diff_mean']:.6g}, "
                f"largest {summary['abs_diff_max']:.6g}"
            )
    if summary.get("served_null"):
        out.append(
            f"{plural(summary['served_null'], 'served value was', 'served values were')} null "
            "(the model gave no finite number)"
        )
    return out


_ROWS = ("mean", "std", "min", "max")


def values_grid(p: FeatureSkew) -> Grid | None:
    """The predicted values on the training rows and as served: mean, spread, quantiles."""
    summary = p.summary or {}
    ref, cur = summary.get("reference"), summary.get("current")
    if not ref:
        return None
    cur = cur or {}
    quantiles = summary.get("quantiles") or {}
    rows = []

    def row(name: str, a: float | None, b: float | None) -> None:
        change = None if a is None or b is None else b - a
        rows.append(
            [
                Cell(name),
                _value(a, "no values in the training data"),
                _value(b, "no values in the serving data"),
                _value(change, "undefined", signed=True),
            ]
        )

    for name in _ROWS[:3]:
        row(name, ref.get(name), cur.get(name))
    levels = quantiles.get("levels") or []
    ref_q = quantiles.get("reference") or [None] * len(levels)
    cur_q = quantiles.get("current") or [None] * len(levels)
    for level, a, b in zip(levels, ref_q, cur_q, strict=True):
        row("median" if level == 0.5 else f"{level:.0%} quantile", a, b)
    row("max", ref.get("max"), cur.get("max"))
    grid = Grid(
        "predicted values: training vs serving",
        ["statistic", "training", "serving", "change"],
        rows,
        right={1, 2, 3},
    )
    if p.sampled:
        grid.notes.append("the quantiles are estimated from samples (as ks and wasserstein are)")
    return grid


def _value(value: float | None, reason: str, *, signed: bool = False) -> Cell:
    if value is None:
        return Cell(UNDEFINED, reason)
    return Cell(f"{value:+.4f}" if signed else number(value))
