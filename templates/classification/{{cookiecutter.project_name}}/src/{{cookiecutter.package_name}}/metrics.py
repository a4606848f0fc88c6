"""The project's metric design, decided before any model was trained.

mlprod computes the standard per-class table (sensitivity, precision, F1,
specificity, FDR, AUROC, ...) for every run. This module records what matters
for *this* problem: the objective the gates in ``mlprod.yaml`` are built
around, and any metric the standard table lacks.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

POSITIVE_CLASS = "melanoma"

OBJECTIVE = "recall@melanoma"
"""Recall (sensitivity) of the melanoma class: the share of melanomas flagged.

Why this and not accuracy: a missed melanoma can cost a life, while a false
alarm costs a biopsy. And with about 12 % melanoma, a model that calls every
lesion benign is 88 % accurate and useless; accuracy lies on this imbalance.
Precision is watched in the table but not optimised: some false alarms are the
price of catching melanomas.
"""


def missed_melanoma_rate(
    y_true: np.ndarray, y_pred: np.ndarray, y_score: np.ndarray | None = None
) -> float:
    """Share of true melanomas that the model did not flag (lower is better).

    The false negative rate of the melanoma class, ``FN / (TP + FN)``, which is
    ``1 - recall@melanoma``. It is reported on its own because "we miss 1 in 7
    melanomas" is the sentence a clinician acts on.

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
        The rate in [0, 1], or ``nan`` when ``y_true`` has no melanoma.

    Examples
    --------
    >>> missed_melanoma_rate(["melanoma", "melanoma", "nevus"], ["melanoma", "nevus", "nevus"])
    0.5
    """
    y_true = np.asarray(y_true, dtype=object)
    y_pred = np.asarray(y_pred, dtype=object)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has shape {y_true.shape} but y_pred has {y_pred.shape}")
    is_melanoma = y_true == POSITIVE_CLASS
    n_melanoma = int(is_melanoma.sum())
    if n_melanoma == 0:
        # Undefined, not zero: a test set without melanoma says nothing about
        # missing them, and 0.0 would read as a perfect score.
        return float("nan")
    missed = int((y_pred[is_melanoma] != POSITIVE_CLASS).sum())
    return missed / n_melanoma


CUSTOM_METRICS: dict[str, Callable[..., float]] = {
    "missed_melanoma_rate": missed_melanoma_rate,
}
"""Metrics mlprod adds to its reports, by name: ``f(y_true, y_pred, y_score=None)``."""
