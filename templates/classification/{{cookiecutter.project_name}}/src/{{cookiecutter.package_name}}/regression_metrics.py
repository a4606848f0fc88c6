"""The project's metric design, decided before any model was trained.

mlprod computes the standard regression table (MAE, RMSE, R², median and
max error, D² absolute error, MAPE or WAPE, the interval's pinball loss and
coverage) for every run, per slice and per decile of the true value, and
``metrics.objective`` in ``mlprod.yaml`` says which number the gates are
built around (MAE: the typical miss, in the target's own unit). This module
adds what the standard table lacks for this problem: how often the
prediction is close enough to act on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TOLERANCE = 0.10
"""A prediction within this share of the true value counts as close."""


def within_10_percent(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> float:
    """Share of rows whose prediction is within 10 % of the true value (higher is better).

    An average error hides whether the model is usually close and sometimes
    far off, or never quite right; this share says how often a person could
    take the number as it is. A true value of 0 counts only an exact answer.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True values.
    y_pred : array-like of shape (n_samples,)
        Predicted values.
    y_score : array-like, optional
        Unused; accepted so every custom metric has the same signature.

    Returns
    -------
    float
        The share in [0, 1], or ``nan`` when ``y_true`` is empty.

    Examples
    --------
    >>> within_10_percent([100.0, 200.0, 50.0, 10.0], [105.0, 260.0, 50.0, 9.5])
    0.75
    """
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    if y_true.size == 0:
        return float("nan")
    return float(np.mean(np.abs(y_pred - y_true) <= TOLERANCE * np.abs(y_true)))


CUSTOM_METRICS: dict[str, Callable[..., float]] = {
    "within_10_percent": within_10_percent,
}
"""Metrics mlprod adds to its reports, by name: ``f(y_true, y_pred, y_score=None)``."""
