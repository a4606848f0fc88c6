"""The project's metric design, decided before any model was trained.

mlprod computes the standard per-class table (sensitivity, precision, F1,
specificity, FDR, AUROC, ...) for every run, and ``metrics.objective`` in
``mlprod.yaml`` says which number the gates are built around, with the reason
``mlprod new`` wrote beside it (for a rare class: its recall, because
accuracy lies on unbalanced data). This module adds what the standard table
lacks for this problem.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def worst_class_recall(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> float:
    """Recall of the class the model serves worst (higher is better).

    The minimum, over the classes present in ``y_true``, of the share of that
    class's rows predicted as it. A model can have a fine average while one
    class is almost never found; this is the number that says so. For two
    classes it is the smaller of sensitivity and specificity.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels.
    y_pred : array-like of shape (n_samples,)
        Predicted labels.
    y_score : array-like, optional
        Unused; accepted so every custom metric has the same signature.

    Returns
    -------
    float
        The recall in [0, 1], or ``nan`` when ``y_true`` is empty.

    Examples
    --------
    >>> worst_class_recall(["a", "a", "b", "b"], ["a", "a", "b", "a"])
    0.5
    """
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    if y_true.size == 0:
        # Undefined, not zero: no rows say nothing about any class.
        return float("nan")
    recalls = [float((y_pred[y_true == c] == c).mean()) for c in np.unique(y_true)]
    return min(recalls)


CUSTOM_METRICS: dict[str, Callable[..., float]] = {
    "worst_class_recall": worst_class_recall,
}
"""Metrics mlprod adds to its reports, by name: ``f(y_true, y_pred, y_score=None)``."""
