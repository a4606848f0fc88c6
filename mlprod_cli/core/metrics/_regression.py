"""Regression metrics, overall and per decile of the true value, proven equal to scikit-learn.

``regression_report`` turns true and predicted numbers (and, for a model that gives
them, its 0.1 and 0.9 quantiles) into a :class:`RegressionReport`: MAE, RMSE, R²,
median absolute error, max error, D² absolute error (the skill against predicting the
median: 0 for the constant), MAPE when every true value is positive and WAPE always,
pinball loss at 0.1 and 0.9 and the coverage of the [q0.1, q0.9] interval; and per
decile of the true value its range, rows, MAE and mean error (where does the model
fail: the cheap houses or the dear ones?).

A metric that cannot be computed (R² of a constant target, MAPE with a zero true
value, pinball loss without quantiles) is a :class:`Value` with ``value=None`` and the
reason, as in :mod:`._classification`. docs/metrics.md has every definition.

Written for 10**7 rows, where scikit-learn validates and copies the arrays again for
every metric and sorts the true values for D²: the residuals and their absolute
values are computed once; the median of the true values (D²) partitions one copy of
them in place, which leaves the decile edges' ``np.quantile`` half its work, and that
copy is then the one buffer every further intermediate array is written into; the
median absolute error partitions the absolute errors in place; the deciles are nine
comparisons and a ``bincount``, without a sort. Every value is the one the plain numpy
expression gives (``np.median``, ``np.where`` for the pinball loss, ``searchsorted`` for
the bins), bit for bit; bench/bench_regression_report.py times it beside scikit-learn.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mlprod_cli.core.metrics._classification import Value, _custom_values, _values_dict
from mlprod_cli.core.names import REGRESSION_METRIC_NAMES
from mlprod_cli.errors import DataError

__all__ = ["DecileRow", "RegressionReport", "regression_report", "regression_to_dict"]

QUANTILES = (0.1, 0.9)
"""The quantiles a model may give (``pinball_10``, ``pinball_90``, ``coverage_80``)."""
DECILE_EDGES = np.linspace(0.1, 0.9, 9)

CONSTANT_TARGET = "the true values are all equal"
NO_QUANTILES = "the model gives no quantiles"
NOT_ALL_POSITIVE = "a true value is zero or negative"
ZERO_TOTAL = "the true values sum to zero in absolute value"


@dataclass(frozen=True)
class DecileRow:
    """One decile of the true value: its range, its rows and how the model did on them."""

    decile: int  # 1..10
    low: float
    high: float
    rows: int
    mae: float | None
    mean_error: float | None  # mean of prediction - truth: > 0 over-predicts


@dataclass(frozen=True, eq=False)
class RegressionReport:
    """Everything ``regression_report`` computed; render it, store it, gate on it."""

    n_samples: int
    metrics: dict[str, Value]
    deciles: tuple[DecileRow, ...]
    mean_true: float
    mean_pred: float
    std_true: float
    std_pred: float
    percentage_note: str | None = None  # why MAPE is undefined and WAPE is the one to read
    custom: dict[str, Value] = field(default_factory=dict)

    task = "regression"

    def value(self, metric: str, *, label: str | None = None, average: str = "macro") -> Value:
        """One number by name: ``value("mae")``; a class is an error (there are none)."""
        if label is not None:
            raise DataError(f'a regression report has no classes (asked for "{label}")')
        if metric in self.metrics:
            return self.metrics[metric]
        if metric in self.custom:
            return self.custom[metric]
        known = ", ".join((*REGRESSION_METRIC_NAMES, *self.custom))
        raise DataError(f'unknown metric "{metric}"; known metrics: {known}')


def regression_report(
    y_true: Any,
    y_pred: Any,
    *,
    quantiles: Mapping[float, Any] | None = None,
    custom: Mapping[str, Callable[..., float]] | None = None,
) -> RegressionReport:
    """Compute every regression metric, and the deciles of the true value.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted numbers; every one finite.
    quantiles : mapping of 0.1 and 0.9 to array-like of shape (n_samples,), optional
        The model's predicted quantiles; without them the pinball losses and the
        coverage are undefined ("the model gives no quantiles").
    custom : mapping of name to callable, optional
        Extra overall metrics, each called as ``f(y_true, y_pred)``.

    Raises
    ------
    DataError
        Lengths differ, no samples, a value that is not a finite number.

    Examples
    --------
    >>> r = regression_report([1.0, 2.0, 3.0, 4.0], [1.5, 2.0, 2.5, 5.0])
    >>> r.value("mae").value
    0.5
    >>> r.value("mape").value is not None
    True
    """
    true = _numbers(y_true, "y_true")
    pred = _numbers(y_pred, "y_pred")
    n = len(true)
    if len(pred) != n:
        raise DataError(f"y_true has {n} rows but y_pred has {len(pred)}")
    if n == 0:
        raise DataError("no samples: y_true and y_pred are empty")
    for name in (*REGRESSION_METRIC_NAMES, "accuracy"):
        if custom and name in custom:
            raise DataError(f'custom metric "{name}" has the name of a built-in metric')

    error = pred - true
    absolute = np.abs(error)
    abs_sum = float(absolute.sum())
    squared = float(np.dot(error, error))
    true_sum = float(true.sum())
    mean_true = true_sum / n  # what true.mean() computes
    positive = bool((true > 0).all())
    # One buffer of n floats holds each intermediate array in turn: first the copy of
    # the true values that their median and then the decile edges partition in place.
    scratch = true.copy()
    median_true = _median(scratch)
    edges = np.quantile(scratch, DECILE_EDGES, overwrite_input=True)
    centred = np.subtract(true, mean_true, out=scratch)
    total = float(np.dot(centred, centred))
    deviation = np.subtract(true, median_true, out=scratch)
    spread = float(np.abs(deviation, out=deviation).sum())
    abs_true_sum = true_sum if positive else float(np.abs(true, out=scratch).sum())
    note = None
    if positive:
        mape = Value(float(np.divide(absolute, true, out=scratch).sum()) / n)
    else:
        mape = Value(None, NOT_ALL_POSITIVE)
        count = int((true <= 0).sum())
        note = (
            f"MAPE is undefined: {count:,} true value{'s are' if count != 1 else ' is'} "
            "zero or negative (a percentage of 0 is infinite); WAPE (the absolute errors "
            "over the absolute true values) is the percentage error to read"
        )
    del scratch, centred, deviation
    deciles = _deciles(true, edges, error, absolute)
    max_error = float(absolute.max())
    median_ae = _median(absolute)  # last: it reorders the absolute errors
    metrics: dict[str, Value] = {
        "mae": Value(abs_sum / n),
        "rmse": Value(math.sqrt(squared / n)),
        # scikit-learn's convention: a perfect fit of a constant target is 1, anything else undefined.
        "r2": _skill(squared, total),
        "median_ae": Value(median_ae),
        "max_error": Value(max_error),
        "d2_absolute_error": _skill(abs_sum, spread),
        "mape": mape,
        "wape": Value(abs_sum / abs_true_sum) if abs_true_sum > 0 else Value(None, ZERO_TOTAL),
    }
    metrics.update(_quantile_metrics(true, quantiles))
    return RegressionReport(
        n_samples=n,
        metrics=metrics,
        deciles=deciles,
        mean_true=mean_true,
        mean_pred=float(pred.mean()),
        std_true=math.sqrt(total / n),
        std_pred=float(pred.std()),
        percentage_note=note,
        custom=_custom_values(dict(custom or {}), true, pred, None),
    )


def regression_to_dict(report: RegressionReport) -> dict[str, Any]:
    """The report as JSON-ready data: ``task``, ``n_samples``, ``metrics``/``undefined``, deciles."""
    return {
        "task": "regression",
        "n_samples": report.n_samples,
        "mean_true": report.mean_true,
        "mean_pred": report.mean_pred,
        "std_true": report.std_true,
        "std_pred": report.std_pred,
        **_values_dict(report.metrics),
        "percentage_note": report.percentage_note,
        "deciles": [
            {
                "decile": row.decile,
                "low": row.low,
                "high": row.high,
                "rows": row.rows,
                "mae": row.mae,
                "mean_error": row.mean_error,
            }
            for row in report.deciles
        ],
        "custom": _values_dict(report.custom),
    }


# --- the metrics ---------------------------------------------------------------------------


def _skill(loss: float, reference: float) -> Value:
    """``1 - loss / reference`` (R², D²), with scikit-learn's answer for a constant target."""
    if reference == 0:
        return Value(1.0) if loss == 0 else Value(None, CONSTANT_TARGET)
    return Value(1.0 - loss / reference)


def _quantile_metrics(true: np.ndarray, quantiles: Mapping[float, Any] | None) -> dict[str, Value]:
    if not quantiles:
        return {
            name: Value(None, NO_QUANTILES) for name in ("pinball_10", "pinball_90", "coverage_80")
        }
    missing = [q for q in QUANTILES if q not in quantiles]
    if missing:
        raise DataError(f"quantiles: {missing[0]:g} is missing (give 0.1 and 0.9)")
    low = _numbers(quantiles[0.1], "quantile 0.1")
    high = _numbers(quantiles[0.9], "quantile 0.9")
    if len(low) != len(true) or len(high) != len(true):
        raise DataError(f"quantiles: {len(low)} and {len(high)} rows for {len(true)} true values")
    return {
        "pinball_10": Value(_pinball(true, low, 0.1)),
        "pinball_90": Value(_pinball(true, high, 0.9)),
        "coverage_80": Value(np.count_nonzero((true >= low) & (true <= high)) / len(true)),
    }


def _pinball(true: np.ndarray, predicted: np.ndarray, alpha: float) -> float:
    """Mean pinball loss: ``alpha * (y - q)`` above the quantile, ``(1 - alpha) * (q - y)`` below.

    Each row's loss is the larger of the two products (the one with the sign of a loss),
    computed in two buffers instead of the five arrays of ``np.where``.
    """
    diff = true - predicted
    above = diff * alpha
    below = np.multiply(diff, alpha - 1, out=diff)
    return float(np.maximum(above, below, out=below).sum()) / len(true)


def _deciles(
    true: np.ndarray, edges: np.ndarray, error: np.ndarray, absolute: np.ndarray
) -> tuple[DecileRow, ...]:
    """Rows binned by the deciles of the true value (``edges``); ``low``..``high`` is the bin's range.

    Bin ``k`` holds the true values above the ``k``-th decile edge and up to the next
    (the first from the smallest value, the last to the largest). Ties at an edge share
    a bin, so a target with few distinct values has fewer than ten. A row's bin is the
    number of edges below its true value (``searchsorted(edges, true)``), counted in
    nine comparisons, which is faster than a binary search per row.
    """
    bins = np.zeros(len(true), dtype=np.uint8)
    above = np.empty(len(true), dtype=bool)
    for edge in edges:
        np.greater(true, edge, out=above)
        bins += above.view(np.uint8)
    del above
    bins = bins.astype(np.intp)  # what bincount would convert it to, twice
    rows = np.bincount(bins, minlength=10)
    abs_sums = np.bincount(bins, weights=absolute, minlength=10)
    err_sums = np.bincount(bins, weights=error, minlength=10)
    bounds = [float(true.min()), *map(float, edges), float(true.max())]
    out = []
    for k in range(10):
        if rows[k] == 0:
            continue
        count = int(rows[k])
        out.append(
            DecileRow(
                decile=k + 1,
                low=bounds[k],
                high=bounds[k + 1],
                rows=count,
                mae=float(abs_sums[k]) / count,
                mean_error=float(err_sums[k]) / count,
            )
        )
    return tuple(out)


def _median(values: np.ndarray) -> float:
    """``np.median(values)``, partitioning ``values`` in place (no copy, no NaN check).

    The upper middle value is the partition's pivot and the lower one the largest value
    before it; for an even count their mean is ``(a + b) / 2``, as numpy computes it.
    """
    half = len(values) // 2
    values.partition(half)
    upper = float(values[half])
    if len(values) % 2:
        return upper
    return (float(values[:half].max()) + upper) / 2


def _numbers(values: Any, name: str) -> np.ndarray:
    """A 1-D float64 array of finite numbers, or a DataError naming what is wrong."""
    if hasattr(values, "to_numpy"):
        values = values.to_numpy()
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.dtype.kind not in "biuf":
        try:
            arr = arr.astype(float)
        except (TypeError, ValueError):
            raise DataError(f"{name} must hold numbers, got {arr.dtype} values") from None
    arr = arr.astype(np.float64, copy=False)
    finite = np.isfinite(arr)
    if not bool(finite.all()):
        bad = arr[~finite][0]
        where = int(np.argmin(finite))
        what = "a missing value" if math.isnan(bad) else "an infinite value"
        raise DataError(
            f"{name} has {what} (row {where + 1:,}); every value must be a finite number"
        )
    return arr
