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

Written for 10**7 rows: the residuals and their absolute values are computed once,
the medians are one partition each, and the deciles are one sort-free pass
(``searchsorted`` on nine edges, then ``bincount``), where scikit-learn validates and
copies the arrays again for every metric.
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
    mae = abs_sum / n
    squared = float(np.dot(error, error))
    mean_true = float(true.mean())
    centred = true - mean_true
    total = float(np.dot(centred, centred))
    median_true = float(np.median(true))
    spread = float(np.abs(true - median_true).sum())
    abs_true = np.abs(true)
    abs_true_sum = float(abs_true.sum())
    metrics: dict[str, Value] = {
        "mae": Value(mae),
        "rmse": Value(math.sqrt(squared / n)),
        # scikit-learn's convention: a perfect fit of a constant target is 1, anything else undefined.
        "r2": _skill(squared, total),
        "median_ae": Value(float(np.median(absolute))),
        "max_error": Value(float(absolute.max())),
        "d2_absolute_error": _skill(abs_sum, spread),
    }
    note = None
    if bool((true > 0).all()):
        metrics["mape"] = Value(float((absolute / abs_true).sum()) / n)
    else:
        metrics["mape"] = Value(None, NOT_ALL_POSITIVE)
        count = int((true <= 0).sum())
        note = (
            f"MAPE is undefined: {count:,} true value{'s are' if count != 1 else ' is'} "
            "zero or negative (a percentage of 0 is infinite); WAPE (the absolute errors "
            "over the absolute true values) is the percentage error to read"
        )
    metrics["wape"] = Value(abs_sum / abs_true_sum) if abs_true_sum > 0 else Value(None, ZERO_TOTAL)
    metrics.update(_quantile_metrics(true, quantiles))
    return RegressionReport(
        n_samples=n,
        metrics=metrics,
        deciles=_deciles(true, error, absolute),
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
        "coverage_80": Value(float(((true >= low) & (true <= high)).sum()) / len(true)),
    }


def _pinball(true: np.ndarray, predicted: np.ndarray, alpha: float) -> float:
    """Mean pinball loss: ``alpha * (y - q)`` above the quantile, ``(1 - alpha) * (q - y)`` below."""
    diff = true - predicted
    loss = np.where(diff >= 0, alpha * diff, (alpha - 1) * diff)
    return float(loss.sum()) / len(true)


def _deciles(true: np.ndarray, error: np.ndarray, absolute: np.ndarray) -> tuple[DecileRow, ...]:
    """Rows binned by the deciles of the true value; ``low``..``high`` is the bin's range.

    Bin ``k`` holds the true values above the ``k``-th decile edge and up to the next
    (the first from the smallest value, the last to the largest). Ties at an edge share
    a bin, so a target with few distinct values has fewer than ten.
    """
    edges = np.quantile(true, np.linspace(0.1, 0.9, 9))
    bins = np.searchsorted(edges, true, side="left")
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
